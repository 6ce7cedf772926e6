"""tokens: expiry and revocation times

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04 09:15:00

Two nullable columns by plain ADD COLUMN (no table copy on SQLite): every existing token
stays valid, never expiring and not revoked.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('tokens', sa.Column('expires_at', sa.DateTime(), nullable=True))
    op.add_column('tokens', sa.Column('revoked_at', sa.DateTime(), nullable=True))


def downgrade() -> None:
    op.drop_column('tokens', 'revoked_at')
    op.drop_column('tokens', 'expires_at')
