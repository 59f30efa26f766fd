"""The seed snapshot: the current official figures in a few compressed CSV files.

`build` ingests the official files into a scratch SQLite database through the normal ingest and
writes what is current; `load` fills an empty database from it in seconds. The snapshot keeps every
dimension and every current figure, so the API answers the same from it as from the full files. It
drops the superseded values of older releases (the revision history) and keeps their metadata.
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import hashlib
import io
import json
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Connection, Engine, func, insert, select

from app import rollups
from app.db import database_urls, make_sync_engine
from app.ingest.load import FACTS, bulk_insert, bump_data_version, ingest_paths, lock_for_writing
from app.migrate import upgrade
from app.models import Area, AreaState, Drug, Release, ReleasePeriod, State
from app.reference import ensure_reference

FORMAT_VERSION = 1
MANIFEST = "manifest.json"

# Per dataset: (column in the snapshot CSV, how it is written/read).
_FACT_COLUMNS = {
    "seizures": ("period", "fiscal_year", "area", "drug", "component", "region", "land_filter",
                 "event_count", "quantity_lbs"),
    "encounters": ("source", "period", "fiscal_year", "component", "region", "area", "state",
                   "demographic", "citizenship", "title_of_authority", "encounter_type",
                   "encounter_count"),
    "overdose_deaths": ("year", "state", "category", "sex", "deaths", "rate"),
}
_INTS = {"fiscal_year", "event_count", "encounter_count", "year", "deaths"}
_FLOATS = {"quantity_lbs", "rate"}


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


def build(files: Sequence[Path], out_dir: Path) -> SnapshotSummary:
    """Ingest `files` into a scratch database and write the current figures to `out_dir`."""
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_sync_engine(database_urls(f"sqlite:///{Path(tmp) / 'build.db'}"))
        try:
            upgrade(engine)
            ingest_paths(engine, [str(f) for f in files])
            with engine.connect() as conn:
                return _export(conn, out_dir)
        finally:
            engine.dispose()


def _export(conn: Connection, out_dir: Path) -> SnapshotSummary:
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
    areas = dict(conn.execute(select(Area.id, Area.slug)).all())
    drugs = dict(conn.execute(select(Drug.id, Drug.slug)).all())
    references = _references(conn)
    tables = {}
    total = 0
    for dataset, columns in _FACT_COLUMNS.items():
        table = FACTS[dataset].table
        query = select(table).where(table.c.is_current.is_(True)).order_by(table.c.id)
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(("release", *columns))
        rows = 0
        for row in conn.execute(query).mappings():
            values = []
            for column in columns:
                if column == "area":
                    value = areas.get(row["area_id"]) if row["area_id"] is not None else None
                elif column == "drug":
                    value = drugs[row["drug_id"]]
                else:
                    value = row[column]
                values.append(_text(value))
            writer.writerow((index[row["release_id"]], *values))
            rows += 1
        data = gzip.compress(buffer.getvalue().encode("utf-8"), compresslevel=9, mtime=0)
        name = f"{table.name}.csv.gz"
        (out_dir / name).write_bytes(data)
        tables[dataset] = {"file": name, "rows": rows, "sha256": hashlib.sha256(data).hexdigest()}
        total += len(data)
    manifest = {
        "format": FORMAT_VERSION,
        "about": "Current figures of the official files listed under releases, written by "
        "`borderstats seed build`. Superseded values of older releases are not kept.",
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


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def read_manifest(snapshot_dir: Path) -> dict:
    path = snapshot_dir / MANIFEST
    if not path.is_file():
        raise SnapshotError(f"no snapshot at {snapshot_dir} (run `borderstats seed build`)")
    manifest = json.loads(path.read_text(encoding="utf-8"))
    if manifest.get("format") != FORMAT_VERSION:
        raise SnapshotError(f"{path}: snapshot format {manifest.get('format')} is not supported")
    return manifest


def database_is_empty(engine: Engine) -> bool:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(Release)).scalar_one() == 0


def load(engine: Engine, snapshot_dir: Path) -> SnapshotSummary:
    """Fill an empty, migrated database from the snapshot, in one transaction."""
    manifest = read_manifest(snapshot_dir)
    payloads = {}
    for dataset, meta in manifest["tables"].items():
        data = (snapshot_dir / meta["file"]).read_bytes()
        if hashlib.sha256(data).hexdigest() != meta["sha256"]:
            raise SnapshotError(f"{snapshot_dir / meta['file']}: checksum does not match the manifest")
        payloads[dataset] = data
    with engine.begin() as conn:
        lock_for_writing(conn)
        if conn.execute(select(func.count()).select_from(Release)).scalar_one():
            raise SnapshotError("the database already holds releases; seed load fills only an empty one")
        ensure_reference(conn)
        _add_missing_references(conn, manifest)
        release_ids = _insert_releases(conn, manifest["releases"])
        areas = dict(conn.execute(select(Area.slug, Area.id)).all())
        drugs = dict(conn.execute(select(Drug.slug, Drug.id)).all())
        rows = {}
        for dataset, data in payloads.items():
            rows[dataset] = _insert_facts(conn, dataset, data, release_ids, areas, drugs)
            rollups.rebuild(conn, dataset)
        bump_data_version(conn)
    size = sum(len(d) for d in payloads.values())
    return SnapshotSummary(len(release_ids), rows, size)


def _insert_releases(conn: Connection, releases: list[dict]) -> list[int]:
    ids = []
    for item in releases:
        values = {k: v for k, v in item.items() if k != "periods"}
        values["period_start"] = dt.date.fromisoformat(values["period_start"])
        values["period_end"] = dt.date.fromisoformat(values["period_end"])
        values["loaded_at"] = dt.datetime.now(dt.UTC)
        release_id = conn.execute(insert(Release).values(**values).returning(Release.id)).scalar_one()
        ids.append(release_id)
        conn.execute(insert(ReleasePeriod), [
            {"release_id": release_id, "period": dt.date.fromisoformat(p[0]), "revision_key": p[1],
             "row_count": p[2], "status": p[3], "is_current": p[4]}
            for p in item["periods"]
        ])
    return ids


def _insert_facts(conn: Connection, dataset: str, data: bytes, release_ids: list[int],
                  areas: dict[str, int], drugs: dict[str, int]) -> int:
    spec = FACTS[dataset]
    reader = csv.reader(io.StringIO(gzip.decompress(data).decode("utf-8")))
    header = next(reader)
    out = []
    for record in reader:
        values = dict(zip(header, record, strict=True))
        row = {"release_id": release_ids[int(values.pop("release"))], "is_current": True}
        for column, text in values.items():
            if column == "area":
                row["area_id"] = areas[text] if text else None
            elif column == "drug":
                row["drug_id"] = drugs[text]
            elif text == "":
                row[column] = None
            elif column == "period":
                row[column] = dt.date.fromisoformat(text)
            elif column in _INTS:
                row[column] = int(text)
            elif column in _FLOATS:
                row[column] = float(text)
            else:
                row[column] = text
        out.append(tuple(row[c] for c in spec.columns))
    bulk_insert(conn, spec.table, spec.columns, out)
    return len(out)
