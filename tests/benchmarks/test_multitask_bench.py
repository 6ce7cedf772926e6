"""Smoke test of benchmarks/multitask_bench.py: one tiny run through `run_one`, the settings it builds,
and the table's mean ± sd, so a broken report fails here rather than after the 25-minute run."""

import argparse

from benchmarks.multitask_bench import REGULARISED, config_fields, run_one, table
from core.data import BUNDLED_MNIST

ARGS = argparse.Namespace(arch="mlp", batch_size=32, lr=1e-3, test_subset=8, crown_subset=2, data=str(BUNDLED_MNIST))


def test_a_tiny_run_and_its_table():
    fields = {**config_fields("robust-mnist", "unitary+reg", 0, ARGS), "train_subset": 64, "epochs": 1}
    assert fields["combiner"] == "unitary" and all(fields[k] == v for k, v in REGULARISED.items())
    report = run_one(fields)
    assert [t["eps"] for t in report["tasks"]] == [0.05, 0.1, 0.2] and report["epochs_run"] == 1
    other = {**report, "tasks": [{**t, "ibp_verified": 0.5, "crown_verified": 0.75, "accuracy": 1.0}
                                 for t in report["tasks"]]}
    runs = [{"setting": "robust-mnist", "combiner": "pcgrad", "seed": s, "report": r}
            for s, r in enumerate((other, {**other, "tasks": [{**t, "ibp_verified": 0.25} for t in other["tasks"]]}))]
    text = table(runs, "robust-mnist")
    assert "digit ε=0.05: IBP / CROWN verified % (clean %)" in text
    assert "| pcgrad | 37.5 ± 17.7 / 75.0 ± 0.0 (100.0 ± 0.0) |" in text  # mean and sd over the two seeds
    assert "unitary" not in text.split("\n", 2)[2]  # only combiners that ran get a row
