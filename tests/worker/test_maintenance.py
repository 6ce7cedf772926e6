"""Housekeeping of the SQLite broker: consumed messages are deleted, unconsumed kept."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text

from app.services.maintenance import purge_consumed_messages, run_maintenance


def count_messages(broker_url: str, visible: bool) -> int:
    engine = create_engine(broker_url.removeprefix("sqla+"))
    try:
        with engine.connect() as connection:
            return connection.scalar(text("SELECT count(*) FROM kombu_message WHERE visible = :v"), {"v": visible})
    finally:
        engine.dispose()


@pytest.mark.parametrize("worker_settings", ["sqlite"], indirect=True)
def test_consumed_messages_are_purged(wapi, worker_settings, bundled_benchmarks):
    model = wapi.upload_ok("models", bundled_benchmarks / "mlp" / "onnx" / "tiny.onnx.gz")
    wapi.wait(wapi.submit(model, kind="inspect"))
    assert count_messages(worker_settings.broker_url, visible=False) >= 1
    run_maintenance(worker_settings, wapi.client.app.state.celery)
    assert count_messages(worker_settings.broker_url, visible=False) == 0


def test_purging_is_a_no_op_on_redis():
    assert purge_consumed_messages("redis://127.0.0.1:6379/0") == 0
