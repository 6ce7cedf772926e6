"""verify(): attack -> incomplete bounds -> branch and bound, per (region, disjunct).

`sat` only when onnxruntime confirms a point; `unsat` only when every disjunct of every
region is refuted; otherwise `timeout` (budget spent) or `unknown`.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import time

import torch

from core.attack.pgd import AttackResult, pgd
from core.attack.portfolio import attack_open_targets
from core.bab.bounding import ReluRows, bound_domains, optimise_from_rows, optimise_over_boxes
from core.bab.budget import Budget, Stop
from core.bab.choose import make_search
from core.bab.outcome import Outcome
from core.bab.search import Search
from core.config import ATTACK_PACE, VerifyConfig
from core.device import require_device
from core.model.operator import Affine
from core.model.ops.conv import Conv
from core.model.ops.linear import Linear
from core.model.ops.relu import Relu
from core.result import ProgressCallback, Verdict, VerifyResult
from core.spec.property import Property
from core.threads import AutoThreads
from core.verifier.confirm import CounterexampleFinder
from core.verifier.certify import alpha_evidence
from core.verifier import lemmas
from core.verifier.roots import LemmaProver, RootBoxes, tighten_root
from core.verifier.targets import Target, stack_padded, targets_of

# α-CROWN steps between two budget checks in the incomplete phase.
ALPHA_ROUND = 5
# Share of the time left that the root's lemmas may take in all (core.verifier.lemmas).
LEMMA_SHARE = 0.25
# The box tolerance of a counterexample's check (core.counterexample.confirm's default).
# Branch and bound should start within 15% of the timeout (issue 29): the first attack may take
# ATTACK_CAP of it, and the root's intermediate α optimises no more neurons past ROOT_SHARE of it
# (below ROOT_FLOOR_S seconds neither binds: short runs are small networks, whose phases take milliseconds)
ATTACK_CAP = 0.03
ROOT_SHARE = 0.12
ROOT_FLOOR_S = 5.0
CONFIRM_TOL = 1e-4
# Rounding slack a bound must clear, per dtype, before it counts as a proof.
ROUNDING_MARGIN = {torch.float32: 1e-5, torch.float64: 1e-9}


def _weights(graph) -> int:
    total = 0
    for node in graph.nodes:
        for f in dataclasses.fields(node.op):
            value = getattr(node.op, f.name)
            if isinstance(value, torch.Tensor):
                total += value.numel()
    return total


def _forward_macs(graph) -> int:
    """Multiply-accumulates of one forward pass through the Linear and Conv nodes (a Conv
    weight is used once per output position)."""
    total = 0
    for node in graph.nodes:
        if isinstance(node.op, (Linear, Conv)):
            total += node.op.weight.numel() * math.prod(node.shape) // node.op.weight.shape[0]
    return total


def _only_relu(graph) -> bool:
    """Every nonlinear node is a ReLU (what ReLU splitting can handle)."""
    return all(isinstance(n.op, Relu) for n in graph.nodes if not isinstance(n.op, Affine))


class Run:
    """One verification run: the network on its device, the targets, the budget, the findings."""

    def __init__(self, network, prop: Property, config: VerifyConfig, budget: Budget) -> None:
        graph = network.graph
        on_cuda = torch.cuda.is_available()
        self.config = config.resolve(graph.input_size, _only_relu(graph), on_cuda, _weights(graph), _forward_macs(graph))
        self.device = torch.device(self.config.device)
        self.dtype = getattr(torch, self.config.dtype)
        self.graph = graph.to(self.device, self.dtype)
        # PGD needs no float64: its candidates are replayed in onnxruntime (float32) anyway,
        # and float32 convolutions are several times faster on the CPU
        self.attack_graph = self.graph if self.dtype == torch.float32 else graph.to(self.device, torch.float32)
        self.prop, self.budget = prop, budget
        self.margin = self.config.proof_margin + ROUNDING_MARGIN[self.dtype]
        self.finder = CounterexampleFinder(network.onnx_bytes, prop)
        self.generator = torch.Generator().manual_seed(self.config.seed)
        self.targets = targets_of(prop, self.device, self.dtype)
        self.proofs: list[dict] = []
        self.roots: dict[int, RootBoxes] = {}  # per region, α-tightened root boxes
        self.lemma_roots: dict[int, RootBoxes] = {}  # per region, the same derived again with lemmas
        self.lemma_spread: lemmas.Spread | None = None  # where a layer's lemma searches run (None: here)
        # per (region, disjunct), a search a stage's end paused, and the root it started from
        self.paused: dict[tuple[int, int], tuple[Search, str]] = {}

    def attack(self, lower, upper, C, d, restarts: int, steps: int) -> bool:
        """PGD on boxes [K, n] against disjuncts C [K, r, m]; True once a counterexample is confirmed.

        One counterexample answers the property, so PGD stops at the first disjunct with an
        unsafe point; only where onnxruntime rejects every such point (a margin within
        float32 rounding of 0) does it run again over all disjuncts and every step."""
        lower, upper, C, d = (t.to(torch.float32) for t in (lower, upper, C, d))
        # as the root's cap: it makes room for branch and bound; where none follows, no cap
        cap = max(ATTACK_CAP * self.budget.timeout_s, ROOT_FLOOR_S) if self.config.branching != "none" else math.inf

        def run(any_target: bool) -> AttackResult:
            return pgd(self.attack_graph, lower, upper, C, d, restarts, steps, self.generator,
                       lambda: self.budget.stopping() or self.budget.elapsed > cap, any_target=any_target)

        first = run(any_target=True)
        if self.confirmed(first):
            return True
        return bool((first.margin <= 0).any()) and self.confirmed(run(any_target=False))

    def confirmed(self, result: AttackResult) -> bool:
        """Replay an attack's points of margin <= 0 in onnxruntime, most violated first; True
        once one is confirmed (the finder keeps it)."""
        order = torch.argsort(result.margin)
        unsafe = order[result.margin[order] <= 0]
        return bool(unsafe.numel()) and self.finder(result.x[unsafe])

    def attack_open(self, targets: list[Target]) -> bool:
        """The attack portfolio (`core.attack.portfolio`) on the targets the incomplete bounds
        left open, within `attack_share` of the time left and ATTACK_PACE times the time spent
        so far (so that an instance whose search will be short is not slowed down by a share
        of a long budget); True once a counterexample is confirmed."""
        if not targets or not self.config.attack_share or not self.config.attack_restarts:
            return False
        self.budget.enter("attack")
        seconds = min(self.config.attack_share * self.budget.remaining, ATTACK_PACE * self.budget.elapsed)
        lower, upper, C, d = (t.to(torch.float32) for t in stack_padded(targets))
        # its own random stream: one that finds nothing leaves the search's draws as they were
        generator = torch.Generator().manual_seed(self.config.seed + 1)
        return attack_open_targets(self.attack_graph, lower, upper, C, d, seconds, self.config.attack_restarts,
                                   self.config.attack_steps, generator, self.confirmed, self.budget.stopping)

    def incomplete(self) -> list[tuple[Target, float]]:
        """CROWN then α-CROWN on all targets at once; returns the ones still open with their bound.

        α runs in rounds of a few steps from the CROWN pass's intermediate bounds, checking
        the budget in between, so that a deep network cannot overrun the deadline here.
        """
        lower, upper, C, d = stack_padded(self.targets)
        crown = bound_domains(self.graph, lower, upper, C, d, "crown")
        best = crown.lb.amax(dim=1)
        self._raise_bounds(self.targets, best)
        self._record_proofs(best, "crown")
        open_ = best <= self.margin
        if bool(open_.any()) and self.config.alpha_iterations:
            self.budget.mark("alpha")
            idx = open_.nonzero().squeeze(1)
            sub = lambda t: t[idx]  # noqa: E731
            evidence = None
            if _only_relu(self.graph):
                rows, warm = ReluRows.of(self.graph, crown.pre), None
                rows = ReluRows(sub(rows.lower), sub(rows.upper))
                for done in range(0, self.config.alpha_iterations, ALPHA_ROUND):
                    self.budget.check()
                    steps = min(ALPHA_ROUND, self.config.alpha_iterations - done)
                    lb, warm = optimise_from_rows(self.graph, sub(lower), sub(upper), rows, sub(C), sub(d), warm, steps)
                    best[idx] = torch.maximum(best[idx], lb.amax(dim=1))
                evidence = {int(i): alpha_evidence(warm, j, self.targets[i].C.shape[0]) for j, i in enumerate(idx.tolist())}
            else:
                out = bound_domains(self.graph, sub(lower), sub(upper), sub(C), sub(d), "alpha",
                                    alpha_iterations=self.config.alpha_iterations)
                best[idx] = torch.maximum(best[idx], out.lb.amax(dim=1))
                if out.warm is not None:  # the tangent points of Sigmoid/Tanh (and ReLU slopes): the checker reads both
                    evidence = {int(i): alpha_evidence(out.warm, j, self.targets[i].C.shape[0])
                                for j, i in enumerate(idx.tolist())}
            self._record_proofs(torch.where(open_, best, torch.full_like(best, -float("inf"))), "alpha", evidence)
        if self.config.branching != "input" and self.config.intermediate_alpha_iterations:
            self.tighten_roots(best, lower, upper)
        self._raise_bounds(self.targets, best)
        remaining = [(self.targets[i], float(best[i])) for i in (best <= self.margin).nonzero().squeeze(1).tolist()]
        return sorted(remaining, key=lambda tb: tb[1])

    def tighten_roots(self, best: torch.Tensor, lower: torch.Tensor, upper: torch.Tensor) -> None:
        """For each region with open targets: α-CROWN on the root's intermediate bounds
        (`core.verifier.roots`), then α-CROWN on those targets from the tightened boxes;
        `best` [K] is raised in place and the targets it closes are recorded. The boxes are
        kept for branch and bound."""
        open_ = (best <= self.margin).nonzero().squeeze(1).tolist()
        if open_:
            self.budget.mark("intermediate_alpha")
        # the cap makes room for branch and bound; where none can follow, the root is all there is
        deadline = (self.budget.start + max(ROOT_SHARE * self.budget.timeout_s, ROOT_FLOOR_S)
                    if self.config.branching != "none" else None)
        for region in sorted({self.targets[i].region for i in open_}):
            idx = [i for i in open_ if self.targets[i].region == region]
            self.roots[region] = tighten_root(self.graph, lower[idx[0]], upper[idx[0]],
                                              self.config.intermediate_alpha_iterations, self.budget.check,
                                              deadline=deadline)
            best[idx] = torch.maximum(best[idx], self._close_at_root([self.targets[i] for i in idx], "alpha"))

    def _close_at_root(self, targets: list[Target], root: str) -> torch.Tensor:
        """α-CROWN on `targets` (one region's) over the region's root boxes of kind `root`
        ("alpha": `self.roots`, "lemmas": `self.lemma_roots`); records the ones it closes and
        returns every target's bound [len(targets)]."""
        boxes = (self.roots if root == "alpha" else self.lemma_roots)[targets[0].region].boxes
        _, _, C, d = stack_padded(targets)
        lb, warm = optimise_over_boxes(self.graph, boxes, C, d, None, self.config.alpha_iterations,
                                       interrupt=self.budget.check)
        lb = lb.amax(dim=1)
        for j in (lb > self.margin).nonzero().squeeze(1).tolist():
            self._record(targets[j], "alpha", float(lb[j]), alpha_evidence(warm, j, targets[j].C.shape[0]), root)
        return lb

    def lemmas_apply(self) -> bool:
        """Lemmas narrow the root before branch and bound: ReLU splitting of a network with three
        or more ReLU layers, with `lemma_domains` > 0 and the root's α-CROWN boxes on."""
        return bool(lemmas.lemma_layers(self.graph) and self.config.branching == "relu"
                    and self.config.lemma_domains and self.config.intermediate_alpha_iterations)

    def prove_lemmas(self, pending: list[Target]) -> list[Target]:
        """For each region of `pending`: the root's boxes derived again with lemmas
        (`core.verifier.lemmas`), kept for branch and bound, then α-CROWN on its targets over
        them; returns the targets still open."""
        self.budget.enter("lemmas")
        left = []
        for region in sorted({t.region for t in pending}):
            mine = [t for t in pending if t.region == region]
            lower, upper = mine[0].lower, mine[0].upper

            def prover(layer: str) -> LemmaProver:
                return lambda boxes, box: lemmas.prove_lemmas(self.graph, layer, boxes, box, lower, upper,
                                                              self.config, self.margin,
                                                              LEMMA_SHARE * self.budget.remaining, self.budget,
                                                              self.lemma_spread)

            provers = {self.graph.node(layer).inputs[0]: prover(layer) for layer in lemmas.lemma_layers(self.graph)}
            self.lemma_roots[region] = tighten_root(self.graph, lower, upper, self.config.intermediate_alpha_iterations,
                                                    self.budget.check, provers)
            # searches paused before started from the old root: they cannot go on from the new one
            self.paused = {key: paused for key, paused in self.paused.items() if key[0] != region}
            lb = self._close_at_root(mine, "lemmas")
            self._raise_bounds(mine, lb)
            left += [t for t, b in zip(mine, lb.tolist()) if not b > self.margin]
        return left

    def _raise_bounds(self, targets: list[Target], lb: torch.Tensor) -> None:
        """Give the budget each target's bound from `lb` [len(targets)] (it keeps the best)."""
        for target, bound in zip(targets, lb.tolist()):
            self.budget.raise_bound(bound, (target.region, target.disjunct))

    def _record_proofs(self, lb: torch.Tensor, method: str, evidence: dict[int, dict] | None = None) -> None:
        """Record the targets `lb` [K] (one per target) closes, closed by `method` at a CROWN root."""
        for i in (lb > self.margin).nonzero().squeeze(1).tolist():
            self._record(self.targets[i], method, float(lb[i]), (evidence or {}).get(i, {}), "crown")

    def _record(self, target: Target, method: str, bound: float, evidence: dict, root: str) -> None:
        """`root`: how the root's intermediate bounds were derived ("crown", "alpha" with the
        region's root slopes, or "lemmas" with its lemma slopes and lemmas)."""
        self.proofs.append({"region": target.region, "disjunct": target.disjunct, "closed_by": method,
                            "lower_bound": bound, "evidence": evidence, "root": root})

    def root_of(self, region: int) -> tuple[str, RootBoxes | None]:
        """The root boxes a search of `region` starts from, and their kind (a proof's `root`)."""
        if region in self.lemma_roots:
            return "lemmas", self.lemma_roots[region]
        if region in self.roots:
            return "alpha", self.roots[region]
        return "crown", None

    def branch_and_bound(self, target: Target) -> Outcome | None:
        """The search the configuration picks for this target (None when branching is off),
        resumed where a stage's end paused it if it started from the root the region has now.
        A search that a stage's end stops (`Stop("slice")`) is kept for the next stage."""
        kind, root = self.root_of(target.region)
        key = (target.region, target.disjunct)
        self.budget.target = key  # the search's bounds are this target's
        paused = self.paused.pop(key, None)
        if paused is not None and paused[1] == kind:
            search = paused[0]
            resume = search.resume
        else:
            search = make_search(self.graph, target.C[None], target.d[None], self.config, self.finder, self.budget,
                                 self.margin, self.generator)
            if search is None:
                return None
            resume = functools.partial(search.run, target.lower, target.upper, *([root.rows] if root else []))
        try:
            return resume()
        except Stop as stop:
            if stop.reason == "slice":
                self.pause(key, search, kind)
            raise

    def pause(self, key: tuple[int, int], search: Search, kind: str) -> None:
        """Keep a search stopped at a stage's end, to resume it in the next stage, while the
        paused searches' pools fit in the memory cap together (past it, it starts over)."""
        held = sum(s.pool.nbytes() for s, _ in self.paused.values()) + search.pool.nbytes()
        if len(search.pool) and (self.config.memory_cap_mb is None or held <= self.config.memory_cap_mb * 2**20):
            self.paused[key] = (search, kind)

    def execute(self) -> VerifyResult:
        self.budget.enter("attack")
        lower, upper, C, d = stack_padded(self.targets)
        if self.config.attack_restarts and self.attack(lower, upper, C, d, self.config.attack_restarts,
                                                       self.config.attack_steps):
            return self.result(Verdict.SAT)
        self.budget.enter("incomplete")
        remaining = self.incomplete()
        pending = [target for target, _ in remaining]
        if self.attack_open(pending):
            return self.result(Verdict.SAT)
        undecided: list[str] = []
        # Each target gets an equal share of a stage's time, so that one hard target cannot
        # starve an easy counterexample in another; the ones that run out of their share
        # go on to the next stage. Where lemmas apply, a quick stage without them comes
        # first; the last stage searches the rest one after the other with all the time left.
        with_lemmas = bool(pending) and self.lemmas_apply()
        quick = [self.config.search_before_lemmas] if with_lemmas and self.config.search_before_lemmas else []
        for share in quick + [1.0, None]:
            if with_lemmas and share == 1.0 and pending:
                pending = self.prove_lemmas(pending)
            self.budget.enter("bab")
            pending, sat = self.search_stage(pending, share, undecided)
            if sat:
                return self.result(Verdict.SAT)
        if undecided:
            return self.result(Verdict.UNKNOWN, "; ".join(undecided))
        return self.result(Verdict.UNSAT)

    def search_stage(self, pending: list[Target], share: float | None,
                     undecided: list[str]) -> tuple[list[Target], bool]:
        """Branch and bound on each of `pending` in turn, all of them together within `share`
        of the time left (None: no limit but the budget's). Returns the targets that ran out
        of their share, and whether a counterexample was found; proofs are recorded, and
        searches that ended undecided are added to `undecided`."""
        retry: list[Target] = []
        stage_end = time.monotonic() + share * self.budget.remaining if share is not None else None
        for k, target in enumerate(pending):
            sliced = stage_end is not None and (share < 1 or len(pending) > 1)
            self.budget.slice_end = time.monotonic() + (stage_end - time.monotonic()) / (len(pending) - k) \
                if sliced else None
            try:
                outcome = self.branch_and_bound(target)
            except Stop as stop:
                if stop.reason != "slice":
                    raise
                retry.append(target)
                continue
            finally:
                self.budget.slice_end = None
            if outcome is not None:  # its last steps closed domains since its last report
                self.budget.domains_open = outcome.stats.get("open", 0)
            if outcome is not None and outcome.status == "sat":
                return retry, True
            if outcome is not None and outcome.status == "unsat":
                leaves = [bound for _, bound in outcome.tree.closed.values()]
                self.budget.raise_bound(min(leaves) if leaves else None, (target.region, target.disjunct))
                self.proofs.append({"region": target.region, "disjunct": target.disjunct, "closed_by": "bab",
                                    "tree": outcome.tree.to_dict(), "root": self.root_of(target.region)[0]})
            else:
                reason = outcome.stats.get("reason", "") if outcome else "no branching for this network"
                undecided.append(f"{target.label}: {reason}")
        return retry, False

    def result(self, verdict: Verdict, message: str = "") -> VerifyResult:
        self.budget.phase = "done"
        certificate = None
        if verdict == Verdict.UNSAT:
            certificate = {"targets": self.proofs,
                           "root_slopes": {region: root.slopes for region, root in self.roots.items()},
                           "lemma_slopes": {region: root.slopes for region, root in self.lemma_roots.items()},
                           "lemmas": {region: [lemma.record() for lemma in root.lemmas]
                                      for region, root in self.lemma_roots.items()}}
        stats = {"device": self.config.device, "dtype": self.config.dtype, "branching": self.config.branching,
                 "replayed": self.finder.replayed, "threads": torch.get_num_threads(), "marks": dict(self.budget.marks)}
        return VerifyResult(verdict, self.finder.found if verdict == Verdict.SAT else None, certificate,
                            self.budget.elapsed, self.budget.domains_visited, message, stats,
                            self.budget.lower_bound, self.target_status(verdict))

    def target_status(self, verdict: Verdict) -> list[dict]:
        """Per (region, disjunct): "unsat" once a proof closed it, "sat" when the
        counterexample lies in its box and meets it, else "open"; with its best bound."""
        closed_by = {(p["region"], p["disjunct"]): p["closed_by"] for p in self.proofs}
        found = self.finder.found if verdict == Verdict.SAT else None
        out = []
        for t in self.targets:
            key = (t.region, t.disjunct)
            region = self.prop.regions[t.region]
            hit = found is not None and region.box.contains(found.x, CONFIRM_TOL) and \
                region.unsafe[t.disjunct].holds(found.y)
            status = "sat" if hit else "unsat" if key in closed_by else "open"
            out.append({"region": t.region, "disjunct": t.disjunct, "status": status,
                        "lower_bound": self.budget.bounds.get(key), "closed_by": closed_by.get(key)})
        return out


def check_shapes(network, prop: Property) -> str:
    """Why `prop` does not fit `network` ("" when it does)."""
    graph = network.graph
    if prop.n_inputs != graph.input_size:
        return f"property has {prop.n_inputs} inputs but the network takes {graph.input_size}"
    if prop.n_outputs != graph.output_size:
        return f"property has {prop.n_outputs} outputs but the network gives {graph.output_size}"
    return ""


def verify(network, prop: Property, config: VerifyConfig | None = None,
           progress: ProgressCallback | None = None) -> VerifyResult:
    """Decide whether some input of `prop`'s boxes reaches its unsafe set through `network`.

    `network` is a `core.model.Network` (graph IR + ONNX bytes). `progress` is called at
    least once a second; returning True stops the run (verdict `unknown`). Raises
    `core.device.DeviceUnavailable` when `config.device` is "cuda" and CUDA is not usable.
    """
    config = config or VerifyConfig()
    require_device(config.device)
    budget = Budget(config.timeout_s, progress)
    problem = check_shapes(network, prop)
    if problem:
        return VerifyResult(Verdict.ERROR, message=problem)
    torch.manual_seed(config.seed)
    threads = torch.get_num_threads()
    run_threads = AutoThreads(config.threads, _forward_macs(network.graph), torch.set_num_threads)
    torch.set_num_threads(run_threads.start)
    run = Run(network, prop, config, budget)  # while it is built, the machine's load is measured
    torch.set_num_threads(run_threads.settle())
    budget.on_check = run_threads.adjust  # and again while it runs
    try:
        with budget:
            result = run.execute()
    except Stop as stop:
        verdict = Verdict.TIMEOUT if stop.reason == "timeout" else Verdict.UNKNOWN
        result = run.result(verdict, stop.reason)
    finally:
        torch.set_num_threads(threads)
    run.budget.phase = "done"
    budget.report("done")
    return result
