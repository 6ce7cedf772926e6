import numpy as np
import pytest

from core.compressed_sensing.arrangement import check_patterns, reachable_patterns


@pytest.mark.parametrize("m, k, seed", [(10, 2, 0), (12, 3, 1), (6, 1, 2)])
def test_every_sampled_pattern_is_found_and_the_proof_checks(m, k, seed):
    rng = np.random.default_rng(seed)
    M = rng.standard_normal((m, k))
    found = reachable_patterns(M, 1.0, 2.0)
    assert check_patterns(M, 1.0, 2.0, found) == ""
    t = rng.uniform(1.0, 2.0, (100_000, k))
    t = np.concatenate([t, np.array(np.meshgrid(*[[1.0, 2.0]] * k)).reshape(k, -1).T])  # and the corners
    sampled = {tuple(p) for p in np.where(t @ M.T >= 0, 1, -1)}
    assert sampled <= set(found.reached)
    # every witness lies in the box and in its closed cell
    for pattern, w in found.reached.items():
        assert np.all((w >= 1.0 - 1e-9) & (w <= 2.0 + 1e-9))
        assert np.all(np.asarray(pattern) * (M @ w) >= -1e-7)


def test_the_check_refuses_a_missing_pattern_or_a_false_refutation():
    rng = np.random.default_rng(3)
    M = rng.standard_normal((8, 2))
    found = reachable_patterns(M, 1.0, 2.0)
    dropped = dict(found.reached)
    dropped.pop(next(iter(dropped)))
    assert "neither checked nor refuted" in check_patterns(M, 1.0, 2.0, type(found)(dropped, found.refuted))
    # a refutation claimed for a reachable prefix cannot hold
    reached = next(iter(found.reached))
    forged = {**found.refuted, reached[:1]: np.ones(1)}
    assert "does not hold" in check_patterns(M, 1.0, 2.0, type(found)(found.reached, forged))
