"""Search.adapt: the batch follows the measured step time, so steps stay short."""

from core.bab.budget import Budget
from core.bab.search import Search


def search(batch_size=None):
    return Search("input", Budget(60.0), batch_size, 64, None)


def test_a_quick_step_doubles_the_domains_it_had_not_the_batch_size():
    s = search()
    s.adapt(step_s=0.001, domains=10)
    assert s.batch_size == 20
    s.adapt(step_s=0.001, domains=20)
    assert s.batch_size == 40


def test_a_slow_step_cuts_the_batch_to_what_fits_the_target_time():
    s = search()
    s.batch_size = 4096
    s.adapt(step_s=3.0, domains=4096)
    assert s.batch_size == int(Search.step_target_s / (3.0 / 4096))
    assert 0.9 * Search.step_target_s <= s.batch_size * s.seconds_per_domain <= Search.step_target_s


def test_a_step_near_the_target_keeps_the_batch():
    s = search()
    s.batch_size = 100
    s.adapt(step_s=Search.step_target_s, domains=100)
    assert s.batch_size == 100


def test_the_batch_never_leaves_one_to_max_batch():
    s = search()
    s.adapt(step_s=100.0, domains=1)
    assert s.batch_size == 1
    s.adapt(step_s=1e-9, domains=10**6)
    assert s.batch_size == Search.max_batch


def test_a_fixed_batch_size_is_kept_but_the_rate_is_still_measured():
    s = search(batch_size=32)
    s.adapt(step_s=2.0, domains=32)
    assert s.batch_size == 32 and s.seconds_per_domain == 2.0 / 32
