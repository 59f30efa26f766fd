"""The `sync_state` rows: what sync last saw and did per family, written after the ingest."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, insert, inspect, select, update

from app.models import SyncState

if TYPE_CHECKING:
    from app.ingest.sync import SourceOutcome

ERROR_MAX_CHARS = 2000


def read_states(engine: Engine) -> dict[str, SyncState]:
    """Return every family's stored state, detached from any session (none before the first migration)."""
    with engine.connect() as conn:
        if not inspect(conn).has_table(SyncState.__tablename__):
            return {}
        rows = conn.execute(select(SyncState.__table__)).mappings().all()
    return {row["family"]: SyncState(**row) for row in rows}


def record_outcomes(engine: Engine, outcomes: Sequence[SourceOutcome]) -> None:
    """Write each source's outcome in one short transaction of its own."""
    if not outcomes:
        return
    now = dt.datetime.now(dt.UTC)
    table = SyncState.__table__
    with engine.begin() as conn:
        existing = set(conn.execute(select(table.c.family)).scalars())
        for outcome in outcomes:
            values = _values(outcome, now)
            family = outcome.source.family
            if family in existing:
                conn.execute(update(table).where(table.c.family == family).values(**values))
            else:
                conn.execute(insert(table).values(family=family, **values))


def _values(outcome: SourceOutcome, now: dt.datetime) -> dict[str, Any]:
    source = outcome.source
    values: dict[str, Any] = {
        "dataset": source.dataset, "page_url": source.page_url, "cadence": source.cadence,
        "cadence_days": source.cadence_days, "last_outcome": outcome.status,
        "last_attempt_at": now,
    }
    if outcome.failed:
        values.update(last_failure_at=now, last_error=outcome.line()[:ERROR_MAX_CHARS])
        return values
    values["last_success_at"] = now
    if outcome.page_validators is not None:
        values.update(page_etag=outcome.page_validators.etag,
                      page_last_modified=outcome.page_validators.last_modified)
    if outcome.link is not None:
        values["file_url"] = outcome.link.url
    if outcome.file_validators is not None:
        values.update(file_etag=outcome.file_validators.etag,
                      file_last_modified=outcome.file_validators.last_modified)
    if outcome.sha256 is not None:
        values["sha256"] = outcome.sha256
    if outcome.release_id is not None:
        values["last_release_id"] = outcome.release_id
    return values
