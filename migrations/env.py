"""Alembic environment: the URL comes from the caller or from CERTBOUND_DATABASE_URL."""

from __future__ import annotations

from alembic import context
from sqlalchemy import text

from app.db.models import Base
from app.db.session import get_engine
from app.settings import Settings

config = context.config
url = config.attributes.get("url") or Settings().database_url
# Any fixed number: the PostgreSQL advisory lock that serialises concurrent upgrades.
MIGRATION_LOCK = 0x6365_7274_626F_756E


def run_offline() -> None:
    context.configure(url=url, target_metadata=Base.metadata, literal_binds=True, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    with get_engine(url).connect() as connection:
        # Batch mode lets later migrations alter columns on SQLite too.
        context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
        with context.begin_transaction():
            if connection.dialect.name == "postgresql":
                # serve and workers started together would both create alembic_version:
                # the second waits here, then finds the schema at head.
                connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
            context.run_migrations()
        connection.commit()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
