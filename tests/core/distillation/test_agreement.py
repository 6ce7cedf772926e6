"""Agreement of a pair on ε-boxes: proved with a checked certificate, or refuted by a point
at which onnxruntime sees the two networks disagree."""

import numpy as np
import onnxruntime as ort

from core.config import VerifyConfig
from core.distillation.agreement import agreement_property, certify_agreement, find_disagreement
from core.distillation.joint import joint_network
from core.model import load_network
from tests.core.distillation.nets import mlp

CONFIG = VerifyConfig(timeout_s=20, threads=1, device="cpu")


def top(data: bytes, x: np.ndarray) -> int:
    session = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    return int(np.argmax(session.run(None, {name: x.reshape(1, 1, 4, 4).astype(np.float32)})[0]))


def test_the_property_is_exactly_disagreement():
    prop = agreement_property(np.full(16, 0.5), 0.1, 3)
    unsafe = prop.regions[0].unsafe
    assert len(unsafe) == 6 and prop.n_outputs == 6
    g = np.random.default_rng(0)
    for y in g.normal(size=(500, 6)):
        assert any(c.holds(y) for c in unsafe) == (np.argmax(y[:3]) != np.argmax(y[3:]))


def test_a_student_identical_to_its_teacher_is_certified_to_agree():
    teacher = mlp([8, 8, 3], 0)
    joint = load_network(joint_network(teacher, teacher).onnx)
    result = certify_agreement(joint, np.full(16, 0.5), 0.05, CONFIG)
    assert result.status == "agree" and result.certificate is not None, result.message


def test_an_unrelated_student_disagrees_at_a_point_onnxruntime_confirms():
    teacher, student = mlp([8, 8, 3], 0, scale=3.0), mlp([8, 3], 5, scale=3.0)
    joint = load_network(joint_network(teacher, student).onnx)
    point = np.full(16, 0.5)
    result = certify_agreement(joint, point, 0.5, CONFIG)
    assert result.status == "disagree", result.message
    assert np.all(np.abs(result.point - point) <= 0.5 + 1e-9)
    assert top(teacher, result.point) != top(student, result.point)
    x = find_disagreement(joint, point, 0.5)
    assert x is not None and top(teacher, x) != top(student, x)
