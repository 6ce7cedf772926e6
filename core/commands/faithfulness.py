"""`certbound faithfulness TEACHER STUDENT --eps E --n N`: certify a student against its teacher."""

from __future__ import annotations

import json
from pathlib import Path

import typer


def faithfulness(
    teacher: Path = typer.Argument(..., help="The teacher network (ONNX)."),
    student: Path = typer.Argument(..., help="The student network (ONNX), same inputs and classes."),
    eps: float = typer.Option(0.1, "--eps", help="L-infinity radius in [0, 1] pixel units."),
    n: int = typer.Option(20, "--n", help="Test examples to certify."),
    start: int = typer.Option(0, "--start", help="The first test example."),
    dataset: str = typer.Option("mnist", "--dataset", help="mnist or cifar10."),
    data: Path | None = typer.Option(None, "--data", help="Your own dataset (as for train); default: "
                                     "$CERTBOUND_SHARED_DIR's full MNIST, else the subset in the package."),
    example_timeout: float = typer.Option(10.0, "--example-timeout", help="Verifier seconds per example."),
    threads: int | None = typer.Option(None, "--threads", help="CPU threads."),
    device: str = typer.Option("auto", "--device", help="cpu, cuda or auto."),
    as_json: bool = typer.Option(False, "--json", help="Print the per-example results and summary as JSON."),
) -> None:
    """Per test example: do teacher and student provably agree on the ε-box (or disagree at a
    point onnxruntime confirms), and how far apart can their confidences be (certified, PGD)?"""
    from pydantic import ValidationError

    from core.commands.verify import check_device, one_line
    from core.distillation.config import FaithfulnessConfig
    from core.distillation.faithfulness import faithfulness as run
    from core.training.data import DatasetError

    try:
        config = FaithfulnessConfig(eps=eps, n=n, start=start, dataset=dataset, data=data,
                                    example_timeout_s=example_timeout, threads=threads, device=device)
    except ValidationError as exc:
        problems = "; ".join(f"--{'-'.join(map(str, e['loc'])).replace('_', '-')}: {e['msg']}" for e in exc.errors())
        typer.echo(f"error: {problems}", err=True)
        raise typer.Exit(2) from None
    check_device(device)
    try:
        pair = teacher.read_bytes(), student.read_bytes()
    except OSError as exc:
        typer.echo(f"error: {exc.filename}: {exc.strerror}", err=True)
        raise typer.Exit(2) from None
    try:
        report = run(*pair, config, lambda event: typer.echo(f"example {event['done']}/{event['total']}", err=True))
    except (DatasetError, ValueError) as exc:  # JointError is a ValueError naming the network
        typer.echo(f"error: {one_line(exc)}", err=True)
        raise typer.Exit(2) from None
    if as_json:
        typer.echo(json.dumps(report.to_dict()))
        return
    typer.echo("index label teacher student agreement  attack  gap(pgd) gap(certified)")
    for r in report.examples:
        typer.echo(f"{r.index:5d} {r.label:5d} {r.teacher_class:7d} {r.student_class:7d} {r.agreement:10s} "
                   f"{'found' if r.attack_disagreement else '-':6s} {r.gap_empirical:9.4f} {r.gap_certified:9.4f}")
    s = report.summary()
    rate = lambda v: "n/a" if v is None else f"{100 * v:.1f}%"  # noqa: E731
    typer.echo(f"eps {eps:g}, {s['examples']} examples, teacher correct on {s['teacher_correct']}: certified "
               f"agreement {rate(s['certified_agreement'])}, "
               f"empirical disagreement {rate(s['empirical_disagreement'])}, "
               f"mean gap {s['gap_empirical'] or 0:.4f} (PGD) <= {s['gap_certified'] or 0:.4f} (certified)")


def register(cli: typer.Typer) -> None:
    cli.command("faithfulness")(faithfulness)
