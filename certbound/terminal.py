"""What the client commands (`certbound submit`, `status`, `wait`, ...) share: a Client from
`--server`, one error line and the exit code for each way a request can fail, and the
progress line while waiting.

Exit codes (docs/cli.md): 0 done; 1 the job failed or was cancelled (batch: also a wrong
verdict); 2 bad input (a file, a job id, the token, the job's state: what the server
refused with a 4xx); 3 `--timeout` passed while the job still runs; 4 no usable answer
from the server (unreachable, still busy after the retries, a 5xx); 130 Ctrl-C.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import TYPE_CHECKING, Callable, Iterator

import typer

from core.commands.verify import one_line

if TYPE_CHECKING:  # the client (httpx, pydantic) loads when a command runs, not for --help
    from certbound.client import Client
    from certbound.job import Job

FAILED_JOB, BAD_INPUT, STILL_RUNNING, SERVER_TROUBLE = 1, 2, 3, 4
INTERRUPTED = 130  # the shell's code for a command ended by Ctrl-C (128 + SIGINT)

SERVER_OPTION = typer.Option(None, "--server", metavar="URL",
                             help="the certbound server (default: $CERTBOUND_SERVER, the config file, or "
                             "http://127.0.0.1:8000)")


def fail(problem: str | BaseException, code: int) -> typer.Exit:
    """Print `error: PROBLEM` on one line of stderr; returns the exit to raise."""
    typer.echo(f"error: {one_line(problem)}", err=True)
    return typer.Exit(code)


@contextmanager
def connected(server: str | None) -> Iterator["Client"]:
    """A Client for the command, announcing retries on stderr; every client-side failure
    becomes one line on stderr and its exit code."""
    from certbound.client import Client
    from certbound.config import ConfigError
    from certbound.errors import CertboundError

    try:
        with Client(server, on_retry=lambda line: typer.echo(f"note: {line}", err=True)) as client:
            yield client
    except ConfigError as exc:
        raise fail(exc, BAD_INPUT) from None
    except CertboundError as exc:
        raise fail(exc, BAD_INPUT if exc.is_input_error else SERVER_TROUBLE) from None
    except TimeoutError as exc:
        raise fail(exc, STILL_RUNNING) from None
    except KeyboardInterrupt:
        # Not click's "Aborted!" and exit 1, which would read as a failed job.
        typer.echo("interrupted: jobs already queued go on on the server", err=True)
        raise typer.Exit(INTERRUPTED) from None


def job_exit(job: "Job") -> typer.Exit:
    """Exit 0 for a job that succeeded, whatever its verdict; 1 for failed or cancelled."""
    return typer.Exit(0 if job.status == "succeeded" else FAILED_JOB)


@contextmanager
def progress_line() -> Iterator[Callable[["Job"], None] | None]:
    """A callback that keeps one live line on stderr with the job's state, on a terminal
    (elsewhere None: a log gets the final line only)."""
    from rich.console import Console

    console = Console(stderr=True)
    if not console.is_terminal:
        yield None
        return
    with console.status("waiting") as status:
        yield lambda job: status.update(job.summary())
