"""A distributed verify job's lemma searches, spread across jobs (docs/distributed.md).

On deep ReLU networks the root's lemmas (core.verifier.lemmas) can take most of a run:
one short search per unstable neuron of a layer, each independent of the others. The
parent deals a layer's neurons round-robin into shares, sends every share but the first
as a `lemma-part` sub-job, searches the first itself, then any share still queued (a
deployment with fewer free workers than parts), whose sub-job failed or whose worker
went silent (no heartbeat for `heartbeat_stale_s`: it does not wait for the reaper),
and waits for the rest. Each share ends after 1/parts of the layer's time (a share the
parent searches in place of another worker gets a slot of its own): the shares take one
process's worker-seconds, so the lemmas are the ones one process finds (each search is
limited by domains; a layer that runs out of time covers about the same neurons). A
share still running `GRACE_S` after its end is given up (its neurons keep their boxes:
looser, never unsound).
"""

from __future__ import annotations

import dataclasses
import time
from typing import TYPE_CHECKING

from app.services.job_state import TERMINAL
from worker import sub_jobs

if TYPE_CHECKING:
    from core.bab.budget import Budget
    from core.model.ir import Graph
    from core.verifier.lemmas import Lemma, LemmaWork
    from worker.runner import JobContext

MIN_NEURONS_PER_PART = 8  # fewer searches than this per part are not worth a sub-job's start
GRACE_S = 10.0  # how long past the searches' end the parent waits for a running share
WAIT_POLL_S = 0.2


class SpreadLemmas:
    """A `core.verifier.lemmas.Spread` over `parts` jobs."""

    def __init__(self, context: "JobContext", parts: int) -> None:
        self.context, self.parts = context, parts

    def __call__(self, graph: "Graph", work: "LemmaWork", budget: "Budget | None") -> list["Lemma"]:
        from core.verifier.lemmas import search
        from core.verifier.parallel import dump, load

        parts = min(self.parts, len(work.neurons) // MIN_NEURONS_PER_PART)
        if parts < 2:
            return search(graph, work, budget)
        shares = dict(enumerate(work.shares(parts)))
        end_unix = shares[0].end_unix
        slot = end_unix - time.time()

        def here(k: int) -> list["Lemma"]:
            """Share k searched by the parent in a slot of its own: no other worker runs it."""
            return search(graph, dataclasses.replace(shares[k], end_unix=time.time() + slot), budget)

        store = self.context.store
        ids = sub_jobs.dispatch(self.context, "lemma-part", {k: {"work": store.put_bytes(dump(shares[k]))}
                                                             for k in range(1, parts)},
                                end_unix - time.time() + GRACE_S)
        found = {0: search(graph, shares[0], budget)}
        while len(found) < parts:
            searched_here = False
            for k, job in sub_jobs.states(self.context, ids).items():
                if k in found:
                    continue
                if job.status == "queued" and sub_jobs.take_over(self.context, job.id) or job.status == "failed":
                    found[k], searched_here = here(k), True
                elif sub_jobs.silent(self.context, job):
                    sub_jobs.cancel(self.context, [job.id])
                    found[k], searched_here = here(k), True
                elif job.status in TERMINAL:
                    saved = (job.result or {}).get("lemmas")  # none: cancelled, or stopped before the end
                    found[k] = load(store.read(saved)) if saved else []
                if searched_here:
                    break  # a slot went by: the states read before it are stale
            if searched_here:
                continue  # read them again before giving up any share: one may have ended meanwhile
            if len(found) < parts and time.time() > end_unix + GRACE_S:
                sub_jobs.cancel(self.context, [ids[k] for k in ids if k not in found])
                break
            if budget is not None:
                budget.check()
            if len(found) < parts:
                time.sleep(WAIT_POLL_S)
        return [lemma for k in sorted(found) for lemma in found[k]]
