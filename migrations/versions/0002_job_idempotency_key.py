"""jobs: Idempotency-Key and request digest, unique per owner

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-04 05:50:00

Plain ADD COLUMN and CREATE INDEX: SQLite needs no table copy for either, so rows that
reference jobs (events, artifacts) are never touched.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('jobs', sa.Column('idempotency_key', sa.String(length=255), nullable=True))
    op.add_column('jobs', sa.Column('request_sha256', sa.String(length=64), nullable=True))
    op.create_index('uq_jobs_owner_idempotency_key', 'jobs', ['owner_id', 'idempotency_key'], unique=True)


def downgrade() -> None:
    op.drop_index('uq_jobs_owner_idempotency_key', table_name='jobs')
    op.drop_column('jobs', 'request_sha256')
    op.drop_column('jobs', 'idempotency_key')
