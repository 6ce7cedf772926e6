"""Lemmas: intermediate bounds of the root tightened by branch and bound of their own.

On deep ReLU networks the root's boxes loosen layer by layer, and the looseness compounds:
on mnist_fc 256x4 prop_0 (eps 0.05) bounds on the second hidden layer's inputs as tight
as sampling finds them, with the later layers re-derived by α-CROWN from them, would
raise the worst disjunct's root bound from -2.3 to -0.6. Exact bounds take a MILP per
neuron (α,β-CROWN's `bab-refine`, with a commercial solver), but the second layer depends
on only the first layer's unstable ReLUs, so a short ReLU-split search per neuron, on
the network cut at that layer, tightens most of them: 34 of 86 proven stable and most of
the others narrowed, in about 30 s on one CPU thread.

A lemma is such a search's result: `side * z_j >= threshold` for neuron j of an
activation's input z, with the search's tree as its proof. A search that reaches 0 (the
neuron stable) proves that; one cut short by its domain budget proves the smallest bound among its
open domains, which are then closed as leaves (`ReluSplitSearch.close_frontier`). The
certificate carries each lemma with its tree; the checker proves it on the cut network,
then narrows the root's boxes with it (docs/certificate.md, "Lemmas").

The pipeline (`Run.prove_lemmas`) runs them only for targets a first, short search
without them left open: on eran 9x200 idx 3054 that search takes 5.9 s, the lemmas
first 42.8 s.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from typing import Callable

import torch

from core.bab.bounding import ReluRows
from core.bab.budget import Budget, Stop
from core.bab.choose import make_search
from core.bab.tree import ProofTree
from core.config import VerifyConfig
from core.model.ir import Graph, Interval
from core.model.ops.relu import Relu


@dataclass
class Lemma:
    """`side * z[neuron] >= threshold` for the input z of ReLU `layer` (`side` +1: a lower
    bound, -1: an upper bound), proven over the whole region box by `tree`."""

    layer: str
    neuron: int
    side: int
    threshold: float
    tree: ProofTree

    def record(self) -> dict:
        """As the verifier's result carries it (`core.certificate.certificate_from_proofs`)."""
        return {"layer": self.layer, "neuron": self.neuron, "side": self.side, "threshold": self.threshold,
                "tree": self.tree.to_dict()}


LEMMA_DEPTH = 2  # how many ReLU layers, from the second on, get lemmas
LEMMA_BATCH = 32  # domains per step of a lemma search: fixed, so its tree does not depend on step times


def lemma_layers(graph: Graph) -> list[str]:
    """The ReLUs whose inputs get lemmas: from the second ReLU layer on, `LEMMA_DEPTH` of
    them, never the last (the second's input is the first box that depends on earlier
    ReLUs' relaxations, and the search under it splits only the first layer's neurons)."""
    relus = [node.name for node in graph.nodes if isinstance(node.op, Relu)]
    return relus[1:min(1 + LEMMA_DEPTH, len(relus) - 1)]


def cut_at(graph: Graph, tensor: str) -> Graph:
    """The network up to and including the node that computes `tensor`, with it as output."""
    names = [node.name for node in graph.nodes]
    end = names.index(tensor)
    node = graph.nodes[end]
    return Graph(graph.input_name, graph.input_shape, graph.nodes[:end + 1], tensor, node.shape,
                 graph.onnx_input_shape)


@dataclass
class LemmaWork:
    """A share of one layer's lemma searches, with all a process needs to run it: a
    distributed verify job sends shares to other workers (worker/parallel_lemmas.py).
    `boxes`: the root's boxes of the tensors before the layer; `box` [1, *shape] the
    layer's input box before lemmas; `neurons`, nearest to stable first, and `sides` (+1:
    raise the lower bound, -1: lower the upper); `end_unix`: when every share stops (the
    wall clock, `time.time()`, which every worker of the job reads alike)."""

    relu: str
    boxes: dict[str, Interval]
    box: Interval
    lower: torch.Tensor
    upper: torch.Tensor
    neurons: list[int]
    sides: list[int]
    config: VerifyConfig
    margin: float
    end_unix: float

    def shares(self, parts: int) -> list["LemmaWork"]:
        """The work in `parts` shares, dealt round-robin so that each starts with near-stable
        neurons, each ending after 1/parts of the time left: together they take one process's
        worker-seconds, so a layer that runs out of time covers about the neurons one process
        covers, in 1/parts of the wall time (oval21 cifar_wide_kw img19: 173 s of searches)."""
        now = time.time()
        end = now + max(self.end_unix - now, 0.0) / parts
        return [dataclasses.replace(self, neurons=self.neurons[k::parts], sides=self.sides[k::parts], end_unix=end)
                for k in range(parts)]


# Runs a layer's lemma searches somewhere (in this process by default: `search`).
Spread = Callable[[Graph, LemmaWork, "Budget | None"], list[Lemma]]


def plan(graph: Graph, relu: str, boxes: dict[str, Interval], box: Interval, lower: torch.Tensor,
         upper: torch.Tensor, config: VerifyConfig, margin: float, seconds: float) -> LemmaWork:
    """The searches of ReLU `relu`'s input: each unstable neuron, nearest to stable first
    (quick to settle), on its bound nearer 0."""
    lo, hi = box.lower.flatten(), box.upper.flatten()
    unstable = ((lo < 0) & (hi > 0)).nonzero().squeeze(1)
    nearness = (torch.minimum(-lo, hi) / (hi - lo))[unstable]
    neurons = unstable[torch.argsort(nearness)].tolist()
    sides = [1 if -float(lo[j]) < float(hi[j]) else -1 for j in neurons]
    return LemmaWork(relu, boxes, box, lower, upper, neurons, sides, config, margin, time.time() + seconds)


def search(graph: Graph, work: LemmaWork, budget: Budget | None = None) -> list[Lemma]:
    """`work`'s searches in turn until `work.end_unix`, each of at most `config.lemma_domains`
    domains in steps of `LEMMA_BATCH` (and at most `config.lemma_seconds`); `budget` (the
    run's) is checked between searches. The lemmas that improve on `work.box`."""
    cut = cut_at(graph, graph.node(work.relu).inputs[0])
    rows = ReluRows.of(cut, {node.name: work.boxes[node.inputs[0]] for node in cut.nodes if isinstance(node.op, Relu)})
    lo, hi = work.box.lower.flatten(), work.box.upper.flatten()
    config = work.config.model_copy(update={"batch_size": LEMMA_BATCH})
    # a lemma search has a fixed domain count: the dual solver's extra bounding buys it nothing, and it
    # looks for no counterexample (the LP pursuit's); its α steps are its own (`lemma_alpha_iterations`);
    # it splits one neuron a step: two a step proved other lemmas, after which mnist_fc 256x4 prop_10
    # eps 0.05 searched 6,767 domains instead of 3,952 (docs/results/verifier.md)
    lemma_config = config.model_copy(update={"dual_bounding": "off", "pursuit_share": 0.0,
                                             "alpha_iterations": config.lemma_alpha_iterations,
                                             "double_split_max": 0})
    found = []
    for j, side in zip(work.neurons, work.sides):
        left = work.end_unix - time.time()
        if left <= 0:
            break
        if budget is not None:
            budget.check()
        C = torch.zeros(1, 1, lo.numel(), dtype=lo.dtype, device=lo.device)
        C[0, 0, j] = side
        search_ = make_search(cut, C, torch.zeros(1, 1, dtype=lo.dtype, device=lo.device), lemma_config,
                              lambda x: False, Budget(min(config.lemma_seconds, left), max_domains=config.lemma_domains),
                              work.margin)
        try:
            search_.run(work.lower, work.upper, rows)
        except Stop:
            pass  # out of its domains (or time): the open domains become leaves, proving their smallest bound
        search_.close_frontier()
        if not search_.tree.closed:
            continue  # stopped before the root was bounded
        threshold = min(bound for _, bound in search_.tree.closed.values()) - work.margin
        current = float(lo[j]) if side == 1 else -float(hi[j])
        if threshold > current:
            found.append(Lemma(work.relu, j, side, threshold, search_.tree))
    return found


def prove_lemmas(graph: Graph, relu: str, boxes: dict[str, Interval], box: Interval, lower: torch.Tensor,
                 upper: torch.Tensor, config: VerifyConfig, margin: float, seconds: float,
                 budget: Budget | None = None, spread: Spread | None = None) -> tuple[Interval, list[Lemma]]:
    """`box` [1, *shape] (the input of ReLU `relu` at the root of the box lower/upper [n])
    tightened by lemmas, and the lemmas. `boxes`: the root's boxes of every tensor before
    it, which the searches start from; all the searches together take at most `seconds`
    (`search`), run by `spread` where given (other workers), else here."""
    work = plan(graph, relu, boxes, box, lower, upper, config, margin, seconds)
    found = (spread or search)(graph, work, budget)
    order = {j: k for k, j in enumerate(work.neurons)}
    lemmas = sorted(found, key=lambda lemma: order[lemma.neuron])  # as one process finds them
    lo, hi = box.lower.flatten().clone(), box.upper.flatten().clone()
    for lemma in lemmas:
        if lemma.side == 1:
            lo[lemma.neuron] = lemma.threshold
        else:
            hi[lemma.neuron] = -lemma.threshold
    shape = box.lower.shape
    return Interval(lo.reshape(shape), hi.reshape(shape)), lemmas
