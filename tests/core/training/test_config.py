"""TrainConfig's numbers: a JSON job config cannot slip in bools, NaN, Infinity or huge integers."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from core.training.config import TrainConfig


@pytest.mark.parametrize("field, value, words", [
    ("lr", float("nan"), "finite"),
    ("grad_clip", float("inf"), "finite"),
    ("eps", True, "valid number"),
    ("epochs", True, "valid integer"),
    ("lr_decay_epochs", [5, False], "valid integer"),
    ("seed", 2**32, "less than or equal to 4294967295"),
    ("train_subset", 10**30, "less than or equal to 2147483647"),
])
def test_bad_numbers_are_refused_naming_the_field(field, value, words):
    with pytest.raises(ValidationError, match=words) as caught:
        TrainConfig(**{field: value})
    assert caught.value.errors()[0]["loc"][0] == field


def test_json_lists_and_ints_still_build_a_config():
    config = TrainConfig(lr=1, epochs=10, lr_decay_epochs=[5, 8], seed=7)
    assert (config.lr, config.lr_decay_epochs, config.seed) == (1.0, (5, 8), 7)
