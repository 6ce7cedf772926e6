"""Smoke test of benchmarks/anderson_bench.py on the bundled relu5 network (5 → 32 → 32 → 5):
every method runs on one problem and the bounds come out in the order the relaxations imply."""

import numpy as np
import torch

from benchmarks.anderson_bench import Settings, ahead, measure, plot, report, summary, write_csv
from core.bounds.anderson import SolverOptions
from core.bounds.property_bounds import region_problems
from core.data import BUNDLED_BENCHMARKS
from core.model import load_network
from core.spec import load_property

TOL = 1e-6


def test_bounds_ordered_crown_alpha_active_set_anderson_lp(tmp_path, capsys):
    folder = BUNDLED_BENCHMARKS / "mlp"
    graph = load_network(folder / "onnx" / "relu5.onnx.gz").graph
    problem = region_problems(load_property(folder / "vnnlib" / "relu5_unsat.vnnlib.gz"), graph)[0]
    C = torch.cat([problem.C, -torch.eye(5, dtype=torch.float64).unsqueeze(0)], dim=1)  # a few rows
    d = torch.cat([problem.d, torch.zeros(1, 5, dtype=torch.float64)], dim=1)
    # the LPs take well under a second; the cap allows for a spawned interpreter importing torch on a busy machine
    settings = Settings(alpha_iterations=20, solver=SolverOptions(iterations=60), lp_timeout=120)
    m = measure(graph, problem.domains, C, d, settings, "relu5")

    crown, alpha = m.final("crown")[1], m.final("alpha")[1]
    active = m.final("active-set")[1]
    assert crown.shape == alpha.shape == active.shape == (6,)
    assert np.all(crown <= alpha + TOL) and np.all(alpha <= active + TOL)
    assert np.any(active > alpha + 1e-4), "the Active Set never tightened α-CROWN's bound"
    for solver in ("big-m", "active-set", "saddle-point"):
        times = [s for s, _ in m.curves[solver]]
        assert times == sorted(times) and times[0] >= m.final("alpha")[0]
        assert len(times) == settings.solver.iterations + 1
    assert m.final("planet-lp") is not None and m.final("anderson-lp") is not None, "an LP did not finish in 120 s"
    assert m.converged
    lp = m.final("anderson-lp")[1]
    assert np.all(active <= lp + 1e-6 * np.maximum(1, np.abs(lp)))
    assert np.all(m.final("planet-lp")[1] <= lp + TOL)

    table, ref_name = summary([m])
    assert ref_name == "the Anderson LP optimum"
    closed = {row["method"]: row["gap_closed"] for row in table}
    assert abs(closed["alpha"]) < TOL and abs(closed["anderson-lp"] - 1) < TOL
    assert 0 < closed["active-set"] <= 1 + TOL

    wins, total = ahead([m], "active-set", "alpha")
    assert total == 0, "α-CROWN is a point, not a trace: there is no common span"
    # Big-M cannot leave the planet relaxation; the Active Set does. Said of the final bounds:
    # where on the clock it overtakes Big-M depends on the machine's load (never, in one CI run)
    assert np.any(active > m.final("big-m")[1] + 1e-4)
    wins, total = ahead([m], "active-set", "big-m")
    assert total > 0  # both traces span the same stretch of the clock
    assert ahead([m], "big-m", "big-m")[0] == 0  # a trace is never ahead of itself

    write_csv({"relu5": [m]}, tmp_path / "curves.csv")
    lines = (tmp_path / "curves.csv").read_text().splitlines()
    assert len(lines) == 1 + 6 * (4 + 3 * (settings.solver.iterations + 1))  # 4 points, 3 traces, 6 rows each
    plot({"relu5": [m]}, tmp_path / "curves.png")
    assert (tmp_path / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    report("relu5", [m])
    assert "against the Anderson LP optimum" in capsys.readouterr().out
