"""How fresh each release family is: its newest release, the last period it covers, how often the
agency publishes, how far behind today that is, and what `borderstats sync` last did.

The cadence comes from the sync_state table when sync has run for the family (what its manifest
said), else from the sources manifest (seed/sources.json or BORDERSTATS_SYNC_MANIFEST) read as
data; the read side never imports the ingest.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from app.models import SyncState
from app.paths import seed_json
from app.periods import month_text
from app.query.catalog import Catalog


@dataclass(frozen=True)
class Cadence:
    family: str
    dataset: str
    cadence: str
    cadence_days: int
    enabled: bool


def manifest_cadences(path: Path | None) -> dict[str, Cadence]:
    """family -> cadence, from the sources manifest (unreadable entries are left out)."""
    try:
        raw = (json.loads(path.read_text(encoding="utf-8")) if path is not None
               else seed_json("sources.json"))
    except (OSError, ValueError):
        return {}
    out = {}
    for entry in raw.get("sources", []) if isinstance(raw, dict) else []:
        try:
            out[entry["family"]] = Cadence(entry["family"], entry["dataset"], entry["cadence"],
                                           int(entry["cadence_days"]), bool(entry.get("enabled")))
        except (KeyError, TypeError, ValueError):
            continue
    return out


async def sync_states(conn: AsyncConnection) -> dict[str, Any]:
    return {row.family: row for row in (await conn.execute(select(SyncState.__table__))).all()}


def periods_behind(last: dt.date, grain: str, today: dt.date) -> int:
    """Whole months (years) between the last period covered and today's."""
    if grain == "year":
        return today.year - last.year
    return (today.year - last.year) * 12 + today.month - last.month


def family_status(catalog: Catalog, cadences: dict[str, Cadence], states: dict[str, Any],
                  today: dt.date) -> list[dict[str, Any]]:
    """One row per release family loaded or listed in the manifest."""
    families = list(dict.fromkeys([*cadences, *(r.source for r in catalog.releases), *states]))
    rows = []
    for family in families:
        releases = [r for r in catalog.releases if r.source == family]
        state = states.get(family)
        cadence = cadences.get(family)
        newest = max(releases, key=lambda r: r.id) if releases else None
        last = max(releases, key=lambda r: r.period_end) if releases else None
        grain = last.grain if last else None
        behind = periods_behind(last.period_end, grain, today) if last else None
        unit = ("years" if grain == "year" else "months") if last else None
        every = state.cadence if state else (cadence.cadence if cadence else None)
        days = state.cadence_days if state else (cadence.cadence_days if cadence else None)
        through = (None if last is None else
                   str(last.period_end.year) if grain == "year" else month_text(last.period_end))
        dataset = (newest.dataset if newest else state.dataset if state
                   else cadence.dataset if cadence else None)
        rows.append({
            "family": family,
            "dataset": dataset,
            "newest_release": None if newest is None else {
                "id": newest.id, "file_name": newest.file_name,
                "loaded_at": newest.loaded_at.isoformat()},
            "through": through,
            "cadence": every,
            "cadence_days": days,
            "behind": behind,
            "behind_unit": unit,
            "summary": _summary(family, through, every, behind, unit),
            "sync": _sync(state, cadence),
        })
    return rows


def _summary(family: str, through: str | None, cadence: str | None, behind: int | None,
             unit: str | None) -> str:
    if through is None:
        return f"{family}: no release loaded" + (f", {cadence}" if cadence else "")
    parts = [f"{family}: through {through}"]
    if cadence:
        parts.append(cadence)
    amount = f"{behind} {unit[:-1] if behind == 1 else unit} behind" if behind else "current"
    parts.append(amount)
    return ", ".join(parts)


def _sync(state: Any, cadence: Cadence | None) -> dict[str, Any]:
    def when(value: Any) -> str | None:
        return value.isoformat() if value is not None else None
    if state is None:
        return {"enabled": cadence.enabled if cadence else None, "last_outcome": None,
                "last_attempt_at": None, "last_success_at": None, "last_failure_at": None,
                "last_error": None}
    return {"enabled": cadence.enabled if cadence else None, "last_outcome": state.last_outcome,
            "last_attempt_at": when(state.last_attempt_at),
            "last_success_at": when(state.last_success_at),
            "last_failure_at": when(state.last_failure_at), "last_error": state.last_error}
