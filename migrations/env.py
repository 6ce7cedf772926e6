"""Alembic environment: the URL comes from the caller or from CERTBOUND_DATABASE_URL."""

from __future__ import annotations

from alembic import context

from app.db.models import Base
from app.db.session import get_engine
from app.settings import Settings

config = context.config
url = config.attributes.get("url") or Settings().database_url


def run_offline() -> None:
    context.configure(url=url, target_metadata=Base.metadata, literal_binds=True, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    with get_engine(url).connect() as connection:
        # Batch mode lets later migrations alter columns on SQLite too.
        context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
