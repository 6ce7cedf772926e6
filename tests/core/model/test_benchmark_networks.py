"""Every network in the shared benchmarks loads and agrees with onnxruntime on inputs
sampled from the boxes of its own properties (float64 on both sides where onnxruntime has
float64 kernels; float32-representable inputs and relative 1e-5 otherwise)."""

from __future__ import annotations

import csv
import struct
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch

from core.model import load_network
from core.spec import load_property
from tests.conftest import BENCHMARKS, NO_BENCHMARKS
from tests.core.model.onnx_models import FLOAT32_ONLY, as_double, run_ort

SAMPLES_PER_BOX = 3
PROPERTIES_PER_NETWORK = 2


def _instances() -> dict[str, list[str]]:
    """benchmark/onnx path -> its property paths (all relative to the benchmarks folder)."""
    found: dict[str, list[str]] = {}
    for listing in sorted(BENCHMARKS.glob("*/instances.csv")):
        for row in csv.reader(listing.read_text().splitlines()):
            if row:
                bench = listing.parent.name
                props = found.setdefault(f"{bench}/{row[0].strip()}", [])
                if f"{bench}/{row[1].strip()}" not in props:
                    props.append(f"{bench}/{row[1].strip()}")
    return found


def _unzipped_size(path: Path) -> int:
    """The uncompressed size a gzip file records in its last four bytes (mod 4 GiB)."""
    with path.open("rb") as f:
        f.seek(-4, 2)
        return struct.unpack("<I", f.read(4))[0]


INSTANCES = _instances()
# Only the largest tllverifybench networks (10^7+ parameters, >100 MB unzipped) take seconds.
PARAMS = [pytest.param(name, id=name, marks=[pytest.mark.slow] if _unzipped_size(BENCHMARKS / name) > 100e6 else [])
          for name in sorted(INSTANCES)] or [pytest.param(None, id="none", marks=pytest.mark.skip(reason=NO_BENCHMARKS))]


def test_every_network_file_is_listed_in_an_instance(benchmarks_dir: Path):
    on_disk = {str(p.relative_to(benchmarks_dir)) for p in benchmarks_dir.glob("*/onnx/*.onnx.gz")}
    assert on_disk and on_disk == set(INSTANCES)


@pytest.mark.parametrize("network", PARAMS)
def test_network_matches_onnxruntime_on_its_property_boxes(benchmarks_dir: Path, network: str):
    net = load_network(benchmarks_dir / network)
    ops = {n.op_type for n in onnx.load_model_from_string(net.onnx_bytes).graph.node}
    double = not ops & FLOAT32_ONLY
    g = torch.Generator().manual_seed(0)
    points = []
    for prop_name in INSTANCES[network][:PROPERTIES_PER_NETWORK]:
        prop = load_property(benchmarks_dir / prop_name)
        assert prop.n_inputs == net.graph.input_size and prop.n_outputs == net.graph.output_size
        for region in prop.regions:
            lower, upper = (torch.as_tensor(b, dtype=torch.float64) for b in (region.box.lower, region.box.upper))
            t = torch.rand(SAMPLES_PER_BOX, lower.numel(), dtype=torch.float64, generator=g)
            points.append(lower + t * (upper - lower))
    x = torch.cat(points)
    if not double:
        x = x.float().double()
    ours = net.graph.forward(x).reshape(x.shape[0], -1).numpy()
    theirs = run_ort(as_double(net.onnx_bytes) if double else net.onnx_bytes, x, net.input_name,
                     net.onnx_input_shape)
    scale = max(np.abs(theirs).max(), 1e-3)
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-5 * scale)
    if double:  # same arithmetic in float64: agreement must be far tighter than the bar
        np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-9 * scale)
