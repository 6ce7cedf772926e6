"""How many requests the API serves at once, and a 503 instead of a 500 beyond that.

Sync routes run on a pool of `request_threads` threads; a request's database session
takes one of as many slots, and the API's own connection pool has one connection per slot
plus `db_pool_reserve`. Waiting for a slot happens on the event loop, holding no thread and
no connection, so requests that hold a connection can always get a thread to finish on:
the pool cannot deadlock against the thread pool. Short sessions that live inside one
thread call (owner lookups, event-stream polls) use the reserve. Whatever still waits too
long (a slot, a connection, a lock) is answered 503 with `Retry-After`.
"""

from __future__ import annotations

from contextlib import asynccontextmanager
from typing import AsyncIterator

import anyio
import anyio.to_thread
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError, TimeoutError as PoolTimeout
from sqlalchemy.orm import Session, sessionmaker

from app.db.session import make_engine
from app.settings import Settings

# SQLSTATE classes of PostgreSQL errors that mean "busy or unreachable, try again":
# 08 connection exceptions, 53 insufficient resources (too many connections),
# 55P03 lock not available (lock_timeout), 57P01-57P03 shutting down / cannot connect now.
RETRYABLE_SQLSTATES = ("08", "53", "55P03", "57P01", "57P02", "57P03")
# What SQLite says when its busy timeout ran out.
RETRYABLE_SQLITE = ("database is locked", "database table is locked", "database is busy")


class Saturated(Exception):
    """No database session came free in `db_wait_s`."""


def request_engine(settings: Settings) -> Engine:
    """The API's engine: a connection for each session slot plus the reserve, and no wait
    (for a connection or a lock) longer than `db_wait_s`."""
    return make_engine(settings.database_url, lock_wait_s=settings.db_wait_s, pool_size=settings.request_threads,
                       max_overflow=settings.db_pool_reserve, pool_timeout=settings.db_wait_s)


class SessionGate:
    """At most `slots` request sessions at once; the others wait, on the event loop, up to
    `wait_s` before the request is refused (Saturated)."""

    def __init__(self, sessions: sessionmaker[Session], slots: int, wait_s: float):
        self.sessions, self.wait_s = sessions, wait_s
        self._slots = anyio.Semaphore(slots)
        # Closing may roll back (I/O): it runs on threads of its own, never waiting behind
        # requests for one of theirs while it holds a connection.
        self._closers = anyio.CapacityLimiter(slots)

    @asynccontextmanager
    async def session(self) -> AsyncIterator[Session]:
        with anyio.move_on_after(self.wait_s) as waited:
            await self._slots.acquire()
        if waited.cancelled_caught:
            raise Saturated(f"no database session came free in {self.wait_s:g} s")
        try:
            session = self.sessions()
            try:
                yield session
            finally:
                with anyio.CancelScope(shield=True):
                    await self._close(session)
        finally:
            self._slots.release()

    async def _close(self, session: Session) -> None:
        if session.in_transaction():
            await anyio.to_thread.run_sync(session.close, limiter=self._closers)
        else:
            session.close()  # holds no connection: nothing to roll back


def use_request_threads(settings: Settings) -> None:
    """Size the event loop's thread pool for sync routes (anyio's default is 40)."""
    anyio.to_thread.current_default_thread_limiter().total_tokens = settings.request_threads


def retryable(exc: OperationalError) -> bool:
    """Whether a database error means busy or unreachable (503) rather than a bug (500)."""
    code = getattr(exc.orig, "sqlstate", None) or ""
    if code.startswith(RETRYABLE_SQLSTATES) or exc.connection_invalidated:
        return True
    message = str(exc.orig).lower()
    return any(text in message for text in RETRYABLE_SQLITE)


def install(app: FastAPI, settings: Settings) -> None:
    """Give `app` its engine, session factory and gate, and the 503 answers."""
    app.state.engine = request_engine(settings)
    app.state.sessions = sessionmaker(app.state.engine, expire_on_commit=False)
    app.state.gate = SessionGate(app.state.sessions, settings.request_threads, settings.db_wait_s)

    def unavailable(reason: str) -> JSONResponse:
        return JSONResponse({"detail": f"the server is busy ({reason}); retry after {settings.retry_after_s} s",
                             "retry_after_s": settings.retry_after_s},
                            status_code=503, headers={"Retry-After": str(settings.retry_after_s)})

    @app.exception_handler(Saturated)
    async def saturated(_request: Request, exc: Saturated) -> JSONResponse:
        return unavailable(str(exc))

    @app.exception_handler(PoolTimeout)
    async def pool_timeout(_request: Request, _exc: PoolTimeout) -> JSONResponse:
        return unavailable(f"no database connection came free in {settings.db_wait_s:g} s")

    @app.exception_handler(OperationalError)
    async def database_busy(_request: Request, exc: OperationalError) -> JSONResponse:
        if not retryable(exc):
            raise exc
        return unavailable("the database is locked or unreachable")
