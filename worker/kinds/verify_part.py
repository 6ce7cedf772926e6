"""The verify-part kind: one sub-job of a distributed verify job (docs/distributed.md).

It starts while its parent still grows the frontier and, once its run is built, waits
for its first snapshot (the piece its parent deals it); it goes on from its latest
snapshot (that one, or the last one a killed attempt published), searches it, takes
domains from the other holders when it runs out, and ends with its forest in a final
snapshot for the parent to merge.
Its verdict is about its domains only: unsat (all closed), sat (a counterexample,
replayed in onnxruntime), timeout (the parent's deadline) or unknown.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from worker.outcome import Outcome

PIECE_POLL_S = 0.1  # how often a sub-job started before the deal looks for its piece

if TYPE_CHECKING:
    from worker.runner import JobContext


def run(context: "JobContext") -> Outcome:
    from app.services.uploads import property_limits
    from core.bab.budget import Stop
    from core.counterexample import result_text
    from core.model import load_network
    from core.result import Progress, Verdict
    from core.spec import load_property
    from core.verifier import VerifyConfig
    from core.verifier.parallel import Holder, start
    from worker.distributed import Coordinator, work

    job = context.job
    config = VerifyConfig(**job.config["verify"])
    context.progress(Progress(phase="loading"))
    network = load_network(context.model_bytes())
    prop = load_property(context.property_bytes(), property_limits(context.settings))
    run_ = start(network, prop, config, job.config["deadline_unix"] - time.time(), context.progress)
    holder = Holder(run_, job.id)
    coordinator = Coordinator(context, holder, job.parent_id)
    verdict, why, resumed_with = "unknown", "", None
    try:
        with run_.budget:
            run_.budget.enter("waiting")
            snapshot = _first_snapshot(context, run_.budget)
            if snapshot is None:
                return Outcome(verdict=None, status="cancelled",
                               error="the parent job ended before it dealt this part any domains")
            holder.restore(snapshot, context.store.read)
            resumed_with = holder.open_domains()
            run_.budget.enter("bab")
            coordinator.take_grants()
            verdict, why = work(coordinator)
    except Stop as stop:
        verdict, why = ("timeout" if stop.reason == "timeout" else "unknown"), stop.reason
    if resumed_with is not None:  # else it stopped before it was dealt anything: nothing to publish
        coordinator.answer(decline_all=True)
        coordinator.save()
    result = {"domains_visited": holder.visited, "open": holder.open_domains(), "attempt": context.attempt,
              "resumed_with": resumed_with, "message": why}
    artifacts = {}
    found = run_.finder.found
    if verdict == "sat" and found is not None:
        result["counterexample"] = found.x.tolist()
        artifacts["counterexample"] = result_text(Verdict.SAT, found.x, found.y).encode()
    return Outcome(verdict=verdict, result=result, artifacts=artifacts)


def _first_snapshot(context: "JobContext", budget) -> bytes | None:
    """This sub-job's latest snapshot, waiting for the parent to deal it one; None once the
    parent has ended without (the reaper failed it after its worker died), rather than
    holding a worker until the deadline. A `Stop` at the deadline, or when this job is
    cancelled (a parent whose own search of the root decided cancels its parts)."""
    from app.db.models import Job
    from app.db.session import session_scope
    from app.services import frontier
    from app.services.job_state import TERMINAL

    while True:
        with session_scope(context.settings.database_url) as session:
            snapshot = frontier.snapshot_of(session, context.store, context.job.id)
            parent = session.get(Job, context.job.parent_id)
            parent_ended = parent is None or parent.status in TERMINAL
        if snapshot is not None:
            return snapshot
        if parent_ended:
            return None
        budget.check()
        time.sleep(PIECE_POLL_S)
