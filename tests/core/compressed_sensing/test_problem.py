import numpy as np
import pytest
from pydantic import ValidationError

from core.compressed_sensing.config import CSConfig
from core.compressed_sensing.problem import Problem, support_errors


def test_samples_are_admissible_and_pieces_cover_them():
    problem = Problem.of(CSConfig(n=6, m=4, k=2, low=0.5, high=1.5))
    x = problem.sample(500, np.random.default_rng(1))
    assert np.all((x != 0).sum(axis=1) == 2)
    assert np.all((np.abs(x[x != 0]) >= 0.5) & (np.abs(x[x != 0]) <= 1.5))
    pieces = list(problem.pieces())
    assert len(pieces) == CSConfig(n=6, m=4, k=2).pieces == 15 * 4
    # A x equals M t on x's own piece
    row = x[0]
    support = tuple(np.flatnonzero(row))
    piece = next(p for p in pieces if p.support == support and p.signs == tuple(np.sign(row[list(support)]).astype(int)))
    np.testing.assert_allclose(problem.piece_matrix(piece) @ np.abs(row[list(support)]), problem.A @ row)


def test_nonnegative_problems_have_one_sign_per_support():
    config = CSConfig(n=6, m=4, k=2, nonnegative=True)
    problem = Problem.of(config)
    assert len(list(problem.pieces())) == config.pieces == 15
    assert np.all(problem.sample(100, np.random.default_rng(0)) >= 0)


def test_support_errors_use_the_score_sign():
    x = np.array([[1.0, 0.0, -2.0]])
    assert not support_errors(np.array([[0.1, -1.0, 3.0]]), x)[0]
    assert support_errors(np.array([[0.0, -1.0, 3.0]]), x)[0]  # a zero score is "off"


@pytest.mark.parametrize("fields, words", [({"k": 5, "n": 5, "m": 3}, "k = 5"), ({"m": 20, "n": 20}, "m = 20"),
                                           ({"low": 2.0, "high": 1.0}, "below low"),
                                           ({"n": 4, "m": 3, "k": 1, "matrix": [[1.0] * 4] * 2}, "3 rows of 4"),
                                           ({"n": 64, "m": 10, "k": 6}, "pieces")])
def test_config_refuses_problems_it_cannot_state(fields, words):
    with pytest.raises(ValidationError, match=words):
        CSConfig(**fields)
