"""Least privilege (issue 11, item 3): `borderstats db grant` makes a read-only role for the API and
a writer for ingest, idempotently, on a real Postgres; the reader can SELECT and nothing else, the
writer can load files but not change the schema."""

from __future__ import annotations

import csv
import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from tests.conftest import BIN_DIR, PostgresServer, engine_for

US_DEATHS = "cdc-overdose-deaths-us-2011-2021.csv"
DRUG_DEATHS = "cdc-overdose-deaths-us-by-drug-1999-2021.csv"


def grant(url: str, reader: str, writer: str, *, passwords: bool = True,
          cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items()
           if k != "DATABASE_URL" and not k.startswith("BORDERSTATS_")}
    env["DATABASE_URL"] = url
    if passwords:
        env |= {"BORDERSTATS_READER_PASSWORD": "r-" + uuid.uuid4().hex,
                "BORDERSTATS_WRITER_PASSWORD": "w-" + uuid.uuid4().hex}
    return subprocess.run([str(BIN_DIR / "borderstats"), "db", "grant", "--reader", reader,
                           "--writer", writer], env=env, cwd=cwd, capture_output=True, text=True,
                          timeout=60)


def as_role(url: str, role: str) -> str:
    return make_url(url).set(username=role, password=None).render_as_string(hide_password=False)


@pytest.fixture
def granted(postgres_server: PostgresServer, data_dir: Path, tmp_path: Path) -> Iterator[dict[str, str]]:
    """A migrated database holding the US deaths file, with fresh reader and writer roles."""
    from app.ingest.load import ingest_paths

    url = postgres_server.create()
    engine = engine_for(url)
    ingest_paths(engine, [str(data_dir / US_DEATHS)])
    engine.dispose()
    suffix = uuid.uuid4().hex[:10]
    roles = {"url": url, "reader": f"bs_reader_{suffix}", "writer": f"bs_writer_{suffix}"}
    first = grant(url, roles["reader"], roles["writer"], cwd=tmp_path)
    again = grant(url, roles["reader"], roles["writer"], cwd=tmp_path)  # idempotent
    assert (first.returncode, again.returncode) == (0, 0), first.stderr + again.stderr
    yield roles
    postgres_server.drop(url)
    with postgres_server.admin.connect() as conn:
        for role in (roles["reader"], roles["writer"]):
            conn.execute(text(f'DROP ROLE IF EXISTS "{role}"'))


def csv_rows(path: Path) -> int:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        return sum(1 for row in csv.DictReader(handle) if any(v.strip() for v in row.values()))


def test_the_reader_selects_and_cannot_write(granted: dict[str, str], data_dir: Path) -> None:
    owner = create_engine(granted["url"])
    reader = create_engine(as_role(granted["url"], granted["reader"]))
    try:
        count = text("SELECT count(*) FROM overdose_death d JOIN release r ON r.id = d.release_id "
                     "WHERE r.file_name = :name").bindparams(name=US_DEATHS)
        with reader.connect() as conn:
            assert conn.execute(count).scalar_one() == csv_rows(data_dir / US_DEATHS)
        # read-only by default, and refused by privilege even in a read-write transaction
        for setup, refused in (("", "read-only transaction"),
                               ("SET TRANSACTION READ WRITE; ",
                                "permission denied")):
            for statement in ("DELETE FROM overdose_death", "UPDATE data_version SET version = 0",
                              "CREATE TABLE intruder (id int)"):
                with reader.connect() as conn, pytest.raises(DBAPIError) as caught:
                    conn.exec_driver_sql(setup + statement)
                assert refused in str(caught.value.orig), statement
    finally:
        owner.dispose()
        reader.dispose()


def test_a_table_a_later_migration_creates_is_readable_by_the_reader(granted: dict[str, str]) -> None:
    owner = create_engine(granted["url"])
    reader = create_engine(as_role(granted["url"], granted["reader"]))
    try:
        with owner.begin() as conn:
            conn.execute(text("CREATE TABLE later_table (id int)"))
            conn.execute(text("INSERT INTO later_table VALUES (7)"))
        with reader.connect() as conn:
            assert conn.execute(text("SELECT id FROM later_table")).scalar_one() == 7
    finally:
        owner.dispose()
        reader.dispose()


def test_the_writer_ingests_but_cannot_change_the_schema(granted: dict[str, str], data_dir: Path,
                                                         tmp_path: Path) -> None:
    writer_url = as_role(granted["url"], granted["writer"])
    env = {k: v for k, v in os.environ.items() if not k.startswith("BORDERSTATS_")}
    result = subprocess.run([str(BIN_DIR / "borderstats"), "ingest", "-q", str(data_dir / DRUG_DEATHS)],
                            env={**env, "DATABASE_URL": writer_url}, cwd=tmp_path,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"{DRUG_DEATHS}: overdose_deaths")
    writer = create_engine(writer_url)
    try:
        with writer.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM release")).scalar_one() >= 2
        for statement in ("CREATE TABLE intruder (id int)", "DROP TABLE overdose_death",
                          "ALTER TABLE overdose_death ADD COLUMN x int"):
            with writer.connect() as conn, pytest.raises(DBAPIError) as caught:
                conn.exec_driver_sql(statement)
            assert "permission denied" in str(caught.value.orig) or "must be owner" in str(
                caught.value.orig), statement
    finally:
        writer.dispose()


def test_grant_refuses_to_make_roles_without_passwords(postgres_server: PostgresServer,
                                                       tmp_path: Path) -> None:
    url = postgres_server.create()
    result = grant(url, "bs_reader_unused", "bs_writer_unused", passwords=False, cwd=tmp_path)
    postgres_server.drop(url)
    assert result.returncode == 2
    assert result.stderr == ("borderstats: set BORDERSTATS_READER_PASSWORD and "
                             "BORDERSTATS_WRITER_PASSWORD: the roles get no default password\n")


def test_grant_on_sqlite_is_a_usage_error(tmp_path: Path) -> None:
    result = grant(f"sqlite:///{tmp_path / 'x.db'}", "r", "w", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr == "borderstats: database roles exist only on Postgres; SQLite has no users\n"
