"""A PINN certificate: the split tree of every condition and each piece's claimed bounds.

A zip holding `pinn.json` (what is claimed: the network's sha256, the PDE, the domain,
the tolerance, and per condition its domain, certified and empirical maxima) and one
`<condition>.npz` per condition: `codes` (every leaf's path, concatenated; one byte per
bisection, 2 * axis + side) with `ends` (where each path ends), and the claimed residual
bounds `lo`/`hi` [pieces, components]. `core.pinn.check` rebuilds the boxes from the
domain and the paths, and re-derives every piece's bound with outward rounding.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile

import numpy as np

from core.pinn.certify import PinnResult

FORMAT = "certbound-pinn/1"


def build_certificate(onnx_bytes: bytes, result: PinnResult) -> bytes:
    """The certificate zip of `result`, for the network `onnx_bytes`."""
    manifest = {"format": FORMAT, "network_sha256": hashlib.sha256(onnx_bytes).hexdigest(),
                "pde": result.options.pde, "domain": result.options.box().tolist(),
                "tolerance": result.options.tolerance, "conditions": []}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for c in result.conditions:
            manifest["conditions"].append({"name": c.name, "domain": c.domain.tolist(), "pieces": len(c.paths),
                                           "certified_max": c.certified_max, "empirical_max": c.empirical_max,
                                           "empirical_point": c.empirical_point})
            ends = np.cumsum([len(p) for p in c.paths])
            codes = np.frombuffer(b"".join(c.paths), dtype=np.uint8)
            arrays = io.BytesIO()
            np.savez_compressed(arrays, codes=codes, ends=ends, lo=c.lo, hi=c.hi)
            archive.writestr(f"{c.name}.npz", arrays.getvalue())
        archive.writestr("pinn.json", json.dumps(manifest, indent=1))
    return buffer.getvalue()


def read_certificate(data: bytes) -> tuple[dict, dict[str, dict[str, np.ndarray]]]:
    """(manifest, {condition: {codes, ends, lo, hi}}); ValueError when it is not one."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            manifest = json.loads(archive.read("pinn.json"))
            if manifest.get("format") != FORMAT:
                raise ValueError(f"not a {FORMAT} certificate")
            arrays = {}
            for c in manifest["conditions"]:
                with np.load(io.BytesIO(archive.read(f"{c['name']}.npz")), allow_pickle=False) as npz:
                    arrays[c["name"]] = {k: npz[k] for k in ("codes", "ends", "lo", "hi")}
    except (zipfile.BadZipFile, KeyError, json.JSONDecodeError, OSError) as exc:
        raise ValueError(f"not a PINN certificate: {exc}") from None
    return manifest, arrays
