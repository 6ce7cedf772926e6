"""MultiTaskConfig: defaults fill each task; inconsistent tasks are refused, naming the task."""

import pytest
from pydantic import ValidationError

from core.training.multitask.config import MultiTaskConfig, Task


def test_default_is_multi_mnist_left_and_right_clean_tasks_summed():
    config = MultiTaskConfig()
    assert config.combiner == "unitary" and config.heads == "separate"
    assert config.resolved_tasks() == (Task(label="left", method="clean", eps=0.0),
                                       Task(label="right", method="clean", eps=0.0))


def test_robust_mnist_tasks_take_the_runs_method_and_their_own_eps():
    config = MultiTaskConfig(dataset="mnist", method="cc-ibp", eps=0.1, tasks=[{"eps": 0.05}, {}, {"method": "ibp"}])
    tasks = config.resolved_tasks()
    assert [(t.label, t.method, t.eps) for t in tasks] == [("digit", "cc-ibp", 0.05), ("digit", "cc-ibp", 0.1),
                                                            ("digit", "ibp", 0.1)]
    single = config.task_config(tasks[0])
    assert (single.method, single.eps, single.epochs) == ("cc-ibp", 0.05, config.epochs)


@pytest.mark.parametrize("fields, message", [
    ({"tasks": [{"label": "digit"}]}, "tasks.0.label"),
    ({"tasks": [{"method": "ibp", "eps": 0.0}]}, "tasks.0"),
    ({"tasks": [{"method": "clean", "eps": 0.1}]}, "tasks.0"),
    ({"heads": "shared"}, "heads"),
    ({"combiner": "nash"}, "combiner"),
    ({"dropout": 1.0}, "dropout"),
    ({"init_onnx": "net.onnx"}, "init_onnx"),
    ({"tasks": []}, "tasks"),
    ({"complete_subset": 5}, "complete_subset: multi-task evaluation runs IBP and CROWN only"),
])
def test_inconsistent_configs_are_refused_naming_the_field(fields, message):
    with pytest.raises(ValidationError, match=message):
        MultiTaskConfig(**fields)
