"""The peak resident set follows a large allocation after a reset."""

import numpy as np

from core.training.multitask import memory


def test_peak_grows_by_what_was_touched():
    memory.reset_peak()
    before = memory.peak_bytes()
    block = np.ones(64 * 2**20 // 8)  # 64 MiB, every page written
    assert memory.peak_bytes() >= before + 48 * 2**20
    del block
