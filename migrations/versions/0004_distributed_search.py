"""jobs: parent job; frontier_pieces: the snapshots and hand-overs of a distributed search

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04 18:00:00

A verify job with `parallel` runs its branch and bound in sub-jobs (jobs.parent_id names
the parent). frontier_pieces holds, per holder job, its latest frontier snapshot and the
requests and grants of domains between holders (the bytes live in the artifact store).
Plain ADD COLUMN and a new table: no table copy on SQLite.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('jobs', sa.Column('parent_id', sa.String(length=32), nullable=True))
    op.create_index('ix_jobs_parent_id', 'jobs', ['parent_id'], unique=False)
    op.create_table(
        'frontier_pieces',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('job_id', sa.String(length=32), nullable=False),
        sa.Column('holder', sa.String(length=32), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('asker', sa.String(length=32), nullable=True),
        sa.Column('sha256', sa.String(length=64), nullable=True),
        sa.Column('domains', sa.Integer(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['job_id'], ['jobs.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_frontier_pieces_job_id', 'frontier_pieces', ['job_id'], unique=False)
    op.create_index('ix_frontier_pieces_holder_kind', 'frontier_pieces', ['holder', 'kind'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_frontier_pieces_holder_kind', table_name='frontier_pieces')
    op.drop_index('ix_frontier_pieces_job_id', table_name='frontier_pieces')
    op.drop_table('frontier_pieces')
    op.drop_index('ix_jobs_parent_id', table_name='jobs')
    op.drop_column('jobs', 'parent_id')
