"""A seizure rollup keeping drug and area together, found by drug: an index on
(rollup, drug_id, period), and the rollup's rows computed for a database loaded before it existed.

Fentanyl by area of responsibility is the most asked question; without this rollup it read the
facts. (Databases loaded after this revision get the rows from the ingest, as every rollup.)

Revision ID: 7c5e2d41a9b3
Revises: 11b1f028d11a
Create Date: 2026-11-29 22:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "7c5e2d41a9b3"
down_revision: str | None = "11b1f028d11a"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


ROLLUP = "component,region,drug,area"


def upgrade() -> None:
    op.create_index("ix_seizure_rollup_rollup_drug_id_period", "seizure_rollup",
                    ["rollup", "drug_id", "period"])
    op.execute(
        "INSERT INTO seizure_rollup (rollup, is_current, release_id, period, fiscal_year, area_id, "
        "component, drug_id, region, event_count, quantity_lbs) "
        f"SELECT '{ROLLUP}', {true()}, release_id, period, fiscal_year, area_id, component, "
        "drug_id, region, sum(event_count), sum(quantity_lbs) FROM seizure WHERE is_current "
        "GROUP BY release_id, period, fiscal_year, area_id, component, drug_id, region")


def downgrade() -> None:
    op.execute(f"DELETE FROM seizure_rollup WHERE rollup = '{ROLLUP}'")
    op.drop_index("ix_seizure_rollup_rollup_drug_id_period", table_name="seizure_rollup")


def true() -> str:
    return "1" if op.get_bind().dialect.name == "sqlite" else "true"
