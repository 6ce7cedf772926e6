"""`certbound cs-train`, `cs-verify`, `cs-check`: decoders for compressed sensing, proven
correct on every admissible x (docs/compressed_sensing.md)."""

from __future__ import annotations

import json
from pathlib import Path

import typer

# The problem's options, shared by the three commands.
N = typer.Option(20, "--n", help="Length of x.")
M = typer.Option(8, "--m", help="Measurements (below n).")
K = typer.Option(2, "--k", help="Nonzeros of x.")
LOW = typer.Option(1.0, "--low", help="Smallest nonzero magnitude.")
HIGH = typer.Option(2.0, "--high", help="Largest nonzero magnitude.")
MEASUREMENT = typer.Option("linear", "--measurement", help="linear (y = A x) or binarized (y = sign(A x)).")
NONNEGATIVE = typer.Option(False, "--nonnegative", help="Positive nonzeros only.")
MATRIX = typer.Option(None, "--matrix", help="A as .npy or text (m rows of n numbers); default: Gaussian "
                      "with unit columns from --matrix-seed.")
MATRIX_SEED = typer.Option(0, "--matrix-seed")
WORKERS = typer.Option(1, "--workers", help="Processes verifying pieces in parallel.")
PROOF = typer.Option(None, "--proof", help="Write the proof bundle (zip) here when every piece is proven.")
AS_JSON = typer.Option(False, "--json", help="Print one JSON object.")


def _config(**fields):
    """The CSConfig of the options, or exit 2 naming the bad one."""
    from pydantic import ValidationError

    from core.commands.verify import fail
    from core.compressed_sensing.config import CSConfig

    matrix = fields.pop("matrix")
    if matrix is not None:
        fields["matrix"] = _read_matrix(matrix)
    try:
        return CSConfig(**{k: v for k, v in fields.items() if v is not None})
    except ValidationError as exc:
        error = exc.errors()[0]
        where = "--" + str(error["loc"][0]).replace("_", "-") if error["loc"] else "options"
        raise fail(where, error["msg"].removeprefix("Value error, ")) from None


def _read_matrix(path: Path) -> list[list[float]]:
    import numpy as np

    from core.commands.verify import fail

    try:
        A = np.load(path, allow_pickle=False) if path.suffix == ".npy" else np.loadtxt(path, ndmin=2)
    except (OSError, ValueError) as exc:
        raise fail(path, f"not a matrix certbound reads (.npy, or rows of numbers): {exc}") from None
    if A.ndim != 2 or not np.all(np.isfinite(A)):
        raise fail(path, "A must be a 2-D array of finite numbers")
    return A.astype(float).tolist()


def _report(config, result, proof: Path | None, decoder: bytes, as_json: bool, extra: dict) -> None:
    from core.compressed_sensing.baselines import failure_rates
    from core.compressed_sensing.bundle import write_bundle
    from core.compressed_sensing.problem import Problem

    problem = Problem.of(config)
    summary = {**extra, **result.summary(),
               "baselines": {k: v for k, v in failure_rates(problem, config.baseline_samples, config.seed).items()
                             if not k.endswith("_example")}}
    if proof is not None and result.verdict == "unsat":
        proof.write_bytes(write_bundle(decoder, problem, result))
        summary["proof"] = str(proof)
    if as_json:
        typer.echo(json.dumps(summary))
        return
    counts = ", ".join(f"{n} {v}" for v, n in summary["counts"].items())
    typer.echo(f"{result.verdict}: {summary['done']} of {summary['pieces']} pieces ({counts}) in {result.elapsed_s:.1f} s")
    if summary["first_counterexample"]:
        first = summary["first_counterexample"]
        typer.echo(f"counterexample on piece {first['piece']}: x = {first['counterexample']}")
    b = summary["baselines"]
    if b["samples"]:
        typer.echo(f"OMP fails on {100 * b['omp_failure']:.1f}%, LASSO on {100 * b['lasso_failure']:.1f}% of "
                   f"{b['samples']} sampled x; coherence {b['coherence']:.3f}, guarantee "
                   f"{'applies' if b['coherence_guarantee'] else 'does not apply'}")
    if "proof" in summary:
        typer.echo(f"wrote {proof}")


def cs_train(out: Path = typer.Option(..., "--out", help="Write the decoder here (ONNX)."),
             n: int = N, m: int = M, k: int = K, low: float = LOW, high: float = HIGH, measurement: str = MEASUREMENT,
             nonnegative: bool = NONNEGATIVE, matrix: Path | None = MATRIX, matrix_seed: int = MATRIX_SEED,
             hidden: str | None = typer.Option(None, "--hidden", help="Hidden widths, e.g. 128,128 (default: "
                                               "chosen from the problem)."),
             epochs: int = typer.Option(40, "--epochs"), samples: int = typer.Option(4096, "--samples"),
             bound_weight: float = typer.Option(0.0, "--bound-weight", help="Final weight of the IBP term."),
             lr: float = typer.Option(1e-2, "--lr"), rounds: int = typer.Option(3, "--rounds",
                                                                               help="Train-verify rounds."),
             workers: int = WORKERS, proof: Path | None = PROOF, seed: int = typer.Option(0, "--seed"),
             baseline_samples: int = typer.Option(2000, "--baseline-samples"), as_json: bool = AS_JSON) -> None:
    """Train a decoder, prove it on every piece, retrain on counterexamples; exit 0 whatever the verdict."""
    from core.commands.verify import fail
    from core.compressed_sensing.fit import NotDecodable, fit
    from core.compressed_sensing.problem import Problem

    try:
        widths = tuple(int(w) for w in hidden.split(",")) if hidden else None
    except ValueError:
        raise fail("--hidden", f"{hidden!r} is not widths separated by commas") from None
    config = _config(n=n, m=m, k=k, low=low, high=high, measurement=measurement, nonnegative=nonnegative,
                     matrix=matrix, matrix_seed=matrix_seed, hidden=widths, epochs=epochs, samples=samples,
                     bound_weight=bound_weight, lr=lr, rounds=rounds, workers=workers, seed=seed,
                     baseline_samples=baseline_samples)
    try:
        fitted = fit(config, Problem.of(config))
    except NotDecodable as exc:
        raise fail("--m", str(exc)) from None
    out.write_bytes(fitted.decoder)
    _report(config, fitted.verification, proof, fitted.decoder, as_json, {"decoder": str(out), "rounds": fitted.rounds})


def cs_verify(decoder: Path = typer.Argument(..., help="ONNX decoder: m measurements to n scores."),
              n: int = N, m: int = M, k: int = K, low: float = LOW, high: float = HIGH,
              measurement: str = MEASUREMENT, nonnegative: bool = NONNEGATIVE, matrix: Path | None = MATRIX,
              matrix_seed: int = MATRIX_SEED, workers: int = WORKERS,
              piece_timeout: float = typer.Option(30.0, "--piece-timeout", help="Verifier seconds per piece."),
              proof: Path | None = PROOF, baseline_samples: int = typer.Option(2000, "--baseline-samples"),
              as_json: bool = AS_JSON) -> None:
    """Prove a decoder correct on every admissible x, or find one it gets wrong (exit 0 either way)."""
    import onnx

    from core.commands.verify import fail
    from core.compressed_sensing.compose import DecoderError, check_decoder
    from core.compressed_sensing.domain import verify_domain
    from core.compressed_sensing.problem import Problem

    config = _config(n=n, m=m, k=k, low=low, high=high, measurement=measurement, nonnegative=nonnegative,
                     matrix=matrix, matrix_seed=matrix_seed, workers=workers, piece_timeout_s=piece_timeout,
                     baseline_samples=baseline_samples)
    problem = Problem.of(config)
    try:
        data = decoder.read_bytes()
        check_decoder(onnx.load_from_string(data), problem)
    except OSError as exc:
        raise fail(decoder, exc.strerror or str(exc)) from None
    except DecoderError as exc:
        raise fail(decoder, str(exc)) from None
    except Exception as exc:  # whatever protobuf raises on bytes that are no ONNX model
        raise fail(decoder, f"not an ONNX model ({type(exc).__name__})") from None
    result = verify_domain(data, problem, config.workers, config.piece_timeout_s, stop_at_first=True)
    _report(config, result, proof, data, as_json, {"decoder": str(decoder)})


def cs_check(decoder: Path = typer.Argument(..., help="The ONNX decoder."),
             proof: Path = typer.Argument(..., help="The proof bundle (zip) of cs-train / cs-verify.")) -> None:
    """Check a proof bundle independently: prints `valid` (exit 0) or `invalid: <reason>` (exit 1)."""
    from core.commands.verify import fail
    from core.compressed_sensing.bundle import check_bundle

    for path in (decoder, proof):
        if not path.is_file():
            raise fail(path, "no such file")
    reason = check_bundle(decoder.read_bytes(), proof.read_bytes())
    typer.echo("valid" if not reason else f"invalid: {reason}")
    if reason:
        raise typer.Exit(1)


def register(cli: typer.Typer) -> None:
    cli.command("cs-train")(cs_train)
    cli.command("cs-verify")(cs_verify)
    cli.command("cs-check")(cs_check)
