"""`faithfulness`: certify a teacher/student pair on a slice of the test set, example by example.

For each test image x (teacher's class c at x): agreement on the ε-box decided by the
verifier (`agreement.certify_agreement`), a disagreement searched for by PGD alone (so
the empirical rate does not depend on what the verifier had time for), and the
confidence gap |p_T,c − p_S,c| bounded (`gap.certified_gap`) and attacked
(`gap.empirical_gap`). The summary's rates are over the examples the teacher classifies
correctly, the points the faithfulness questions are about.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Callable

from core.distillation.config import FaithfulnessConfig

# Called with each progress event (a JSON-ready dict); returning True stops the run.
FaithfulnessProgress = Callable[[dict], bool | None]


@dataclass
class ExampleResult:
    """One test example: its index and label, both networks' classes at the clean point,
    the agreement status (agree: proved, with a checked certificate; disagree: a point
    onnxruntime confirms; unknown), whether PGD alone found a disagreement, both gaps."""

    index: int
    label: int
    teacher_class: int
    student_class: int
    agreement: str
    verdict: str
    attack_disagreement: bool
    gap_empirical: float
    gap_certified: float
    time_s: float


@dataclass
class FaithfulnessReport:
    """Per-example rows and the summary figures (fractions in [0, 1], mean gaps)."""

    eps: float
    examples: list[ExampleResult] = field(default_factory=list)
    stopped: bool = False
    joint_chain: bool = True

    def summary(self) -> dict:
        rows = self.examples
        correct = [r for r in rows if r.teacher_class == r.label]
        share = lambda rs, f: sum(map(f, rs)) / len(rs) if rs else None  # noqa: E731
        return {
            "eps": self.eps, "examples": len(rows), "teacher_correct": len(correct),
            "teacher_accuracy": share(rows, lambda r: r.teacher_class == r.label),
            "student_accuracy": share(rows, lambda r: r.student_class == r.label),
            "certified_agreement": share(correct, lambda r: r.agreement == "agree"),
            "certified_disagreement": share(correct, lambda r: r.agreement != "agree"),
            "empirical_disagreement": share(correct, lambda r: r.attack_disagreement or r.agreement == "disagree"),
            "gap_empirical": share(correct, lambda r: r.gap_empirical),
            "gap_certified": share(correct, lambda r: r.gap_certified),
            "stopped": self.stopped, "joint_chain": self.joint_chain,
        }

    def to_dict(self) -> dict:
        return {"summary": self.summary(), "examples": [asdict(r) for r in self.examples]}


def faithfulness(teacher: bytes, student: bytes, config: FaithfulnessConfig,
                 progress: FaithfulnessProgress | None = None) -> FaithfulnessReport:
    """Certify `student` against `teacher` (ONNX bytes) on test examples start..start+n.
    Raises JointError for a pair that does not fit and DatasetError for unreadable data."""
    import torch

    from core.config import VerifyConfig
    from core.distillation.agreement import certify_agreement, epsilon_box, find_disagreement
    from core.distillation.gap import certified_gap, empirical_gap
    from core.distillation.joint import JointError, joint_network
    from core.model import load_network
    from core.training.data import load_dataset

    joint = joint_network(teacher, student)
    network = load_network(joint.onnx)
    test = load_dataset(config.dataset, config.data).test
    if tuple(test.images.shape[1:]) != joint.input_shape:
        raise JointError(f"the networks take inputs {list(joint.input_shape)}, the {config.dataset} images are "
                         f"{list(test.images.shape[1:])}")
    stop = min(config.start + config.n, len(test.labels))
    # the verifier's own attack stays light: PGD runs separately below when it proves nothing
    verify_config = VerifyConfig(timeout_s=config.example_timeout_s, device=config.device, threads=config.threads,
                                 seed=config.seed, attack_restarts=1, attack_steps=config.attack_steps)
    report = FaithfulnessReport(config.eps, joint_chain=joint.chain)
    K = joint.classes
    for index in range(config.start, stop):
        started = time.monotonic()
        point = test.images[index].double().reshape(-1).numpy()
        with torch.no_grad():
            logits = network.graph.forward(torch.as_tensor(point).reshape(1, -1))[0]
        c, s = int(logits[:K].argmax()), int(logits[K:].argmax())
        agreement = certify_agreement(network, point, config.eps, verify_config)
        # a proved agreement leaves nothing to find; otherwise PGD searches on its own
        found = agreement.status == "disagree" or (agreement.status == "unknown" and find_disagreement(
            network, point, config.eps, config.attack_restarts, config.attack_steps, config.seed) is not None)
        box = epsilon_box(point, config.eps)
        report.examples.append(ExampleResult(
            index, int(test.labels[index]), c, s, agreement.status, agreement.verdict, bool(found),
            empirical_gap(network.graph, box, c, config.attack_restarts, config.attack_steps, config.seed),
            certified_gap(network.graph, box, c), time.monotonic() - started))
        event = {"phase": "example", "done": index - config.start + 1, "total": stop - config.start}
        if progress is not None and progress(event) is True:
            report.stopped = True
            break
    return report
