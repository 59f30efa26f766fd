"""The seed snapshot: reproducible, small, never stale, and equal to the full ingest, superseded
values included."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import shutil
import sqlite3
from pathlib import Path

import polars as pl
import pytest
from sqlalchemy import func, insert, inspect, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError

from app.ingest import snapshot
from app.ingest.bulk import create_checks, drop_checks
from app.ingest.load import ingest_paths
from app.ingest.options import IngestOptions
from app.models import (
    Area,
    Drug,
    Encounter,
    EncounterRollup,
    OverdoseDeath,
    Release,
    ReleasePeriod,
    Seizure,
    SeizureRollup,
)
from app.ops.migrate import check
from app.reference.seed import ensure_reference

REPO_ROOT = Path(__file__).resolve().parents[1]
COMMITTED = REPO_ROOT / "seed" / "snapshot"
MAX_BYTES = 3_000_000


@pytest.fixture(scope="session")
def fresh_snapshot(data_files, tmp_path_factory) -> Path:
    """`borderstats seed build` from ../shared/data, through app.ingest.snapshot.build."""
    out = tmp_path_factory.mktemp("snapshot")
    snapshot.build(data_files, out)
    return out


def snapshot_files(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir()) if p.is_file()}


def test_seed_build_is_reproducible_byte_for_byte(fresh_snapshot, data_dir, run_cli_in_process, tmp_path):
    out = tmp_path / "again"
    result = run_cli_in_process(["seed", "build", "--data-dir", data_dir, "--out", out], database_url=None)
    assert result.returncode == 0, result.stderr
    assert "snapshot from 11 files" in result.stdout
    first, second = snapshot_files(fresh_snapshot), snapshot_files(out)
    assert sorted(first) == ["encounter.parquet", "manifest.json", "overdose_death.parquet",
                             "seizure.parquet"]
    assert first.keys() == second.keys()
    for name in first:
        assert first[name] == second[name], f"{name} differs between two builds"
    assert sum(len(b) for b in first.values()) < MAX_BYTES


def test_snapshot_manifest_lists_every_official_file_by_checksum(fresh_snapshot, data_files):
    manifest = json.loads((fresh_snapshot / "manifest.json").read_text(encoding="utf-8"))
    listed = {r["file_name"]: r["sha256"] for r in manifest["releases"]
              if not r["file_name"].startswith("seed/")}  # the reference figures shipped in seed/
    assert listed == {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in data_files}
    for meta in manifest["tables"].values():
        data = (fresh_snapshot / meta["file"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == meta["sha256"]
        frame = pl.read_parquet(data)
        assert frame.height == meta["rows"]
        assert frame["is_current"].sum() == meta["current_rows"]


def test_committed_snapshot_equals_a_fresh_build(fresh_snapshot):
    committed, fresh = snapshot_files(COMMITTED), snapshot_files(fresh_snapshot)
    assert committed.keys() == fresh.keys()
    stale = [name for name in fresh if committed[name] != fresh[name]]
    assert not stale, f"seed/snapshot is stale ({', '.join(stale)}): run `borderstats seed build`"


# --- loading it ------------------------------------------------------------------------------------

def all_figures(engine) -> dict[str, dict[tuple, tuple]]:
    """Every fact, current or superseded, grouped by release (checksum), currency, period and
    every dimension."""
    seizure_keys = (Release.sha256, Seizure.is_current, Seizure.period, Seizure.fiscal_year,
                    Area.slug, Drug.slug, Seizure.component, Seizure.region, Seizure.land_filter)
    encounter_keys = (Release.sha256, Encounter.is_current, Encounter.source, Encounter.period,
                      Encounter.fiscal_year, Encounter.component, Encounter.region, Area.slug,
                      Encounter.state,
                      Encounter.demographic, Encounter.citizenship, Encounter.title_of_authority,
                      Encounter.encounter_type)
    death_keys = (Release.sha256, OverdoseDeath.is_current, OverdoseDeath.year,
                  OverdoseDeath.state, OverdoseDeath.category, OverdoseDeath.sex)
    queries = {
        "seizure": select(*seizure_keys, func.sum(Seizure.event_count),
                          func.sum(Seizure.quantity_lbs), func.count())
        .join(Release, Release.id == Seizure.release_id)
        .join(Area, Area.id == Seizure.area_id).join(Drug, Drug.id == Seizure.drug_id)
        .group_by(*seizure_keys),
        "encounter": select(*encounter_keys, func.sum(Encounter.encounter_count), func.count())
        .join(Release, Release.id == Encounter.release_id)
        .outerjoin(Area, Area.id == Encounter.area_id)
        .group_by(*encounter_keys),
        "overdose_death": select(*death_keys, func.sum(OverdoseDeath.deaths),
                                 func.sum(OverdoseDeath.rate), func.count())
        .join(Release, Release.id == OverdoseDeath.release_id)
        .group_by(*death_keys),
    }
    widths = {"seizure": len(seizure_keys), "encounter": len(encounter_keys),
              "overdose_death": len(death_keys)}
    out = {}
    with engine.connect() as conn:
        for name, query in queries.items():
            out[name] = {tuple(row[: widths[name]]): tuple(row[widths[name]:])
                         for row in conn.execute(query)}
    return out


def same_values(a: tuple, b: tuple) -> bool:
    """Equal measures; floats (sums of lbs, rates) within 1e-12 relative."""
    return len(a) == len(b) and all(
        x == y or x == pytest.approx(y, rel=1e-12) if isinstance(y, float) else x == y
        for x, y in zip(a, b, strict=True))


def rollup_rows(engine) -> dict[str, list[tuple]]:
    """Every rollup row by release checksum, area and drug slug (ids differ between databases),
    pounds rounded to 1e-9 (sums may add in another order)."""
    out = {}
    with engine.connect() as conn:
        for model in (SeizureRollup, EncounterRollup):
            table = model.__table__
            plain = [c for c in table.c if c.name not in {"id", "release_id", "area_id", "drug_id"}]
            query = (select(Release.sha256, Area.slug, *plain,
                            *([Drug.slug] if "drug_id" in table.c else []))
                     .join(Release, Release.id == table.c.release_id)
                     .outerjoin(Area, Area.id == table.c.area_id))
            if "drug_id" in table.c:
                query = query.outerjoin(Drug, Drug.id == table.c.drug_id)
            out[table.name] = sorted(
                (tuple(round(v, 9) if isinstance(v, float) else v for v in row)
                 for row in conn.execute(query)), key=str)
    return out


def release_metadata(engine) -> tuple[set, dict]:
    with engine.connect() as conn:
        releases = {
            tuple(r) for r in conn.execute(select(
                Release.sha256, Release.file_name, Release.dataset, Release.source, Release.title,
                Release.row_count, Release.grain, Release.period_start, Release.period_end,
                Release.periods_new, Release.periods_revised, Release.periods_unchanged,
                Release.periods_superseded))
        }
        periods = {
            (sha, period): (key, rows, status, current)
            for sha, period, key, rows, status, current in conn.execute(
                select(Release.sha256, ReleasePeriod.period, ReleasePeriod.revision_key,
                       ReleasePeriod.row_count, ReleasePeriod.status, ReleasePeriod.is_current)
                .join(Release, Release.id == ReleasePeriod.release_id))
        }
    return releases, periods


def test_seed_load_gives_every_figure_of_the_full_ingest(fresh_snapshot, database_url, empty_engine,
                                                         loaded_engine, run_cli_in_process, data_files,
                                                         db_state):
    result = run_cli_in_process(["seed", "load", "--from", fresh_snapshot], database_url=database_url)
    assert result.returncode == 0, result.stderr
    # the 11 official files and the reference figures shipped in seed/ (NCHS 2022-2023)
    assert result.stdout.startswith("loaded 12 releases")

    seeded, ingested = all_figures(empty_engine), all_figures(loaded_engine)
    for table in ingested:
        assert seeded[table].keys() == ingested[table].keys(), table
        for key, values in ingested[table].items():
            assert same_values(seeded[table][key], values), (table, key)
    current = {t: {k for k in keys if k[1]} for t, keys in seeded.items()}
    superseded = {t: {k for k in keys if not k[1]} for t, keys in seeded.items()}
    assert len(current["seizure"]) > 17000 and len(current["encounter"]) > 50000
    # Superseded values of older releases are shipped too (vintages need them).
    assert len(superseded["seizure"]) > 9000 and len(superseded["encounter"]) > 6000

    assert release_metadata(empty_engine) == release_metadata(loaded_engine)
    with empty_engine.connect() as conn, loaded_engine.connect() as full:
        for model in (Area, Drug):
            assert set(conn.scalars(select(model.slug))) == set(full.scalars(select(model.slug)))
        for model in (Seizure, Encounter, OverdoseDeath):
            counts = [c.execute(select(model.is_current, func.count()).group_by(model.is_current)
                                .order_by(model.is_current)).all() for c in (conn, full)]
            assert counts[0] == counts[1]
        # the 11 official files and the NCHS reference figures of seed/
        assert conn.execute(select(func.count()).select_from(Release)).scalar_one() == 12
    assert rollup_rows(empty_engine) == rollup_rows(loaded_engine)

    # The seeded releases are the official files: ingesting them afterwards changes nothing.
    before = db_state(empty_engine)
    results = ingest_paths(empty_engine, [str(p) for p in data_files])
    assert all(r.already_loaded for r in results)
    assert db_state(empty_engine) == before


def test_seed_load_leaves_the_schema_of_the_migrations(fresh_snapshot, empty_engine):
    """The load drops the fact and rollup tables' indexes (and on Postgres their foreign keys)
    and creates them again: afterwards the schema is the migrated one, with nothing missing."""
    before = {t: indexes_and_keys(empty_engine, t) for t in FACT_AND_ROLLUP_TABLES}
    assert all(before[t][0] for t in FACT_AND_ROLLUP_TABLES) and before["seizure"][1]
    snapshot.load(empty_engine, fresh_snapshot)
    assert {t: indexes_and_keys(empty_engine, t) for t in FACT_AND_ROLLUP_TABLES} == before
    check(empty_engine)  # alembic check: no drift from the models


def test_a_row_naming_a_missing_area_cannot_get_past_the_recreated_keys(empty_engine):
    """The foreign keys the load adds back check every row at once: a fact naming an area that
    does not exist fails the transaction (on SQLite, whose keys stay, it fails at the insert)."""
    with empty_engine.connect() as conn:
        ensure_reference(conn)
        release = conn.execute(insert(Release).values(
            dataset="seizures", source="cbp-seizures", title="t", publisher="p", file_name="f.csv",
            sha256="0" * 64, row_count=1, grain="month", period_start=dt.date(2021, 1, 1),
            period_end=dt.date(2021, 1, 1), dimensions=[], loaded_at=dt.datetime.now(dt.UTC))
            .returning(Release.id)).scalar_one()
        drug = conn.scalar(select(Drug.id).limit(1))
        with pytest.raises(IntegrityError, match=r"(?i)foreign key"):
            checks = drop_checks(conn)
            conn.execute(insert(Seizure).values(
                release_id=release, period=dt.date(2021, 1, 1), fiscal_year=2021, area_id=999_999,
                drug_id=drug, component="OFO", region="Southwest Border", land_filter="Land Only",
                event_count=1, quantity_lbs=1.0, quantity_ulbs=1_000_000, quantity_lbs_rest=0,
                is_current=True))
            create_checks(conn, checks)
        conn.rollback()
    check(empty_engine)
    with empty_engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(Seizure)) == 0


def test_seed_load_checks_every_foreign_key_of_the_rows_it_wrote(fresh_snapshot, backend,
                                                                 empty_engine, db_state, monkeypatch):
    """A row naming an area that does not exist fails the whole load and leaves the empty
    database: on Postgres when the load adds its keys back, on SQLite (keys off while it loads)
    by the one-pass key check before the commit."""
    made = snapshot._facts

    def one_bad_area(dataset, *args):
        facts = made(dataset, *args)
        if dataset != "seizures":
            return facts
        return facts.with_columns(
            pl.when(pl.int_range(pl.len()) == 0).then(999_999).otherwise(pl.col("area_id"))
            .alias("area_id"))

    monkeypatch.setattr(snapshot, "_facts", one_bad_area)
    before = db_state(empty_engine)
    if backend == "sqlite":
        with pytest.raises(snapshot.SnapshotError,
                           match=r"^seizure\w* row \d+, as loaded from the snapshot, names a "
                                 r"missing area row"):
            snapshot.load(empty_engine, fresh_snapshot)
        with empty_engine.connect() as conn:  # the connection's settings restored after a failure
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    else:
        with pytest.raises(IntegrityError, match=r"(?i)foreign key"):
            snapshot.load(empty_engine, fresh_snapshot)
    assert db_state(empty_engine) == before


def test_seed_load_on_sqlite_gives_its_connection_back_in_wal_with_keys_on(fresh_snapshot, backend,
                                                                          empty_engine, monkeypatch):
    """SQLite's load runs with its keys off and a rollback journal (synchronous EXTRA: the
    journal's deletion is the commit); the connection it used goes back to the pool as every
    other: write-ahead log, foreign keys enforced, synchronous FULL."""
    if backend != "sqlite":
        pytest.skip("journal modes and per-connection foreign keys are SQLite's")
    during: list[tuple] = []
    check_keys = snapshot._check_keys

    def watched(conn):
        during.append(tuple(conn.exec_driver_sql(f"PRAGMA {name}").scalar()
                            for name in ("journal_mode", "foreign_keys", "synchronous")))
        check_keys(conn)

    monkeypatch.setattr(snapshot, "_check_keys", watched)
    snapshot.load(empty_engine, fresh_snapshot)
    assert during == [("delete", 0, 3)]  # loaded with a rollback journal, keys off, EXTRA syncs
    assert empty_engine.pool.checkedin() == 1  # the one connection the load used
    with empty_engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30_000


def test_seed_load_on_sqlite_beside_an_open_reader_loads_in_wal(fresh_snapshot, backend,
                                                                database_url, empty_engine):
    """Another connection reading the file keeps the journal from changing: the load goes on in
    write-ahead-log mode (the reader keeps its snapshot) and fills the database all the same."""
    if backend != "sqlite":
        pytest.skip("journal modes are SQLite's")
    reader = sqlite3.connect(make_url(database_url).database)
    try:
        reader.execute("BEGIN")
        assert reader.execute("SELECT count(*) FROM release").fetchone() == (0,)
        snapshot.load(empty_engine, fresh_snapshot)
        assert reader.execute("SELECT count(*) FROM release").fetchone() == (0,)
    finally:
        reader.rollback()
        reader.close()
    manifest = json.loads((fresh_snapshot / "manifest.json").read_text(encoding="utf-8"))
    with empty_engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(Release)) == len(manifest["releases"])
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


FACT_AND_ROLLUP_TABLES = ("seizure", "seizure_rollup", "encounter", "encounter_rollup",
                          "overdose_death")


def indexes_and_keys(engine, table: str) -> tuple[list, list]:
    found = inspect(engine)
    return (sorted((i["name"], tuple(i["column_names"])) for i in found.get_indexes(table)),
            sorted((k["name"], tuple(k["constrained_columns"]), k["referred_table"])
                   for k in found.get_foreign_keys(table)))


def test_seed_load_refuses_a_non_empty_database(fresh_snapshot, database_url, empty_engine, data_dir,
                                                db_state, run_cli_in_process):
    ingest_paths(empty_engine, [str(data_dir / "cdc-overdose-deaths-us-2011-2021.csv")])
    before = db_state(empty_engine)
    with pytest.raises(snapshot.SnapshotError, match="already holds releases"):
        snapshot.load(empty_engine, fresh_snapshot)
    assert db_state(empty_engine) == before
    result = run_cli_in_process(["seed", "load", "--from", fresh_snapshot], database_url=database_url)
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "already holds releases" in result.stderr
    assert db_state(empty_engine) == before


def test_seed_load_rejects_a_damaged_snapshot(fresh_snapshot, empty_engine, tmp_path, db_state):
    damaged = tmp_path / "snapshot"
    shutil.copytree(fresh_snapshot, damaged)
    data = bytearray((damaged / "seizure.parquet").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (damaged / "seizure.parquet").write_bytes(bytes(data))
    before = db_state(empty_engine)
    with pytest.raises(snapshot.SnapshotError, match="checksum does not match"):
        snapshot.load(empty_engine, damaged)
    assert db_state(empty_engine) == before


def test_snapshot_carries_drugs_and_areas_the_ingest_added(data_dir, tmp_path, empty_engine):
    with (data_dir / "cbp-drug-seizures-fy19-fy22.csv").open(newline="", encoding="utf-8") as handle:
        lines = [next(handle).rstrip("\r\n") for _ in range(3)]
    lines.append(lines[1].replace("Ecstasy", "Xylazine"))
    lines.append(lines[2].replace("ATLANTA FIELD OFFICE", "GUAM FIELD OFFICE"))
    source = tmp_path / "nationwide-drugs.csv"
    source.write_text("\r\n".join(lines) + "\r\n", encoding="utf-8")
    snapshot.build([source], tmp_path / "snapshot",
                   IngestOptions(allow_new_areas=True, allow_new_drugs=True))
    snapshot.load(empty_engine, tmp_path / "snapshot")
    with empty_engine.connect() as conn:
        drugs = set(conn.scalars(select(Drug.source_name).join(Seizure, Seizure.drug_id == Drug.id)))
        areas = set(conn.scalars(select(Area.name).join(Seizure, Seizure.area_id == Area.id)))
    assert "Xylazine" in drugs
    assert "Guam Field Office" in areas
