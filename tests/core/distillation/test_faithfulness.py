"""A faithfulness run over a slice of MNIST: per-example rows whose figures are consistent
(empirical never above certified), a student equal to its teacher certified faithful."""

import pytest

from core.distillation.config import FaithfulnessConfig
from core.distillation.faithfulness import faithfulness
from core.distillation.joint import JointError
from tests.core.distillation.nets import mlp

MNIST_SHAPE = (1, 1, 28, 28)


def run(teacher: bytes, student: bytes, mnist_path, **options):
    config = FaithfulnessConfig(data=mnist_path, n=2, example_timeout_s=2, attack_restarts=2, attack_steps=10,
                                device="cpu", threads=1, **options)
    return faithfulness(teacher, student, config)


def test_a_student_equal_to_its_teacher_is_certified_faithful(mnist_path):
    teacher = mlp([16, 10], 0, input_shape=MNIST_SHAPE)
    report = run(teacher, teacher, mnist_path, eps=1e-4)
    summary = report.summary()
    assert summary["examples"] == 2 and [r.index for r in report.examples] == [0, 1]
    assert all(r.agreement == "agree" and r.teacher_class == r.student_class for r in report.examples)
    assert all(r.gap_empirical <= r.gap_certified < 0.05 for r in report.examples)


def test_an_unrelated_student_is_found_out_and_the_figures_agree(mnist_path):
    teacher = mlp([16, 10], 0, input_shape=MNIST_SHAPE, scale=4.0)
    student = mlp([8, 10], 3, input_shape=MNIST_SHAPE, scale=4.0)
    report = run(teacher, student, mnist_path, eps=0.2)
    events = []
    assert all(r.gap_empirical <= r.gap_certified + 1e-12 for r in report.examples)
    assert any(r.agreement == "disagree" or r.attack_disagreement for r in report.examples)
    summary = report.summary()
    if summary["teacher_correct"]:
        assert summary["certified_agreement"] + summary["certified_disagreement"] == pytest.approx(1.0)
        assert summary["empirical_disagreement"] <= summary["certified_disagreement"]
    stopped = faithfulness(teacher, student, FaithfulnessConfig(data=mnist_path, n=3, example_timeout_s=2,
                                                                  attack_restarts=1, attack_steps=5, device="cpu"),
                           lambda event: events.append(event) or True)
    assert stopped.stopped and len(stopped.examples) == 1 and events == [{"phase": "example", "done": 1, "total": 3}]


def test_networks_that_do_not_take_the_images_are_refused(mnist_path):
    small = mlp([6, 10], 0)
    with pytest.raises(JointError, match=r"the networks take inputs \[1, 4, 4\], the mnist images are \[1, 28, 28\]"):
        run(small, small, mnist_path)
