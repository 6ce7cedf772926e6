"""The lemma-part kind: one share of a distributed verify job's lemma searches
(worker/parallel_lemmas.py): the searches of its neurons, until the parent's end."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from worker.outcome import Outcome

if TYPE_CHECKING:
    from worker.runner import JobContext


def run(context: "JobContext") -> Outcome:
    import torch

    from core.bab.budget import Budget, Stop
    from core.model import load_network
    from core.result import Progress
    from core.threads import AutoThreads
    from core.verifier.lemmas import search
    from core.verifier.parallel import dump, load
    from core.verifier.pipeline import _forward_macs
    from worker.parallel_lemmas import GRACE_S

    context.progress(Progress(phase="loading"))
    work = load(context.store.read(context.job.config["work"]))
    graph = load_network(context.model_bytes()).graph.to(work.lower.device, work.lower.dtype)
    torch.set_num_threads(AutoThreads(work.config.threads, _forward_macs(graph)).start)
    budget = Budget(max(work.end_unix - time.time(), 0.0) + GRACE_S, context.progress)
    try:
        with budget:
            budget.enter("lemmas")
            lemmas = search(graph, work, budget)
    except Stop as stop:
        return Outcome(verdict=None, result={"searched": 0, "found": 0, "message": stop.reason})
    return Outcome(verdict=None, result={"lemmas": context.store.put_bytes(dump(lemmas)), "searched": len(work.neurons),
                                         "found": len(lemmas)})
