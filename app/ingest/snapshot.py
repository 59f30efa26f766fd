"""The seed snapshot: every figure of the official files in typed columnar files (Parquet).

`build` ingests the official files into a scratch SQLite database through the normal ingest and
writes every release's rows, current and superseded (`is_current` says which), so a database
filled from it can answer "as of" a past release too; `load` fills an empty database from it in a
fraction of a second (`serve` leaves the rollups until after its first answers:
app/ingest/rollups.py). The manifest carries each release's metadata and per-period statuses, and
the areas and drugs the facts name (also those an ingest added beyond seed/).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import logging
import sqlite3
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import polars as pl
from sqlalchemy import Connection, Engine, insert, select

from app.datasets import DATASETS
from app.db import database_urls, make_sync_engine
from app.ingest import bulk, rollups
from app.ingest.bulk import insert_frame
from app.ingest.exact import with_parts
from app.ingest.load import FACTS, bump_data_version, ingest_paths, lock_for_writing
from app.ingest.options import IngestOptions
from app.models import Area, AreaState, Drug, Release, ReleasePeriod, State, holds_releases
from app.ops.migrate import upgrade
from app.reference.seed import ensure_reference

log = logging.getLogger(__name__)

FORMAT_VERSION = 2
MANIFEST = "manifest.json"

# Per dataset: the snapshot's columns and their types (`release` indexes the manifest's releases),
# from the registry's snapshot columns; compact integer types (years, counts fit).
_KINDS = {"date": pl.Date, "str": pl.String, "float": pl.Float64}
_FACT_SCHEMAS: dict[str, dict[str, pl.DataType]] = {
    name: {"release": pl.Int16,
           **{c: (pl.Int16 if c in dict(dataset.time.stored) else pl.Int32) if kind == "int"
              else _KINDS[kind] for c, kind in dataset.snapshot_columns.items()},
           "is_current": pl.Boolean}
    for name, dataset in DATASETS.items()}


class SnapshotError(Exception):
    """The snapshot is missing, damaged, or the database is not empty."""


@dataclass
class SnapshotSummary:
    releases: int
    rows: dict[str, int]
    bytes: int

    def line(self) -> str:
        parts = ", ".join(f"{k} {v:,}" for k, v in self.rows.items())
        return f"{self.releases} releases; rows: {parts}; {self.bytes / 1e6:.2f} MB"


def build(files: Sequence[Path], out_dir: Path, options: IngestOptions | None = None, *,
          superseded: bool = True) -> SnapshotSummary:
    """Ingest `files` into a scratch database and write its figures to `out_dir` (without the
    superseded values of older releases if `superseded` is false)."""
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_sync_engine(database_urls(f"sqlite:///{Path(tmp) / 'build.db'}"))
        try:
            upgrade(engine)
            ingest_paths(engine, [str(f) for f in files], options=options)
            with engine.connect() as conn:
                return _export(conn, out_dir, superseded=superseded)
        finally:
            engine.dispose()


def _export(conn: Connection, out_dir: Path, *, superseded: bool) -> SnapshotSummary:
    out_dir.mkdir(parents=True, exist_ok=True)
    releases = conn.execute(select(Release).order_by(Release.id)).mappings().all()
    index = {r["id"]: i for i, r in enumerate(releases)}
    periods = conn.execute(
        select(ReleasePeriod).order_by(ReleasePeriod.release_id, ReleasePeriod.period)
    ).mappings().all()
    manifest_releases = []
    for release in releases:
        # loaded_at is when `seed load` runs; leaving it out keeps the build reproducible.
        item = {k: _jsonable(v) for k, v in release.items() if k not in {"id", "loaded_at"}}
        item["periods"] = [
            [p["period"].isoformat(), p["revision_key"], p["row_count"], p["status"], p["is_current"]]
            for p in periods if p["release_id"] == release["id"]
        ]
        manifest_releases.append(item)
    names = {"area": dict(conn.execute(select(Area.id, Area.slug)).all()),
             "drug": dict(conn.execute(select(Drug.id, Drug.slug)).all())}
    tables = {}
    total = 0
    for dataset, schema in _FACT_SCHEMAS.items():
        frame = _fact_frame(conn, dataset, schema, index, names)
        if not superseded:
            frame = frame.filter(pl.col("is_current"))
        buffer = io.BytesIO()
        frame.write_parquet(buffer, compression="zstd", compression_level=10, statistics=False)
        data = buffer.getvalue()
        name = f"{FACTS[dataset].table.name}.parquet"
        (out_dir / name).write_bytes(data)
        tables[dataset] = {"file": name, "rows": frame.height,
                           "current_rows": int(frame["is_current"].sum()),
                           "sha256": hashlib.sha256(data).hexdigest()}
        total += len(data)
    references = _references(conn)
    manifest = {
        "format": FORMAT_VERSION,
        "about": "The figures of the official files listed under releases, written by "
        "`borderstats seed build`, in Parquet: the current ones"
        + (" and the superseded values of older releases (is_current false)." if superseded
           else "; superseded values of older releases are not kept."),
        "superseded": superseded,
        "releases": manifest_releases,
        "tables": tables,
        # Every area and drug the facts name, including those an ingest added beyond seed/.
        "areas": references["areas"],
        "drugs": references["drugs"],
    }
    text = json.dumps(manifest, indent=1, sort_keys=True) + "\n"
    (out_dir / MANIFEST).write_text(text, encoding="utf-8")
    total += len(text)
    return SnapshotSummary(len(releases), {k: v["rows"] for k, v in tables.items()}, total)


def _fact_frame(conn: Connection, dataset: str, schema: dict[str, pl.DataType],
                index: dict[int, int], names: dict[str, dict[int, str]]) -> pl.DataFrame:
    table = FACTS[dataset].table
    stored = [c for c in schema if c not in {"release", "area", "drug"}]
    ids = [c for c in ("release_id", "area_id", "drug_id") if c in table.c]
    rows = conn.execute(select(*(table.c[c] for c in ids + stored)).order_by(table.c.id)).all()
    types = {**{c: pl.Int64 for c in ids}, **{c: schema[c] for c in stored}}
    frame = pl.DataFrame(rows, schema=types, orient="row")
    mapped = [pl.col("release_id").replace_strict(index, return_dtype=pl.Int16).alias("release")]
    for name in ("area", "drug"):
        if f"{name}_id" in ids:
            mapped.append(pl.col(f"{name}_id").replace_strict(names[name], default=None,
                                                              return_dtype=pl.String).alias(name))
    return frame.with_columns(mapped).select(pl.col(c).cast(t) for c, t in schema.items())


def _references(conn: Connection) -> dict[str, list[dict]]:
    states: dict[int, list[str]] = {}
    for area_id, code in conn.execute(select(AreaState.area_id, AreaState.state_code)):
        states.setdefault(area_id, []).append(code)
    areas = []
    for row in conn.execute(select(Area.__table__).order_by(Area.slug)).mappings():
        item = {k: v for k, v in row.items() if k != "id"}
        item["state_codes"] = sorted(states.get(row["id"], []))
        areas.append(item)
    drugs = [{k: v for k, v in row.items() if k != "id"}
             for row in conn.execute(select(Drug.__table__).order_by(Drug.slug)).mappings()]
    return {"areas": areas, "drugs": drugs}


def _add_missing_references(conn: Connection, manifest: dict) -> None:
    """Areas and drugs the snapshot names that seed/ does not (added by an ingest)."""
    have_areas = set(conn.scalars(select(Area.slug)))
    for area in manifest.get("areas", []):
        if area["slug"] in have_areas:
            continue
        values = {k: v for k, v in area.items() if k != "state_codes"}
        area_id = conn.execute(insert(Area).values(**values).returning(Area.id)).scalar_one()
        codes = [c for c in area["state_codes"] if conn.scalar(select(State.code).where(State.code == c))]
        if codes:
            conn.execute(insert(AreaState), [{"area_id": area_id, "state_code": c} for c in codes])
    have_drugs = set(conn.scalars(select(Drug.slug)))
    missing = [d for d in manifest.get("drugs", []) if d["slug"] not in have_drugs]
    if missing:
        conn.execute(insert(Drug), missing)


def _jsonable(value: object) -> object:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return value


def read_manifest(snapshot_dir: Path) -> dict:
    path = snapshot_dir / MANIFEST
    if not path.is_file():
        raise SnapshotError(f"no snapshot at {snapshot_dir} (run `borderstats seed build`)")
    manifest = json.loads(path.read_text(encoding="utf-8"))
    if manifest.get("format") != FORMAT_VERSION:
        raise SnapshotError(f"{path}: snapshot format {manifest.get('format')} is not supported")
    return manifest


def load(engine: Engine, snapshot_dir: Path, *, with_rollups: bool = True) -> SnapshotSummary:
    """Fill an empty, migrated database from the snapshot, in one transaction. Without the
    rollups (`serve`'s start), the facts alone answer every query, and `rollups.complete`
    writes the rollups afterwards."""
    manifest = read_manifest(snapshot_dir)
    frames = {}
    size = 0
    for dataset, meta in manifest["tables"].items():
        data = (snapshot_dir / meta["file"]).read_bytes()
        if hashlib.sha256(data).hexdigest() != meta["sha256"]:
            raise SnapshotError(f"{snapshot_dir / meta['file']}: checksum does not match the manifest")
        frames[dataset] = pl.read_parquet(io.BytesIO(data))
        size += len(data)
    with engine.connect() as conn, _sqlite_bulk_mode(conn) as keys_off, conn.begin():
        lock_for_writing(conn)
        if holds_releases(conn):
            raise SnapshotError("the database already holds releases; seed load fills only an empty one")
        ensure_reference(conn)
        _add_missing_references(conn, manifest)
        release_ids = _insert_releases(conn, manifest["releases"])
        areas = dict(conn.execute(select(Area.slug, Area.id)).all())
        drugs = dict(conn.execute(select(Drug.slug, Drug.id)).all())
        rows = {}
        checks = bulk.drop_checks(conn)
        for dataset, frame in frames.items():
            facts = _facts(dataset, frame, release_ids, areas, drugs)
            insert_frame(conn, FACTS[dataset].table, facts)
            if with_rollups and rollups.has_rollups(dataset):
                insert_frame(conn, DATASETS[dataset].rollup_table,
                             rollups.rollup_rows(dataset, facts.filter(pl.col("is_current"))))
            rows[dataset] = frame.height
        bulk.create_checks(conn, checks)
        if keys_off:
            _check_keys(conn)
        bump_data_version(conn)
    return SnapshotSummary(len(release_ids), rows, size)


@contextmanager
def _sqlite_bulk_mode(conn: Connection) -> Iterator[bool]:
    """On SQLite, fill the empty database with its foreign keys off and a rollback journal, as
    Postgres' load drops its keys: 0.62-0.65 -> 0.53-0.55 s for the shipped snapshot
    (bench/serve_startup.py). Each row's key lookups go, and every key is checked in one pass
    before the commit (`_check_keys`); the rows are written once instead of to the write-ahead
    log and then again at its checkpoint. The journal keeps the load atomic: a crash or a kill
    rolls back to the empty database. `synchronous=EXTRA` while it runs keeps the commit durable
    as in WAL mode (the journal's deletion, which commits, is synced too). If another connection
    has the file open the journal cannot change, and the load runs in WAL mode. The settings are
    restored on the connection after the transaction (it goes back to the pool).
    Yields whether the keys are off."""
    if conn.dialect.name != "sqlite":
        yield False
        return
    raw = conn.connection.driver_connection  # outside SQLAlchemy's transaction: none is open
    raw.execute("PRAGMA foreign_keys=OFF")
    synchronous = raw.execute("PRAGMA synchronous").fetchone()[0]
    waits = raw.execute("PRAGMA busy_timeout").fetchone()[0]
    raw.execute("PRAGMA busy_timeout=0")  # another connection open: WAL at once, not a wait
    try:
        journal = raw.execute("PRAGMA journal_mode=DELETE").fetchone()[0]
    except sqlite3.OperationalError:
        journal = "wal"
    finally:
        raw.execute(f"PRAGMA busy_timeout={int(waits)}")
    if journal != "wal":
        raw.execute("PRAGMA synchronous=EXTRA")
    try:
        yield True
    finally:
        try:
            if journal != "wal":
                raw.execute("PRAGMA journal_mode=WAL")
                raw.execute(f"PRAGMA synchronous={int(synchronous)}")
            raw.execute("PRAGMA foreign_keys=ON")
        except sqlite3.Error as exc:
            # A reader holding the file longer than the busy timeout (WAL cannot be set back
            # while it reads): this connection leaves the pool; each new one sets WAL and the keys
            # on again (app.db) once that reader is done. The load itself is settled by now.
            log.warning("seed load: could not restore the connection's settings (%s); "
                        "dropping it from the pool", exc)
            conn.invalidate()


def _check_keys(conn: Connection) -> None:
    """Every foreign key of the loaded rows, in one pass (SQLite, keys off while loading)."""
    broken = conn.exec_driver_sql("PRAGMA foreign_key_check").first()
    if broken is not None:
        table, rowid, parent, _ = broken
        raise SnapshotError(f"{table} row {rowid}, as loaded from the snapshot, names a missing "
                            f"{parent} row; nothing was loaded")


def _facts(dataset: str, frame: pl.DataFrame, release_ids: list[int], areas: dict[str, int],
           drugs: dict[str, int]) -> pl.DataFrame:
    """The snapshot's rows as fact-table rows: manifest indexes and slugs turned into ids."""
    ids = dict(enumerate(release_ids))
    mapped = [pl.col("release").replace_strict(ids, return_dtype=pl.Int64).alias("release_id")]
    if "area" in frame.columns:
        mapped.append(pl.col("area").replace_strict(areas, return_dtype=pl.Int64)
                      .alias("area_id"))
    if "drug" in frame.columns:
        mapped.append(pl.col("drug").replace_strict(drugs, return_dtype=pl.Int64).alias("drug_id"))
    return with_parts(DATASETS[dataset], frame.with_columns(mapped)).select(FACTS[dataset].columns)


def _insert_releases(conn: Connection, releases: list[dict]) -> list[int]:
    ids = []
    periods = []
    for item in releases:
        values = {k: v for k, v in item.items() if k != "periods"}
        values["period_start"] = dt.date.fromisoformat(values["period_start"])
        values["period_end"] = dt.date.fromisoformat(values["period_end"])
        values["loaded_at"] = dt.datetime.now(dt.UTC)
        release_id = conn.execute(insert(Release).values(**values).returning(Release.id)).scalar_one()
        ids.append(release_id)
        periods += [(release_id, dt.date.fromisoformat(p[0]), p[1], p[2], p[3], p[4])
                    for p in item["periods"]]
    insert_frame(conn, ReleasePeriod.__table__, pl.DataFrame(
        periods, orient="row", schema={"release_id": pl.Int64, "period": pl.Date,
                                       "revision_key": pl.String, "row_count": pl.Int64,
                                       "status": pl.String, "is_current": pl.Boolean}))
    return ids
