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
from collections import OrderedDict, defaultdict
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar

from sqlalchemy import String, cast, func, literal, or_, select, union_all
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from app.datasets import DATASETS, Dataset
from app.models import Area, AreaState, DataVersion, Drug, Release, ReleasePeriod, State
from app.paths import seed_json
from app.query.vintage import Vintage, cell_rows, current_at, monthly_rows, resolve_vintage
from app.vocabulary import slugify, spelling_index


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
class PortInfo:
    """A land port of entry (seed/ports.json) and the field office CBP counts it under."""

    slug: str
    name: str
    field_office_id: int | None
    state: str
    crossings: tuple[str, ...]


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


class Memo(dict):
    """What a catalog remembers for its data version, bounded against a crawl of distinct
    questions: the oldest entries go first once the entries' weight passes `capacity`. A plan
    (key "plan": a SQL statement and its shapes, ~70 kB of Python objects), a batch's SQL
    ("figures") or a batch kept for reuse ("batch") weighs 16; a collection (months, dates) 1
    per 512 items it holds, at least 1; anything else (a note) 1. So at most 128 plans (~9 MB)
    are kept, or 2,048 small entries.
    (It was 128 entries of any kind, emptied when full: /claims alone remembers ~130 things, so
    it emptied the memo for every request.) Only item assignment and clear() change it."""

    WEIGHTS: ClassVar[dict[str, int]] = {"plan": 16, "figures": 16, "batch": 16}

    def __init__(self, capacity: int = 2048) -> None:
        super().__init__()
        self.capacity = capacity
        self.weight = 0
        self._weights: dict[tuple, int] = {}

    def __setitem__(self, key: tuple, value: Any) -> None:
        weight = self._weight(key, value)  # first: a key it cannot weigh is not stored
        self.weight -= self._weights.pop(key, 0)
        super().pop(key, None)  # a key set again is the newest
        super().__setitem__(key, value)
        self._weights[key] = weight
        self.weight += weight
        while self.weight > self.capacity and len(self) > 1:
            oldest = next(iter(self))
            super().__delitem__(oldest)
            self.weight -= self._weights.pop(oldest)

    def clear(self) -> None:
        super().clear()
        self._weights.clear()
        self.weight = 0

    def _refuse(self, *_args: Any, **_kwargs: Any) -> Any:
        raise TypeError("a catalog's memo changes only by item assignment or clear()")

    __delitem__ = __ior__ = pop = popitem = setdefault = update = _refuse

    def _weight(self, key: tuple, value: Any) -> int:
        kind = self.WEIGHTS.get(key[0]) if key else None
        if kind is not None:
            return kind
        if isinstance(value, tuple | list | set | frozenset | dict):
            return 1 + len(value) // 512
        return 1


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
    # release id -> dimension -> the values its current rows take (areas and drugs as ids): what
    # each release family carries, month by month, read from the data itself
    vocabulary: dict[int, dict[str, frozenset]] = field(default_factory=dict)
    # area id -> the region label the data give it (the latest current figure's), which wins
    # over the reference list in seed/
    data_regions: dict[int, str] = field(default_factory=dict)
    ports: list[PortInfo] = field(default_factory=list)
    # dataset -> the rollups the database holds (a rollup declared later is read once built)
    rollups: dict[str, frozenset[str]] = field(default_factory=dict)
    # Answers worked out from this data version, kept while it is current (bounded).
    memo: Memo = field(default_factory=Memo, repr=False)
    # releases a release revised: id -> [(period, status)]
    revisions: dict[int, list[tuple[dt.date, str]]] = field(default_factory=dict)
    # release id -> how many months (years) it currently answers for
    current_counts: dict[int, int] = field(default_factory=dict)
    # revision key -> every (period, release id, status) recorded, in load order: the history
    # vintages and revisions are worked out from
    history: dict[str, list[tuple[dt.date, int, str]]] = field(default_factory=dict)
    # Set when this catalog is the data as of a past release (as_of=): then figures come from the
    # rows each period's best release of the vintage holds, never from the current flags.
    vintage: Vintage | None = None

    def __post_init__(self) -> None:
        self.area_by_id = {a.id: a for a in self.areas}
        self.drug_by_id = {d.id: d for d in self.drugs}
        self.release_by_id = {r.id: r for r in self.releases}
        self.loaded_datasets = frozenset(r.dataset for r in self.releases)
        # Built once per data version, not per request: every spelling users may type -> id.
        self.area_spellings = spelling_index((a.id, (a.slug, a.name, *a.aliases)) for a in self.areas)
        self.drug_spellings = spelling_index(
            (d.id, (d.slug, d.name, d.source_name, *d.aliases)) for d in self.drugs)
        # A dataset with current figures and a declared rollup the database does not hold yet
        # (serve writes them after its start): CatalogCache looks for them until it does.
        with_current = {self.release_by_id[r].dataset for r, n in self.current_counts.items()
                        if n and r in self.release_by_id}
        self.rollups_absent = self.vintage is None and any(
            self.rollups.get(name, frozenset()) != DATASETS[name].rollup_names
            for name in with_current if name in DATASETS)
        self.port_by_slug = {p.slug: p for p in self.ports}
        self.port_spellings = spelling_index(
            (i, (p.slug, p.name, f"{p.name} port of entry", *p.crossings))
            for i, p in enumerate(self.ports))

    def port_named(self, key: str) -> PortInfo | None:
        """The port of entry a slugified spelling names, if any."""
        index = self.port_spellings.get(key)
        return self.ports[index] if index is not None else None

    def ports_of(self, area_id: int) -> list[PortInfo]:
        return [p for p in self.ports if p.field_office_id == area_id]

    @property
    def is_empty(self) -> bool:
        return not self.releases

    def sources_loaded(self) -> set[str]:
        return {r.source for r in self.releases}

    def coverage(self, revision_key: str) -> list[dt.date]:
        return self.months_of((revision_key,))

    def carried(self, revision_key: str, dimension: str) -> frozenset:
        """Every value a family's current releases give `dimension` (worked out once)."""
        key = ("carried", revision_key, dimension)
        if key not in self.memo:
            releases = set(self.current.get(revision_key, {}).values())
            self.memo[key] = frozenset().union(
                *(self.vocabulary.get(r, {}).get(dimension, frozenset()) for r in releases))
        return self.memo[key]

    def months_carrying(self, revision_key: str, wanted: dict[str, tuple]) -> list[dt.date]:
        """The months a family answers for in which its release carries every wanted value
        (worked out once per family and set of values: the catalog is one data version)."""
        key = ("months", revision_key, tuple(sorted((d, tuple(v)) for d, v in wanted.items())))
        if key not in self.memo:
            months = self.current.get(revision_key, {})
            vocab = self.vocabulary
            self.memo[key] = sorted(m for m, r in months.items()
                                    if all(set(values) <= vocab.get(r, {}).get(dim, frozenset())
                                           for dim, values in wanted.items()))
        return self.memo[key]

    @property
    def newest_release(self) -> int | None:
        """The id of the newest release loaded (the current data vintage)."""
        return self.releases[-1].id if self.releases else None

    def pin(self, url: str | None) -> str | None:
        """A request URL of this API answered under this catalog's vintage, if any (the requests
        that reproduce a comparison's figures carry its as_of)."""
        if url is None or self.vintage is None:
            return url
        return f"{url}{'&' if '?' in url else '?'}as_of={self.vintage.as_of}"

    def live(self, dataset: Dataset, fact: Any, family: str | None = None) -> Any:
        """WHERE: the rows that answer now, or as of this catalog's vintage (`family`: only that
        release family's)."""
        if self.vintage is None:
            return fact.c.is_current.is_(True)
        if dataset.revision == "cell":
            return cell_rows(fact, dataset.cell_key,
                             [r for r in self.releases if r.dataset == dataset.name])
        keys = (family,) if family else tuple(f.key for f in dataset.families)
        return or_(*(monthly_rows(fact, self.current.get(k, {})) for k in keys))

    def months_of(self, revision_keys: tuple[str, ...]) -> list[dt.date]:
        """Every month (year) any of these families covers, in order (worked out once)."""
        key = ("months_of", revision_keys)
        if key not in self.memo:
            self.memo[key] = sorted({m for k in revision_keys for m in self.current.get(k, {})})
        return self.memo[key]


async def read_version(conn: AsyncConnection) -> int:
    """The data version: one tiny query."""
    value = await conn.scalar(select(DataVersion.version).where(DataVersion.id == 1))
    return int(value or 0)


# How a vintage's figures are computed, part of its ETag: "exact-sums" since pounds are summed
# from exact integer parts (a total could differ in its 10th digit from before), so no client or
# cache keeps an immutable body computed the old way under the same ETag.
VINTAGE_FIGURES = "exact-sums"


async def load_catalog(conn: AsyncConnection, version: int,
                       vintage: Vintage | None = None) -> Catalog:
    """Read everything the catalog holds (a handful of small queries); with a vintage, as the
    data stood once its releases were loaded."""
    area_states: dict[int, list[str]] = defaultdict(list)
    for row in await conn.execute(select(AreaState.area_id, AreaState.state_code)):
        area_states[row.area_id].append(row.state_code)
    areas = [
        AreaInfo(
            id=a.id, slug=a.slug, name=a.name, kind=a.kind, component=a.component,
            region=a.region,
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
    if vintage is not None:
        releases = [r for r in releases if r.id <= vintage.release_id]
    kept = {r.id: r for r in releases}
    current: dict[str, dict[dt.date, int]] = defaultdict(dict)
    revisions: dict[int, list[tuple[dt.date, str]]] = defaultdict(list)
    current_counts: dict[int, int] = defaultdict(int)
    history: dict[str, list[tuple[dt.date, int, str]]] = defaultdict(list)
    rows = (await conn.execute(select(ReleasePeriod.__table__)
                               .order_by(ReleasePeriod.release_id, ReleasePeriod.period))).all()
    for p in rows:
        if p.release_id not in kept:
            continue
        if p.is_current and vintage is None:
            # Deaths are current cell by cell, so several releases can answer for one year.
            current[p.revision_key][p.period] = p.release_id
            current_counts[p.release_id] += 1
        revisions[p.release_id].append((p.period, p.status))
        history[p.revision_key].append((_day(p.period), p.release_id, p.status))
    if vintage is not None:
        current.update(current_at(((k, m, r) for k, items in history.items() for m, r, _ in items),
                                  kept))
        for months in current.values():
            for release_id in months.values():
                current_counts[release_id] += 1
    # A vintage reads the facts only: rollups hold the current figures.
    rollups = (await _rollups_present(conn) if vintage is None
               else {name: frozenset() for name in DATASETS})
    probe = Catalog(version=version, fingerprint="", areas=[], drugs=[], states={},
                    releases=releases, current=dict(current), values={}, vintage=vintage,
                    rollups=rollups)
    data_regions = await _data_regions(conn, probe)
    areas = [replace(a, region=data_regions.get(a.id, a.region)) for a in areas]
    vocabulary = await _vocabulary(conn, probe)
    values = _distinct_values(releases, vocabulary)
    shas = "|".join(sorted(r.sha256 for r in releases))
    # A vintage's answers never change: its fingerprint (the ETag's) does not follow the version.
    salt = (f"|as_of={vintage.release_id}|{VINTAGE_FIGURES}" if vintage is not None
            else f"|{version}")
    fingerprint = hashlib.sha256((shas + salt).encode()).hexdigest()[:16]
    return Catalog(
        version=version, fingerprint=fingerprint, areas=areas, drugs=drugs, states=states,
        releases=releases, current=dict(current), values=values,
        revisions={k: sorted(v) for k, v in revisions.items()},
        current_counts=dict(current_counts), vocabulary=vocabulary, data_regions=data_regions,
        rollups=rollups, history=dict(history), vintage=vintage,
        ports=_ports({a.slug: a.id for a in areas}),
    )


def _day(value: object) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value)[:10])


def _ports(area_ids: dict[str, int]) -> list[PortInfo]:
    return [PortInfo(slug=slugify(p["name"]), name=p["name"],
                     field_office_id=area_ids.get(p["field_office"]), state=p["state"],
                     crossings=tuple(p["crossings"]))
            for p in seed_json("ports.json")["ports"]]


def live_rows(catalog: Catalog, dataset: Dataset, dims: set[str]) -> tuple[Any, list[Any]]:
    """(table, WHERE) holding one row for each distinct combination of these dimensions' values
    (with release, month and family) among the rows that answer now: the smallest rollup the
    database holds that keeps them (Dataset.smallest_rollup, as queries choose theirs), else the
    live facts. A rollup row exists exactly where a current fact does, so the two give the same
    distinct values; a vintage always reads the facts."""
    rollup = (dataset.smallest_rollup(dims, catalog.rollups.get(dataset.name, frozenset()))
              if catalog.vintage is None else None)
    if rollup is not None:
        return dataset.rollup_table, [dataset.rollup_table.c.rollup == rollup]
    return dataset.table, [catalog.live(dataset, dataset.table)]


async def _vocabulary(conn: AsyncConnection, catalog: Catalog) -> dict[int, dict[str, frozenset]]:
    """Release -> dimension -> the distinct values of its live rows (one statement a table).
    SELECT DISTINCT rather than GROUP BY: SQLite reads the facts (a start before the rollups,
    an `as_of`) in half the time (encounters 330-390 -> 160 ms, slow 2-core machine), Postgres
    alike."""
    out: dict[int, dict[str, set]] = defaultdict(lambda: defaultdict(set))
    for dataset in DATASETS.values():
        parts = []
        for dim in dataset.stored_dimensions:
            table, where = live_rows(catalog, dataset, {dim.name})
            parts.append(select(table.c.release_id, literal(dim.name).label("dim"),
                                cast(table.c[dim.column], String).label("value"))
                         .where(*where, table.c[dim.column].is_not(None)).distinct())
        ids = {d.name for d in dataset.stored_dimensions if d.column.endswith("_id")}
        for release_id, dim, value in await conn.execute(union_all(*parts)):
            out[release_id][dim].add(int(value) if dim in ids else value)
    return {r: {d: frozenset(v) for d, v in dims.items()} for r, dims in out.items()}


async def _rollups_present(conn: AsyncConnection) -> dict[str, frozenset[str]]:
    """Dataset -> the declared rollups the database holds rows of (one index probe each)."""
    out = {}
    for dataset in DATASETS.values():
        probes = dataset.rollups_present()
        if probes is not None:
            out[dataset.name] = frozenset((await conn.execute(probes)).scalars())
    return out


def _distinct_values(releases: list[ReleaseInfo],
                     vocabulary: dict[int, dict[str, frozenset]]) -> dict[tuple[str, str], list[str]]:
    """(dataset, dimension) -> distinct labels across the current data (ids left out)."""
    out: dict[tuple[str, str], set] = defaultdict(set)
    for release in releases:
        for dim, values in vocabulary.get(release.id, {}).items():
            if dim not in ("area", "drug"):
                out[(release.dataset, dim)].update(values)
    return {k: sorted(v) for k, v in out.items()}


async def _data_regions(conn: AsyncConnection, catalog: Catalog) -> dict[int, str]:
    """Area -> the region of its latest live figure in any dataset that names areas."""
    latest: dict[int, tuple[dt.date, str]] = {}
    for dataset in DATASETS.values():
        if "area_id" not in dataset.table.c or "region" not in dataset.table.c:
            continue
        table, where = live_rows(catalog, dataset, {"area", "region"})
        query = (select(table.c.area_id, table.c.region, func.max(table.c.period))
                 .where(*where, table.c.area_id.is_not(None), table.c.region.is_not(None))
                 .group_by(table.c.area_id, table.c.region))
        for area_id, region, month in await conn.execute(query):
            month = dt.date.fromisoformat(str(month)[:10]) if not isinstance(month, dt.date) else month
            if area_id not in latest or month > latest[area_id][0]:
                latest[area_id] = (month, region)
    return {area_id: region for area_id, (_, region) in latest.items()}


VINTAGES_KEPT = 16  # vintage catalogs per process


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
        self._vintages: OrderedDict[tuple[int, str], Catalog] = OrderedDict()

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
                    if own.dialect.name == "postgresql":
                        # The version and the catalog read in one snapshot (the engine's reads
                        # are otherwise outside transactions).
                        await own.execution_options(isolation_level="REPEATABLE READ")
                    return await self._refresh(own)
            return await self._refresh(conn)

    async def vintage(self, as_of: str) -> Catalog:
        """The catalog of the data as of a release or a past day (422 when `as_of` names none).

        Kept per data version and spelling (a few at a time): a vintage's answers never change,
        but its catalog is cheap to rebuild and reference data may move with an ingest."""
        base = await self.get()
        vintage = resolve_vintage(as_of, base.releases)
        key = (base.version, vintage.as_of)
        found = self._vintages.get(key)
        if found is not None:
            self._vintages.move_to_end(key)
            return found
        async with self.engine.connect() as conn:
            if conn.dialect.name == "postgresql":
                await conn.execution_options(isolation_level="REPEATABLE READ")
            found = await load_catalog(conn, base.version, vintage)
        self._vintages[key] = found
        while len(self._vintages) > VINTAGES_KEPT:
            self._vintages.popitem(last=False)
        return found

    async def at_version(self, conn: AsyncConnection, version: int) -> Catalog:
        """The catalog of `version`, read through `conn` (inside its transaction) if it moved."""
        async with self._lock:
            if self._catalog is None or self._catalog.version != version:
                self._catalog = await load_catalog(conn, version)
                self._checked_at = time.monotonic()
            return self._catalog

    async def _refresh(self, conn: AsyncConnection) -> Catalog:
        version = await read_version(conn)
        if self._catalog is None or self._catalog.version != version:
            self._catalog = await load_catalog(conn, version)
        elif self._catalog.rollups_absent:
            # Rollups written since (app.ingest.rollups.complete) change no figure and so not the
            # version: the same catalog reading them, with its plans made afresh.
            present = await _rollups_present(conn)
            if present != self._catalog.rollups:
                self._catalog = replace(self._catalog, rollups=present, memo=Memo())
        self._checked_at = time.monotonic()
        return self._catalog

