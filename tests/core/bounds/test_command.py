"""`certbound bounds` on a shared benchmark instance, text and JSON."""

import json

import torch
from typer.testing import CliRunner

from app.cli import cli
from core.bounds import bound
from core.bounds.property_bounds import region_problems
from core.model import load_network
from core.spec import load_property
from tests.core.bounds import nets

NET = "mnist_fc/onnx/mnist-net_256x2.onnx.gz"
PROP = "mnist_fc/vnnlib/prop_0_0.03.vnnlib.gz"


def test_json_lists_every_disjunct_with_the_engine_bounds(benchmarks_dir):
    out = CliRunner().invoke(cli, ["bounds", str(benchmarks_dir / NET), str(benchmarks_dir / PROP),
                                   "--method", "crown", "--json"])
    assert out.exit_code == 0, out.output
    report = json.loads(out.output)
    prop = load_property(benchmarks_dir / PROP)
    assert report["method"] == "crown" and report["time_s"] > 0
    assert len(report["disjuncts"]) == prop.n_disjuncts
    graph = load_network(benchmarks_dir / NET).graph.to(dtype=torch.float32)
    problem = region_problems(prop, graph, torch.float32)[0]
    expected = bound(graph, problem.domains, problem.C, problem.d, "crown").lower[0]
    got = torch.tensor([v for disjunct in report["disjuncts"] for v in disjunct["lower"]])
    assert torch.allclose(got, expected, atol=1e-6)
    assert [d["refuted"] for d in report["disjuncts"]] == [any(v > 0 for v in d["lower"]) for d in report["disjuncts"]]


def test_text_output_and_bad_method(benchmarks_dir):
    runner = CliRunner()
    out = runner.invoke(cli, ["bounds", str(benchmarks_dir / NET), str(benchmarks_dir / PROP), "--method", "ibp"])
    assert out.exit_code == 0 and "disjuncts refuted by ibp" in out.output
    bad = runner.invoke(cli, ["bounds", str(benchmarks_dir / NET), str(benchmarks_dir / PROP), "--method", "lp"])
    assert bad.exit_code != 0 and "unknown method 'lp'" in bad.output


def test_anderson_methods_and_networks_they_cannot_bound(bundled_benchmarks, tmp_path):
    net = bundled_benchmarks / "mlp/onnx/relu5.onnx.gz"
    prop = bundled_benchmarks / "mlp/vnnlib/relu5_unsat.vnnlib.gz"
    runner = CliRunner()
    reports = {}
    for method in ("alpha", "active-set"):
        out = runner.invoke(cli, ["bounds", str(net), str(prop), "--method", method, "--json"])
        assert out.exit_code == 0, out.output
        reports[method] = [v for d in json.loads(out.output)["disjuncts"] for v in d["lower"]]
    assert all(a >= b - 1e-6 for a, b in zip(reports["active-set"], reports["alpha"]))
    sigmoid = tmp_path / "sigmoid.onnx"
    sigmoid.write_bytes(nets.fc_net(0, 5, [4], 5, "Sigmoid"))
    bad = runner.invoke(cli, ["bounds", str(sigmoid), str(prop), "--method", "active-set"])
    assert bad.exit_code == 2 and "Sigmoid" in bad.output and "Traceback" not in bad.output
    assert len(bad.output.strip().splitlines()) == 1
