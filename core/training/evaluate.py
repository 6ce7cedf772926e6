"""The evaluation report of a trained network, measured on the exported ONNX itself.

Every figure is a fraction of test examples: clean accuracy, PGD accuracy (robust to the
evaluation attack), and verified accuracy by IBP, CROWN and α-CROWN (sound float64
bounds from `core.bounds`, a subset for α-CROWN) and by the complete verifier
(`core.verifier.verify`, a per-example time limit, a subset), each reported separately.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass

import numpy as np
import torch

from core.bounds import BoundOptions, Domains, bound
from core.model.ir import Graph
from core.spec.property import Box, Conjunction, Property, Region
from core.training.attack import pgd_attack
from core.training.bounds import input_box, margin_matrix
from core.training.config import TrainConfig
from core.training.data import Split

# A float64 bound must clear this before it counts as a proof (the verifier's own rounding slack).
PROOF_MARGIN = 1e-9
_CHUNK = 256


@dataclass
class EvalReport:
    """Accuracies in [0, 1]; `*_samples` say how many test examples each one covers."""

    eps: float
    samples: int
    clean: float
    pgd: float
    ibp: float
    crown: float | None
    crown_samples: int
    alpha_crown: float | None
    alpha_samples: int
    complete: float | None
    complete_samples: int
    complete_timeouts: int
    complete_decided: int   # examples with a definite answer (proved, or a counterexample / misclassified)
    complete_runs: int      # examples the verifier itself had to run on (the others were decided by the above)
    elapsed_s: float

    def to_dict(self) -> dict:
        return asdict(self)

    def table(self) -> str:
        """The report as aligned text lines for the command line."""
        pct = lambda v: "-" if v is None else f"{100 * v:6.2f}%"  # noqa: E731
        rows = [("clean accuracy", pct(self.clean), self.samples), ("PGD accuracy", pct(self.pgd), self.samples),
                ("IBP verified", pct(self.ibp), self.samples), ("CROWN verified", pct(self.crown), self.crown_samples),
                ("α-CROWN verified", pct(self.alpha_crown), self.alpha_samples),
                ("complete verified", pct(self.complete), self.complete_samples)]
        lines = [f"evaluation at eps={self.eps:g} ({self.elapsed_s:.1f}s)"]
        lines += [f"  {name:<18} {value:>8}  of {n} examples" for name, value, n in rows]
        if self.complete_samples:
            lines.append(f"  (complete: {self.complete_decided} of {self.complete_samples} decided, "
                         f"{self.complete_runs} verifier runs, {self.complete_timeouts} hit the time limit)")
        return "\n".join(lines)


def evaluate(network, test: Split, eps: float, config: TrainConfig) -> EvalReport:
    """Evaluate `network` (a `core.model.Network`, loaded from the exported ONNX) on `test`."""
    started = time.monotonic()
    graph = network.graph.to(dtype=torch.float64)
    fast = network.graph.to(dtype=torch.float32)
    x, labels = test.images, test.labels
    correct = torch.cat([_predict(fast, x[i:i + _CHUNK]) == labels[i:i + _CHUNK] for i in range(0, len(x), _CHUNK)])
    robust = correct & _pgd_robust(fast, x, labels, eps, config)
    ibp = verified_mask(graph, x, labels, eps, "ibp")
    m = min(config.eval_crown_subset, len(x))
    crown = _tighter(graph, x[:m], labels[:m], eps, "crown", ibp[:m], robust[:m])
    k = min(config.eval_alpha_subset, m)
    alpha = _tighter(graph, x[:k], labels[:k], eps, "alpha", crown[:k], robust[:k])
    proven = ibp.clone()
    proven[:m] |= crown
    proven[:k] |= alpha
    complete, counts = _complete(network, x, labels, proven, robust, eps, config)
    n = len(x)
    mean = lambda t: float(t.float().mean()) if t.numel() else None  # noqa: E731
    return EvalReport(eps, n, mean(correct), mean(robust), mean(ibp), mean(crown), m, mean(alpha), k,
                      mean(complete), int(complete.numel()), counts.timeouts, counts.decided, counts.runs,
                      time.monotonic() - started)


def _predict(graph: Graph, x: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return graph.forward(x).argmax(1)


def _pgd_robust(graph: Graph, x: torch.Tensor, labels: torch.Tensor, eps: float, config: TrainConfig) -> torch.Tensor:
    generator = torch.Generator().manual_seed(config.seed)
    robust = torch.ones(len(x), dtype=torch.bool)
    for i in range(0, len(x), _CHUNK):
        xb, yb = x[i:i + _CHUNK], labels[i:i + _CHUNK]
        for _ in range(config.eval_pgd_restarts):
            point = pgd_attack(graph, input_box(xb, eps), yb, config.eval_pgd_steps, generator)
            robust[i:i + _CHUNK] &= _predict(graph, point) == yb
    return robust


def verified_mask(graph: Graph, x: torch.Tensor, labels: torch.Tensor, eps: float, method: str) -> torch.Tensor:
    """[N] bool: every margin y_true − y_j (j ≠ true) provably positive over the ε-box."""
    out = []
    for i in range(0, len(x), _CHUNK):
        xb, yb = x[i:i + _CHUNK].double(), labels[i:i + _CHUNK]
        box = input_box(xb, eps)
        C = _other_classes(margin_matrix(yb, graph.output_size, xb), yb)
        d = torch.zeros(C.shape[:2], dtype=C.dtype)
        result = bound(graph, Domains(box.lower, box.upper), C, d, method, BoundOptions())
        out.append(result.lower.detach().amin(1) > PROOF_MARGIN)
    return torch.cat(out) if out else torch.zeros(0, dtype=torch.bool)


def _tighter(graph: Graph, x: torch.Tensor, labels: torch.Tensor, eps: float, method: str,
             proven: torch.Tensor, candidates: torch.Tensor) -> torch.Tensor:
    """`proven` plus the examples `method` proves among the unproven `candidates` (the others
    are misclassified or broken by PGD, so no sound method can prove them)."""
    out = proven.clone()
    undecided = (candidates & ~proven).nonzero().squeeze(1)
    if undecided.numel():
        out[undecided] = verified_mask(graph, x[undecided], labels[undecided], eps, method)
    return out


def _other_classes(C: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Drop each example's zero row (its own class): [B, K, K] -> [B, K − 1, K]."""
    keep = torch.ones(C.shape[:2], dtype=torch.bool)
    keep[torch.arange(len(labels)), labels] = False
    return C[keep].reshape(C.shape[0], C.shape[1] - 1, C.shape[2])


def robustness_property(x: torch.Tensor, label: int, eps: float, classes: int) -> Property:
    """Unsafe: some input in clip(x ± eps, 0, 1) has another logit ≥ the true one."""
    flat = x.detach().double().reshape(-1).numpy()
    box = Box(np.clip(flat - eps, 0, 1), np.clip(flat + eps, 0, 1))
    eye = np.eye(classes)
    unsafe = tuple(Conjunction((eye[label] - eye[j])[None], np.zeros(1)) for j in range(classes) if j != label)
    return Property(flat.size, classes, (Region(box, unsafe),))


@dataclass
class _CompleteCounts:
    decided: int
    runs: int
    timeouts: int


def _complete(network, x: torch.Tensor, labels: torch.Tensor, proven: torch.Tensor, robust: torch.Tensor,
              eps: float, config: TrainConfig) -> tuple[torch.Tensor, _CompleteCounts]:
    """Verdicts of the complete verifier on the first `complete_subset` examples. Those a sound bound
    already proved count as verified, and those misclassified or broken by the evaluation PGD as
    refuted, without a run (the verifier could only agree), so its time goes to the undecided rest
    and a large subset stays affordable."""
    from core.verifier import VerifyConfig, verify

    k = min(config.complete_subset, len(x))
    verified = proven[:k].clone()
    decided = int((proven[:k] | ~robust[:k]).sum())
    runs = timeouts = 0
    # the evaluation PGD has already attacked every example: the verifier's own attack is kept short
    verify_config = VerifyConfig(timeout_s=config.complete_timeout_s, seed=config.seed, attack_restarts=4,
                                 attack_steps=20, device="cpu" if config.device == "cpu" else "auto")
    for i in (robust[:k] & ~proven[:k]).nonzero().squeeze(1).tolist():
        prop = robustness_property(x[i], int(labels[i]), eps, network.graph.output_size)
        verdict = verify(network, prop, verify_config).verdict.value
        verified[i] = verdict == "unsat"
        runs += 1
        decided += verdict in ("unsat", "sat")
        timeouts += verdict == "timeout"
    return verified, _CompleteCounts(decided, runs, timeouts)
