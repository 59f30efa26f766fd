"""Write parsed files as releases: one transaction for the whole command, bulk inserts, revisions.

For monthly data the unit of revision is (revision key, month): the release covering the latest
period (then the latest loaded) is current for every month it contains; older releases' values
stay in the table as revisions (app/ingest/revisions.py settles them in SQL). Overdose deaths are
revised cell by cell (year, state, category, sex), because their files overlap on some cells only.
Rollups are rebuilt only for the months whose current figures changed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import threading
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path

import polars as pl
from sqlalchemy import Connection, Engine, Table, insert, select, update

from app.datasets import DATASETS
from app.db import lock_for_writing
from app.ingest import bulk, revisions, rollups
from app.ingest.bulk import bulk_insert
from app.ingest.currency import CurrencyPlan, PlannedRelease
from app.ingest.errors import IngestError
from app.ingest.exact import with_parts
from app.ingest.formats import FileFormat
from app.ingest.options import IngestOptions
from app.ingest.parsers import OUTPUT_COLUMNS
from app.ingest.reader import ParsedFile, read_file
from app.ingest.resolve import with_area_and_drug_ids
from app.models import DataVersion, Release
from app.periods import month_text
from app.reference.seed import ReferenceIndex, ensure_reference, reference_index, seed_json

__all__ = ["FACTS", "LoadResult", "bulk_insert", "bump_data_version", "ingest_paths",
           "load_parsed", "lock_for_writing", "start_parsing"]


Progress = Callable[[str, int], None]


@dataclass(frozen=True)
class FactSpec:
    table: Table
    columns: tuple[str, ...]
    key: tuple[str, ...]
    measures: tuple[str, ...]


# Each dataset's fact table as the registry declares it (app/datasets).
FACTS: dict[str, FactSpec] = {
    name: FactSpec(dataset.table, dataset.fact_columns, key=dataset.cell_key,
                   measures=dataset.stored_measures)
    for name, dataset in DATASETS.items()}


def _names_references(frame: pl.DataFrame) -> bool:
    """Whether a parsed file names areas or drugs the loader must match to reference ids."""
    return "drug" in frame.columns or "area_name" in frame.columns


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
        return f"{month_text(self.period_start)}..{month_text(self.period_end)}"

    def summary(self) -> str:
        unit = "years" if self.grain == "year" else "months"
        head = f"{self.file}: {self.dataset} ({self.source}), {self.rows:,} rows, {self.period_label()}"
        if self.already_loaded:
            return f"{head}: already loaded as release {self.release_id}, nothing changed"
        line = (f"{head}: release {self.release_id}; {unit} {self.new} new, {self.revised} "
                f"revised, {self.unchanged} unchanged, {self.superseded} superseded by a newer "
                "release")
        if self.revised:
            # What the revised months changed, figure by figure, is served by the API.
            line += f" (what changed: /revisions?dataset={self.dataset}&release={self.release_id})"
        return line


def ingest_paths(engine: Engine, paths: Sequence[str], progress: Progress | None = None,
                 options: IngestOptions | None = None, parsing: Parsing | None = None,
                 ) -> list[LoadResult]:
    """Parse every file first (any error aborts before a write), then load them in one transaction.
    `parsing`: the parse of the same paths, started earlier (`start_parsing`)."""
    options = options or IngestOptions()
    parsing = parsing or start_parsing(paths, options)
    return load_parsed(engine, parsing.results(progress), progress=progress, options=options)


class Parsing:
    """Files being parsed in the background, while the command opens its database: two at a
    time when every file is small (polars reads and checks a column without holding the GIL, so
    on two cores the parse takes ~2/3 of the time), else one at a time (a parse holds several
    times its file in memory: two large files at once would double the peak). `results` raises
    the first bad file's error in the order given, as a parse one file after the other would.

    The threads are daemons, and `cancel` does not wait for them: a command that stops (a bad
    file, a database error, Ctrl-C) exits without waiting for a parse it no longer needs. A
    file being parsed when it stops is finished and dropped; files not started are not parsed."""

    def __init__(self, paths: Sequence[str], options: IngestOptions) -> None:
        self.paths, self.options = list(paths), options
        self.futures: list[Future[ParsedFile]] = [Future() for _ in self.paths]
        self._next = iter(range(len(self.paths)))
        self._lock = threading.Lock()
        self._stopped = False
        threads = PARSE_THREADS if all(_size(p) <= PARALLEL_PARSE_MAX_BYTES for p in self.paths) else 1
        for _ in range(min(threads, len(self.paths))):
            threading.Thread(target=self._work, name="parse", daemon=True).start()

    def _work(self) -> None:
        while True:
            with self._lock:
                index = None if self._stopped else next(self._next, None)
            if index is None:
                return
            future = self.futures[index]
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(read_file(self.paths[index], self.options))
            except BaseException as exc:  # handed to the reader of the results
                future.set_exception(exc)

    def results(self, progress: Progress | None = None) -> list[ParsedFile]:
        parsed = []
        try:
            for future in self.futures:
                parsed.append(future.result())
                if progress:
                    progress(f"parsed {parsed[-1].name}", 1)
        finally:
            self.cancel()
        return parsed

    def cancel(self) -> None:
        """Stop taking files (without waiting for one being parsed)."""
        with self._lock:
            self._stopped = True
        for future in self.futures:
            future.cancel()


def _size(path: str) -> int:
    try:
        return os.path.getsize(path)
    except OSError:
        return 0  # read_file says what is wrong with it


def start_parsing(paths: Sequence[str], options: IngestOptions | None = None) -> Parsing:
    return Parsing(paths, options or IngestOptions())


PARSE_THREADS = 2
# Files above this size are parsed one at a time (the official files are 0.1-10 MB).
PARALLEL_PARSE_MAX_BYTES = 32 * 1024 * 1024


BULK_ROWS = 20_000  # a first load at least this big drops the tables' checks while it fills them


def load_parsed(engine: Engine, files: Iterable[ParsedFile], progress: Progress | None = None,
                options: IngestOptions | None = None) -> list[LoadResult]:
    """Load parsed files atomically: all of them or, on any error, none."""
    options = options or IngestOptions()
    files = list(files)
    results = []
    touched = _Touched()
    with engine.begin() as conn:
        lock_for_writing(conn)
        # The first load into an empty database fills the tables with their indexes and keys
        # dropped and makes them again at the end (bulk.drop_checks, which keeps them if another
        # session is reading those tables).
        first = sum(f.frame.height for f in files) >= BULK_ROWS and not conn.scalar(
            select(Release.id).limit(1))
        checks = bulk.drop_checks(conn) if first else []
        ensure_reference(conn)
        index = reference_index(conn)
        planned = _planned_releases(conn, files)
        plan = CurrencyPlan(conn, list(planned.values()))
        for parsed in files:
            results.append(load_release(conn, parsed, options=options, index=index, touched=touched,
                                        plan=plan, planned=planned.get(id(parsed))))
            if progress:
                progress(f"loaded {parsed.name}", 1)
        plan.retire(conn)
        # Reference figures shipped in seed/ (not a file of this command): loaded once, silently.
        references = ensure_reference_releases(conn)
        touched.refresh_rollups(conn)
        bulk.create_checks(conn, checks)
        if any(not r.already_loaded for r in [*results, *references]):
            bump_data_version(conn)
    return results


def _planned_releases(conn: Connection, files: list[ParsedFile]) -> dict[int, PlannedRelease]:
    """The monthly files of the command that will be loaded (new checksums), in load order."""
    seen = set(conn.scalars(select(Release.sha256).where(
        Release.sha256.in_([f.sha256 for f in files]))))
    planned = {}
    for parsed in files:
        if parsed.sha256 in seen:
            continue
        seen.add(parsed.sha256)
        if parsed.format.grain == "month":
            planned[id(parsed)] = _planned(parsed, len(planned))
    return planned


def _planned(parsed: ParsedFile, order: int) -> PlannedRelease:
    fmt = parsed.format
    months = frozenset(parsed.frame["period"].unique().to_list())
    return PlannedRelease(order=order, key=fmt.revision_key or fmt.key,
                          fact=FACTS[fmt.dataset].table, start=min(months), end=max(months),
                          months=months)


class _Touched:
    """The months whose current figures this command changed, with the facts now current."""

    def __init__(self) -> None:
        self.current: dict[tuple[str, str | None], list[tuple[set[dt.date], pl.DataFrame]]] = \
            defaultdict(list)

    def add(self, dataset: str, source: str | None, months: set[dt.date],
            facts: pl.DataFrame) -> None:
        if months:
            self.current[(dataset, source)].append(
                (months, facts.filter(pl.col("period").is_in(sorted(months)))))

    def refresh_rollups(self, conn: Connection) -> None:
        """Rebuild the rollup rows of every month that changed, from the release now current."""
        whole = {dataset for dataset in {d for d, _ in self.current}
                 if rollups.absent_beside(conn, dataset, {
                     source: set().union(*(m for m, _ in parts))
                     for (d, source), parts in self.current.items() if d == dataset})}
        for dataset in sorted(whole):
            rollups.rebuild(conn, dataset)
        for (dataset, source), parts in self.current.items():
            if dataset in whole:
                continue
            months = set().union(*(m for m, _ in parts))
            rollups.replace_months(conn, dataset, source, months,
                                   pl.concat([facts for _, facts in parts]))


NCHS_REFERENCE = FileFormat(
    key="nchs-data-briefs",
    dataset="overdose_deaths",
    title="NCHS final counts of US drug overdose deaths (Data Briefs)",
    publisher="CDC National Center for Health Statistics",
    origin_url="https://www.cdc.gov/nchs/products/databriefs/db522.htm",
    columns=("year", "deaths"),
    grain="year",
    dimensions=("category",),
)


def ensure_reference_releases(conn: Connection) -> list[LoadResult]:
    """Load the reference figures shipped in seed/ (NCHS 2022-2023) as a release, once."""
    shipped = seed_json("nchs_reference.json")
    figures = shipped["figures"]
    frame = pl.DataFrame({
        "line": list(range(1, len(figures) + 1)),
        **{c: [f[c] for f in figures] for c in ("year", "state", "category", "sex", "deaths", "rate")},
    }, schema={"line": pl.Int64, **OUTPUT_COLUMNS[NCHS_REFERENCE.dataset]})
    digest = hashlib.sha256(json.dumps(shipped, sort_keys=True).encode()).hexdigest()
    parsed = ParsedFile(path=Path(shipped["release"]["file_name"]), sha256=digest,
                        format=NCHS_REFERENCE, frame=frame)
    result = load_release(conn, parsed, citation=shipped["release"]["citation"],
                          file_name=shipped["release"]["file_name"])
    return [] if result.already_loaded else [result]


def bump_data_version(conn: Connection) -> None:
    """Move the data version on (the key of every ETag and cache)."""
    now = dt.datetime.now(dt.UTC)
    changed = conn.execute(
        update(DataVersion).where(DataVersion.id == 1)
        .values(version=DataVersion.version + 1, updated_at=now)
    ).rowcount
    if not changed:
        conn.execute(insert(DataVersion).values(id=1, version=1, updated_at=now))


def load_release(conn: Connection, parsed: ParsedFile, *, citation: str | None = None,
                 file_name: str | None = None, options: IngestOptions | None = None,
                 index: ReferenceIndex | None = None, touched: _Touched | None = None,
                 plan: CurrencyPlan | None = None,
                 planned: PlannedRelease | None = None) -> LoadResult:
    """Insert one parsed file as a release and settle which figures are current."""
    fmt = parsed.format
    frame = parsed.frame
    monthly = fmt.grain == "month"
    period = pl.col("period") if monthly else pl.date(pl.col("year"), 1, 1)
    per_period = frame.group_by(period.alias("p")).agg(pl.len().alias("n")).sort("p")
    rows_per_period = dict(per_period.iter_rows())
    start, end = min(rows_per_period), max(rows_per_period)
    existing = conn.execute(
        select(Release.id).where(Release.sha256 == parsed.sha256)
    ).scalar_one_or_none()
    result = LoadResult(
        file=file_name or parsed.name, dataset=fmt.dataset, source=fmt.key,
        rows=frame.height, period_start=start, period_end=end, grain=fmt.grain,
        release_id=existing or 0,
    )
    if existing is not None:
        result.already_loaded = True
        return result

    release_id = conn.execute(
        insert(Release).values(
            dataset=fmt.dataset, source=fmt.key, title=fmt.title, publisher=fmt.publisher,
            file_name=file_name or parsed.name, sha256=parsed.sha256, row_count=frame.height,
            grain=fmt.grain, period_start=start, period_end=end, dimensions=list(fmt.dimensions),
            loaded_at=dt.datetime.now(dt.UTC), origin_url=fmt.origin_url, citation=citation,
        ).returning(Release.id)
    ).scalar_one()
    result.release_id = release_id

    spec = FACTS[fmt.dataset]
    if _names_references(frame):
        frame = with_area_and_drug_ids(conn, parsed, index or reference_index(conn),
                                       options or IngestOptions())
    source = fmt.key if "source" in spec.columns else None
    if monthly:
        if plan is None or planned is None:
            raise ValueError("monthly releases are loaded through load_parsed (it plans currency)")
        won, before = plan.load(planned, release_id)
        current_at_end = plan.stays_current(planned)
        is_current = pl.col("period").is_in(sorted(current_at_end))
    else:
        is_current = pl.lit(False)
    facts = with_parts(DATASETS[fmt.dataset], frame.with_columns(
        pl.lit(release_id, pl.Int64).alias("release_id"), pl.lit(fmt.key).alias("source"),
        is_current.alias("is_current")))
    _refuse_repeated_facts(parsed, facts, spec)
    bulk.insert_frame(conn, spec.table, facts.select(spec.columns))

    if monthly:
        settled = revisions.settle_months(
            conn, fact=spec.table, key_columns=spec.key, measures=spec.measures,
            key=planned.key, release_id=release_id, rows_per_period=rows_per_period, won=won,
            before=before, current_at_end=current_at_end)
        if touched is not None:
            touched.add(fmt.dataset, source, current_at_end, facts.select(spec.columns))
    else:
        settled = revisions.settle_cells(conn, fact=spec.table, release_id=release_id,
                                         key_columns=spec.key, measures=spec.measures,
                                         key=DATASETS[fmt.dataset].revision_key)
    counts = Counter(settled.statuses.values())
    result.new, result.revised = counts["new"], counts["revised"]
    result.unchanged, result.superseded = counts["unchanged"], counts["superseded"]
    conn.execute(
        update(Release).where(Release.id == release_id).values(
            periods_new=result.new, periods_revised=result.revised,
            periods_unchanged=result.unchanged, periods_superseded=result.superseded,
        )
    )
    return result


def _refuse_repeated_facts(parsed: ParsedFile, facts: pl.DataFrame, spec: FactSpec) -> None:
    """Two rows that name the same figure once areas are matched (say, by name and by
    abbreviation) would count it twice: refuse the later one."""
    first = pl.col("line").min().over(list(spec.key))
    repeated = facts.filter(pl.col("line") != first).select("line", first.alias("first"))
    if not repeated.is_empty():
        line, first_line = repeated.sort("line").row(0)
        raise IngestError(str(parsed.path), line, 1, f"this row repeats the figure of line "
                          f"{first_line} (same period and dimensions)")
