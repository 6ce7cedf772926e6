"""The session gate and the API's pool (app.capacity), on a real SQLite database."""

from __future__ import annotations

import anyio
import pytest
from sqlalchemy import text

from app.capacity import Saturated, SessionGate, request_engine
from app.main import create_app
from tests.service.support import sqlite_settings


@pytest.fixture
def settings(tmp_path):
    return sqlite_settings(tmp_path / "data", request_threads=3, db_pool_reserve=2, db_wait_s=0.3)


def test_the_api_pool_has_a_connection_per_session_slot_plus_the_reserve(settings):
    engine = request_engine(settings)
    try:
        assert (engine.pool.size(), engine.pool._max_overflow) == (3, 2)  # noqa: SLF001 - no public reader
        assert engine.pool.timeout() == settings.db_wait_s
    finally:
        engine.dispose()


def test_a_request_that_finds_every_session_taken_is_refused_after_the_wait(settings):
    app = create_app(settings, maintenance=False)
    gate: SessionGate = app.state.gate
    outcomes = []

    async def scenario() -> None:
        async def hold(release: anyio.Event) -> None:
            async with gate.session() as session:
                session.execute(text("SELECT 1"))
                await release.wait()

        release = anyio.Event()
        async with anyio.create_task_group() as group:
            for _ in range(3):
                group.start_soon(hold, release)
            await anyio.sleep(0.05)
            started = anyio.current_time()
            with pytest.raises(Saturated):
                async with gate.session():
                    pass
            outcomes.append(anyio.current_time() - started)
            release.set()
        async with gate.session() as session:  # every slot came back
            outcomes.append(session.execute(text("SELECT 2")).scalar())

    anyio.run(scenario)
    app.state.engine.dispose()
    assert 0.25 <= outcomes[0] < 2.0 and outcomes[1] == 2
