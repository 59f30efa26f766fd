"""Rollup tables: current seizures and encounters pre-aggregated for fast totals.

Revision ID: d9d7c4d1e1db
Revises: 6b72491b8588
Create Date: 2026-11-28 07:10:58.183746
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'd9d7c4d1e1db'
down_revision: str | None = '6b72491b8588'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('encounter_rollup',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('rollup', sa.String(length=64), nullable=False),
    sa.Column('release_id', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=48), nullable=False),
    sa.Column('period', sa.Date(), nullable=False),
    sa.Column('fiscal_year', sa.Integer(), nullable=False),
    sa.Column('component', sa.String(length=8), nullable=True),
    sa.Column('region', sa.String(length=32), nullable=True),
    sa.Column('area_id', sa.Integer(), nullable=True),
    sa.Column('state', sa.String(length=2), nullable=True),
    sa.Column('demographic', sa.String(length=48), nullable=True),
    sa.Column('citizenship', sa.String(length=64), nullable=True),
    sa.Column('title_of_authority', sa.String(length=16), nullable=True),
    sa.Column('encounter_type', sa.String(length=16), nullable=True),
    sa.Column('encounter_count', sa.Integer(), nullable=False),
    sa.Column('is_current', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['area_id'], ['area.id'], name=op.f('fk_encounter_rollup_area_id_area')),
    sa.ForeignKeyConstraint(['release_id'], ['release.id'], name=op.f('fk_encounter_rollup_release_id_release'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_encounter_rollup'))
    )
    with op.batch_alter_table('encounter_rollup', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_encounter_rollup_source_rollup_period'), ['source', 'rollup', 'period'], unique=False)

    op.create_table('seizure_rollup',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('rollup', sa.String(length=64), nullable=False),
    sa.Column('release_id', sa.Integer(), nullable=False),
    sa.Column('period', sa.Date(), nullable=False),
    sa.Column('fiscal_year', sa.Integer(), nullable=False),
    sa.Column('area_id', sa.Integer(), nullable=True),
    sa.Column('drug_id', sa.Integer(), nullable=True),
    sa.Column('component', sa.String(length=8), nullable=True),
    sa.Column('region', sa.String(length=32), nullable=True),
    sa.Column('land_filter', sa.String(length=16), nullable=True),
    sa.Column('event_count', sa.Integer(), nullable=False),
    sa.Column('quantity_lbs', sa.Float(precision=53), nullable=False),
    sa.Column('is_current', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['area_id'], ['area.id'], name=op.f('fk_seizure_rollup_area_id_area')),
    sa.ForeignKeyConstraint(['drug_id'], ['drug.id'], name=op.f('fk_seizure_rollup_drug_id_drug')),
    sa.ForeignKeyConstraint(['release_id'], ['release.id'], name=op.f('fk_seizure_rollup_release_id_release'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_seizure_rollup'))
    )
    with op.batch_alter_table('seizure_rollup', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_seizure_rollup_rollup_period'), ['rollup', 'period'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('seizure_rollup', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_seizure_rollup_rollup_period'))

    op.drop_table('seizure_rollup')
    with op.batch_alter_table('encounter_rollup', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_encounter_rollup_source_rollup_period'))

    op.drop_table('encounter_rollup')
