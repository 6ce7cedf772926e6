"""One holder of a distributed search, seen from the service: snapshots, requests and
grants through the database (app.services.frontier), at the search's batch boundaries.

The parent job and each sub-job run a `Coordinator` around their `Holder`
(core.verifier.parallel). At a batch boundary (`__call__`) it answers requests for
domains (half of its frontier, with its new snapshot in the same transaction) and
writes a snapshot every `frontier_snapshot_s` (a setting). With its frontier empty, `steal` asks the
holder with the largest frontier for half of it, or takes over a queued sub-job's
whole frontier (one that never started, or whose worker died and the reaper re-queued).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Callable

from app.db.models import Job
from app.db.session import session_scope
from app.services import frontier
from app.services.job_state import TERMINAL

if TYPE_CHECKING:
    from core.verifier.parallel import Holder
    from worker.runner import JobContext

POLL_EVERY_S = 0.5       # requests and siblings are looked at this often
ANSWER_WAIT_S = 3.0      # an asker waits this long for an answer before it asks another
MIN_GIVE = 2             # a holder with fewer open domains is not asked


class Coordinator:
    """`holder`'s link to the database; `parent_id` is the distributed job's id."""

    def __init__(self, context: "JobContext", holder: "Holder", parent_id: str) -> None:
        self.context, self.holder, self.parent_id = context, holder, parent_id
        self.url, self.store = context.settings.database_url, context.store
        self.name = holder.name
        self.last_snapshot = self.last_poll = time.monotonic()
        self.on_poll: Callable[[], object] | None = None  # the parent watches its sub-jobs here
        self.members = {holder.name}  # the parent's: the holders of this attempt, whose forests merge

    def __call__(self, search) -> None:
        """At a batch boundary: the holder's frontier is whole."""
        self.holder.run.budget.domains_open = self.holder.open_domains()
        now = time.monotonic()
        if now - self.last_poll >= POLL_EVERY_S:
            self.last_poll = now
            self.answer()
            if self.on_poll is not None:
                self.on_poll()
        if now - self.last_snapshot >= self.context.settings.frontier_snapshot_s:
            self.save()

    def save(self) -> None:
        with session_scope(self.url) as session:
            self._save(session)

    def _save(self, session) -> None:
        frontier.save_snapshot(session, self.store, self.parent_id, self.name,
                               self.holder.snapshot(self.store.put_bytes), self.holder.open_domains())
        self.last_snapshot = time.monotonic()

    def answer(self, decline_all: bool = False) -> None:
        """Give half of the frontier to each asker (one at a time), or decline."""
        with session_scope(self.url) as session:
            waiting = frontier.requests_for(session, self.name)
        for request_id, asker in waiting:
            with session_scope(self.url) as session:
                live = frontier.may_ask(session, asker)
            data = None if decline_all or not live else self.holder.give()
            if data is None:
                with session_scope(self.url) as session:
                    frontier.withdraw(session, request_id)
                continue
            with session_scope(self.url) as session:
                given = frontier.grant(session, self.store, request_id, asker, data, 0)
                if given:
                    self._save(session)
            if not given:  # the asker gave up meanwhile: the domains come back as roots of our own
                self.holder.take(data)

    def take_grants(self) -> int:
        """Take every grant waiting for this holder, each with a snapshot holding it."""
        count = 0
        with session_scope(self.url) as session:
            waiting = frontier.grants_for(session, self.name)
        for grant_id, sha in waiting:
            data = self.store.read(sha)
            with session_scope(self.url) as session:
                if not frontier.consume(session, grant_id):
                    continue
                count += self.holder.take(data)
                self._save(session)
        return count

    def steal(self) -> bool:
        """With an empty frontier: get domains from another holder; False when none has any
        to give (each candidate is asked once)."""
        if self.take_grants():
            return True
        asked: set[str] = set()
        while True:
            victim = self._victim(asked)
            if victim is None:
                return False
            asked.add(victim.id)
            if victim.status == "queued":
                if self._take_over(victim.id):
                    return True
                continue
            with session_scope(self.url) as session:
                request_id = frontier.ask(session, self.parent_id, victim.id, self.name)
            if self._wait_for(request_id):
                return True

    def _victim(self, asked: set[str]) -> Job | None:
        """The holder with the most open domains (by its latest progress report, or its
        snapshot for a queued sub-job) other than this one and those already asked."""
        with session_scope(self.url) as session:
            sizes = frontier.snapshot_sizes(session, self.parent_id)
            jobs = frontier.children(session, self.parent_id, "verify-part") + [session.get(Job, self.parent_id)]
            session.expunge_all()
        best, most = None, MIN_GIVE - 1
        for job in jobs:
            if job.id == self.name or job.id in asked or job.status in TERMINAL or job.cancel_requested:
                continue
            size = (job.progress or {}).get("domains_open", 0) if job.status == "running" else sizes.get(job.id, 0)
            if size > most:
                best, most = job, size
        return best

    def _wait_for(self, request_id: int) -> bool:
        until = time.monotonic() + ANSWER_WAIT_S
        while time.monotonic() < until:
            if self.take_grants():
                return True
            self.answer()  # decline (or serve) whoever asks us meanwhile: two idle askers must not wait on each other
            with session_scope(self.url) as session:
                if not frontier.is_pending(session, request_id) \
                        and not frontier.grants_for(session, self.name):
                    return False  # declined
            time.sleep(0.05)
            self.holder.run.budget.check()
        with session_scope(self.url) as session:
            withdrawn = frontier.withdraw(session, request_id)
        return False if withdrawn else self.take_grants() > 0

    def _take_over(self, child_id: str) -> bool:
        """Take a queued sub-job's whole frontier (its forest stays its own, all leaves given)."""
        from core.verifier.parallel import Holder

        with session_scope(self.url) as session:
            data = frontier.snapshot_of(session, self.store, child_id)
        if data is None:
            return False
        other = Holder(self.holder.run, child_id)
        other.restore(data, self.store.read)
        given = other.give(everything=True)
        if given is None:
            return False
        with session_scope(self.url) as session:
            if not frontier.take_over(session, child_id, self.name):
                session.rollback()
                return False
            frontier.save_snapshot(session, self.store, self.parent_id, child_id, other.snapshot(self.store.put_bytes), 0)
            self.holder.take(given)
            self._save(session)
        return True


def work(coordinator: Coordinator) -> tuple[str, str]:
    """Search what the holder holds, stealing more whenever it runs out: ("unsat", "")
    once no holder has domains to give, else the search's own "sat" or "unknown"."""
    while True:
        status, why = coordinator.holder.search(coordinator)
        if status != "unsat" or not coordinator.steal():
            return status, why
