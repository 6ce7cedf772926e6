"""Routing jobs to a queue by the live workers, and sending them to the broker (the
message carries only the job id).

Workers list queue `gpu` only where torch can use CUDA (worker.queues), and their
heartbeat rows say which queues are live. A `device: "cuda"` job goes to `gpu` and is
refused (422) while no live worker consumes it; an `auto` job goes to `gpu` while one
does, else to `cpu`; `cpu` jobs, and inspect jobs (which only read the model), go to `cpu`.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import Celery
from sqlalchemy.orm import Session

from app.db.models import Job
from app.errors import Invalid
from app.services.health import live_workers
from app.settings import Settings
from worker.celery_app import RUN_JOB

log = logging.getLogger(__name__)
NO_GPU_WORKER = ("config.device 'cuda': no live worker has a GPU (none consuming queue 'gpu' has sent a "
                 "heartbeat in the last few seconds; GET /healthz lists the live workers and their queues); "
                 "start one with `certbound worker --gpu N`, or submit with device 'auto' or 'cpu'")


def choose_queue(session: Session, settings: Settings, kind: str, config: dict[str, Any]) -> str:
    """The queue of a new job of `kind` with the (already validated) engine `config`;
    raises Invalid for device "cuda" while no live worker consumes queue gpu."""
    device = config.get("device", "auto")
    if kind in ("inspect", "pinn", "compressed-sensing") or device == "cpu":  # NumPy work: no GPU to wait for
        return "cpu"
    gpu_live = any("gpu" in worker["queues"] for worker in live_workers(session, settings))
    if device == "cuda" and not gpu_live:
        raise Invalid(NO_GPU_WORKER)
    return "gpu" if gpu_live else "cpu"


def send(celery: Celery, settings: Settings, job: Job) -> bool:
    """Publish `job` (already committed) to its queue with time limits derived from its
    timeout. A broker failure is logged, not raised: the job row stays queued and the
    reaper re-sends it later."""
    try:
        celery.send_task(RUN_JOB, args=[job.id], queue=job.queue,
                         soft_time_limit=settings.soft_time_limit(job.timeout_s),
                         time_limit=settings.hard_time_limit(job.timeout_s))
    except Exception:  # noqa: BLE001 - kombu raises several types for an unreachable broker
        log.exception("could not send job %s to the broker; the reaper will retry", job.id)
        return False
    return True
