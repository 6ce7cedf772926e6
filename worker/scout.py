"""A distributed verify job's first search without lemmas, run by one sub-job while the
parent proves the lemmas (docs/distributed.md, "Root phase").

One job searches without lemmas first, for `search_before_lemmas` of its time, and proves
lemmas only if that search does not decide. A distributed parent overlaps the two: it
hands the open targets' roots to one `verify-part` sub-job (the scout), which searches
them alone until that share of the time has passed, and meanwhile proves the lemmas with
the other workers. If the scout closes every target (or finds a counterexample) first,
the parent stops where it is and answers from the scout's tree (its root the one the
scout started from: the lemmas are dropped); if not, the scout is cancelled once the
lemmas are proven and the parent goes on as without it.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from app.db.models import Job
from app.db.session import session_scope
from app.services import frontier
from app.services.job_state import TERMINAL
from worker import sub_jobs
from worker.distributed import POLL_EVERY_S, Coordinator

if TYPE_CHECKING:
    from core.result import VerifyResult
    from core.verifier.parallel import Holder
    from worker.runner import JobContext


class Scout:
    """The scout of `holder.run`'s first search; `share_s` its time."""

    def __init__(self, context: "JobContext", holder: "Holder", share_s: float) -> None:
        self.context, self.holder, self.share_s = context, holder, share_s
        self.coordinator = Coordinator(context, holder, context.job.id)
        self.id: str | None = None
        self.ended: Job | None = None  # the scout's row once it decided
        self.proofs_before = len(holder.run.proofs)
        self._polled = 0.0

    def send(self) -> "VerifyResult | None":
        """Bound each open target's root here, then send the open domains to the scout and
        poll it at every check of the run's budget; a result when the roots decide."""
        from core.verifier.parallel import Holder

        run, job = self.holder.run, self.context.job
        verdict = self.holder.grow(1, deal_after_s=0.0)  # stops at each target's first batch boundary
        if verdict is not None:
            return run.result(verdict)
        piece = self.holder.give(everything=True)
        if piece is None:  # the roots' search closed everything
            return self.merged()
        payload = {"verify": {**run.config.model_dump(), "parallel": None}, "alone": True,
                   "deadline_unix": time.time() + self.share_s}
        self.id = sub_jobs.dispatch(self.context, "verify-part", {1: payload}, self.share_s)[1]
        scout = Holder(run, self.id)
        scout.take(piece)
        with session_scope(self.context.settings.database_url) as session:
            frontier.save_snapshot(session, self.context.store, job.id, self.id,
                                   scout.snapshot(self.context.store.put_bytes), scout.open_domains())
            self.coordinator.members.add(self.id)
            self.coordinator._save(session)
        run.budget.on_check = self.poll
        return None

    def poll(self) -> None:
        """At most every `POLL_EVERY_S`: `Stop("scout")` once the scout has decided."""
        from core.bab.budget import Stop

        now = time.monotonic()
        if now - self._polled < POLL_EVERY_S:
            return
        self._polled = now
        with session_scope(self.context.settings.database_url) as session:
            row = session.get(Job, self.id)
            session.expunge_all()
        if row.status not in TERMINAL:
            return
        self.holder.run.budget.on_check = None
        if row.status == "succeeded" and row.verdict in ("unsat", "sat"):
            self.ended = row
            raise Stop("scout")

    def stop(self) -> int:
        """The lemmas are proven first: cancel the scout and drop its snapshots; the domains
        visited here and by the scout (up to its last snapshot)."""
        from core.verifier.parallel import load

        self.holder.run.budget.on_check = None
        if self.id is None:
            return self.holder.visited
        with session_scope(self.context.settings.database_url) as session:
            data = frontier.snapshot_of(session, self.context.store, self.id)
            frontier.reset(session, self.context.job.id)
        return self.holder.visited + (int(load(data)["visited"]) if data is not None else 0)

    def result(self) -> "VerifyResult":
        """The answer from the scout that decided: its counterexample replayed here, or
        its tree merged with the roots given to it (the lemmas and what they closed
        dropped: the scout searched from the root before them)."""
        from core.verifier.parallel import counterexample_result

        run = self.holder.run
        if self.ended.verdict == "sat":
            return counterexample_result(run, self.ended.result["counterexample"])
        del run.proofs[self.proofs_before:]
        run.lemma_roots.clear()
        return self.merged()

    def merged(self) -> "VerifyResult":
        from core.verifier.parallel import merged_result

        self.coordinator.save()
        with session_scope(self.context.settings.database_url) as session:
            snaps = frontier.snapshots(session, self.context.store, self.context.job.id)
        snaps = {name: data for name, data in snaps.items() if name in self.coordinator.members}
        result = merged_result(self.holder.run, snaps, self.context.store.read)
        result.stats["parallel"] = {"holders": len(snaps), "decided_by": "scout"}
        return result
