"""Alembic migrations: upgrade to head matches the models, downgrade removes everything."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.util.exc import CommandError
from sqlalchemy import inspect, select, text

from app.db import Base
from app.ingest.exact import split
from app.ingest.load import ingest_paths
from app.models import DataVersion
from app.ops.migrate import (
    check,
    current_revision,
    downgrade,
    head_revision,
    is_at_head,
    script_head,
    upgrade,
)

REPO_ROOT = Path(__file__).resolve().parents[1]


def tables(engine) -> set[str]:
    return set(inspect(engine).get_table_names())


def test_upgrade_head_creates_every_model_table_without_drift(database_factory):
    engine = database_factory.engine(database_factory.new(migrated=False))
    assert current_revision(engine) is None
    upgrade(engine)
    assert is_at_head(engine)
    assert current_revision(engine) == head_revision()
    assert tables(engine) == set(Base.metadata.tables) | {"alembic_version"}
    check(engine)  # alembic check: the models and the migrated schema agree
    with engine.connect() as conn:
        assert conn.execute(select(DataVersion.version)).scalar_one() == 0


def test_check_reports_drift_when_the_schema_differs(empty_engine):
    with empty_engine.begin() as conn:
        conn.execute(text("ALTER TABLE release ADD COLUMN stray INTEGER"))
    with pytest.raises(CommandError, match="New upgrade operations detected"):
        check(empty_engine)


def test_downgrade_base_leaves_no_tables_and_upgrade_works_again(empty_engine, data_dir):
    ingest_paths(empty_engine, [str(data_dir / "cdc-overdose-deaths-us-2011-2021.csv")])
    downgrade(empty_engine, "base")
    assert tables(empty_engine) <= {"alembic_version"}
    assert current_revision(empty_engine) is None
    upgrade(empty_engine)
    assert is_at_head(empty_engine)
    check(empty_engine)
    assert tables(empty_engine) == set(Base.metadata.tables) | {"alembic_version"}
    [result] = ingest_paths(empty_engine, [str(data_dir / "cdc-overdose-deaths-us-2011-2021.csv")])
    assert not result.already_loaded and result.release_id == 1


def test_upgrade_is_idempotent(empty_engine):
    before = tables(empty_engine)
    upgrade(empty_engine)
    assert tables(empty_engine) == before
    assert is_at_head(empty_engine)


def schema_and_rows(engine) -> dict[str, dict]:
    """Every table as the inspector sees it (columns in order with type, nullability, default;
    keys, indexes, constraints) and every row it holds."""
    seen = inspect(engine)
    found = {}
    for table in sorted(seen.get_table_names()):
        with engine.connect() as conn:
            rows = sorted(map(repr, conn.execute(text(f'SELECT * FROM "{table}"')).all()))
        found[table] = {
            "columns": [(c["name"], str(c["type"]), c["nullable"], str(c.get("default")))
                        for c in seen.get_columns(table)],
            "primary key": seen.get_pk_constraint(table),
            "foreign keys": sorted(map(repr, seen.get_foreign_keys(table))),
            "indexes": sorted(map(repr, seen.get_indexes(table))),
            "unique": sorted(map(repr, seen.get_unique_constraints(table))),
            "checks": sorted(map(repr, seen.get_check_constraints(table))),
            "rows": rows,
        }
    return found


def test_a_new_database_created_from_the_models_is_the_one_the_migrations_make(database_factory):
    """`upgrade` creates a new database's schema from the models, stamped at head, instead of
    running every migration: the same tables, columns in the same order, keys, indexes,
    constraints and rows (the first migration's data_version row, the version stamp)."""
    by_models = database_factory.engine(database_factory.new(migrated=False))
    upgrade(by_models)  # a database with no table: created from the models
    by_migrations = database_factory.engine(database_factory.new(migrated=False))
    upgrade(by_migrations, head_revision())  # a revision named: Alembic runs every migration
    made, migrated = schema_and_rows(by_models), schema_and_rows(by_migrations)
    assert set(made) == set(Base.metadata.tables) | {"alembic_version"}
    assert made["alembic_version"]["rows"] == [repr((head_revision(),))]
    for table in sorted(migrated):
        assert made[table] == migrated[table], table
    assert made.keys() == migrated.keys()
    check(by_models)


def test_a_database_created_after_a_bulk_load_in_the_same_process_has_every_key(database_factory):
    """A bulk load into an empty database drops and re-adds the fact tables' keys (on Postgres,
    app.ingest.bulk); a database the same process creates from the models afterwards (a test
    run, a benchmark) still gets every foreign key and index."""
    from app.ingest import snapshot
    from app.paths import project_dir

    loaded = database_factory.engine()
    snapshot.load(loaded, project_dir("seed") / "snapshot")
    created = database_factory.engine(database_factory.new(migrated=False))
    upgrade(created)
    by_migrations = database_factory.engine(database_factory.new(migrated=False))
    upgrade(by_migrations, head_revision())
    made, migrated = schema_and_rows(created), schema_and_rows(by_migrations)
    for table in ("seizure", "encounter", "overdose_death", "seizure_rollup", "encounter_rollup"):
        assert made[table]["foreign keys"] == migrated[table]["foreign keys"] != [], table
        assert made[table]["indexes"] == migrated[table]["indexes"] != [], table


def test_a_database_holding_any_table_is_left_to_alembic(database_factory):
    """Only a database with no table at all is created from the models: one holding a table of
    the schema without a version stamp (left by something else, or an older shape) is not
    stamped as if it were at head; Alembic refuses it (on SQLite its tables made before the
    failure stay: Alembic's own behaviour there)."""
    from sqlalchemy.exc import SQLAlchemyError

    engine = database_factory.engine(database_factory.new(migrated=False))
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE release (id INTEGER PRIMARY KEY)"))
    with pytest.raises(SQLAlchemyError, match="release"):
        upgrade(engine)
    assert current_revision(engine) is None
    assert [c["name"] for c in inspect(engine).get_columns("release")] == ["id"]


def test_a_new_database_whose_creation_fails_is_left_without_a_table(database_factory):
    """The schema made from the models is one transaction on both backends (SQLite's driver would
    commit each CREATE TABLE by itself): a failure before the stamp leaves no table, and the
    next upgrade creates the database whole."""
    from sqlalchemy import event

    engine = database_factory.engine(database_factory.new(migrated=False))

    def fail_the_first_row(conn, cursor, statement, parameters, context, executemany):
        if statement.startswith("INSERT INTO data_version"):
            raise RuntimeError("killed halfway")

    event.listen(engine, "before_cursor_execute", fail_the_first_row)
    with pytest.raises(RuntimeError, match="killed halfway"):
        upgrade(engine)
    event.remove(engine, "before_cursor_execute", fail_the_first_row)
    assert tables(engine) == set()
    upgrade(engine)
    assert current_revision(engine) == head_revision()
    assert tables(engine) == set(Base.metadata.tables) | {"alembic_version"}


def test_the_head_read_from_the_scripts_skips_what_alembic_skips(tmp_path, monkeypatch):
    """An editor's lock file (`.#name.py`, a dangling link) among the scripts is not read, as
    Alembic does not read it."""
    import shutil

    from app.ops import migrate

    copy = tmp_path / "migrations"
    shutil.copytree(REPO_ROOT / "migrations", copy)
    (copy / "versions" / ".#20261130_5a1e8c3d2f70_exact_pound_parts.py").symlink_to(
        tmp_path / "nowhere")
    monkeypatch.setattr(migrate, "project_dir", lambda name: tmp_path / name)
    assert migrate.script_head() == head_revision()


def test_the_head_read_from_the_scripts_is_alembics():
    """upgrade's quick check reads the head from the scripts' assignments: the same as Alembic's."""
    assert script_head() == head_revision() is not None


def test_upgrade_of_a_database_at_head_imports_no_alembic_and_one_behind_is_upgraded(
        database_url):
    """At head, `upgrade` only reads the version table (Alembic is not even imported); a database
    one revision behind, or with no schema, is still migrated by Alembic."""
    import subprocess
    import sys

    probe = ("import sys; from app.db import make_sync_engine, database_urls; "
             "from app.ops.migrate import upgrade; "
             f"upgrade(make_sync_engine(database_urls({database_url!r}))); "
             "print(sorted(m for m in sys.modules if m.split('.')[0] in ('alembic', 'mako')))")
    ran = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         cwd=REPO_ROOT, timeout=120)
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.strip() == "[]"

    from app.db import database_urls, make_sync_engine

    engine = make_sync_engine(database_urls(database_url))
    try:
        downgrade(engine, "-1")
        assert current_revision(engine) not in (None, head_revision())
        upgrade(engine)
        assert current_revision(engine) == head_revision()
        check(engine)
        downgrade(engine, "base")
        upgrade(engine)
        assert current_revision(engine) == head_revision()
        assert tables(engine) == set(Base.metadata.tables) | {"alembic_version"}
    finally:
        engine.dispose()


def test_alembic_command_upgrades_and_checks_from_pyproject(database_factory, run_cli):
    """The real `alembic` CLI, configured by [tool.alembic] in pyproject.toml, DATABASE_URL env."""
    url = database_factory.new(migrated=False)

    def alembic(*args: str):
        return run_cli(args, database_url=url, cwd=REPO_ROOT, program="alembic")

    upgraded = alembic("upgrade", "head")
    assert upgraded.returncode == 0, upgraded.stderr
    checked = alembic("check")
    assert checked.returncode == 0, checked.stderr
    assert "No new upgrade operations detected" in checked.stdout + checked.stderr
    engine = database_factory.engine(url)
    assert current_revision(engine) == head_revision()
    assert tables(engine) == set(Base.metadata.tables) | {"alembic_version"}


def _pound_parts(engine) -> tuple[list, list]:
    with engine.connect() as conn:
        facts = conn.execute(text(
            "SELECT id, quantity_lbs, quantity_ulbs, quantity_lbs_rest FROM seizure ORDER BY id")).all()
        rollups = conn.execute(text(
            "SELECT id, quantity_ulbs, quantity_lbs_rest FROM seizure_rollup ORDER BY id")).all()
    return facts, rollups


def test_the_exact_pound_parts_migration_fills_loaded_rows_as_the_ingest_does(empty_engine, data_dir):
    """A database loaded before the parts existed gets, from the migration, the parts the ingest
    writes: each fact's from its pounds, each rollup's as the sum of its current facts', and
    moves the data version on."""
    ingest_paths(empty_engine, [str(data_dir / name) for name in
                                ("cbp-drug-seizures-fy20-fy23.csv", "cbp-drug-seizures-fy23-fy26-dec.csv")])
    facts, rollups = _pound_parts(empty_engine)
    assert len(facts) > 10_000 and len(rollups) > 1_000
    with empty_engine.connect() as conn:
        assert conn.scalar(text("SELECT count(*) FROM seizure WHERE NOT is_current")) > 0
        version = conn.scalar(select(DataVersion.version))
    assert all((h, r) == split(lbs) and h >= 0 and 0 <= r <= 10**12 for _, lbs, h, r in facts)
    downgrade(empty_engine, "7c5e2d41a9b3")
    with empty_engine.connect() as conn:
        assert "quantity_ulbs" not in {c["name"] for c in inspect(conn).get_columns("seizure")}
    upgrade(empty_engine)
    check(empty_engine)
    assert _pound_parts(empty_engine) == (facts, rollups)
    # Totals may differ in their 10th digit from the float sums served before: every ETag moves.
    with empty_engine.connect() as conn:
        assert conn.scalar(select(DataVersion.version)) == version + 1
