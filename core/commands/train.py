"""`certbound train`: certified training of a network, written out as ONNX with its evaluation report."""

from __future__ import annotations

import json
from pathlib import Path

import typer


def train(
    out: Path = typer.Option(..., "--out", help="Write the trained network here (ONNX, BatchNorm folded)."),
    method: str = typer.Option("ibp", "--method", help="ibp, crown-ibp, ibp-r, cc-ibp, mtl-ibp, or the "
                               "distillation methods kd, adv-kd, faithful-kd (with --teacher)."),
    arch: str = typer.Option("cnn-small", "--arch", help="mlp, mlp-medium, mlp-small, cnn-small, cnn-medium "
                             "or cnn7."),
    teacher: Path | None = typer.Option(None, "--teacher", help="Distillation: the teacher network (ONNX)."),
    faithful_weight: float = typer.Option(0.1, "--faithful-weight", help="faithful-kd: weight of the "
                                          "confidence-gap bound."),
    init_onnx: Path | None = typer.Option(None, "--init-onnx", help="Fine-tune this ONNX network instead."),
    dataset: str = typer.Option("mnist", "--dataset", help="mnist or cifar10."),
    data: Path | None = typer.Option(None, "--data", help="Your own dataset (.npz, or a folder of IDX / "
                                     "CIFAR-10 binary files); default: $CERTBOUND_SHARED_DIR's full MNIST, else the subset in the package."),
    eps: float = typer.Option(0.1, "--eps", help="L-infinity radius in [0, 1] pixel units."),
    epochs: int = typer.Option(10, "--epochs", help="Passes over the training set."),
    batch_size: int = typer.Option(128, "--batch-size"),
    lr: float = typer.Option(5e-4, "--lr", help="Adam learning rate."),
    alpha: float = typer.Option(0.5, "--alpha", help="CC-IBP / MTL-IBP weight of the IBP term."),
    train_subset: int | None = typer.Option(None, "--train-subset", help="Use the first K training examples."),
    test_subset: int | None = typer.Option(None, "--test-subset", help="Evaluate on the first K test examples."),
    crown_subset: int = typer.Option(1000, "--crown-subset", help="CROWN-verify the first K test examples."),
    alpha_subset: int = typer.Option(200, "--alpha-subset", help="α-CROWN-verify the first K test examples."),
    complete_subset: int = typer.Option(20, "--complete-subset", help="Complete verifier on K test examples."),
    complete_timeout: float = typer.Option(60.0, "--complete-timeout", help="Seconds per complete-verifier run."),
    checkpoint_dir: Path | None = typer.Option(None, "--checkpoint-dir", help="Save and resume per-epoch checkpoints."),
    report: Path | None = typer.Option(None, "--report", help="Also write the report and history as JSON."),
    device: str = typer.Option("auto", "--device", help="cpu, cuda or auto."),
    seed: int = typer.Option(0, "--seed"),
) -> None:
    """Train a network to be verifiable, export it, and print clean / PGD / verified accuracies."""
    from pydantic import ValidationError
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from core.commands.verify import check_device
    from core.training import TrainConfig, train as run_training
    from core.training.data import DatasetError

    try:
        config = TrainConfig(method=method, arch=arch, init_onnx=init_onnx, teacher=teacher,
                             faithful_weight=faithful_weight, dataset=dataset, data=data, eps=eps,
                             epochs=epochs, batch_size=batch_size, lr=lr, alpha=alpha, train_subset=train_subset,
                             test_subset=test_subset, eval_crown_subset=crown_subset,
                             eval_alpha_subset=alpha_subset, complete_subset=complete_subset,
                             complete_timeout_s=complete_timeout, device=device, seed=seed)
    except ValidationError as exc:
        problems = "; ".join((f"--{'-'.join(map(str, e['loc'])).replace('_', '-')}: " if e["loc"] else "")
                             + e["msg"].removeprefix("Value error, ") for e in exc.errors())
        typer.echo(f"error: {problems}", err=True)
        raise typer.Exit(2) from None
    check_device(device)
    columns = (TextColumn("epoch {task.completed:.0f}/{task.total:.0f}"), BarColumn(), TimeElapsedColumn(),
               TextColumn("{task.description}"))
    with Progress(*columns) as bar:
        task = bar.add_task("", total=epochs)

        def show(event: dict) -> None:
            if event["phase"] == "epoch":
                bar.update(task, completed=event["epoch"], description=_epoch_line(event))
            elif event["phase"] == "evaluate":
                bar.update(task, description="evaluating")

        try:
            result = run_training(config, show, checkpoint_dir)
        except (DatasetError, ValueError) as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from None
    write_result(out, report, config, result)


def write_result(out: Path, report: Path | None, config, result) -> None:
    """Write the trained network to `out`, print its report, and save config, report and
    history as JSON to `report` when given (a training result with `.onnx`, `.report`, `.history`)."""
    out.write_bytes(result.onnx)
    typer.echo(f"wrote {out} ({len(result.onnx)} bytes)")
    typer.echo(result.report.table())
    if report is not None:
        report.write_text(json.dumps({"config": json.loads(config.model_dump_json()),
                                      "report": result.report.to_dict(), "history": result.history}, indent=2))


def _epoch_line(event: dict) -> str:
    return (f"eps {event['eps']:.3f} loss {event['loss']:.3f} train acc {100 * event['train_accuracy']:.1f}% "
            f"test clean {100 * event['test_clean']:.1f}% IBP-verified {100 * event['test_ibp_verified']:.1f}%")


def register(cli: typer.Typer) -> None:
    cli.command("train")(train)
