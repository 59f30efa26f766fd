"""sync_state: what `borderstats sync` last saw and did per release family (for /status).

Revision ID: 11b1f028d11a
Revises: 3f1c2a7b9e01
Create Date: 2026-11-29 19:27:44.707522
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '11b1f028d11a'
down_revision: str | None = '3f1c2a7b9e01'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('sync_state',
    sa.Column('family', sa.String(length=48), nullable=False),
    sa.Column('dataset', sa.String(length=32), nullable=False),
    sa.Column('page_url', sa.String(length=500), nullable=False),
    sa.Column('cadence', sa.String(length=32), nullable=False),
    sa.Column('cadence_days', sa.Integer(), nullable=False),
    sa.Column('page_etag', sa.String(length=200), nullable=True),
    sa.Column('page_last_modified', sa.String(length=64), nullable=True),
    sa.Column('file_url', sa.String(length=500), nullable=True),
    sa.Column('file_etag', sa.String(length=200), nullable=True),
    sa.Column('file_last_modified', sa.String(length=64), nullable=True),
    sa.Column('sha256', sa.String(length=64), nullable=True),
    sa.Column('last_release_id', sa.Integer(), nullable=True),
    sa.Column('last_outcome', sa.String(length=16), nullable=False),
    sa.Column('last_attempt_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_success_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_failure_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.CheckConstraint("last_outcome IN ('new', 'unchanged', 'already_loaded', 'error')", name=op.f('ck_sync_state_last_outcome')),
    sa.ForeignKeyConstraint(['last_release_id'], ['release.id'], name=op.f('fk_sync_state_last_release_id_release'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('family', name=op.f('pk_sync_state'))
    )


def downgrade() -> None:
    op.drop_table('sync_state')
