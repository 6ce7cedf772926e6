import torch

from core.bab.pool import DomainPool


def test_pop_returns_smallest_lower_bounds_first_and_keeps_rows_aligned():
    pool = DomainPool()
    pool.push({"lb": torch.tensor([3.0, -1.0, 2.0]), "id": torch.tensor([0, 1, 2])})
    pool.push({"lb": torch.tensor([-5.0]), "id": torch.tensor([3])})
    assert len(pool) == 4
    assert pool.min_lb() == -5.0
    first = pool.pop(2)
    assert first["id"].tolist() == [3, 1]
    assert first["lb"].tolist() == [-5.0, -1.0]
    rest = pool.pop(10)
    assert rest["id"].tolist() == [2, 0]
    assert len(pool) == 0 and pool.min_lb() is None and pool.nbytes() == 0


def test_empty_pushes_are_ignored_and_memory_is_counted():
    pool = DomainPool()
    pool.push({"lb": torch.zeros(0), "id": torch.zeros(0, dtype=torch.long)})
    assert len(pool) == 0
    pool.push({"lb": torch.zeros(4, dtype=torch.float64), "box": torch.zeros(4, 5, dtype=torch.float64)})
    assert pool.nbytes() == 4 * 8 + 20 * 8
    assert pool.bytes_per_row() == 48
