"""Distillation methods: the faithful term's bounds are sound (by sampling), it trains the
student towards its teacher's confidence, and each method runs end to end."""

from __future__ import annotations

import pytest
import torch
from pydantic import ValidationError
from torch import nn

from core.model import load_network
from core.model.ir import Interval
from core.training import TrainConfig, train
from core.training.convert import to_graph
from core.training.distill import class_probability_bounds, gap_bound
from tests.core.distillation.nets import mlp


def graphs(input_shape=(1, 1, 4, 4)):
    teacher = load_network(mlp([10, 10, 4], 0, input_shape=input_shape, scale=2.0)).graph
    student = load_network(mlp([6, 4], 1, input_shape=input_shape, scale=2.0)).graph
    return teacher, student


def test_probability_and_gap_bounds_hold_at_sampled_points():
    teacher, student = graphs()
    g = torch.Generator().manual_seed(0)
    centre = torch.rand(3, 16, dtype=torch.float64, generator=g)
    box = Interval(centre - 0.1, centre + 0.1)
    classes = torch.tensor([0, 2, 3])
    low, high = class_probability_bounds(student, box, classes)
    gap = gap_bound(student, teacher, box, classes)
    x = centre.unsqueeze(1) - 0.1 + 0.2 * torch.rand(3, 3000, 16, dtype=torch.float64, generator=g)
    p_s = student.forward(x.reshape(-1, 16)).softmax(1).reshape(3, 3000, 4)
    p_t = teacher.forward(x.reshape(-1, 16)).softmax(1).reshape(3, 3000, 4)
    rows = torch.arange(3)
    ps_c, pt_c = p_s[rows, :, classes], p_t[rows, :, classes]
    assert torch.all(low[:, None] <= ps_c + 1e-12) and torch.all(ps_c <= high[:, None] + 1e-12)
    assert torch.all((pt_c - ps_c).abs() <= gap[:, None] + 1e-12)
    assert torch.all(gap < 1)


def test_minimising_the_gap_bound_brings_the_student_to_its_teacher():
    teacher = load_network(mlp([20, 20, 4], 0, input_shape=(1, 1, 4, 4), scale=3.0)).graph.to(dtype=torch.float32)
    torch.manual_seed(0)
    student = nn.Sequential(nn.Flatten(), nn.Linear(16, 12), nn.ReLU(), nn.Linear(12, 4))
    x = torch.rand(32, 1, 4, 4)
    box = Interval((x - 0.02).clamp(0, 1), (x + 0.02).clamp(0, 1))
    classes = teacher.forward(x).argmax(1)
    optimiser = torch.optim.Adam(student.parameters(), lr=5e-2)
    gaps = []
    for _ in range(25):
        gap = gap_bound(to_graph(student, (1, 4, 4)).graph, teacher, box, classes).mean()
        gaps.append(float(gap.detach()))
        optimiser.zero_grad()
        gap.backward()
        optimiser.step()
    assert gaps[-1] < 0.5 * gaps[0]
    assert float((student(x).argmax(1) == classes).float().mean()) >= 0.9


def test_distillation_methods_need_a_teacher_and_others_refuse_one(tmp_path):
    with pytest.raises(ValidationError, match="distils a teacher"):
        TrainConfig(method="faithful-kd")
    with pytest.raises(ValidationError, match="does not use a teacher"):
        TrainConfig(method="ibp", teacher=tmp_path / "t.onnx")


@pytest.mark.parametrize("method", ["kd", "adv-kd", "faithful-kd"])
def test_each_method_trains_a_student_end_to_end(method, mnist_path, tmp_path):
    teacher = tmp_path / "teacher.onnx"
    teacher.write_bytes(mlp([16, 10], 0, input_shape=(1, 1, 28, 28)))
    config = TrainConfig(method=method, teacher=teacher, arch="mlp-small", data=mnist_path, eps=0.05, epochs=2,
                         warmup_epochs=0, ramp_epochs=1, batch_size=16, train_subset=32, test_subset=8,
                         eval_crown_subset=0, eval_alpha_subset=0, complete_subset=0, eval_pgd_steps=2,
                         eval_pgd_restarts=1, device="cpu")
    result = train(config)
    assert [h["epoch"] for h in result.history] == [1, 2] and all(h["loss"] > 0 for h in result.history)
    assert load_network(result.onnx).graph.output_shape == (10,)


def test_a_teacher_that_does_not_fit_the_data_is_named(mnist_path, tmp_path):
    teacher = tmp_path / "teacher.onnx"
    teacher.write_bytes(mlp([16, 10], 0))  # 4x4 inputs, MNIST is 28x28
    config = TrainConfig(method="kd", teacher=teacher, arch="mlp-small", data=mnist_path, epochs=1,
                         train_subset=8, test_subset=4, device="cpu")
    with pytest.raises(ValueError, match="teacher .*teacher.onnx: it maps inputs \\[1, 4, 4\\]"):
        train(config)
