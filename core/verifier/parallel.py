"""One verification split across jobs: the root phase, the frontier dealt into parts, and
what each job holds and searches (the engine only; the service moves the bytes, see
worker/kinds/verify_part.py and docs/distributed.md).

The parent job runs what `verify` runs before its last search (attack, CROWN, α, the
root's α boxes and, where lemmas apply, the first search without them, then the lemmas),
then searches each open target until the targets' frontiers together hold
`FRONTIER_PER_PART` domains per part (one per part once the grow has run `DEAL_AFTER_S`),
and deals the frontier round-robin by bound, so that each part gets hard and easy domains.
Every job then holds a `Holder`: per target a forest (core.bab.merge) whose open leaves
are its search's pool. Domains move between holders only at batch boundaries
(`Search.on_batch`), where the pool is the whole frontier, as `pieces` (rows plus their
origins); a holder's `snapshot` is everything needed to go on after its process dies.
The merged forests are one proof tree per target, which the unchanged checker accepts.
"""

from __future__ import annotations

import io
import pickle
import time
from typing import Callable, Hashable

import torch

from core.bab.budget import Budget, Stop
from core.bab.choose import make_search
from core.bab.merge import Forest, MergeError, merge, open_leaves
from core.bab.pool import Batch, select
from core.bab.search import Search
from core.bab.tree import ProofTree
from core.config import VerifyConfig
from core.result import ProgressCallback, Verdict, VerifyResult
from core.threads import AutoThreads
from core.verifier.pipeline import Run, _forward_macs

FRONTIER_PER_PART = 4  # the root's search grows the frontier to this many domains per part
# ... or to one per part once it has grown this long: where few, costly domains widen the
# frontier slowly (tllverifybench N=48: 1 s a domain), the other workers idle meanwhile
DEAL_AFTER_S = 2.0
Key = Hashable  # a target's (region, disjunct)
Store = Callable[[bytes], str]  # stores bytes, returns their key (the artifact store's sha256)
Fetch = Callable[[str], bytes]  # the bytes of a key


def dump(value) -> bytes:
    """Pieces, snapshots and lemma shares as bytes. Plain pickle, not `torch.save`: most of
    a snapshot is the tree's Python lists and the leaves' NumPy evidence, which torch's
    pickler visits one by one (ACAS Xu 4_2 prop_2's 18 MB tree delta: 0.80 s against 0.42 s)."""
    return pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)


def load(data: bytes):
    # written by this service's own jobs (the artifact store), never uploaded by users
    if data[:2] == b"PK":  # a torch.save zip, as `dump` wrote before 6 Dec 2026: a job running across an upgrade
        return torch.load(io.BytesIO(data), weights_only=False)
    return pickle.loads(data)


def start(network, prop, config: VerifyConfig, timeout_s: float, progress: ProgressCallback | None) -> Run:
    """A `Run` as `verify` builds it (seed, threads, resolved config), with `timeout_s` left."""
    torch.manual_seed(config.seed)
    threads = AutoThreads(config.threads, _forward_macs(network.graph), torch.set_num_threads)
    torch.set_num_threads(threads.start)
    run = Run(network, prop, config, Budget(max(timeout_s, 1e-3), progress))
    torch.set_num_threads(threads.settle())
    return run


class Holder:
    """What one job holds: per target its forest and a search whose pool is the forest's
    open frontier. `name` is the job's id (the origin its domains carry when given away)."""

    def __init__(self, run: Run, name: str) -> None:
        self.run, self.name = run, name
        self.searches: dict[Key, Search] = {}
        self.origins: dict[Key, dict[int, tuple[str, int]]] = {}
        self.visited_before = 0  # domains visited by earlier attempts (from the snapshot)
        self.chunks: dict[Key, list[str]] = {}  # per target, the stored chunks of its tree (`snapshot`)
        self.marks: dict[Key, tuple[int, int, int, int]] = {}  # ... and how much of the tree they hold

    @property
    def visited(self) -> int:
        return self.visited_before + sum(s.visited for s in self.searches.values())

    def open_domains(self) -> int:
        return sum(len(s.pool) for s in self.searches.values())

    def _search(self, key: Key) -> Search:
        """The target's search, made (and rooted at its box without bounding) on first use."""
        if key not in self.searches:
            target = next(t for t in self.run.targets if (t.region, t.disjunct) == key)
            search = make_search(self.run.graph, target.C[None], target.d[None], self.run.config, self.run.finder,
                                 self.run.budget, self.run.margin, self.run.generator)
            if search is None:
                raise ValueError("a distributed search needs branching (config.branching is 'none')")
            search.adopt(target.lower, target.upper)
            search.tree = ProofTree(search.tree.kind, parent=[], branch=[], intermediate=search.tree.intermediate)
            self.searches[key], self.origins[key] = search, {}
        return self.searches[key]

    def grow(self, parts: int, deal_after_s: float = DEAL_AFTER_S) -> Verdict | None:
        """The root phase's search of every open target until the targets' frontiers
        together hold `FRONTIER_PER_PART * parts` domains, or `parts` once the grow has run
        `deal_after_s` (each target its share of that, at least one domain; or until its
        search ends: 9 open targets of eran 9x200 grown to 8 domains each took 4.6 s); SAT
        or UNKNOWN when one ends so."""
        run = self.run
        targets = len(run.pending) or 1
        many, few = -(-FRONTIER_PER_PART * parts // targets), -(-parts // targets)
        t0 = time.monotonic()
        for target in run.pending:
            key = (target.region, target.disjunct)
            run.budget.target = key
            search = make_search(run.graph, target.C[None], target.d[None], run.config, run.finder, run.budget,
                                 run.margin, run.generator)
            if search is None:
                return Verdict.UNKNOWN
            self.searches[key], self.origins[key] = search, {}
            search.on_batch = lambda s: _stop_at(s, few if time.monotonic() - t0 >= deal_after_s else many)
            root = run.root_of(target.region)[1]
            try:
                outcome = search.run(target.lower, target.upper, *([root.rows] if root else []))
            except Stop as stop:
                if stop.reason != "slice":
                    raise
                continue
            finally:
                search.on_batch = None
            if outcome.status != "unsat":
                return Verdict.SAT if outcome.status == "sat" else Verdict.UNKNOWN
        return None

    def deal(self, parts: int) -> list[bytes]:
        """Cut every target's frontier into `parts` by bound rank, round-robin, the count
        going on from one target to the next (so that targets of one domain each spread
        too); keep part 0, return the pieces of parts 1.. (see `take`)."""
        out: list[dict] = [{} for _ in range(parts - 1)]
        dealt = 0
        for key, search in self.searches.items():
            if not len(search.pool):
                continue
            rows = search.pool.pop(len(search.pool))
            part = (torch.argsort(torch.argsort(rows["lb"])) + dealt) % parts
            dealt += len(part)
            search.pool.push(select(rows, part == 0))
            for k in range(1, parts):
                if bool((part == k).any()):
                    out[k - 1][key] = self._piece(select(rows, part == k))
        return [dump(piece) for piece in out]

    def give(self, everything: bool = False) -> bytes | None:
        """Half of every target's frontier (every other domain by bound), or all of it, as
        pieces for another holder (`take`); None when fewer than two domains are open
        (than one, for everything)."""
        if self.open_domains() < (1 if everything else 2):
            return None
        out = {}
        for key, search in self.searches.items():
            if len(search.pool) < (1 if everything else 2):
                continue
            rows = search.pool.pop(len(search.pool))
            rank = torch.argsort(torch.argsort(rows["lb"]))
            keep = torch.zeros_like(rank, dtype=torch.bool) if everything else rank % 2 == 0
            search.pool.push(select(rows, keep))
            out[key] = self._piece(select(rows, ~keep))
        return dump(out)

    def _piece(self, rows: Batch) -> dict:
        return {"rows": {k: v.cpu() for k, v in rows.items()},
                "origins": [(self.name, int(i)) for i in rows["id"].tolist()]}

    def take(self, pieces: bytes) -> int:
        """Add given domains to their targets' searches as new roots of this holder's
        forests; returns how many."""
        count = 0
        for key, piece in load(pieces).items():
            search = self._search(key)
            ids = [search.tree.add_root() for _ in piece["origins"]]
            self.origins[key].update(zip(ids, map(tuple, piece["origins"])))
            rows = {k: v.to(self.run.device) for k, v in piece["rows"].items()}
            rows["id"] = torch.tensor(ids, dtype=torch.long, device=self.run.device)
            search.pool.push(rows)
            count += len(ids)
        return count

    def snapshot(self, put: Store) -> bytes:
        """Everything needed to go on from here in another process (`restore`). A tree only
        grows (nodes, splits and closed leaves are added, never changed), so each snapshot
        stores only what was added since the last one, as a chunk (`put` stores bytes and
        returns their key); the snapshot itself lists the chunks and holds the pool."""
        targets = {}
        for key, s in self.searches.items():
            tree, mark = s.tree, self.marks.get(key, (0, 0, 0, 0))
            now = (len(tree.parent), len(tree.split), len(tree.closed), len(tree.evidence))
            if now != mark:
                delta = {"parent": tree.parent[mark[0]:], "branch": tree.branch[mark[0]:],
                         "split": list(tree.split.items())[mark[1]:], "closed": list(tree.closed.items())[mark[2]:],
                         "evidence": list(tree.evidence.items())[mark[3]:]}
                self.chunks.setdefault(key, []).append(put(dump(delta)))
                self.marks[key] = now
            targets[key] = {"kind": tree.kind, "intermediate": tree.intermediate, "chunks": list(self.chunks.get(key, [])),
                            "origins": dict(self.origins[key]),
                            "pool": {k: v.cpu() for k, v in s.pool.rows().items()} if len(s.pool) else None}
        return dump({"visited": self.visited, "targets": targets})

    def restore(self, data: bytes, get: Fetch) -> None:
        """Go on from a `snapshot` (`get` reads what its `put` stored)."""
        state = load(data)
        self.visited_before = int(state["visited"])
        for key, saved in state["targets"].items():
            search = self._search(key)
            search.tree = tree_of(saved, get)
            self.chunks[key] = list(saved["chunks"])
            self.marks[key] = (len(search.tree.parent), len(search.tree.split), len(search.tree.closed),
                               len(search.tree.evidence))
            self.origins[key] = dict(saved["origins"])
            if saved["pool"] is not None:
                search.pool.push({k: v.to(self.run.device) for k, v in saved["pool"].items()})

    def search(self, on_batch: Callable[[Search], None]) -> tuple[str, str]:
        """Search the held frontier until it is empty: ("unsat", "") when every domain held
        was closed, ("sat", "") once a counterexample is confirmed, ("unknown", why) when a
        search cannot go on. `on_batch` runs at every batch boundary (and may add domains);
        `Stop` (timeout, cancel) propagates with every pool whole."""
        while True:
            busy = [key for key, s in self.searches.items() if len(s.pool)]
            if not busy:
                return "unsat", ""
            key = min(busy, key=lambda k: self.searches[k].pool.min_lb())
            search = self.searches[key]
            self.run.budget.target = key
            search.on_batch = on_batch
            try:
                outcome = search.resume()
            finally:
                search.on_batch = None
            if outcome.status != "unsat":
                return outcome.status, outcome.stats.get("reason", "")


def tree_of(saved: dict, get: Fetch) -> ProofTree:
    """A target's tree from a snapshot's entry: its chunks applied in order."""
    tree = ProofTree(saved["kind"], parent=[], branch=[], intermediate=saved["intermediate"])
    for key in saved["chunks"]:
        delta = load(get(key))
        tree.parent.extend(delta["parent"])
        tree.branch.extend(delta["branch"])
        tree.split.update(delta["split"])
        tree.closed.update(delta["closed"])
        tree.evidence.update(delta["evidence"])
    return tree


def _stop_at(search: Search, domains: int) -> None:
    if len(search.pool) >= domains:
        raise Stop("slice")


def root_phase(run: Run) -> Verdict | None:
    """Everything `verify` runs before its last search, in one process; SAT or UNSAT when
    that decides, else None with `run.pending`, the targets left to search. (A distributed
    parent runs the same steps, its first search spread: worker/parallel_verify.py.)"""
    verdict = root_bounds(run)
    if verdict is None and lemmas_ahead(run):
        if quick_search(run):
            return Verdict.SAT
        verdict = lemma_phase(run)
    if verdict is not Verdict.SAT:
        run.budget.enter("bab")
    return verdict


def root_bounds(run: Run) -> Verdict | None:
    """The attack, then CROWN and α at the root: SAT, UNSAT, or None with `run.pending`."""
    run.budget.enter("attack")
    from core.verifier.targets import stack_padded

    lower, upper, C, d = stack_padded(run.targets)
    if run.config.attack_restarts and run.attack(lower, upper, C, d, run.config.attack_restarts,
                                                 run.config.attack_steps):
        return Verdict.SAT
    run.budget.enter("incomplete")
    run.pending = [target for target, _ in run.incomplete()]
    if run.attack_open(run.pending):
        return Verdict.SAT
    return None if run.pending else Verdict.UNSAT


def lemmas_ahead(run: Run) -> bool:
    """Whether lemmas come before the last search (and, with `search_before_lemmas`, a first
    search before them)."""
    return bool(run.pending) and run.lemmas_apply()


def lemma_phase(run: Run) -> Verdict | None:
    """The lemmas, then α-CROWN over the root they narrow: UNSAT or None with `run.pending`."""
    run.pending = run.prove_lemmas(run.pending)
    return None if run.pending else Verdict.UNSAT


def quick_search(run: Run) -> bool:
    """One job's first search without lemmas (`search_before_lemmas` of the time left), in
    this process (a distributed parent spreads it: worker/parallel_verify.py); on oval21 it
    decides in 6-10 s what the lemmas first take 100-165 s to (docs/results/distributed.md).
    Narrows `run.pending` to the targets it left open (those it ended undecided too: the
    lemmas and the last search may still close them); True when it found a counterexample."""
    share = run.config.search_before_lemmas
    if not share:
        return False
    run.budget.enter("bab")
    _, sat = run.search_stage(run.pending, share, [])
    closed = {(proof["region"], proof["disjunct"]) for proof in run.proofs}
    run.pending = [target for target in run.pending if (target.region, target.disjunct) not in closed]
    run.paused.clear()  # the holders start their own searches from the lemmas' root
    return sat


def merged_result(run: Run, snapshots: dict[str, bytes], get: Fetch) -> VerifyResult:
    """The parent's result once every holder's final snapshot is in: one proof tree per
    target from their forests (UNSAT), or UNKNOWN saying what does not join."""
    forests: dict[Key, list[Forest]] = {}
    visited = 0
    for name, data in sorted(snapshots.items()):
        state = load(data)
        visited += int(state["visited"])
        for key, saved in state["targets"].items():
            forests.setdefault(key, []).append(Forest(name, tree_of(saved, get), dict(saved["origins"])))
    run.budget.domains_visited = visited
    run.budget.domains_open = 0
    for target in run.pending:
        key = (target.region, target.disjunct)
        try:
            tree = merge(forests.get(key, []))
        except MergeError as exc:
            return run.result(Verdict.UNKNOWN, f"{target.label}: the sub-searches' trees do not join: {exc}")
        missing = open_leaves(tree)
        if missing:
            return run.result(Verdict.UNKNOWN, f"{target.label}: {len(missing)} domains left open (first: node {missing[0]})")
        leaves = [bound for _, bound in tree.closed.values()]
        run.budget.raise_bound(min(leaves) if leaves else None, key)
        run.proofs.append({"region": target.region, "disjunct": target.disjunct, "closed_by": "bab",
                           "tree": tree.to_dict(), "root": run.root_of(target.region)[0]})
    return run.result(Verdict.UNSAT)


def counterexample_result(run: Run, x: list[float]) -> VerifyResult:
    """SAT from a sub-job's counterexample once onnxruntime confirms it here too."""
    if run.finder(torch.tensor([x], dtype=torch.float64)):
        return run.result(Verdict.SAT)
    return run.result(Verdict.UNKNOWN, "a sub-job's counterexample was not confirmed")


def stopped_result(run: Run, stop: Stop) -> VerifyResult:
    return run.result(Verdict.TIMEOUT if stop.reason == "timeout" else Verdict.UNKNOWN, stop.reason)


def deadline_left(deadline_unix: float) -> float:
    return deadline_unix - time.time()
