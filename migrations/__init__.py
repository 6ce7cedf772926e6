"""Alembic schema history of the service database (run through app.db.migrate)."""
