"""How a verification run is configured: one typed object, defaults that decide.

Every strategy knob defaults to "auto" and is resolved from the network and the
property (`VerifyConfig.resolve`): input dimension, number of activation neurons,
kinds of activation. There are no per-benchmark configuration files.
"""

from __future__ import annotations

import os
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from core.numbers import Count, Real, Seed

# Inputs up to this many dimensions are split in the input space; beyond it, ReLUs are.
INPUT_SPLIT_MAX_DIM = 16
# Restarts x multiply-accumulates of one forward pass that one attack may cost by default
# (on fully connected networks one forward pass costs as many as there are weights).
ATTACK_MAC_BUDGET = 20_000_000
# The attack portfolio's share of the time left once the incomplete bounds leave targets open
# (off by default: measured, it found nothing the first attack and the search miss and cost
# mnist_fc 256x6 prop_1_0.05 2 s of 6.6; docs/results/planted.md); 0.05 is the share tried
ATTACK_SHARE = 0.0
# ... and at most this many times the time the run has taken until then (attack and bounds)
ATTACK_PACE = 0.5
# Lemma searches: domains each, the time cap that should not bind, their α steps, and the first
# search's share before them (docs/verifier.md, "Lemmas")
LEMMA_DOMAINS = 200
LEMMA_SECONDS = 5.0
LEMMA_ALPHA_ITERATIONS = 10
SEARCH_BEFORE_LEMMAS = 0.04
# Stratified bounding (core.bab.stratify): measured in docs/results/anderson.md
DUAL_MAX_DEPTH = 6
DUAL_AFTER_S = 0.0
DUAL_SHARE = 0.15
DUAL_ITERATIONS = 50
# ReLU splitting: steps of at most this many domains split each on two neurons (core.bab.relu_split)
DOUBLE_SPLIT_MAX = 32
# Branch and bound's LP pursuit of counterexamples (core.bab.pursuit): its share of the run's time
PURSUIT_SHARE = 0.05


def available_mb(device: str) -> float:
    """Free memory on `device` ("cpu" or "cuda") in MiB."""
    if device == "cuda":
        import torch

        if torch.cuda.is_available():
            return torch.cuda.mem_get_info()[0] / 2**20
    return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") / 2**20


# The service's name for a stored brancher: "gnn:<id of the train-brancher job that made it>".
GnnRef = Annotated[str, StringConstraints(pattern=r"^gnn:[A-Za-z0-9_-]{1,64}$")]
GNN_PREFIX = "gnn:"


class VerifyConfig(BaseModel):
    """Configuration of `core.verifier.verify`; unknown fields are an error."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    timeout_s: Real = Field(300.0, gt=0, description="Wall-clock budget of the whole run.")
    device: Literal["auto", "cpu", "cuda"] = Field("auto", description="auto: cuda when available.")
    seed: Seed = Field(0, description="Seed of every random choice (attack restarts), for reproducible runs.")
    dtype: Literal["auto", "float32", "float64"] = Field(
        "auto", description="auto: float64 for networks under a million weights on CPU, or on any device "
        "when the input is split; else float32.")
    branching: Literal["auto", "input", "relu", "none"] | GnnRef = Field(
        "auto", description="What branch and bound splits; auto: input when the input has "
        f"at most {INPUT_SPLIT_MAX_DIM} dimensions, else ReLU neurons. The service also takes "
        "`gnn:<id>`: ReLU splitting chosen by the brancher its train-brancher job <id> stored "
        "(docs/branching.md); the engine itself takes `relu_heuristic: gnn` and a `brancher` file.")
    relu_heuristic: Literal["babsr", "fsb", "upb", "gnn"] = Field(
        "fsb", description="ReLU split choice; gnn: the learned brancher in `brancher` (docs/branching.md).")
    brancher: str | None = Field(
        None, description="gnn: the brancher file (made by `certbound train-brancher`); the service sets it "
        "from `branching: \"gnn:<id>\"`.")
    gnn_threshold: Real | None = Field(
        None, ge=0, description="gnn: where the GNN's choice raises a domain's bound by less than this share of "
        "its magnitude, BaBSR's choice is bounded too and the better kept; None: the brancher file's.")
    gnn_candidates: Count = Field(
        3, ge=1, description="gnn: with k > 1 the children of the GNN's best k candidates (and of BaBSR's "
        "choice) are bounded and the best by split_score split: FSB with the GNN as its filter; 1: the GNN's "
        "choice, checked by the fail-safe. 3 with gains: 0.34-0.37 of FSB's domains against 0.59 with 1; "
        "2 visits slightly more and was as fast within the runs' spread (docs/results/branching.md).")
    fsb_candidates: Count = Field(3, ge=1, description="FSB: neurons per layer scored by a real bound.")
    double_split_max: Count = Field(
        DOUBLE_SPLIT_MAX, ge=0, description="ReLU splitting: a step that takes at most this many domains "
        "(a narrow frontier; and at most half the batch size) splits each child again on its own choice "
        "and bounds the four grandchildren at once, halving the steps such a search takes; 0 splits one "
        "neuron per step.")
    split_score: Literal["auto", "worse-child", "gains"] = Field(
        "auto", description="FSB (and the gnn rule's filter and fail-safe): how a candidate's two bounded "
        "children rank it; worse-child: the lower child's bound; gains: the sum of both children's bound "
        "gains, each capped at what closes the domain; auto: gains for the gnn rule, worse-child for FSB, "
        "each one's best measured (docs/results/branching.md).")
    attack_restarts: Count | None = Field(
        None, ge=0, description="PGD random restarts per disjunct; None: scaled to the cost of a "
        "forward pass, from 1000 on ACAS Xu-sized networks down to 16 on large ones.")
    attack_steps: Count = Field(50, ge=1, description="PGD steps per restart.")
    attack_share: Real = Field(
        ATTACK_SHARE, ge=0, lt=1, description="Share of the time left after the incomplete bounds that "
        "the attack portfolio (core.attack.portfolio: MI-FGSM momentum and plain rounds, steps doubling, "
        "restarts sized to the time) may spend on the targets they left open, before branch and bound, "
        f"and at most {ATTACK_PACE} times the time taken until then; 0 turns it off. Instances the bounds "
        "close never pay for it. Off (0) by default until measured to pay (docs/results/planted.md); "
        "0.05 is the share measured.")
    alpha_iterations: Count = Field(20, ge=0, description="Optimisation steps of α (and β) per bound call.")
    intermediate_alpha_iterations: Count = Field(
        20, ge=0, description="After α-CROWN, for regions with open disjuncts (unless input splitting "
        "follows): α-CROWN steps on every intermediate bound of the root (each neuron's own slopes or "
        "tangent points), once per region; 0 keeps CROWN's boxes.")
    lemma_domains: Count = Field(
        LEMMA_DOMAINS, ge=0, description="With ReLU splitting on networks of three or more ReLU "
        "layers, for targets that a first search (`search_before_lemmas`) does not close: the domains "
        "each search that tightens a bound of the second and third ReLU layers' inputs at the root may "
        "visit (a count, not a time, so the lemmas and all that follows from them are the same on any "
        "machine and under any load), proven in the certificate as lemmas; 0 turns lemmas off.")
    lemma_alpha_iterations: Count = Field(
        LEMMA_ALPHA_ITERATIONS, ge=0, description="α (and β) optimisation steps per bound call inside a "
        "lemma search (`alpha_iterations` is the other searches'): a lemma search's domain count is fixed, "
        "and 10 steps instead of 20 cut the lemma instances' time by 30% with the same lemmas proven and "
        "every verdict kept (docs/results/verifier.md).")
    lemma_seconds: Real = Field(
        LEMMA_SECONDS, gt=0, description="A cap on each lemma search's time, for slow machines: it "
        "decides only where `lemma_domains` would take longer (each layer's searches also stop at a "
        "quarter of the time left).")
    search_before_lemmas: Real = Field(
        SEARCH_BEFORE_LEMMAS, ge=0, lt=1, description="Where lemmas apply: the share of the time left "
        "for a first search without them (most instances close quickly without them, and lemmas cost "
        "tens of seconds; on eran 9x200 and mnist_fc 256x4/256x6 every instance it decided did so within "
        "7 s of it, and 0.1 spent 30 s on each of the others: docs/results/verifier.md); 0 proves lemmas "
        "first.")
    pursuit_share: Real = Field(
        PURSUIT_SHARE, ge=0, lt=1, description="Branch and bound: share of the run's time at most that "
        "the planet LPs of the most violated open domains may take, their minimisers tried as "
        "counterexamples (core.bab.pursuit; none on networks too large for the LP); 0 turns it off.")
    dual_bounding: Literal["auto", "off", "big-m", "active-set", "saddle-point"] = Field(
        "off", description="ReLU splitting: the dual solver on the Anderson relaxation that bounds hard "
        "domains again (those α,β-CROWN leaves open within `dual_max_depth` splits of the root, once the "
        "search has run `dual_after_s`); auto: active-set on chains of Linear/Conv and ReLU, off elsewhere.")
    dual_max_depth: Count = Field(DUAL_MAX_DEPTH, ge=0, description="Splits a domain may have for the dual solver to bound it.")
    dual_after_s: Real = Field(DUAL_AFTER_S, ge=0, description="Search time before the dual solver starts.")
    dual_share: Real = Field(DUAL_SHARE, gt=0, le=1, description="The dual solver's share of the search time at most.")
    dual_iterations: Count = Field(DUAL_ITERATIONS, ge=1, description="Steps of the dual solver per call.")
    batch_size: Count | None = Field(None, ge=1, description="Domains bounded per step; None adapts it.")
    memory_cap_mb: Real | None = Field(
        None, gt=0, description="Cap on the domain pool's tensor memory; None: a quarter of the memory "
        "available on the device when the run starts. Past it the search ends with `unknown`.")
    threads: Count | None = Field(
        None, ge=1, description="CPU threads for the run (restored afterwards); None chooses (core.threads): "
        "one for fully connected networks under 5 million multiply-accumulates per forward pass "
        "(convolutional ones under 250 000), else the cores other processes leave free but one.")
    parallel: Annotated[Count, Field(ge=1)] | Literal["auto"] | None = Field(
        None, description="Service only: split branch and bound across this many jobs (sub-jobs "
        "of this one, on the same queues; docs/distributed.md); auto: the live workers of the job's queue; "
        "None or 1: one job. `verify` itself ignores it.")
    proof_margin: Real = Field(
        0.0, ge=0, description="A bound must exceed this to count as a proof (on top of the "
        "dtype's rounding margin).")

    @model_validator(mode="after")
    def _brancher_for_gnn(self) -> "VerifyConfig":
        if self.relu_heuristic == "gnn" and not self.brancher:
            raise ValueError("relu_heuristic gnn needs brancher: the file `certbound train-brancher` wrote")
        if self.brancher and self.relu_heuristic != "gnn":
            raise ValueError(f"brancher is read only by relu_heuristic gnn, not {self.relu_heuristic}")
        return self

    def resolve(self, input_size: int, has_only_relu: bool, on_cuda: bool, n_weights: int,
                forward_macs: int | None = None) -> "VerifyConfig":
        """A copy with every "auto" replaced by the choice for this network and property."""
        if self.branching.startswith(GNN_PREFIX):
            raise ValueError(f"branching {self.branching!r} names a brancher the service stores; outside it, give "
                             "relu_heuristic 'gnn' and brancher (the file)")
        changes: dict[str, object] = {}
        if self.device == "auto":
            changes["device"] = "cuda" if on_cuda else "cpu"
        if self.dtype == "auto":
            # float64 wherever it is affordable: on the CPU for networks under a million
            # weights, and on any device for input splitting, whose proofs close boxes by
            # margins that float32 rounding can exceed (a certificate checked in float64
            # then rejects the leaf and the answer degrades to unknown).
            cpu = changes.get("device", self.device) == "cpu"
            small = n_weights < 1_000_000
            changes["dtype"] = "float64" if small and (cpu or input_size <= INPUT_SPLIT_MAX_DIM) else "float32"
        if self.memory_cap_mb is None:
            changes["memory_cap_mb"] = available_mb(str(changes.get("device", self.device))) / 4
        if self.attack_restarts is None:
            # a convolution reuses each weight at every position: its forward pass costs more
            cost = max(forward_macs or n_weights, 1)
            changes["attack_restarts"] = int(min(1000, max(16, ATTACK_MAC_BUDGET // cost)))
        if self.branching == "auto":
            if input_size <= INPUT_SPLIT_MAX_DIM:
                changes["branching"] = "input"
            else:
                changes["branching"] = "relu" if has_only_relu else "none"
        return self.model_copy(update=changes)
