"""Sending jobs to the broker: the message carries only the job id."""

from __future__ import annotations

import logging

from celery import Celery

from app.db.models import Job
from app.settings import Settings
from worker.celery_app import RUN_JOB

log = logging.getLogger(__name__)


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
