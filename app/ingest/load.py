"""Write parsed files as releases: one transaction for the whole command, bulk inserts, revisions.

For monthly data the unit of revision is (revision key, month): the release covering the latest
period (then the latest loaded) is current for every month it contains; older releases' values
stay in the table as revisions. Overdose deaths are revised cell by cell (year, state, category,
sex), because their files overlap on some cells only.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, Table, bindparam, insert, select, update

from app import rollups
from app.ingest.formats import AreaRef, DeathRecord, FileFormat
from app.ingest.normalize import slugify
from app.ingest.reader import ParsedFile, read_file
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
from app.reference import ReferenceIndex, ensure_reference, reference_index, seed_json

INGEST_LOCK_ID = 0x626F7264  # an arbitrary constant: serialises concurrent ingests on Postgres

Progress = Callable[[str, int], None]


@dataclass(frozen=True)
class FactSpec:
    table: Table
    columns: tuple[str, ...]
    key: tuple[str, ...]
    measures: tuple[str, ...]


FACTS: dict[str, FactSpec] = {
    "seizures": FactSpec(
        Seizure.__table__,
        ("release_id", "period", "fiscal_year", "area_id", "drug_id", "component", "region",
         "land_filter", "event_count", "quantity_lbs", "is_current"),
        key=("period", "area_id", "drug_id", "component", "region", "land_filter"),
        measures=("event_count", "quantity_lbs"),
    ),
    "encounters": FactSpec(
        Encounter.__table__,
        ("release_id", "source", "period", "fiscal_year", "component", "region", "area_id",
         "state", "demographic", "citizenship", "title_of_authority", "encounter_type",
         "encounter_count", "is_current"),
        key=("period", "component", "region", "area_id", "state", "demographic", "citizenship",
             "title_of_authority", "encounter_type"),
        measures=("encounter_count",),
    ),
    "overdose_deaths": FactSpec(
        OverdoseDeath.__table__,
        ("release_id", "year", "state", "category", "sex", "deaths", "rate", "is_current"),
        key=("year", "state", "category", "sex"),
        measures=("deaths", "rate"),
    ),
}


@dataclass
class LoadResult:
    """What one file did to the database."""

    file: str
    dataset: str
    source: str
    rows: int
    period_start: dt.date
    period_end: dt.date
    grain: str
    release_id: int
    already_loaded: bool = False
    new: int = 0
    revised: int = 0
    unchanged: int = 0
    superseded: int = 0

    def period_label(self) -> str:
        if self.grain == "year":
            return f"{self.period_start.year}-{self.period_end.year}"
        return f"{self.period_start:%Y-%m}..{self.period_end:%Y-%m}"

    def summary(self) -> str:
        unit = "years" if self.grain == "year" else "months"
        head = f"{self.file}: {self.dataset} ({self.source}), {self.rows:,} rows, {self.period_label()}"
        if self.already_loaded:
            return f"{head}: already loaded as release {self.release_id}, nothing changed"
        return (
            f"{head}: release {self.release_id}; {unit} {self.new} new, {self.revised} revised, "
            f"{self.unchanged} unchanged, {self.superseded} superseded by a newer release"
        )


def ingest_paths(engine: Engine, paths: Sequence[str], progress: Progress | None = None) -> list[LoadResult]:
    """Parse every file first (any error aborts before a write), then load them in one transaction."""
    parsed = []
    for path in paths:
        parsed.append(read_file(path))
        if progress:
            progress(f"parsed {parsed[-1].name}", 1)
    return load_parsed(engine, parsed, progress=progress)


def load_parsed(
    engine: Engine, files: Iterable[ParsedFile], progress: Progress | None = None
) -> list[LoadResult]:
    """Load parsed files atomically: all of them or, on any error, none."""
    results = []
    with engine.begin() as conn:
        lock_for_writing(conn)
        ensure_reference(conn)
        for parsed in files:
            results.append(load_release(conn, parsed))
            if progress:
                progress(f"loaded {parsed.name}", 1)
        # Reference figures shipped in seed/ (not a file of this command): loaded once, silently.
        references = ensure_reference_releases(conn)
        changed = {r.dataset for r in [*results, *references] if not r.already_loaded}
        for dataset in sorted(changed):
            rollups.rebuild(conn, dataset)
        if changed:
            bump_data_version(conn)
    return results


NCHS_REFERENCE = FileFormat(
    key="nchs-data-briefs",
    dataset="overdose_deaths",
    title="NCHS final counts of US drug overdose deaths (Data Briefs)",
    publisher="CDC National Center for Health Statistics",
    origin_url="https://www.cdc.gov/nchs/products/databriefs/db522.htm",
    columns=("year", "deaths"),
    parse=lambda row, ctx: row,  # never read from a file: the figures come from seed/
    grain="year",
    dimensions=("category",),
)


def ensure_reference_releases(conn: Connection) -> list[LoadResult]:
    """Load the reference figures shipped in seed/ (NCHS 2022-2023) as a release, once."""
    shipped = seed_json("nchs_reference.json")
    records = [DeathRecord(year=f["year"], state=f["state"], category=f["category"], sex=f["sex"],
                           deaths=f["deaths"], rate=f["rate"]) for f in shipped["figures"]]
    digest = hashlib.sha256(json.dumps(shipped, sort_keys=True).encode()).hexdigest()
    parsed = ParsedFile(path=Path(shipped["release"]["file_name"]), sha256=digest,
                        format=NCHS_REFERENCE, records=records)
    result = load_release(conn, parsed, citation=shipped["release"]["citation"],
                          file_name=shipped["release"]["file_name"])
    return [] if result.already_loaded else [result]


def lock_for_writing(conn: Connection) -> None:
    """Serialise writers: a second ingest waits for the running one, then sees its releases."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({INGEST_LOCK_ID})")
    elif conn.dialect.name == "sqlite" and not conn.connection.driver_connection.in_transaction:
        # Take SQLite's write lock now, before the first read, instead of at the first write.
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def bump_data_version(conn: Connection) -> None:
    now = dt.datetime.now(dt.UTC)
    changed = conn.execute(
        update(DataVersion).where(DataVersion.id == 1)
        .values(version=DataVersion.version + 1, updated_at=now)
    ).rowcount
    if not changed:
        conn.execute(insert(DataVersion).values(id=1, version=1, updated_at=now))


def load_release(conn: Connection, parsed: ParsedFile, *, citation: str | None = None,
                 file_name: str | None = None) -> LoadResult:
    """Insert one parsed file as a release and settle which figures are current."""
    fmt = parsed.format
    periods = _periods(fmt, parsed.records)
    start, end = min(periods), max(periods)
    existing = conn.execute(
        select(Release.id).where(Release.sha256 == parsed.sha256)
    ).scalar_one_or_none()
    result = LoadResult(
        file=file_name or parsed.name, dataset=fmt.dataset, source=fmt.key,
        rows=len(parsed.records), period_start=start, period_end=end, grain=fmt.grain,
        release_id=existing or 0,
    )
    if existing is not None:
        result.already_loaded = True
        return result

    release_id = conn.execute(
        insert(Release).values(
            dataset=fmt.dataset, source=fmt.key, title=fmt.title, publisher=fmt.publisher,
            file_name=file_name or parsed.name, sha256=parsed.sha256, row_count=len(parsed.records),
            grain=fmt.grain, period_start=start, period_end=end, dimensions=list(fmt.dimensions),
            loaded_at=dt.datetime.now(dt.UTC), origin_url=fmt.origin_url, citation=citation,
        ).returning(Release.id)
    ).scalar_one()
    result.release_id = release_id

    spec = FACTS[fmt.dataset]
    resolver = _Resolver(conn, reference_index(conn))
    rows = [_fact_row(resolver, fmt, record, release_id) for record in parsed.records]
    bulk_insert(conn, spec.table, spec.columns, rows)

    if fmt.grain == "month":
        statuses = _settle_months(conn, fmt, spec, release_id, rows)
    else:
        statuses = _settle_cells(conn, spec, release_id)
    counts: dict[str, int] = defaultdict(int)
    for status in statuses.values():
        counts[status] += 1
    result.new, result.revised = counts["new"], counts["revised"]
    result.unchanged, result.superseded = counts["unchanged"], counts["superseded"]
    conn.execute(
        update(Release).where(Release.id == release_id).values(
            periods_new=result.new, periods_revised=result.revised,
            periods_unchanged=result.unchanged, periods_superseded=result.superseded,
        )
    )
    return result


def _periods(fmt: FileFormat, records: list) -> list[dt.date]:
    if fmt.grain == "year":
        return sorted({dt.date(r.year, 1, 1) for r in records})
    return sorted({r.period for r in records})


# --- facts ----------------------------------------------------------------------------------------

def _fact_row(resolver: _Resolver, fmt: FileFormat, record: Any, release_id: int) -> tuple:
    if fmt.dataset == "seizures":
        return (
            release_id, record.period, record.fiscal_year,
            resolver.area(record.area, record.region), resolver.drug(record.drug),
            record.component, record.region, record.land_filter, record.event_count,
            record.quantity_lbs, False,
        )
    if fmt.dataset == "encounters":
        area_id = resolver.area(record.area, record.region) if record.area else None
        return (
            release_id, fmt.key, record.period, record.fiscal_year, record.component,
            record.region, area_id, record.state, record.demographic, record.citizenship,
            record.title_of_authority, record.encounter_type, record.encounter_count, False,
        )
    return (
        release_id, record.year, record.state, record.category, record.sex, record.deaths,
        record.rate, False,
    )


class _Resolver:
    """Match the files' area and drug names to reference ids, adding what the reference lacks."""

    def __init__(self, conn: Connection, index: ReferenceIndex):
        self.conn = conn
        self.index = index
        self._areas: dict[AreaRef, int] = {}
        self._drugs: dict[str, int] = {}

    def area(self, ref: AreaRef, region: str | None) -> int:
        if ref not in self._areas:
            self._areas[ref] = self._find_area(ref) or self._add_area(ref, region)
        return self._areas[ref]

    def drug(self, name: str) -> int:
        if name not in self._drugs:
            self._drugs[name] = self.index.drugs.get(slugify(name)) or self._add_drug(name)
        return self._drugs[name]

    def _find_area(self, ref: AreaRef) -> int | None:
        for spelling in (ref.name, ref.abbreviation):
            if spelling and slugify(spelling) in self.index.areas:
                return self.index.areas[slugify(spelling)]
        return None

    def _add_area(self, ref: AreaRef, region: str | None) -> int:
        # An area the reference does not list yet (a newer CBP file): record what the file says.
        conn = self.conn
        slug = slugify(ref.name)
        area_id = conn.execute(
            insert(Area).values(
                slug=slug, name=ref.name, kind=ref.kind, component=ref.component, region=region,
                abbreviation=ref.abbreviation,
                state_basis="headquarters" if ref.state_hint else "none",
                states=ref.state_hint or "",
                aliases=[ref.abbreviation] if ref.abbreviation else [],
                note="Added by ingest: not in seed/areas.json.",
            ).returning(Area.id)
        ).scalar_one()
        if ref.state_hint and conn.execute(
            select(State.code).where(State.code == ref.state_hint)
        ).first():
            conn.execute(insert(AreaState).values(area_id=area_id, state_code=ref.state_hint))
        self.index.areas[slug] = area_id
        return area_id

    def _add_drug(self, name: str) -> int:
        clean = name.rstrip("*").strip()
        drug_id = self.conn.execute(
            insert(Drug).values(slug=slugify(clean), name=clean, source_name=name, aliases=[])
            .returning(Drug.id)
        ).scalar_one()
        self.index.drugs[slugify(name)] = drug_id
        return drug_id


def bulk_insert(conn: Connection, table: Table, columns: Sequence[str], rows: list[tuple]) -> None:
    """COPY into Postgres; executemany elsewhere. Same transaction as `conn`."""
    if not rows:
        return
    if conn.dialect.name == "postgresql":
        raw = conn.connection.driver_connection
        sql = f"COPY {table.name} ({', '.join(columns)}) FROM STDIN"
        with raw.cursor() as cursor, cursor.copy(sql) as copy:
            for row in rows:
                copy.write_row(row)
        return
    conn.execute(insert(table), [dict(zip(columns, row, strict=True)) for row in rows])


# --- revisions: monthly data ----------------------------------------------------------------------

def _rank(period_end: dt.date, period_start: dt.date, release_id: int) -> tuple:
    return (period_end, period_start, release_id)


def _settle_months(conn: Connection, fmt: FileFormat, spec: FactSpec, release_id: int,
                   rows: list[tuple]) -> dict[dt.date, str]:
    key = fmt.revision_key or fmt.key
    col = {name: i for i, name in enumerate(spec.columns)}
    new_values: dict[dt.date, dict[tuple, tuple]] = defaultdict(dict)
    for row in rows:
        cell = tuple(row[col[c]] for c in spec.key)
        new_values[row[col["period"]]][cell] = tuple(row[col[m]] for m in spec.measures)
    periods = sorted(new_values)
    me = conn.execute(
        select(Release.period_end, Release.period_start).where(Release.id == release_id)
    ).one()
    my_rank = _rank(me.period_end, me.period_start, release_id)

    others = conn.execute(
        select(ReleasePeriod.release_id, ReleasePeriod.period, ReleasePeriod.is_current,
               Release.period_end, Release.period_start)
        .join(Release, Release.id == ReleasePeriod.release_id)
        .where(ReleasePeriod.revision_key == key, ReleasePeriod.period.in_(periods))
    ).all()
    best_other: dict[dt.date, tuple] = {}
    current_other: dict[dt.date, int] = {}
    for o in others:
        rank = _rank(o.period_end, o.period_start, o.release_id)
        if o.period not in best_other or rank > best_other[o.period]:
            best_other[o.period] = rank
        if o.is_current:
            current_other[o.period] = o.release_id

    old_values = _values_of(conn, spec, fmt, current_other)
    statuses: dict[dt.date, str] = {}
    won: list[dt.date] = []
    for period in periods:
        wins = period not in best_other or my_rank > best_other[period]
        if wins:
            won.append(period)
        if period not in current_other:
            statuses[period] = "new"
        elif _same(new_values[period], old_values.get(period, {})):
            statuses[period] = "unchanged"
        else:
            statuses[period] = "revised" if wins else "superseded"

    conn.execute(insert(ReleasePeriod), [
        {"release_id": release_id, "period": p, "revision_key": key,
         "row_count": len(new_values[p]), "status": statuses[p], "is_current": p in won}
        for p in periods
    ])
    # Hand over currency month by month from the previous current release to this one.
    losers: dict[int, list[dt.date]] = defaultdict(list)
    for period in won:
        if period in current_other:
            losers[current_other[period]].append(period)
    fact = spec.table
    for old_release, old_periods in losers.items():
        conn.execute(update(ReleasePeriod).where(
            ReleasePeriod.release_id == old_release, ReleasePeriod.period.in_(old_periods)
        ).values(is_current=False))
        conn.execute(update(fact).where(
            fact.c.release_id == old_release, fact.c.period.in_(old_periods)
        ).values(is_current=False))
    if won:
        conn.execute(update(fact).where(
            fact.c.release_id == release_id, fact.c.period.in_(won)
        ).values(is_current=True))
    return statuses


def _values_of(conn: Connection, spec: FactSpec, fmt: FileFormat,
               releases_by_period: dict[dt.date, int]) -> dict[dt.date, dict[tuple, tuple]]:
    by_release: dict[int, list[dt.date]] = defaultdict(list)
    for period, release in releases_by_period.items():
        by_release[release].append(period)
    out: dict[dt.date, dict[tuple, tuple]] = defaultdict(dict)
    table = spec.table
    for release, periods in by_release.items():
        query = select(*(table.c[c] for c in spec.key + spec.measures)).where(
            table.c.release_id == release, table.c.period.in_(periods)
        )
        for row in conn.execute(query):
            values = tuple(row)
            out[values[0]][values[: len(spec.key)]] = values[len(spec.key):]
    return out


def _same(a: dict[tuple, tuple], b: dict[tuple, tuple]) -> bool:
    """Equal figures cell by cell; quantities within 1e-6 lbs or 1e-9 relative (one CBP release
    rounds them)."""
    if a.keys() != b.keys():
        return False
    for cell, values in a.items():
        for x, y in zip(values, b[cell], strict=True):
            if isinstance(x, float) or isinstance(y, float):
                if x is None or y is None or not math.isclose(x, y, rel_tol=1e-9, abs_tol=1e-6):
                    return False
            elif x != y:
                return False
    return True


# --- revisions: overdose deaths (cell by cell) ----------------------------------------------------

def _settle_cells(conn: Connection, spec: FactSpec, release_id: int) -> dict[dt.date, str]:
    table = spec.table
    rows = conn.execute(
        select(table.c.id, table.c.release_id, table.c.year, table.c.state, table.c.category,
               table.c.sex, table.c.deaths, table.c.rate, table.c.is_current,
               Release.period_end, Release.period_start)
        .join(Release, Release.id == table.c.release_id)
    ).all()
    cells: dict[tuple, list] = defaultdict(list)
    for row in rows:
        cells[(row.year, row.state, row.category, row.sex)].append(row)
    flips: list[dict[str, Any]] = []
    year_status: dict[int, set[str]] = defaultdict(set)
    year_current: dict[int, bool] = defaultdict(bool)
    year_cells: dict[int, int] = defaultdict(int)
    for versions in cells.values():
        mine = next((v for v in versions if v.release_id == release_id), None)
        if mine is None:
            continue
        winner = max(versions, key=lambda v: _rank(v.period_end, v.period_start, v.release_id))
        previous = next((v for v in versions if v.is_current), None)
        if previous is None:
            status = "new"
        elif _same({(): (mine.deaths, mine.rate)}, {(): (previous.deaths, previous.rate)}):
            status = "unchanged"
        else:
            status = "revised" if winner is mine else "superseded"
        year_status[mine.year].add(status)
        year_cells[mine.year] += 1
        year_current[mine.year] |= winner is mine
        for v in versions:
            if v.is_current != (v is winner):
                flips.append({"row_id": v.id, "flag": v is winner})
    if flips:
        conn.execute(
            update(table).where(table.c.id == bindparam("row_id"))
            .values(is_current=bindparam("flag")),
            flips,
        )
    statuses: dict[dt.date, str] = {}
    for year, seen in year_status.items():
        status = next(s for s in ("revised", "superseded", "new", "unchanged") if s in seen)
        statuses[dt.date(year, 1, 1)] = status
    conn.execute(insert(ReleasePeriod), [
        {"release_id": release_id, "period": p, "revision_key": "overdose_deaths",
         "row_count": year_cells[p.year], "status": s, "is_current": year_current[p.year]}
        for p, s in sorted(statuses.items())
    ])
    return statuses
