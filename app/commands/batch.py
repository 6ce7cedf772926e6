"""`certbound batch FOLDER`: a whole VNN-COMP benchmark folder run on a certbound server.

A command of its own rather than `submit --batch`: it takes a folder instead of NET and
PROP, answers with a results table instead of a job id, and scores like `certbound bench`.
"""

from __future__ import annotations

from pathlib import Path

import typer

from certbound.terminal import BAD_INPUT, FAILED_JOB, SERVER_OPTION, connected, fail


def row_line(row: dict) -> str:
    """One instance's outcome, as `certbound bench` prints its rows, with the job id."""
    outcome = row["verdict"] if row["status"] == "succeeded" else row["status"]
    time_s = f"{row['time_s']:.2f}s" if row["time_s"] != "" else "-"
    return (f"{outcome:9} {time_s:>8} expected={row['expected'] or '?':6} {row['correct']:5} "
            f"{row['job_id'] or '-':32} {row['benchmark']}/{row['onnx']}/{row['vnnlib']}")


def batch(
    folder: Path = typer.Argument(..., metavar="FOLDER", help="benchmark folder (instances.csv), or a folder of them"),
    out: Path = typer.Option(None, "--out", help="write the results table here as CSV"),
    timeout_scale: float = typer.Option(1.0, "--timeout-scale", min=0.0, help="multiply every instance's timeout"),
    filter_: str = typer.Option("", "--filter", help="only instances whose benchmark/onnx/vnnlib matches"),
    server: str = SERVER_OPTION,
) -> None:
    """Queue every instance at once, print a row as each finishes, then a summary; exit 1
    when a job did not succeed or a verdict contradicts expected.csv."""
    from rich.console import Console
    from rich.progress import Progress

    from certbound.batch import all_good, select_instances, write_rows

    try:
        select_instances(folder, filter_)
    except ValueError as exc:
        raise fail(str(exc), BAD_INPUT) from None
    if out is not None and not out.parent.is_dir():
        raise fail(f"--out {out}: no folder {out.parent}", BAD_INPUT)
    with connected(server) as client, Progress(console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("uploading and queueing", total=None)

        def show(row: dict, finished: int, total: int) -> None:
            typer.echo(row_line(row))
            if row["error"]:
                typer.echo(f"  {row['error'].splitlines()[0]}")
            bar.update(task, completed=finished, total=total, description="waiting")

        rows = client.batch(folder, timeout_scale=timeout_scale, pattern=filter_, progress=show)
    if out is not None:
        write_rows(rows, out)
    wrong = sum(row["correct"] == "WRONG" for row in rows)
    unfinished = sum(row["status"] != "succeeded" for row in rows)
    typer.echo(f"{len(rows)} instances: {sum(row['correct'] == 'yes' for row in rows)} correct, {wrong} wrong, "
               f"{unfinished} without a verdict (failed, cancelled or refused)")
    if not all_good(rows):
        raise typer.Exit(FAILED_JOB)


def register(cli: typer.Typer) -> None:
    cli.command("batch")(batch)
