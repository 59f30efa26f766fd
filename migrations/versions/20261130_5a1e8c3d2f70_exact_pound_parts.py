"""Pounds seized kept as exact integer parts beside the float, so every sum is exact.

`quantity_ulbs` holds whole micro-pounds (floor of lbs x 1e6) and `quantity_lbs_rest` the rest
in 1e-18 lb. Sums of integers do not depend on the order or grouping of the rows added, so an
answer computed from the facts (as a vintage is) equals the one computed from the rollups when it
was current, to the last bit. Existing rows get their parts computed here with the same IEEE
operations the ingest uses (app/ingest/exact.py), then the rollups' parts as sums of their facts',
and the data version moves on (a total can differ in its 10th digit from the one served before).

Revision ID: 5a1e8c3d2f70
Revises: 7c5e2d41a9b3
Create Date: 2026-11-30 02:40:00
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5a1e8c3d2f70"
down_revision: str | None = "7c5e2d41a9b3"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PARTS = ("quantity_ulbs", "quantity_lbs_rest")
TABLES = ("seizure", "seizure_rollup")
# A rollup row sums the current facts of its release and month that match it on every dimension
# it keeps (a dimension it drops is NULL in the rollup).
KEPT = ("area_id", "drug_id", "component", "region", "land_filter")


def split(value: float) -> tuple[int, int]:
    scaled = value * 1e6
    high = math.floor(scaled)
    return high, math.floor((scaled - high) * 1e12 + 0.5)


def upgrade() -> None:
    for table in TABLES:
        for column in PARTS:
            op.add_column(table, sa.Column(column, sa.BigInteger(), nullable=False,
                                           server_default="0"))
    bind = op.get_bind()
    rows = bind.execute(sa.text("SELECT id, quantity_lbs FROM seizure")).all()
    if rows:
        bind.execute(sa.text("UPDATE seizure SET quantity_ulbs = :h, quantity_lbs_rest = :r "
                             "WHERE id = :i"),
                     [dict(zip(("h", "r"), split(lbs), strict=True), i=i) for i, lbs in rows])
        match = " AND ".join(["f.is_current", "f.release_id = r.release_id", "f.period = r.period"]
                             + [f"(r.{c} IS NULL OR f.{c} = r.{c})" for c in KEPT])
        op.execute("UPDATE seizure_rollup AS r SET " + ", ".join(
            f"{c} = (SELECT coalesce(sum(f.{c}), 0) FROM seizure AS f WHERE {match})"
            for c in PARTS))
        # A pound total summed exactly can differ in its 10th digit from the float sum served
        # before: a new data version changes every ETag, so no cache keeps the old body.
        op.execute("UPDATE data_version SET version = version + 1")
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            for column in PARTS:
                batch.alter_column(column, server_default=None)


def downgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            for column in PARTS:
                batch.drop_column(column)
