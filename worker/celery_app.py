"""The Celery application: configuration only; the tasks live in worker.tasks."""

from __future__ import annotations

import sqlite3
from contextlib import closing

import kombu.transport.sqlalchemy
from celery import Celery
from kombu import Exchange, Queue

from app.settings import Settings, get_settings

# The SQLAlchemy transport polls once a second by default; this is the only place the
# interval can be set (as broker_transport_options it crashes the transport).
kombu.transport.sqlalchemy.Transport.polling_interval = 0.1

QUEUES = ("gpu", "cpu")
RUN_JOB = "certbound.run_job"


def make_celery(settings: Settings) -> Celery:
    """A Celery app for `settings`: the API uses it to send, workers to consume."""
    return configure(Celery("certbound", include=["worker.tasks"]), settings)


def configure(celery: Celery, settings: Settings) -> Celery:
    """(Re)configure `celery` for `settings`; workers call it once their settings are final."""
    options = {}
    if settings.broker_url.startswith(("redis://", "rediss://")):
        # Redis redelivers an unacked message after this long: it must outlive any job.
        options["visibility_timeout"] = settings.visibility_timeout_s
        if settings.broker_key_prefix:
            options["global_keyprefix"] = settings.broker_key_prefix
    celery.conf.update(
        broker_url=settings.broker_url,
        task_queues=[Queue(name, Exchange(name, type="direct"), routing_key=name) for name in QUEUES],
        task_default_queue="cpu",
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_ignore_result=True,
        task_serializer="json",
        accept_content=["json"],
        broker_transport_options=options,
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
    )
    return celery


def declare_queues(celery: Celery) -> None:
    """Create the queues before any worker starts: on a fresh SQLite broker two workers
    declaring at once race on kombu_queue.name. A SQLite broker is also switched to WAL
    journaling (it persists in the file): publishing gets three times faster and the
    API's writes stop blocking the worker's polls."""
    url = celery.conf.broker_url
    if url.startswith("sqla+sqlite:///"):
        with closing(sqlite3.connect(url.removeprefix("sqla+sqlite:///"))) as connection:
            connection.execute("PRAGMA journal_mode=WAL")
    with celery.connection_for_write() as connection:
        channel = connection.default_channel
        for queue in celery.conf.task_queues:
            queue.bind(channel).declare()


app = make_celery(get_settings())
