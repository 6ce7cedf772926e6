"""`certbound property robustness`: write an L∞ robustness property as VNN-LIB."""

from __future__ import annotations

from pathlib import Path

import typer

property_cli = typer.Typer(no_args_is_help=True, help="Write VNN-LIB properties.")


@property_cli.command("robustness")
def robustness(
    out: Path = typer.Option(..., "--out", help="Where to write the .vnnlib file."),
    eps: float = typer.Option(..., "--eps", help="L∞ radius, in the units of the valid range."),
    image: Path | None = typer.Option(None, "--image", help="The image: .npy, or numbers as text (C order); "
                                      "8-bit values are scaled to [0, 1] when the range is [0, 1]."),
    mnist_index: int | None = typer.Option(None, "--mnist-index", help="Or MNIST test image N (the configured "
                                           "copy, else the bundled subset); its label is the default."),
    label: int | None = typer.Option(None, "--label", help="The class the network must keep (required with --image)."),
    classes: int = typer.Option(10, "--classes", help="Number of network outputs."),
    low: float = typer.Option(0.0, "--min", help="Smallest valid pixel value."),
    high: float = typer.Option(1.0, "--max", help="Largest valid pixel value."),
) -> None:
    """The inputs within EPS of the image (clipped to [MIN, MAX]) and the unsafe set
    `some other class scores at least LABEL's`, as VNN-COMP writes robustness properties."""
    from core.spec.robustness import RobustnessError, mnist_test_image, read_image, robustness_vnnlib

    try:
        if (image is None) == (mnist_index is None):
            raise RobustnessError("give exactly one of --image FILE and --mnist-index N")
        if image is not None:
            if label is None:
                raise RobustnessError("--label is required with --image")
            pixels = read_image(image, to_unit=high <= 1.0)
        else:
            pixels, true_label = mnist_test_image(mnist_index)
            label = true_label if label is None else label
        text = robustness_vnnlib(pixels, eps, label, classes, (low, high))
        out.write_text(text)
    except (RobustnessError, OSError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    typer.echo(f"{out}: {pixels.size} inputs within {eps:g} of the image, label {label} of {classes}", err=True)


def register(cli: typer.Typer) -> None:
    cli.add_typer(property_cli, name="property")
