"""`certbound verify NET PROP`: one VNN-COMP instance, answered on the command line."""

from __future__ import annotations

import signal
from pathlib import Path

import typer


def one_line(exc: BaseException) -> str:
    """An exception's message on one line (load errors list several problems)."""
    return "; ".join(part.strip(" -") for part in str(exc).splitlines() if part.strip())


def fail(subject: object, problem: str) -> typer.Exit:
    """Print `error: SUBJECT: PROBLEM` on stderr; returns the exit (code 2, bad input) to raise."""
    typer.echo(f"error: {subject}: {problem}", err=True)
    return typer.Exit(2)


def check_device(device: str) -> None:
    """Raise `typer.Exit(2)` after one line when `device` is not auto, cpu or cuda, or is
    cuda on a machine (or a torch build) without CUDA."""
    from core.device import DEVICES, cuda_missing

    if device not in DEVICES:
        raise fail(f"--device {device!r}", "expected cpu, cuda or auto")
    problem = cuda_missing() if device == "cuda" else ""
    if problem:
        raise fail("--device cuda", f"{problem}; use --device cpu or auto")


def check_brancher(branching: str, brancher: Path | None) -> None:
    """Raise `typer.Exit(2)` after one line when the rule is unknown, gnn lacks its file, or
    the file is not a brancher (checked before any search starts)."""
    if branching not in ("fsb", "babsr", "upb", "gnn"):
        raise fail(f"--branching {branching!r}", "expected fsb, babsr, upb or gnn")
    if (branching == "gnn") != (brancher is not None):
        raise fail("--brancher", "give it exactly when --branching is gnn")
    if brancher is not None:
        from core.bab.learned.model_file import BrancherFileError, load_brancher

        try:
            load_brancher(brancher)
        except BrancherFileError as exc:
            raise fail("--brancher", str(exc)) from None


def load_instance(network_path: Path, property_path: Path):
    """(Network, Property) from files (plain or .gz) that fit each other; raises
    `typer.Exit(2)` after one line naming the bad file."""
    from core.model import load_network
    from core.spec import load_property
    from core.verifier.pipeline import check_shapes

    for path in (network_path, property_path):
        if not path.is_file():
            raise fail(path, "no such file")
    try:
        network = load_network(network_path)
    except (OSError, ValueError) as exc:
        raise fail(network_path, one_line(exc)) from None
    try:
        prop = load_property(property_path)
    except (OSError, ValueError) as exc:
        raise fail(property_path, one_line(exc)) from None
    problem = check_shapes(network, prop)
    if problem:
        raise fail(property_path, problem)
    return network, prop


def verify(
    network: Path = typer.Argument(..., metavar="NET", help="ONNX network (.onnx or .onnx.gz)."),
    prop: Path = typer.Argument(..., metavar="PROP", help="VNN-LIB property (.vnnlib or .vnnlib.gz)."),
    timeout: float = typer.Option(300.0, "--timeout", help="Wall-clock budget in seconds."),
    out: Path | None = typer.Option(None, "--out", help="Write the VNN-COMP result file here."),
    device: str = typer.Option("auto", "--device", help="cpu, cuda or auto."),
    seed: int = typer.Option(0, "--seed", help="Seed for the attacks (runs are reproducible)."),
    threads: int | None = typer.Option(None, "--threads", min=1, help="CPU threads (default: chosen per run, "
                                       "docs/cli.md)."),
    certificate: Path | None = typer.Option(
        None, "--certificate", metavar="CERT",
        help="Write what backs the verdict here: the certificate zip for unsat, the counterexample for sat."),
    branching: str = typer.Option("fsb", "--branching", help="ReLU split rule: fsb, babsr, upb or gnn (with --brancher)."),
    brancher: Path | None = typer.Option(None, "--brancher", metavar="FILE",
                                         help="gnn: the brancher `certbound train-brancher` wrote."),
    check: bool = typer.Option(True, "--check/--no-check",
                               help="Check an unsat's certificate with the independent checker before reporting "
                                    "it (one that fails is reported unknown); --no-check reports the verifier's "
                                    "answer unchecked. --certificate always checks."),
) -> None:
    """Answer sat / unsat / timeout / unknown for one network and property (exit 0 for any
    verdict, 2 for bad input: docs/cli.md)."""
    from pydantic import ValidationError

    from core.config import VerifyConfig
    from core.counterexample import write_result
    from core.result import Verdict
    from core.verifier import verify as run_verify

    check_device(device)
    if timeout <= 0:
        raise fail(f"--timeout {timeout}", "must be positive")
    check_brancher(branching, brancher)
    try:
        config = VerifyConfig(timeout_s=timeout, device=device, seed=seed, threads=threads, relu_heuristic=branching,
                              brancher=str(brancher) if brancher is not None else None)
    except ValidationError as exc:
        problems = "; ".join(f"--{'-'.join(map(str, e['loc'])).replace('_', '-')}: {e['msg']}" for e in exc.errors())
        typer.echo(f"error: {problems}", err=True)
        raise typer.Exit(2) from None
    loaded = load_instance(network, prop)
    with ProgressLine() as progress:
        result = run_verify(*loaded, config, progress=progress)
    if result.verdict is Verdict.ERROR:
        raise fail(prop, result.message)
    if progress.interrupted:  # Ctrl-C: how far it got, and nothing written
        typer.echo(final_line(result, network, prop, progress))
        raise typer.Exit(130)
    # first: an unsat whose certificate fails the check is reported as unknown
    if certificate is not None:
        result = write_certificate(certificate, *loaded, result)
    elif check:
        result = checked(*loaded, result)
    if out is not None:
        cex = result.counterexample
        write_result(out, result.verdict.value, cex.x if cex else None, cex.y if cex else None)
    typer.echo(final_line(result, network, prop, progress))


def final_line(result, network: Path, prop: Path, progress: "ProgressLine") -> str:
    """`VERDICT NET PROP TIME domains=N open=K bound=B [(message)]` (docs/cli.md)."""
    detail = f" ({result.message})" if result.message and result.verdict.value != "sat" else ""
    return (f"{result.verdict.value} {network.name} {prop.name} {result.elapsed_s:.2f}s "
            f"domains={result.domains_visited} open={progress.last.domains_open} "
            f"bound={_bound(result.lower_bound)}{detail}")


def _bound(value: float | None) -> str:
    return "-" if value is None else f"{value:.6g}"


class ProgressLine:
    """The verifier's progress callback for the command line: on a terminal, one live
    line on stderr (phase, domains visited, open domains, best lower bound); it keeps the
    last report for the final line. Off a terminal it prints nothing. A first Ctrl-C asks
    the verifier to stop (`interrupted`), a second one stops at once."""

    def __init__(self) -> None:
        from core.result import Progress

        self.last = Progress("start")
        self.interrupted = False

    def _interrupt(self, *_) -> None:
        if self.interrupted:
            raise KeyboardInterrupt
        self.interrupted = True

    def __enter__(self) -> "ProgressLine":
        from rich.console import Console
        from rich.progress import Progress as Bar, SpinnerColumn, TextColumn, TimeElapsedColumn

        console = Console(stderr=True)
        self.bar = Bar(SpinnerColumn(), TimeElapsedColumn(), TextColumn("{task.description}"),
                       console=console, transient=True, disable=not console.is_terminal)
        self.bar.__enter__()
        self.task = self.bar.add_task(self.describe(), total=None)
        self._previous = signal.signal(signal.SIGINT, self._interrupt)
        return self

    def __exit__(self, *exc) -> None:
        signal.signal(signal.SIGINT, self._previous)
        self.bar.__exit__(*exc)

    def __call__(self, report) -> bool:
        self.last = report
        self.bar.update(self.task, description=self.describe())
        return self.interrupted

    def describe(self) -> str:
        r = self.last
        return (f"{r.phase:<10} domains {r.domains_visited:,}  open {r.domains_open:,}  "
                f"best bound {_bound(r.lower_bound)}")


def checked(network, prop, result):
    """`result`, an `unsat` only if its certificate checks (else `unknown`, saying why); the
    check's outcome on stderr."""
    from core.result import Verdict
    from core.verifier.certify import certified_result

    if result.verdict is not Verdict.UNSAT:
        return result
    result, certified = certified_result(network, prop, result)
    if certified is not None:
        typer.echo(f"certificate checked in {certified.check.time_s:.2f}s: {certified.check}", err=True)
    return result


def write_certificate(path: Path, network, prop, result):
    """Write `unsat`'s certificate (for `certbound check`) or `sat`'s counterexample
    (VNN-COMP result file) to `path`; other verdicts have nothing to write. The certificate
    is checked first: returns the result, `unknown` when the check failed (nothing written)."""
    from core.counterexample import write_result
    from core.result import Verdict
    from core.verifier.certify import certified_result

    result, certified = certified_result(network, prop, result)
    if result.verdict is Verdict.UNSAT:
        path.write_bytes(certified.data)
        typer.echo(f"certificate: {path} ({len(certified.data)} bytes, checked in {certified.check.time_s:.2f}s: "
                   f"{certified.check})", err=True)
    elif result.verdict is Verdict.SAT:
        write_result(path, result.verdict.value, result.counterexample.x, result.counterexample.y)
        typer.echo(f"counterexample: {path}", err=True)
    else:
        typer.echo(f"no certificate: the verdict is {result.verdict.value}", err=True)
    return result


def register(cli: typer.Typer) -> None:
    cli.command("verify")(verify)
