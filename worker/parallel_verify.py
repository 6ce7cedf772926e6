"""A verify job with `parallel`: the parent's side (docs/distributed.md).

The parent bounds the root, creates one `verify-part` sub-job per other part (a row with
`parent_id`, a message on the parent's queue) and, while they start (load the network,
build their run), grows and deals the frontier: each sub-job's piece is its first
snapshot, which it waits for. The parent searches part 0 itself as one more holder. It
stops early when a sub-job ends with a counterexample (replayed here again) or cannot
decide; once every sub-job has ended it merges every holder's final forest into one
proof tree per target, which the ordinary certificate check then checks.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from app.db.session import session_scope
from app.services import frontier
from app.services.health import live_workers
from app.services.job_state import TERMINAL, record_event
from worker import sub_jobs
from worker.distributed import POLL_EVERY_S, Coordinator, work
from worker.parallel_lemmas import SpreadLemmas

if TYPE_CHECKING:
    from core.result import VerifyResult
    from worker.runner import JobContext


class SubJobEnded(Exception):
    """A sub-job ended in a way that decides the parent (`verdict`, its result)."""

    def __init__(self, verdict: str, result: dict) -> None:
        super().__init__(verdict)
        self.verdict, self.result = verdict, result


def parts_of(context: "JobContext", parallel: int | str) -> int:
    """`parallel` as a count: "auto" is the live workers consuming the job's queue."""
    if parallel != "auto":
        return int(parallel)
    with session_scope(context.settings.database_url) as session:
        return max(1, sum(context.job.queue in w["queues"] for w in live_workers(session, context.settings)))


def run_parallel(context: "JobContext", network, prop, config, parts: int) -> "VerifyResult":
    """The parent's whole run; its result is certified like a serial one's. Where lemmas
    apply, one job's first search without them runs spread too, for its share of the time
    (`search_before_lemmas`) divided by the parts: as many worker-seconds as one job gives
    it, so about as many domains; if it does not decide, its work is dropped, and the
    lemmas and the last search follow as without it."""
    from core.bab.budget import Stop
    from core.verifier.parallel import Holder, lemma_phase, lemmas_ahead, root_bounds, start, stopped_result

    job = context.job
    deadline_unix = time.time() + job.timeout_s
    run = start(network, prop, config, job.timeout_s, context.progress)
    run.lemma_spread = SpreadLemmas(context, parts)
    with session_scope(context.settings.database_url) as session:
        frontier.reset(session, job.id)  # a re-run (the reaper's) starts over: the first attempt's parts end
    try:
        with run.budget:
            verdict, first = root_bounds(run), Holder(run, job.id)
            if verdict is None and lemmas_ahead(run):
                if config.search_before_lemmas:
                    decided = _search(context, first, parts, deadline_unix,
                                      config.search_before_lemmas * run.budget.remaining / parts)
                    if decided is not None:
                        return decided
                    run.budget.domains_visited = first.visited  # its sub-jobs' too
                verdict = lemma_phase(run)
            if verdict is not None:
                return run.result(verdict)
            last = Holder(run, job.id)
            last.visited_before = first.visited  # merged, the holders' counts are the job's
            return _search(context, last, parts, deadline_unix)
    except Stop as stop:
        return stopped_result(run, stop)
    except SubJobEnded as ended:
        return _decided_by(run, ended)
    finally:
        with session_scope(context.settings.database_url) as session:
            frontier.cancel_children(session, job.id)


def _search(context: "JobContext", holder, parts: int, deadline_unix: float,
            stage_s: float | None = None) -> "VerifyResult | None":
    """One spread search of `run.pending`, `holder` the parent's part: sub-jobs sent, the
    frontier grown and dealt, searched and merged. With `stage_s`, the first search: None
    once it has run that long undecided (its sub-jobs are cancelled, the targets it closed
    are searched again, and `holder.visited` counts its sub-jobs' domains up to their last
    snapshots too)."""
    from core.bab.budget import Stop
    from core.verifier.parallel import load

    job, run = context.job, holder.run
    coordinator = Coordinator(context, holder, job.id)
    run.budget.enter("bab")
    run.budget.stage_end = None if stage_s is None else time.monotonic() + stage_s
    children: list[str] = []
    try:
        children = _announce(context, parts, run.config, deadline_unix)
        verdict = holder.grow(parts)
        if verdict is not None:
            return run.result(verdict)
        if holder.open_domains() == 0:  # the root's search closed everything
            return _merged(context, coordinator)
        _deal(context, coordinator, children)
        return _supervise(context, coordinator, set(children))
    except Stop as stop:
        if stop.reason != "stage":
            raise
        _watch(context, set(children))  # a part that ended with a counterexample since the last look still counts
        with session_scope(context.settings.database_url) as session:
            snaps = frontier.snapshots(session, context.store, job.id)
            holder.visited_before += sum(int(load(data)["visited"]) for name, data in snaps.items() if name != job.id)
            frontier.reset(session, job.id)  # its parts end, their snapshots go
            record_event(session, job.id, "progress", {"phase": "first search ended", "visited": holder.visited})
        return None
    finally:
        run.budget.stage_end = None


def _announce(context: "JobContext", parts: int, config, deadline_unix: float) -> list[str]:
    """Create and send the sub-jobs before the frontier is dealt: they load the network
    and build their run while the parent grows the frontier, then wait for their piece."""
    ids = sub_jobs.dispatch(context, "verify-part", {k: {"verify": {**config.model_dump(), "parallel": None},
                                                        "deadline_unix": deadline_unix} for k in range(1, parts)},
                            deadline_unix - time.time())
    return [ids[k] for k in sorted(ids)]


def _deal(context: "JobContext", coordinator: Coordinator, children: list[str]) -> None:
    """Deal the frontier: each sub-job's piece becomes its first snapshot (one transaction)."""
    from core.verifier.parallel import Holder

    job, holder = context.job, coordinator.holder
    pieces = holder.deal(len(children) + 1)
    with session_scope(context.settings.database_url) as session:
        for child, piece in zip(children, pieces):
            other = Holder(holder.run, child)
            other.take(piece)
            frontier.save_snapshot(session, context.store, job.id, child, other.snapshot(context.store.put_bytes),
                                   other.open_domains())
            coordinator.members.add(child)
        coordinator._save(session)
        record_event(session, job.id, "progress", {"phase": "dealt", "parts": len(children) + 1,
                                                   "sub_jobs": children})


def _supervise(context: "JobContext", coordinator: Coordinator, children: set[str]) -> "VerifyResult":
    """Search part 0 (and whatever it can take from others) while watching the sub-jobs
    `children`; merge once all have ended."""
    from core.bab.budget import Stop
    from core.result import Verdict

    run = coordinator.holder.run
    coordinator.on_poll = lambda: _watch(context, children)
    while True:
        status, why = work(coordinator)
        if status != "unsat":
            return run.result(Verdict.SAT if status == "sat" else Verdict.UNKNOWN, why)
        if _watch(context, children):
            break
        time.sleep(POLL_EVERY_S)
        run.budget.check()
        if coordinator.steal():
            continue
    try:
        return _merged(context, coordinator)
    except Stop as stop:
        from core.verifier.parallel import stopped_result

        return stopped_result(run, stop)


def _watch(context: "JobContext", children: set[str]) -> bool:
    """True once every sub-job of this search (`children`) has ended without deciding the
    parent; raises `SubJobEnded` for one that decides it (a counterexample, an error,
    undecided)."""
    with session_scope(context.settings.database_url) as session:
        kids = [kid for kid in frontier.children(session, context.job.id, "verify-part") if kid.id in children]
        session.expunge_all()
    for kid in kids:
        if kid.status not in TERMINAL:
            continue
        if kid.status == "failed":
            raise SubJobEnded("unknown", {"message": f"sub-job {kid.id} failed: {kid.error}"})
        if kid.status == "cancelled" and not (kid.error or "").startswith("taken over"):
            raise SubJobEnded("unknown", {"message": f"sub-job {kid.id} was cancelled"})
        if kid.status == "succeeded" and kid.verdict != "unsat":
            raise SubJobEnded(kid.verdict or "unknown", {**(kid.result or {}), "job": kid.id})
    return all(kid.status in TERMINAL for kid in kids)


def _decided_by(run, ended: SubJobEnded) -> "VerifyResult":
    from core.result import Verdict
    from core.verifier.parallel import counterexample_result

    if ended.verdict == "sat" and "counterexample" in ended.result:
        return counterexample_result(run, ended.result["counterexample"])
    if ended.verdict == "timeout":
        return run.result(Verdict.TIMEOUT, "timeout")
    return run.result(Verdict.UNKNOWN, ended.result.get("message") or f"sub-job {ended.result.get('job')}: "
                      f"{ended.verdict}")


def _merged(context: "JobContext", coordinator: Coordinator) -> "VerifyResult":
    from core.verifier.parallel import merged_result

    coordinator.holder.run.budget.stage_end = None  # a first search that closed everything keeps its proof
    coordinator.save()
    with session_scope(context.settings.database_url) as session:
        snaps = frontier.snapshots(session, context.store, context.job.id)
    # holders of this attempt only (a sub-job of an earlier one may have written after the reset)
    snaps = {holder: data for holder, data in snaps.items() if holder in coordinator.members}
    result = merged_result(coordinator.holder.run, snaps, context.store.read)
    result.stats["parallel"] = {"holders": len(snaps)}
    return result
