"""Each encounter family's catch-all citizenship ("OTHER") becomes a value of its own.

"OTHER" means all but 4 countries in the Southwest file and all but 21 in the by-state file, so
the two buckets are relabelled "OTHER (<family>)" and can never stand in for each other.

Revision ID: 3f1c2a7b9e01
Revises: d9d7c4d1e1db
Create Date: 2026-11-29 19:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "3f1c2a7b9e01"
down_revision: str | None = "d9d7c4d1e1db"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("encounter", "encounter_rollup")


def upgrade() -> None:
    for table in TABLES:
        op.execute(f"UPDATE {table} SET citizenship = 'OTHER (' || source || ')' "
                   "WHERE citizenship = 'OTHER'")


def downgrade() -> None:
    for table in TABLES:
        op.execute(f"UPDATE {table} SET citizenship = 'OTHER' WHERE citizenship LIKE 'OTHER (%)'")
