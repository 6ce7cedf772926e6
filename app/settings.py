"""Service settings, read from the environment with the prefix CERTBOUND_.

The defaults are the embedded set-up: everything (SQLite database, SQLite-backed
broker, artifacts) lives under one data directory. Scaled out, only the URLs change.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Every knob of the API and the workers; `CERTBOUND_DATABASE_URL` etc. override them."""

    model_config = SettingsConfigDict(env_prefix="CERTBOUND_", extra="ignore")

    data_dir: Path = Path("certbound-data")
    database_url: str = Field("", description="SQLAlchemy URL; empty means SQLite under data_dir")
    broker_url: str = Field("", description="Celery broker URL; empty means SQLite (kombu sqla) under data_dir")
    broker_key_prefix: str = Field("", description="prefix of every Redis key, to share one Redis database")

    max_upload_bytes: int = Field(200 * 1024 * 1024, gt=0, description="largest upload, after gunzip; "
                                  "refused with 413 while it streams")
    # VNN-LIB size limits, enforced while a property is read (docs/vnnlib.md): far above
    # every property of the shared VNN-COMP benchmarks, low enough that a file of 10^6
    # asserts or disjuncts is refused in about a second.
    max_property_asserts: int = Field(100_000, gt=0, description="assert commands in one property")
    max_property_disjuncts: int = Field(100_000, gt=0, description="operands of one `or`, and disjuncts "
                                        "of the normalised property")
    max_property_comparisons: int = Field(200_000, gt=0, description="comparisons in one property "
                                          "(also caps the operands of any one list)")
    max_property_variables: int = Field(1_000_000, gt=0, description="declared inputs plus outputs")
    max_property_values: int = Field(20_000_000, gt=0, description="float64 numbers one property may take in "
                                     "memory (input boxes and output rows)")
    default_timeout_s: float = Field(300.0, gt=0)
    max_timeout_s: float = Field(3600.0, gt=0)
    # Celery time limits are derived from a job's timeout_s: the engine stops itself at
    # timeout_s; the soft limit is a backstop that still yields verdict "timeout", and
    # the hard limit kills a process that ignored even that.
    soft_limit_grace_s: float = Field(15.0, ge=0)
    hard_limit_grace_s: float = Field(30.0, gt=0)
    # An unsat is reported only once the independent checker accepts its certificate; that
    # check may take this many times the job's timeout (input-split checks, the costliest kind,
    # took 8-48% of their verify time when last measured, and twice as long beside a busy
    # worker), after which the job says unknown and keeps the certificate.
    check_time_factor: float = Field(2.0, ge=0)

    heartbeat_interval_s: float = Field(2.0, gt=0)
    heartbeat_stale_s: float = Field(30.0, gt=0)
    reaper_interval_s: float = Field(60.0, gt=0)
    max_attempts: int = Field(2, ge=1)
    queued_resend_s: float = Field(600.0, gt=0)
    # A queued job fails once its queue had no live worker (e.g. no GPU worker for a
    # device "cuda" job) for this long; 0 waits for ever.
    unserved_queue_fail_s: float = Field(300.0, ge=0)

    # Capacity of one API process: sync routes run on `request_threads` threads, as many
    # requests may hold a database session at once, and the API's pool has a connection for
    # each plus `db_pool_reserve` for the short sessions of owner lookups and event streams
    # (maintenance has an engine of its own). A request that waits `db_wait_s` for a session,
    # a connection or a lock is answered 503 with Retry-After `retry_after_s`.
    request_threads: int = Field(40, ge=1)
    db_pool_reserve: int = Field(10, ge=1)
    db_wait_s: float = Field(10.0, gt=0)
    retry_after_s: int = Field(2, ge=1)

    progress_event_interval_s: float = Field(1.0, ge=0)
    cancel_poll_interval_s: float = Field(0.5, ge=0)
    # A cancelled job whose engine does not stop by itself is interrupted after this.
    cancel_grace_s: float = Field(5.0, ge=0)
    # A distributed verify job's holders publish their frontier this often: a holder whose
    # worker dies is resumed from its latest snapshot, losing at most this much work.
    frontier_snapshot_s: float = Field(3.0, gt=0)

    @model_validator(mode="after")
    def _fill_urls(self) -> "Settings":
        self.data_dir = self.data_dir.expanduser().resolve()
        if not self.database_url:
            self.database_url = f"sqlite:///{self.data_dir / 'certbound.db'}"
        if not self.broker_url:
            self.broker_url = f"sqla+sqlite:///{self.data_dir / 'broker.db'}"
        if self.max_timeout_s < self.default_timeout_s:
            raise ValueError(f"max_timeout_s ({self.max_timeout_s}) is below default_timeout_s ({self.default_timeout_s})")
        return self

    @property
    def artifacts_dir(self) -> Path:
        return self.data_dir / "artifacts"

    @property
    def token_file(self) -> Path:
        return self.data_dir / "token"

    def check_time_limit(self, timeout_s: float) -> float:
        """How long the certificate check of a job with this timeout may run."""
        return timeout_s * self.check_time_factor

    def soft_time_limit(self, timeout_s: float) -> float:
        return timeout_s + self.check_time_limit(timeout_s) + self.soft_limit_grace_s

    def hard_time_limit(self, timeout_s: float) -> float:
        return self.soft_time_limit(timeout_s) + self.hard_limit_grace_s

    @property
    def visibility_timeout_s(self) -> int:
        """Redis redelivers unacked messages after this; it must outlive the longest job."""
        return int(self.hard_time_limit(self.max_timeout_s) + 600)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings from the environment (commands set the environment first)."""
    return Settings()
