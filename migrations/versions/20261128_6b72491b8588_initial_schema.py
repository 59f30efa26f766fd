"""Initial schema: releases, reference data, seizure / encounter / overdose-death facts.

Revision ID: 6b72491b8588
Revises:
Create Date: 2026-11-28 06:59:38.314460
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '6b72491b8588'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('area',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('slug', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('component', sa.String(length=8), nullable=False),
    sa.Column('region', sa.String(length=32), nullable=True),
    sa.Column('abbreviation', sa.String(length=32), nullable=True),
    sa.Column('states', sa.String(length=32), nullable=False),
    sa.Column('state_basis', sa.String(length=16), nullable=False),
    sa.Column('aliases', sa.JSON(), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.CheckConstraint("component IN ('OFO', 'USBP')", name=op.f('ck_area_component')),
    sa.CheckConstraint("kind IN ('field_office', 'sector')", name=op.f('ck_area_kind')),
    sa.CheckConstraint("state_basis IN ('coverage', 'headquarters', 'none')", name=op.f('ck_area_state_basis')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_area')),
    sa.UniqueConstraint('slug', name=op.f('uq_area_slug'))
    )
    op.create_table('data_version',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_data_version'))
    )
    op.bulk_insert(
        sa.table('data_version', sa.column('id', sa.Integer), sa.column('version', sa.Integer),
                 sa.column('updated_at', sa.DateTime(timezone=True))),
        [{'id': 1, 'version': 0, 'updated_at': datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)}],
    )
    op.create_table('drug',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('slug', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('source_name', sa.String(length=64), nullable=False),
    sa.Column('aliases', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_drug')),
    sa.UniqueConstraint('slug', name=op.f('uq_drug_slug'))
    )
    op.create_table('release',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('dataset', sa.String(length=32), nullable=False),
    sa.Column('source', sa.String(length=48), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('publisher', sa.String(length=100), nullable=False),
    sa.Column('file_name', sa.String(length=255), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('row_count', sa.Integer(), nullable=False),
    sa.Column('grain', sa.String(length=8), nullable=False),
    sa.Column('period_start', sa.Date(), nullable=False),
    sa.Column('period_end', sa.Date(), nullable=False),
    sa.Column('dimensions', sa.JSON(), nullable=False),
    sa.Column('loaded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('origin_url', sa.String(length=500), nullable=True),
    sa.Column('citation', sa.Text(), nullable=True),
    sa.Column('periods_new', sa.Integer(), nullable=False),
    sa.Column('periods_revised', sa.Integer(), nullable=False),
    sa.Column('periods_unchanged', sa.Integer(), nullable=False),
    sa.Column('periods_superseded', sa.Integer(), nullable=False),
    sa.CheckConstraint("grain IN ('month', 'year')", name=op.f('ck_release_grain')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_release')),
    sa.UniqueConstraint('sha256', name=op.f('uq_release_sha256'))
    )
    with op.batch_alter_table('release', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_release_dataset'), ['dataset'], unique=False)

    op.create_table('state',
    sa.Column('code', sa.String(length=2), nullable=False),
    sa.Column('name', sa.String(length=60), nullable=False),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_state'))
    )
    op.create_table('area_state',
    sa.Column('area_id', sa.Integer(), nullable=False),
    sa.Column('state_code', sa.String(length=2), nullable=False),
    sa.ForeignKeyConstraint(['area_id'], ['area.id'], name=op.f('fk_area_state_area_id_area'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['state_code'], ['state.code'], name=op.f('fk_area_state_state_code_state')),
    sa.PrimaryKeyConstraint('area_id', 'state_code', name=op.f('pk_area_state'))
    )
    op.create_table('encounter',
    sa.Column('id', sa.Integer(), nullable=False),
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
    sa.ForeignKeyConstraint(['area_id'], ['area.id'], name=op.f('fk_encounter_area_id_area')),
    sa.ForeignKeyConstraint(['release_id'], ['release.id'], name=op.f('fk_encounter_release_id_release'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_encounter'))
    )
    with op.batch_alter_table('encounter', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_encounter_area_id'), ['area_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_encounter_release_id_period'), ['release_id', 'period'], unique=False)
        batch_op.create_index(batch_op.f('ix_encounter_source_is_current_period'), ['source', 'is_current', 'period'], unique=False)
        batch_op.create_index(batch_op.f('ix_encounter_state'), ['state'], unique=False)

    op.create_table('overdose_death',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('release_id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=2), nullable=True),
    sa.Column('category', sa.String(length=80), nullable=False),
    sa.Column('sex', sa.String(length=8), nullable=False),
    sa.Column('deaths', sa.Integer(), nullable=False),
    sa.Column('rate', sa.Float(precision=53), nullable=True),
    sa.Column('is_current', sa.Boolean(), nullable=False),
    sa.CheckConstraint("sex IN ('all', 'female', 'male')", name=op.f('ck_overdose_death_sex')),
    sa.ForeignKeyConstraint(['release_id'], ['release.id'], name=op.f('fk_overdose_death_release_id_release'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_overdose_death'))
    )
    with op.batch_alter_table('overdose_death', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_overdose_death_is_current_category_year'), ['is_current', 'category', 'year'], unique=False)
        batch_op.create_index(batch_op.f('ix_overdose_death_release_id'), ['release_id'], unique=False)

    op.create_table('release_period',
    sa.Column('release_id', sa.Integer(), nullable=False),
    sa.Column('period', sa.Date(), nullable=False),
    sa.Column('revision_key', sa.String(length=48), nullable=False),
    sa.Column('row_count', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('is_current', sa.Boolean(), nullable=False),
    sa.CheckConstraint("status IN ('new', 'revised', 'unchanged', 'superseded')", name=op.f('ck_release_period_status')),
    sa.ForeignKeyConstraint(['release_id'], ['release.id'], name=op.f('fk_release_period_release_id_release'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('release_id', 'period', name=op.f('pk_release_period'))
    )
    with op.batch_alter_table('release_period', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_release_period_revision_key_period'), ['revision_key', 'period'], unique=False)

    op.create_table('seizure',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('release_id', sa.Integer(), nullable=False),
    sa.Column('period', sa.Date(), nullable=False),
    sa.Column('fiscal_year', sa.Integer(), nullable=False),
    sa.Column('area_id', sa.Integer(), nullable=False),
    sa.Column('drug_id', sa.Integer(), nullable=False),
    sa.Column('component', sa.String(length=8), nullable=False),
    sa.Column('region', sa.String(length=32), nullable=False),
    sa.Column('land_filter', sa.String(length=16), nullable=False),
    sa.Column('event_count', sa.Integer(), nullable=False),
    sa.Column('quantity_lbs', sa.Float(precision=53), nullable=False),
    sa.Column('is_current', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['area_id'], ['area.id'], name=op.f('fk_seizure_area_id_area')),
    sa.ForeignKeyConstraint(['drug_id'], ['drug.id'], name=op.f('fk_seizure_drug_id_drug')),
    sa.ForeignKeyConstraint(['release_id'], ['release.id'], name=op.f('fk_seizure_release_id_release'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_seizure'))
    )
    with op.batch_alter_table('seizure', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_seizure_is_current_area_id_period'), ['is_current', 'area_id', 'period'], unique=False)
        batch_op.create_index(batch_op.f('ix_seizure_is_current_drug_id_period'), ['is_current', 'drug_id', 'period'], unique=False)
        batch_op.create_index(batch_op.f('ix_seizure_release_id_period'), ['release_id', 'period'], unique=False)

    op.create_table('seizure_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('slug', sa.String(length=80), nullable=False),
    sa.Column('place', sa.String(length=120), nullable=False),
    sa.Column('port_of_entry', sa.String(length=120), nullable=False),
    sa.Column('area_id', sa.Integer(), nullable=True),
    sa.Column('state', sa.String(length=2), nullable=False),
    sa.Column('event_date', sa.Date(), nullable=False),
    sa.Column('date_precision', sa.String(length=8), nullable=False),
    sa.Column('drug_id', sa.Integer(), nullable=False),
    sa.Column('quantity_lbs', sa.Float(precision=53), nullable=False),
    sa.Column('quantity_qualifier', sa.String(length=16), nullable=True),
    sa.Column('reported_value_usd', sa.Integer(), nullable=True),
    sa.Column('value_qualifier', sa.String(length=16), nullable=True),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('source', sa.Text(), nullable=False),
    sa.Column('source_url', sa.String(length=500), nullable=True),
    sa.CheckConstraint("date_precision IN ('day', 'month')", name=op.f('ck_seizure_event_date_precision')),
    sa.ForeignKeyConstraint(['area_id'], ['area.id'], name=op.f('fk_seizure_event_area_id_area')),
    sa.ForeignKeyConstraint(['drug_id'], ['drug.id'], name=op.f('fk_seizure_event_drug_id_drug')),
    sa.ForeignKeyConstraint(['state'], ['state.code'], name=op.f('fk_seizure_event_state_state')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_seizure_event')),
    sa.UniqueConstraint('slug', name=op.f('uq_seizure_event_slug'))
    )
    with op.batch_alter_table('seizure_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_seizure_event_event_date'), ['event_date'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('seizure_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_seizure_event_event_date'))

    op.drop_table('seizure_event')
    with op.batch_alter_table('seizure', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_seizure_release_id_period'))
        batch_op.drop_index(batch_op.f('ix_seizure_is_current_drug_id_period'))
        batch_op.drop_index(batch_op.f('ix_seizure_is_current_area_id_period'))

    op.drop_table('seizure')
    with op.batch_alter_table('release_period', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_release_period_revision_key_period'))

    op.drop_table('release_period')
    with op.batch_alter_table('overdose_death', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_overdose_death_release_id'))
        batch_op.drop_index(batch_op.f('ix_overdose_death_is_current_category_year'))

    op.drop_table('overdose_death')
    with op.batch_alter_table('encounter', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_encounter_state'))
        batch_op.drop_index(batch_op.f('ix_encounter_source_is_current_period'))
        batch_op.drop_index(batch_op.f('ix_encounter_release_id_period'))
        batch_op.drop_index(batch_op.f('ix_encounter_area_id'))

    op.drop_table('encounter')
    op.drop_table('area_state')
    op.drop_table('state')
    with op.batch_alter_table('release', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_release_dataset'))

    op.drop_table('release')
    op.drop_table('drug')
    op.drop_table('data_version')
    op.drop_table('area')
