"""The joint teacher/student network computes both networks side by side, in both forms,
and refuses pairs that do not fit, naming the problem."""

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

from core.certificate.network import chain_of
from core.distillation.joint import JointError, joint_network
from core.model import load_network
from tests.core.distillation.nets import mlp


def run(data: bytes, x: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    return np.concatenate([session.run(None, {session.get_inputs()[0].name: row[None]})[0] for row in x])


@pytest.mark.parametrize("teacher_widths, student_widths, activation, chain", [
    ([12, 12, 3], [6, 3], "Relu", True),     # student shallower: carried through as relu(z) - relu(-z)
    ([5, 3], [8, 8, 8, 3], "Relu", True),    # teacher shallower
    ([3], [7, 3], "Relu", True),             # a linear teacher
    ([12, 12, 3], [6, 3], "Sigmoid", False),  # not a ReLU chain: the graphs side by side
])
def test_joint_outputs_are_teacher_then_student(teacher_widths, student_widths, activation, chain):
    teacher = mlp(teacher_widths, 0, activation=activation)
    student = mlp(student_widths, 1)
    joint = joint_network(teacher, student)
    assert joint.chain is chain and joint.classes == 3
    x = np.random.default_rng(2).uniform(0, 1, size=(20, 1, 4, 4)).astype(np.float32)
    expected = np.concatenate([run(teacher, x), run(student, x)], axis=1)
    np.testing.assert_allclose(run(joint.onnx, x), expected, rtol=1e-5, atol=1e-5)
    engine = load_network(joint.onnx).graph.forward(torch.tensor(x, dtype=torch.float64))
    np.testing.assert_allclose(engine.numpy(), expected, rtol=1e-5, atol=1e-5)
    if chain:
        assert len(chain_of(onnx.load_model_from_string(joint.onnx)).steps) > 0


def test_mismatched_pairs_are_refused_by_name():
    teacher = mlp([6, 3], 0)
    with pytest.raises(JointError, match=r"the teacher takes inputs \[1, 4, 4\], the student \[1, 5, 5\]"):
        joint_network(teacher, mlp([6, 3], 1, input_shape=(1, 1, 5, 5)))
    with pytest.raises(JointError, match="the teacher has 3 classes, the student 4"):
        joint_network(teacher, mlp([6, 4], 1))
    with pytest.raises(JointError, match="the student: "):
        joint_network(teacher, b"not onnx")
