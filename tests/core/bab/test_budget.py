import time

import pytest

from core.bab.budget import Budget, Stop


def test_timeout_raises_stop_with_reason_timeout():
    budget = Budget(0.05)
    time.sleep(0.06)
    with pytest.raises(Stop) as info:
        budget.check()
    assert info.value.reason == "timeout"


def test_callback_returning_true_cancels_and_sees_the_progress_fields():
    seen = []

    def callback(event):
        seen.append(event)
        return event.domains_visited >= 10

    budget = Budget(60, callback)
    budget.enter("bab")
    budget.domains_visited = 10
    budget.lower_bound = -0.5
    with pytest.raises(Stop) as info:
        budget.check(force=True)
    assert info.value.reason == "cancelled"
    assert seen[0].phase == "bab" and seen[-1].domains_visited == 10 and seen[-1].lower_bound == -0.5


def test_reports_are_throttled_but_come_at_least_twice_a_second():
    seen = []
    budget = Budget(60, lambda e: seen.append(e.elapsed_s))
    for _ in range(1000):
        budget.check()
    assert len(seen) == 1
    time.sleep(0.55)
    budget.check()
    assert len(seen) == 2


def test_a_spent_time_slice_stops_the_piece_of_work_but_not_the_run():
    budget = Budget(60)
    budget.slice_end = time.monotonic() - 1
    with pytest.raises(Stop) as info:
        budget.check()
    assert info.value.reason == "slice"
    budget.slice_end = None
    budget.check()


def test_a_spent_stage_stops_with_its_own_reason_even_inside_an_open_slice():
    """A distributed job's first search (`stage_end`) holds the searches' own slices: the
    stage's end must not read as a slice's, which a grow or a stage catches and goes on."""
    budget = Budget(60)
    budget.slice_end, budget.stage_end = time.monotonic() + 60, time.monotonic() - 1
    assert budget.stopping()
    with pytest.raises(Stop) as info:
        budget.check()
    assert info.value.reason == "stage"
    budget.stage_end = None
    assert not budget.stopping()
    budget.check()


def test_a_domain_limit_stops_once_that_many_domains_are_visited():
    budget = Budget(60, max_domains=10)
    budget.domains_visited = 9
    budget.check()
    assert not budget.stopping()
    budget.domains_visited = 10
    assert budget.stopping()
    with pytest.raises(Stop) as info:
        budget.check()
    assert info.value.reason == "domains"
