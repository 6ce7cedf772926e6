"""`certbound pinn`: the certified worst-case PDE residual of a physics-informed network."""

from __future__ import annotations

from pathlib import Path

import typer


def _domain(text: str | None):
    if text is None:
        return None
    parts = text.replace(";", ",").split(",")
    values = [float(p) for p in parts]  # ValueError for the caller to report
    if len(values) != 4:
        raise ValueError(f"give four numbers t0,t1,x0,x1; got {len(values)}")
    return ((values[0], values[1]), (values[2], values[3]))


def pinn(network: Path = typer.Argument(..., help="ONNX tanh MLP taking (t, x)"),
         pde: str = typer.Option("burgers", "--pde", help="burgers, allen_cahn or schrodinger"),
         domain: str | None = typer.Option(None, "--domain", help="t0,t1,x0,x1 inside the PDE's domain "
                                           "(default: all of it)"),
         tolerance: float | None = typer.Option(None, "--tolerance", help="largest |residual| allowed"),
         conditions: str = typer.Option("residual,initial,boundary", "--conditions",
                                        help="comma-separated: residual, initial, boundary"),
         budget: float = typer.Option(60.0, "--budget", help="seconds of splitting, all conditions together"),
         max_pieces: int = typer.Option(200_000, "--max-pieces"),
         grid: int = typer.Option(201, "--grid", help="empirical grid points per axis"),
         target_ratio: float = typer.Option(1.0, "--target-ratio", help="stop at certified/empirical <= this"),
         certificate: Path | None = typer.Option(None, "--certificate", help="write the certificate (zip) here"),
         threads: int = typer.Option(1, "--threads"),
         as_json: bool = typer.Option(False, "--json", help="print one JSON object")) -> None:
    """Bound max |residual| over the whole domain of each condition (the PDE in the interior,
    the initial and boundary conditions), next to the maximum on a grid; with --tolerance,
    say whether it holds (exit 0 whatever the verdict)."""
    import json

    from pydantic import ValidationError

    from core.commands.verify import fail, one_line
    from core.pinn.network import PinnNetworkError, load_mlp
    from core.pinn.options import PinnOptions

    try:
        box = _domain(domain)
    except ValueError as exc:
        raise fail("--domain", str(exc)) from None
    try:
        options = PinnOptions(pde=pde, domain=box, tolerance=tolerance, budget_s=budget, max_pieces=max_pieces,
                              grid=grid, target_ratio=target_ratio,
                              conditions=tuple(c.strip() for c in conditions.split(",") if c.strip()))
    except ValidationError as exc:
        error = exc.errors()[0]
        where = "--" + str(error["loc"][0]).replace("_", "-").replace("budget-s", "budget")
        raise fail(where, error["msg"].removeprefix("Value error, ")) from None
    if not network.is_file():
        raise fail(network, "no such file")
    try:
        mlp = load_mlp(network)
    except (OSError, ValueError, PinnNetworkError) as exc:
        raise fail(network, one_line(exc)) from None
    _set_threads(threads)
    from core.pinn.certify import certify_pinn

    def show(event: dict) -> bool:
        if not as_json and event["pieces"] & (event["pieces"] - 1) == 0:  # at powers of two
            typer.echo(f"  {event['condition']}: {event['pieces']} pieces, certified {event['certified_max']:.4g}, "
                       f"empirical {event['empirical_max']:.4g}, {event['elapsed_s']:.1f} s", err=True)
        return False

    try:
        result = certify_pinn(mlp, options, show)
    except ValueError as exc:
        raise fail(network, str(exc)) from None
    if certificate is not None:
        from core.pinn.certificate import build_certificate

        certificate.write_bytes(build_certificate(network.read_bytes(), result))
    summary = result.summary()
    if as_json:
        typer.echo(json.dumps(summary | {"conditions": {k: {f: v for f, v in c.items() if f not in ("boxes", "bounds")}
                                                        for k, c in summary["conditions"].items()}}))
        return
    for name, c in summary["conditions"].items():
        typer.echo(f"{name}: certified max |r| {c['certified_max']:.6g}, empirical {c['empirical_max']:.6g} "
                   f"(ratio {c['ratio']:.3f}), {c['pieces']} pieces, {c['elapsed_s']:.1f} s ({c['stopped']})")
    if summary["verdict"] is not None:
        line = f"tolerance {options.tolerance:g}: {summary['verdict']}"
        if "failing_point" in summary:
            fp = summary["failing_point"]
            line += f" ({fp['condition']} |r| = {fp['residual']:.6g} at t, x = {fp['point']})"
        typer.echo(line)


def pinn_check(network: Path = typer.Argument(..., help="the ONNX network the certificate is for"),
               certificate: Path = typer.Argument(..., help="the certificate `certbound pinn --certificate` wrote")
               ) -> None:
    """Re-derive every piece of a PINN certificate with outward rounding; exit 0 when it
    checks (printing the certified maxima), 1 when it is rejected (saying why)."""
    from core.commands.verify import fail
    from core.pinn.check import check_pinn

    for path in (network, certificate):
        if not path.is_file():
            raise fail(path, "no such file")
    outcome = check_pinn(network.read_bytes(), certificate.read_bytes())
    if not outcome.valid:
        typer.echo(f"rejected: {outcome.reason}")
        raise typer.Exit(1)
    for name, value in outcome.certified.items():
        typer.echo(f"{name}: certified max |r| {value:.6g}")
    typer.echo("valid" + (f"; tolerance {outcome.verdict}" if outcome.verdict else ""))


def _set_threads(threads: int) -> None:
    import torch

    torch.set_num_threads(max(1, threads))


def register(cli: typer.Typer) -> None:
    cli.command("pinn")(pinn)
    cli.command("pinn-check")(pinn_check)
