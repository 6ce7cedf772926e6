"""`certbound train-multitask`: one network for several tasks, the losses summed (or combined by a baseline)."""

from __future__ import annotations

from pathlib import Path

import typer

TASK_HELP = ("A task as LABEL[:METHOD[:EPS]], repeatable: left / right (multi-mnist), digit (mnist); METHOD clean "
             "or ibp, crown-ibp, ibp-r, cc-ibp, mtl-ibp. Default: multi-mnist's left and right digits.")


def train_multitask(
    out: Path = typer.Option(..., "--out", help="Write the trained network here (ONNX; the heads' logits side by side)."),
    dataset: str = typer.Option("multi-mnist", "--dataset", help="multi-mnist or mnist (tasks differ in ε)."),
    task: list[str] = typer.Option([], "--task", help=TASK_HELP),
    combiner: str = typer.Option("unitary", "--combiner", help="unitary (the plain sum), mgda-ub, pcgrad, "
                                 "graddrop, imtl-g, cagrad or rlw."),
    heads: str = typer.Option("separate", "--heads", help="separate (a head per task) or shared."),
    method: str = typer.Option("clean", "--method", help="Method of tasks that name none."),
    eps: float = typer.Option(0.0, "--eps", help="ε of tasks that name none."),
    arch: str = typer.Option("mlp", "--arch", help="Trunk: mlp, cnn-small, cnn-medium or cnn7."),
    data: Path | None = typer.Option(None, "--data", help="MNIST .npz or IDX folder (default: $CERTBOUND_SHARED_DIR's "
                                     "full copy, else the subset in the package)."),
    epochs: int = typer.Option(10, "--epochs"),
    batch_size: int = typer.Option(128, "--batch-size"),
    lr: float = typer.Option(5e-4, "--lr", help="Adam learning rate."),
    weight_decay: float = typer.Option(0.0, "--weight-decay", help="L2 penalty (Adam)."),
    dropout: float = typer.Option(0.0, "--dropout", help="Drop rate of the heads' input units."),
    early_stopping: int | None = typer.Option(None, "--early-stopping", help="Patience in epochs (held-out "
                                              "validation split)."),
    val_fraction: float = typer.Option(0.1, "--val-fraction", help="Early stopping: share of training data held out."),
    cagrad_c: float = typer.Option(0.5, "--cagrad-c", help="CAGrad's ball radius (relative)."),
    train_subset: int | None = typer.Option(None, "--train-subset", help="Use the first K training examples."),
    test_subset: int | None = typer.Option(None, "--test-subset", help="Evaluate on the first K test examples."),
    crown_subset: int = typer.Option(1000, "--crown-subset", help="CROWN-verify the first K test examples."),
    report: Path | None = typer.Option(None, "--report", help="Also write the report and history as JSON."),
    device: str = typer.Option("auto", "--device", help="cpu, cuda or auto."),
    seed: int = typer.Option(0, "--seed"),
) -> None:
    """Train one network on several tasks and print per-task accuracy, verified accuracy, time and memory."""
    from pydantic import ValidationError

    from core.commands.train import write_result
    from core.commands.verify import check_device, fail
    from core.training.data import DatasetError
    from core.training.multitask.config import MultiTaskConfig
    from core.training.multitask.trainer import train_multitask as run_training

    fields = dict(dataset=dataset, combiner=combiner, heads=heads, method=method, eps=eps, arch=arch, data=data,
                  epochs=epochs, batch_size=batch_size, lr=lr, weight_decay=weight_decay, dropout=dropout,
                  early_stopping=early_stopping, val_fraction=val_fraction, cagrad_c=cagrad_c,
                  train_subset=train_subset, test_subset=test_subset, eval_crown_subset=crown_subset,
                  device=device, seed=seed)
    if task:
        fields["tasks"] = [parse_task(spec) for spec in task]
    try:
        config = MultiTaskConfig(**fields)
    except ValidationError as exc:
        raise fail("options", "; ".join(_problem(e) for e in exc.errors())) from None
    check_device(device)

    def show(event: dict) -> None:
        if event["phase"] == "epoch":
            scores = ", ".join(f"{t['label']}@{t['eps']:g} {100 * (t['accuracy'] if t['ibp_verified'] is None else t['ibp_verified']):.1f}%"
                               for t in event["tasks"])
            typer.echo(f"epoch {event['epoch']}/{event['epochs']} loss {event['loss']:.3f} {scores} "
                       f"({event['epoch_s']:.1f}s)", err=True)

    try:
        result = run_training(config, show)
    except (DatasetError, ValueError) as exc:
        raise fail("training", str(exc)) from None
    write_result(out, report, config, result)


def parse_task(spec: str) -> dict:
    """LABEL[:METHOD[:EPS]] -> the fields of a `Task` (typer.Exit(2) when EPS is not a number)."""
    from core.commands.verify import fail

    parts = spec.split(":")
    if len(parts) > 3 or not parts[0]:
        raise fail(f"--task {spec!r}", "expected LABEL[:METHOD[:EPS]], e.g. digit:ibp:0.1")
    fields: dict = {"label": parts[0]}
    if len(parts) > 1 and parts[1]:
        fields["method"] = parts[1]
    if len(parts) > 2:
        try:
            fields["eps"] = float(parts[2])
        except ValueError:
            raise fail(f"--task {spec!r}", f"EPS {parts[2]!r} is not a number") from None
    return fields


def _problem(error: dict) -> str:
    loc = [str(part) for part in error["loc"]]
    where = f"--task {int(loc[1]) + 1}" if loc[:1] == ["tasks"] and len(loc) > 1 else (
        f"--{loc[0].replace('_', '-')}" if loc else "")
    return (f"{where}: " if where else "") + error["msg"].removeprefix("Value error, ")


def register(cli: typer.Typer) -> None:
    cli.command("train-multitask")(train_multitask)
