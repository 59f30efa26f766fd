"""What the API knows about the loaded data, read once per data version and kept in memory.

The catalog holds reference data (areas, drugs, states), the releases, which months each source
currently covers, and the distinct values of every categorical dimension. Requests validate and
describe themselves from it without extra queries; it is rebuilt when the data version moves.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import time
from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from app.ingest.normalize import spelling_index
from app.models import (
    Area,
    AreaState,
    DataVersion,
    Drug,
    Encounter,
    OverdoseDeath,
    Release,
    ReleasePeriod,
    Seizure,
    State,
)


@dataclass(frozen=True)
class AreaInfo:
    id: int
    slug: str
    name: str
    kind: str
    component: str
    region: str | None
    states: tuple[str, ...]
    state_basis: str
    abbreviation: str | None
    aliases: tuple[str, ...]
    note: str | None


@dataclass(frozen=True)
class DrugInfo:
    id: int
    slug: str
    name: str
    source_name: str
    aliases: tuple[str, ...]


@dataclass(frozen=True)
class ReleaseInfo:
    id: int
    dataset: str
    source: str
    title: str
    publisher: str
    file_name: str
    sha256: str
    row_count: int
    grain: str
    period_start: dt.date
    period_end: dt.date
    dimensions: tuple[str, ...]
    loaded_at: dt.datetime
    origin_url: str | None
    citation: str | None
    periods_new: int
    periods_revised: int
    periods_unchanged: int
    periods_superseded: int


@dataclass
class Catalog:
    version: int
    fingerprint: str
    areas: list[AreaInfo]
    drugs: list[DrugInfo]
    states: dict[str, str]
    releases: list[ReleaseInfo]
    # revision key -> month (or Jan 1 of a year) -> the release currently answering for it
    current: dict[str, dict[dt.date, int]]
    # (dataset, dimension) -> distinct values in the current data
    values: dict[tuple[str, str], list[str]]
    # releases a release revised: id -> [(period, status)]
    revisions: dict[int, list[tuple[dt.date, str]]] = field(default_factory=dict)
    # release id -> how many months (years) it currently answers for
    current_counts: dict[int, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.area_by_id = {a.id: a for a in self.areas}
        self.drug_by_id = {d.id: d for d in self.drugs}
        self.release_by_id = {r.id: r for r in self.releases}
        # Built once per data version, not per request: every spelling users may type -> id.
        self.area_spellings = spelling_index((a.id, (a.slug, a.name, *a.aliases)) for a in self.areas)
        self.drug_spellings = spelling_index(
            (d.id, (d.slug, d.name, d.source_name, *d.aliases)) for d in self.drugs)

    @property
    def is_empty(self) -> bool:
        return not self.releases

    def sources_loaded(self) -> set[str]:
        return {r.source for r in self.releases}

    def coverage(self, revision_key: str) -> list[dt.date]:
        return sorted(self.current.get(revision_key, {}))


async def read_version(conn: AsyncConnection) -> int:
    """The data version: one tiny query."""
    value = await conn.scalar(select(DataVersion.version).where(DataVersion.id == 1))
    return int(value or 0)


async def load_catalog(conn: AsyncConnection, version: int) -> Catalog:
    """Read everything the catalog holds (a handful of small queries)."""
    area_states: dict[int, list[str]] = defaultdict(list)
    for row in await conn.execute(select(AreaState.area_id, AreaState.state_code)):
        area_states[row.area_id].append(row.state_code)
    areas = [
        AreaInfo(
            id=a.id, slug=a.slug, name=a.name, kind=a.kind, component=a.component, region=a.region,
            states=tuple(sorted(area_states[a.id])), state_basis=a.state_basis,
            abbreviation=a.abbreviation, aliases=tuple(a.aliases or ()), note=a.note,
        )
        for a in await conn.execute(select(Area.__table__).order_by(Area.slug))
    ]
    drugs = [
        DrugInfo(id=d.id, slug=d.slug, name=d.name, source_name=d.source_name,
                 aliases=tuple(d.aliases or ()))
        for d in await conn.execute(select(Drug.__table__).order_by(Drug.slug))
    ]
    states = {s.code: s.name for s in await conn.execute(select(State.__table__).order_by(State.code))}
    releases = [
        ReleaseInfo(**{k: (tuple(v) if k == "dimensions" else v) for k, v in r._mapping.items()})
        for r in await conn.execute(select(Release.__table__).order_by(Release.id))
    ]
    current: dict[str, dict[dt.date, int]] = defaultdict(dict)
    revisions: dict[int, list[tuple[dt.date, str]]] = defaultdict(list)
    current_counts: dict[int, int] = defaultdict(int)
    for p in await conn.execute(select(ReleasePeriod.__table__)):
        if p.is_current:
            # Deaths are current cell by cell, so several releases can answer for one year.
            current[p.revision_key][p.period] = p.release_id
            current_counts[p.release_id] += 1
        revisions[p.release_id].append((p.period, p.status))
    values = await _distinct_values(conn)
    fingerprint = hashlib.sha256(
        ("|".join(sorted(r.sha256 for r in releases)) + f"|{version}").encode()
    ).hexdigest()[:16]
    return Catalog(
        version=version, fingerprint=fingerprint, areas=areas, drugs=drugs, states=states,
        releases=releases, current=dict(current), values=values,
        revisions={k: sorted(v) for k, v in revisions.items()},
        current_counts=dict(current_counts),
    )


async def _distinct_values(conn: AsyncConnection) -> dict[tuple[str, str], list[str]]:
    columns = {
        ("seizures", "region"): Seizure.region,
        ("seizures", "land_filter"): Seizure.land_filter,
        ("encounters", "region"): Encounter.region,
        ("encounters", "demographic"): Encounter.demographic,
        ("encounters", "citizenship"): Encounter.citizenship,
        ("encounters", "title_of_authority"): Encounter.title_of_authority,
        ("encounters", "encounter_type"): Encounter.encounter_type,
        ("overdose_deaths", "category"): OverdoseDeath.category,
        ("overdose_deaths", "sex"): OverdoseDeath.sex,
    }
    out = {}
    for key, column in columns.items():
        rows = await conn.execute(select(column).where(column.is_not(None)).distinct())
        out[key] = sorted(r[0] for r in rows)
    return out


class CatalogCache:
    """One catalog per process, refreshed when the data version changes.

    The version is read at most every `ttl` seconds, so a burst of requests costs one tiny query
    per interval; every worker sees a new release within `ttl` seconds of the ingest committing.
    """

    def __init__(self, engine: AsyncEngine, ttl: float):
        self.engine = engine
        self.ttl = ttl
        self._catalog: Catalog | None = None
        self._checked_at = 0.0
        self._lock = asyncio.Lock()

    async def get(self, conn: AsyncConnection | None = None) -> Catalog:
        now = time.monotonic()
        catalog = self._catalog
        if catalog is not None and now - self._checked_at < self.ttl:
            return catalog
        async with self._lock:
            if self._catalog is not None and time.monotonic() - self._checked_at < self.ttl:
                return self._catalog
            if conn is None:
                async with self.engine.connect() as own:
                    return await self._refresh(own)
            return await self._refresh(conn)

    async def _refresh(self, conn: AsyncConnection) -> Catalog:
        version = await read_version(conn)
        if self._catalog is None or self._catalog.version != version:
            self._catalog = await load_catalog(conn, version)
        self._checked_at = time.monotonic()
        return self._catalog

