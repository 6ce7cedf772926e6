"""Database engines and sessions: one engine per URL per process (workers fork)."""

from __future__ import annotations

import os
from contextlib import contextmanager
from typing import Iterator

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

_ENGINES: dict[tuple[str, int], Engine] = {}


def _sqlite_tuner(busy_timeout_s: float):
    def tune(dbapi_connection, _record) -> None:
        # The API and the worker write the same file: WAL lets readers and one writer
        # overlap, and the busy timeout makes writers queue (that long) instead of failing.
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_s * 1000)}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    return tune


def make_engine(url: str, *, lock_wait_s: float | None = None, **pool) -> Engine:
    """A new engine; `pool` is passed on (pool_size, max_overflow, pool_timeout). With
    `lock_wait_s`, waiting for a lock ends with an OperationalError after that long (SQLite's
    busy timeout, 30 s otherwise; PostgreSQL's lock_timeout, unlimited otherwise)."""
    if url.startswith("sqlite"):
        busy_s = 30.0 if lock_wait_s is None else lock_wait_s
        engine = create_engine(url, connect_args={"timeout": busy_s, "check_same_thread": False}, **pool)
        event.listen(engine, "connect", _sqlite_tuner(busy_s))
        return engine
    options = {}
    if lock_wait_s is not None and url.startswith("postgresql"):
        options = {"options": f"-c lock_timeout={int(lock_wait_s * 1000)}"}
    return create_engine(url, pool_pre_ping=True, connect_args=options, **pool)


def get_engine(url: str) -> Engine:
    """The engine for `url` in this process (a forked child gets its own)."""
    key = (url, os.getpid())
    engine = _ENGINES.get(key)
    if engine is None:
        engine = _ENGINES[key] = make_engine(url)
    return engine


def session_factory(url: str) -> sessionmaker[Session]:
    return sessionmaker(get_engine(url), expire_on_commit=False)


@contextmanager
def session_scope(url: str) -> Iterator[Session]:
    """A session that commits on success and rolls back on error."""
    session = session_factory(url)()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
