"""Which queues a worker consumes: `gpu` only where torch can use a CUDA device.

A worker's heartbeat row lists its queues, and the API routes jobs by those rows
(app.services.queue), so a worker must never list `gpu` without being able to run a
`device: cuda` job: asked for it explicitly, it refuses to start instead.
"""

from __future__ import annotations

import subprocess
import sys

from worker.celery_app import QUEUES

# A CUDA build of torch answers the probe in a few seconds; past this it is broken.
CUDA_PROBE_TIMEOUT_S = 120.0
_PROBE = "from core.device import cuda_missing; print(cuda_missing())"


class QueueChoiceError(ValueError):
    """The worker was asked for queues it cannot serve; the message names the option."""


def parse_queues(text: str | None) -> list[str] | None:
    """The queue names of a comma-separated `--queues` value; None when it was not given."""
    if text is None:
        return None
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = sorted(set(names) - set(QUEUES))
    if unknown or not names:
        raise QueueChoiceError(f"--queues: unknown queue(s) {', '.join(unknown) or 'none given'}; "
                               f"choose from {', '.join(QUEUES)}")
    return list(dict.fromkeys(names))


def cuda_problem() -> str:
    """Why this process cannot use CUDA ("" when it can), under its CUDA_VISIBLE_DEVICES.

    A torch built without CUDA answers at once. A CUDA build is asked in a child process:
    its check initialises the CUDA driver, after which the pool processes Celery forks
    could not use CUDA at all."""
    import torch

    from core.device import cuda_missing

    if torch.version.cuda is None:
        return cuda_missing()
    try:
        probe = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True,
                               timeout=CUDA_PROBE_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return f"the CUDA check did not answer within {CUDA_PROBE_TIMEOUT_S:g} s"
    if probe.returncode != 0:
        last = (probe.stderr.strip().splitlines() or ["no output"])[-1]
        return f"the CUDA check failed ({last})"
    return probe.stdout.strip()


def worker_queues(requested: list[str] | None, gpu: int | None, problem: str) -> list[str]:
    """The queues to consume: `requested`, or by default gpu and cpu where CUDA is usable
    (`problem` is "") and cpu alone elsewhere. `--gpu N` or queue `gpu` without CUDA
    raise QueueChoiceError naming the option and the reason."""
    if gpu is not None and problem:
        raise QueueChoiceError(f"--gpu {gpu}: {problem}")
    if requested is None:
        return ["cpu"] if problem else ["gpu", "cpu"]
    if "gpu" in requested and problem:
        raise QueueChoiceError(f"--queues: queue 'gpu' takes device 'cuda' jobs, but {problem}; "
                               "leave it out or run this worker where torch sees a GPU")
    return requested
