"""`certbound check NET PROP FILE`: check what `verify --certificate` wrote.

FILE is either an unsat's certificate (a zip, given to the independent checker) or a
sat's counterexample (a VNN-COMP result file, replayed in onnxruntime on the original
network); which one is read from the file itself.
"""

from __future__ import annotations

from pathlib import Path

import typer

ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")  # a zip with entries, an empty zip
# VNN-COMP's tolerance for a witness's outputs against the network's own (2023 scoring).
OUTPUT_RTOL, OUTPUT_ATOL = 1e-3, 1e-4


def check(
    network: Path = typer.Argument(..., metavar="NET", help="ONNX network (.onnx or .onnx.gz)."),
    prop: Path = typer.Argument(..., metavar="PROP", help="VNN-LIB property (.vnnlib or .vnnlib.gz)."),
    certificate: Path = typer.Argument(..., metavar="FILE", help="What `verify --certificate` wrote: a certificate "
                                       "(unsat) or a counterexample result file (sat)."),
    timeout: float = typer.Option(None, "--timeout", min=0.0, help="Stop after this many seconds (exit 3)."),
    workers: int = typer.Option(1, "--workers", min=1, help="Check a certificate in this many processes, "
                                "split by subtree (core.certificate.split); the verdict is the same."),
) -> None:
    """Print `valid` / `valid counterexample: ...` (exit 0) or `invalid: <first reason>`
    (exit 1; unreadable files are reasons too); exit 2 when a file does not exist;
    `stopped: ...` (exit 3) when a certificate's check ran past --timeout without deciding."""
    missing = [path for path in (network, prop, certificate) if not path.is_file()]
    if missing:
        typer.echo(f"error: {missing[0]}: no such file", err=True)
        raise typer.Exit(2)
    with open(certificate, "rb") as handle:
        is_zip = handle.read(4) in ZIP_MAGIC
    if not is_zip:
        valid, line = check_counterexample(network, prop, certificate)
        typer.echo(line)
        raise typer.Exit(0 if valid else 1)
    from core.certificate.split import check_split

    result = check_split(network, prop, certificate, workers, time_limit_s=timeout)
    typer.echo(f"{result} ({result.leaves} leaves, {result.time_s:.3f}s)")
    raise typer.Exit(0 if result.valid else 3 if result.stopped else 1)


def check_counterexample(network: Path, prop_path: Path, result_file: Path) -> tuple[bool, str]:
    """Replay a VNN-COMP `sat` result file's X on the network (core.counterexample.confirm,
    the replay the verifier trusts) and compare its Y with the network's output; returns
    (valid, the line to print)."""
    import time

    import numpy as np

    from core.commands.verify import one_line
    from core.counterexample import confirm, read_result
    from core.model.onnx_graph import read_bytes
    from core.result import Verdict
    from core.spec import load_property

    started = time.monotonic()
    try:
        verdict, x, claimed = read_result(result_file)
    except ValueError as exc:  # UnicodeDecodeError too: a binary file that is not a zip
        return False, (f"invalid: {result_file} is neither a certbound certificate (zip) nor a VNN-COMP result "
                       f"file ({one_line(exc)})")
    if verdict is not Verdict.SAT:
        return False, (f"invalid: {result_file} is a result file saying {verdict.value!r}: only a sat result "
                       "carries a counterexample (an unsat is backed by its certificate)")
    try:
        prop = load_property(prop_path)
        replayed = confirm(read_bytes(network)[0], prop, x)
    except ValueError as exc:
        return False, f"invalid: {one_line(exc)}"
    if not replayed.ok:
        return False, f"invalid: the counterexample does not violate the property: {replayed.reason}"
    if claimed.size != replayed.y.size:
        return False, f"invalid: the file has {claimed.size} outputs (Y_), the network gives {replayed.y.size}"
    far = ~np.isclose(claimed, replayed.y, rtol=OUTPUT_RTOL, atol=OUTPUT_ATOL)
    if far.any():
        j = int(np.argmax(far))
        return False, (f"invalid: the file's outputs are not the network's: Y_{j} = {claimed[j]!r}, onnxruntime "
                       f"gives {replayed.y[j]!r} (tolerance rtol {OUTPUT_RTOL:g}, atol {OUTPUT_ATOL:g})")
    where = f"box {replayed.region}, " if len(prop.regions) > 1 else ""
    values = [f"{v:.6g}" for v in replayed.y]
    output = "[" + ", ".join(values if len(values) <= 12 else [*values[:6], "...", *values[-3:]]) + "]"
    return True, (f"valid counterexample: output {output} violates the property ({where}disjunct "
                  f"{replayed.disjunct}) ({time.monotonic() - started:.3f}s)")


def register(cli: typer.Typer) -> None:
    cli.command("check")(check)
