"""The default thread count (core.threads): the policy on given inputs, and what it measures."""

from __future__ import annotations

import multiprocessing
import os
import sys
import time

import pytest

from core.threads import (PARALLEL_MACS, RESAMPLE_S, AutoThreads, CpuSample, choose_threads, parallel_worthy,
                          usable_cores)

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/stat and CPU affinity")


def test_only_large_networks_are_worth_a_second_thread():
    assert not parallel_worthy(13_000)  # ACAS Xu
    assert parallel_worthy(269_322)  # mnist_fc 256x2
    assert parallel_worthy(332_776)  # oval21 cifar_base_kw
    assert not parallel_worthy(PARALLEL_MACS - 1)
    assert parallel_worthy(PARALLEL_MACS)


def test_the_cores_other_processes_leave_free_are_taken():
    assert choose_threads(16, busy=0.0) == 16
    assert choose_threads(16, busy=0.2) == 16  # background noise
    assert choose_threads(16, busy=5.5) == 10
    assert choose_threads(4, busy=1.0) == 3
    assert choose_threads(4, busy=9.0) == 1  # oversubscribed: still one
    assert choose_threads(2, busy=0.0) == 2  # a quiet two-core machine
    assert choose_threads(2, busy=0.8) == 1  # the busy loop of issue 28
    assert choose_threads(1, busy=0.0) == 1


def test_an_explicit_count_wins_and_small_networks_never_measure():
    asked = AutoThreads(3, 10**9)
    assert (asked.start, asked.settle()) == (3, 3)
    small = AutoThreads(None, PARALLEL_MACS - 1)
    assert (small.start, small.settle()) == (1, 1)
    assert not asked.measures and not small.measures
    large = AutoThreads(None, PARALLEL_MACS)
    assert large.start == 1 and large.measures == (usable_cores() > 1)
    assert 1 <= large.settle() <= usable_cores()


def _spin() -> None:
    while True:
        pass


@linux_only
def test_a_busy_process_elsewhere_counts_as_busy_cores():
    spinner = multiprocessing.Process(target=_spin, daemon=True)
    spinner.start()
    try:
        sample = CpuSample.now()
        time.sleep(0.5)
        busy = sample.others_busy()
    finally:
        spinner.terminate()
        spinner.join()
    assert busy >= 0.5, busy  # the spinner's core (plus whatever else runs here)
    assert busy <= usable_cores() + 0.01


@linux_only
@pytest.mark.skipif(usable_cores() < 2, reason="one core: there is nothing to step aside from")
def test_a_running_search_steps_aside_when_another_process_starts_spinning():
    handed: list[int] = []
    auto = AutoThreads(None, 10**9, set_threads=handed.append)
    auto.settle()
    auto.current = 0  # no measurement gives this: one now would hand a count over
    auto.adjust()
    assert handed == [] and auto.current == 0  # measured again only once RESAMPLE_S has passed
    auto.current = usable_cores()  # as on a quiet machine, whatever this one is doing now
    spinner = multiprocessing.Process(target=_spin, daemon=True)
    spinner.start()
    try:
        auto._sample = CpuSample.now()  # the span measured is the spinner's
        time.sleep(RESAMPLE_S + 0.1)
        auto.adjust()
    finally:
        spinner.terminate()
        spinner.join()
    assert auto.current <= usable_cores() - 1 and handed == [auto.current]


def _cores_with_one_allowed(queue) -> None:
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    queue.put(usable_cores())


@linux_only
def test_usable_cores_follow_the_cpu_affinity():
    assert 1 <= usable_cores() <= len(os.sched_getaffinity(0))
    queue = multiprocessing.Queue()
    child = multiprocessing.Process(target=_cores_with_one_allowed, args=(queue,))
    child.start()
    child.join(30)
    assert queue.get(timeout=5) == 1


def test_a_run_reports_its_thread_count_and_restores_torch(benchmarks_dir):
    torch = pytest.importorskip("torch")
    from core.config import VerifyConfig
    from core.model import load_network
    from core.spec import load_property
    from core.verifier import verify

    folder = benchmarks_dir / "test"
    network = load_network(folder / "onnx/test_tiny.onnx.gz")
    prop = load_property(folder / "vnnlib/test_tiny.vnnlib.gz")
    before = torch.get_num_threads()
    assert verify(network, prop, VerifyConfig(timeout_s=30)).stats["threads"] == 1  # a tiny network
    assert verify(network, prop, VerifyConfig(timeout_s=30, threads=3)).stats["threads"] == 3
    assert torch.get_num_threads() == before
