import numpy as np

from core.compressed_sensing.baselines import coherence, coherence_guarantee, failure_rates, lasso, omp
from core.compressed_sensing.config import CSConfig
from core.compressed_sensing.problem import Problem
from tests.core.compressed_sensing import tetra


def test_coherence_of_the_tetrahedron_and_its_guarantee():
    A = tetra.problem().A
    assert abs(coherence(A) - 1 / 3) < 1e-6
    assert coherence_guarantee(A, 1) and not coherence_guarantee(A, 2)


def test_omp_and_lasso_recover_where_the_guarantee_holds():
    rates = failure_rates(tetra.problem(), 200)
    assert rates["omp_failure"] == 0.0 and rates["lasso_failure"] == 0.0
    assert rates["omp_example"] is None and rates["coherence_guarantee"]


def test_failures_come_with_an_x_they_fail_on():
    problem = Problem.of(CSConfig(n=20, m=8, k=2))
    rates = failure_rates(problem, 300)
    assert not rates["coherence_guarantee"] and rates["omp_failure"] > 0 and rates["lasso_failure"] > 0
    for name, decoder in (("omp", omp), ("lasso", lasso)):
        x = np.asarray(rates[f"{name}_example"])
        assert (x != 0).sum() == 2
        assert list(decoder(problem.A, problem.measure(x[None]), 2)[0]) != list(np.flatnonzero(x))
