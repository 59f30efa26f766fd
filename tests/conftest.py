"""Shared fixtures: every database test runs on SQLite and on Postgres.

Postgres runs when TEST_DATABASE_URL names a server (postgresql://user@host:5432/db); the tests create
throwaway databases there (bs_test_<random>, cloned from a migrated template) and drop them at the
end. Unset, the Postgres params are skipped with one line saying how to enable them; with
BORDERSTATS_REQUIRE_POSTGRES=1 a missing or unreachable server is a failure instead.

Fixtures for any test:
  backend              "sqlite" or "postgres" (session-scoped parameter)
  data_dir, data_files the official files in ../shared/data (never copied into the project)
  database_url         a fresh, migrated, empty database for the backend (plain URL string)
  empty_engine         a sync engine on database_url
  database_factory     more fresh databases in one test: .new(migrated=True) -> URL, .engine(url)
  loaded_url           session-scoped, READ-ONLY: every official file ingested (the real ingest);
                       on Postgres it connects as a SELECT-only role made by `app.ops.roles` (the
                       role the API uses in production), so a read side that tried to write fails;
                       BORDERSTATS_TEST_READ_ROLE=0 connects as the owner instead
  loaded_engine        a sync engine on loaded_url
  db_state             db_state(engine) -> counts and sums of every table, to assert "unchanged"
  run_cli              run_cli(args, database_url=..., cwd=..., program="borderstats"|"alembic")
  spawn_cli            spawn_cli(args, database_url=...) -> Popen of `borderstats` (not waited for)
"""

from __future__ import annotations

import gc
import logging
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import Engine, case, create_engine, func, select, text
from sqlalchemy.engine import make_url

from app.db import database_urls, make_sync_engine
from app.models import (
    Area,
    DataVersion,
    Drug,
    Encounter,
    OverdoseDeath,
    Release,
    ReleasePeriod,
    Seizure,
    SeizureEvent,
    State,
)
from app.ops.cli import STARTUP_GC_THRESHOLDS
from app.ops.migrate import upgrade

# A test process holds the app, its fixtures and their data live, as a command does: the same
# collector thresholds as the commands start with (app.ops.cli), ~5-10 % less CPU for the suite.
gc.set_threshold(*STARTUP_GC_THRESHOLDS)

DATA_DIR = Path(__file__).resolve().parents[2] / "shared" / "data"
# BORDERSTATS_TEST_BACKENDS=postgres runs the Postgres params only (the read-only role pass).
BACKENDS = tuple(os.environ.get("BORDERSTATS_TEST_BACKENDS", "sqlite,postgres").split(","))
READ_ROLE_ENV = "BORDERSTATS_TEST_READ_ROLE"
PG_ENV = "TEST_DATABASE_URL"
REQUIRE_ENV = "BORDERSTATS_REQUIRE_POSTGRES"
PG_HINT = "Postgres runs skipped: set TEST_DATABASE_URL=postgresql://user@host:5432/db to run them"
BIN_DIR = Path(sys.executable).parent

# Fact tables and the measures summed when checking that a database did not change.
FACT_MEASURES = {
    Seizure: ("event_count", "quantity_lbs"),
    Encounter: ("encounter_count",),
    OverdoseDeath: ("deaths", "rate"),
}


def official_files(directory: Path) -> list[Path]:
    """The files `borderstats seed build` reads: every .csv and .xlsx, sorted by name."""
    return sorted(p for p in directory.glob("*") if p.suffix.lower() in {".csv", ".xlsx"})


# --- Postgres server -----------------------------------------------------------------------------

class PostgresServer:
    """Creates and drops throwaway databases on the server TEST_DATABASE_URL names."""

    def __init__(self, raw_url: str):
        base = make_url(database_urls(raw_url).sync.render_as_string(hide_password=False))
        self.base = base.set(drivername="postgresql")
        self.admin = create_engine(
            base, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 5}
        )
        with self.admin.connect() as conn:
            version = conn.execute(text("SHOW server_version_num")).scalar_one()
        # Postgres 15 clones a template by writing each of its blocks to the WAL (0.25 s and
        # 0.23 s of server CPU a clone of the migrated template here); FILE_COPY copies its files
        # after a checkpoint (0.07 s, 0.03 s of CPU), and a clone of a test template needs no WAL.
        self.strategy = " STRATEGY FILE_COPY" if int(version) >= 150000 else ""
        self.created: list[str] = []
        self.template: str | None = None
        # The next migrated database, being cloned in the background while a test runs: cloning
        # waits on the server's disk (~0.3 s here), ~25 s of the suite when tests waited for it.
        self._spares = ThreadPoolExecutor(max_workers=1, thread_name_prefix="spare-database")
        self._spare: tuple[str, Future[None]] | None = None
        self.loaded: SharedLoaded | None = None

    def url(self, name: str) -> str:
        return self.base.set(database=name).render_as_string(hide_password=False)

    def create(self, *, migrated: bool = True) -> str:
        if migrated and self.template is None:
            template = self._new_name("bs_tpl_")
            self.created.append(template)
            self._execute(f'CREATE DATABASE "{template}"{self.strategy}')
            engine = make_sync_engine(database_urls(self.url(template)))
            try:
                upgrade(engine)
            finally:
                engine.dispose()
            self.template = template  # only once migrated: never clone a half-migrated one
        if not migrated:
            name = self._new_name("bs_test_")
            self.created.append(name)
            self._execute(f'CREATE DATABASE "{name}"{self.strategy}')
            return self.url(name)
        # Taken before waiting: a clone that failed is not handed out again by the next call.
        spare, self._spare = self._spare, None
        name, cloned = spare or self._clone()
        cloned.result()
        self._spare = self._clone()
        return self.url(name)

    def _clone(self) -> tuple[str, Future[None]]:
        """Start cloning the migrated template into a new database (dropped by `close`)."""
        name = self._new_name("bs_test_")
        self.created.append(name)
        return name, self._spares.submit(
            self._execute, f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"{self.strategy}')

    def drop(self, url: str) -> None:
        name = make_url(url).database
        self._execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if name in self.created:
            self.created.remove(name)

    def close(self) -> None:
        self._spares.shutdown(wait=True)
        loaded, self.loaded = self.loaded, None
        try:
            if loaded is not None:
                loaded.finish(self)
        finally:
            self._drop_all()

    def _drop_all(self) -> None:
        for name in reversed(list(self.created)):
            self._execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self.created.clear()
        self.admin.dispose()

    @staticmethod
    def _new_name(prefix: str) -> str:
        return prefix + uuid.uuid4().hex[:12]

    def _execute(self, sql: str) -> None:
        with self.admin.connect() as conn:
            conn.execute(text(sql))


class SqliteFiles:
    """Throwaway SQLite database files under one session directory."""

    def __init__(self, root: Path):
        self.root = root
        self.template: Path | None = None
        self.loaded: SharedLoaded | None = None

    def create(self, *, migrated: bool = True) -> str:
        path = self.root / f"bs_test_{uuid.uuid4().hex[:12]}.db"
        if migrated:
            # Migrate once per session, then copy the file (as Postgres clones a template database).
            if self.template is None:
                template = self.root / "bs_template.db"
                engine = make_sync_engine(database_urls(f"sqlite:///{template}"))
                try:
                    upgrade(engine)
                finally:
                    engine.dispose()
                self.template = template
            for suffix in ("", "-wal"):
                source = Path(f"{self.template}{suffix}")
                if source.exists():
                    shutil.copyfile(source, f"{path}{suffix}")
        return f"sqlite:///{path}"

    def drop(self, url: str) -> None:
        path = Path(make_url(url).database)
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)

    def close(self) -> None:
        loaded, self.loaded = self.loaded, None
        try:
            if loaded is not None:
                loaded.finish(self)
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


def pytest_collection_finish(session: pytest.Session) -> None:
    """Leave what collection made (modules, test items: alive to the end) out of the garbage
    collector's full collections: over the suite, 6.5 -> 3.9 s of full collections (4 processes,
    gc callbacks), the collector's time 20 -> 14 s."""
    gc.collect()
    gc.freeze()


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int | None:
    """`-n auto`: one test process more than the cores this process may use (pyproject caps it at
    4). Tests often wait (on the database's disk, a subprocess's sleep, the browser), and a spare
    process keeps the cores busy meanwhile: on 2 cores, 188-200 s with 2 processes, 168-183 s with
    3 (three runs each). PYTEST_XDIST_AUTO_NUM_WORKERS, when set, decides instead (None: xdist's
    own rule reads it)."""
    if os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS"):
        return None
    return len(os.sched_getaffinity(0)) + 1


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):
    """Fold every "Postgres runs skipped" (and "browser tests skipped") into one summary line each."""
    report = yield
    if report.skipped and isinstance(report.longrepr, tuple) and len(report.longrepr) == 3:
        reason = str(report.longrepr[2])
        if "Postgres runs skipped" in reason or "browser tests skipped" in reason:
            report.longrepr = (__file__, None, reason)
    return report


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """The Postgres server of TEST_DATABASE_URL; skip (or fail, if required) without one."""
    raw = os.environ.get(PG_ENV, "").strip()
    required = os.environ.get(REQUIRE_ENV, "").strip() not in {"", "0", "false", "no"}
    if not raw:
        if required:
            pytest.fail(f"{REQUIRE_ENV}=1 but {PG_ENV} is not set; "
                        f"set {PG_ENV}=postgresql://user@host:5432/db", pytrace=False)
        pytest.skip(PG_HINT)
    try:
        server = PostgresServer(raw)
    except Exception as exc:
        reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
        safe = make_url(raw).render_as_string(hide_password=True)
        message = f"{PG_ENV}={safe} is unreachable: {reason}"
        if required:
            pytest.fail(f"{REQUIRE_ENV}=1 and {message}", pytrace=False)
        pytest.skip(f"Postgres runs skipped: {message}")
    yield server
    server.close()


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """Each database test runs once per backend: "sqlite", then "postgres"."""
    if request.param == "postgres":
        request.getfixturevalue("postgres_server")
    return request.param


@pytest.fixture(scope="session")
def _sqlite_files(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SqliteFiles]:
    files = SqliteFiles(tmp_path_factory.mktemp("sqlite-dbs"))
    yield files
    files.close()


@pytest.fixture(scope="session")
def _databases(backend: str, request: pytest.FixtureRequest) -> PostgresServer | SqliteFiles:
    """The backend's maker of databases. Each lives as long as the test process: pytest tears a
    parametrized session fixture down whenever the order of tests switches backend (dozens of
    times a process under xdist), so what must survive a switch (templates, the shared loaded
    database) is kept by fixtures that do not depend on `backend`."""
    return request.getfixturevalue("postgres_server" if backend == "postgres" else "_sqlite_files")


class DatabaseFactory:
    """Fresh databases for one test, dropped when the test ends."""

    def __init__(self, backend: str, maker: PostgresServer | SqliteFiles):
        self.backend = backend
        self._maker = maker
        self._urls: list[str] = []
        self._engines: list[Engine] = []

    def new(self, *, migrated: bool = True) -> str:
        """A fresh database (migrated to head unless migrated=False): its plain URL."""
        url = self._maker.create(migrated=migrated)
        self._urls.append(url)
        return url

    def engine(self, url: str | None = None) -> Engine:
        """A sync engine on `url` (default: a new migrated database), disposed at the end."""
        engine = engine_for(url or self.new())
        self._engines.append(engine)
        return engine

    def close(self) -> None:
        for engine in self._engines:
            engine.dispose()
        for url in reversed(self._urls):
            self._maker.drop(url)
        self._urls.clear()


@pytest.fixture
def database_factory(backend: str, _databases) -> Iterator[DatabaseFactory]:
    factory = DatabaseFactory(backend, _databases)
    yield factory
    factory.close()


@pytest.fixture
def database_url(database_factory: DatabaseFactory) -> str:
    """A fresh, migrated, empty database for this test, as a plain URL string."""
    return database_factory.new()


def engine_for(url: str) -> Engine:
    return make_sync_engine(database_urls(url))


@pytest.fixture
def empty_engine(database_url: str) -> Iterator[Engine]:
    engine = engine_for(database_url)
    yield engine
    engine.dispose()


# --- official data ---------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def data_dir() -> Path:
    """../shared/data beside the repository: the official files (read in place, never copied)."""
    if not DATA_DIR.is_dir() or not official_files(DATA_DIR):
        pytest.skip(f"official data files not found in {DATA_DIR} (see ../shared/data/SOURCES.md)")
    return DATA_DIR


@pytest.fixture(scope="session")
def data_files(data_dir: Path) -> list[Path]:
    return official_files(data_dir)


@pytest.fixture(scope="session")
def loaded_url(backend: str, _databases: PostgresServer | SqliteFiles,
               data_files: list[Path]) -> str:
    """A database holding every official file, ingested by the real ingest. Shared: READ-ONLY.
    Made once per test process and backend; checked unchanged when the process ends."""
    if _databases.loaded is None:
        _databases.loaded = SharedLoaded(_databases, backend, data_files)
    return _databases.loaded.url


class SharedLoaded:
    """The loaded database of one backend, shared read-only by every test of a process."""

    def __init__(self, maker: PostgresServer | SqliteFiles, backend: str, data_files: list[Path]):
        from app.ingest.load import ingest_paths

        self.owner_url = maker.create()
        engine = engine_for(self.owner_url)
        try:
            ingest_paths(engine, [str(p) for p in data_files])
            self.before = database_state(engine)
            self.roles = (_select_only_role(engine)
                          if read_role_requested() and backend == "postgres" else None)
        finally:
            engine.dispose()
        self.url = (make_url(self.owner_url).set(username=self.roles[0])
                    .render_as_string(hide_password=False) if self.roles else self.owner_url)

    def finish(self, maker: PostgresServer | SqliteFiles) -> None:
        """Drop it (and its roles, which outlive a database), then fail if a test wrote to it.
        Checked once, when the process ends: a write shows as an error of that process's last
        test, whichever file it is in (look for the tests that wrote through loaded_url)."""
        try:
            engine = engine_for(self.owner_url)
            try:
                after = database_state(engine)
            finally:
                engine.dispose()
            maker.drop(self.owner_url)
        finally:
            if self.roles:
                with maker.admin.connect() as conn:
                    for role in self.roles:
                        conn.execute(text(f'DROP ROLE IF EXISTS "{role}"'))
        assert after == self.before, "a test wrote to the shared read-only loaded_url database"


def read_role_requested() -> bool:
    """The shared loaded database is read through a SELECT-only role unless turned off."""
    return os.environ.get(READ_ROLE_ENV, "1").strip() not in {"0", "false", "no"}


def _select_only_role(engine: Engine) -> tuple[str, str]:
    """Make a SELECT-only role (and its unused writer twin) on the engine's database."""
    from app.ops.roles import RoleSpec, grant_roles

    suffix = uuid.uuid4().hex[:12]
    reader, writer = f"bs_test_ro_{suffix}", f"bs_test_rw_{suffix}"
    grant_roles(engine, reader=RoleSpec(reader, uuid.uuid4().hex),
                writer=RoleSpec(writer, uuid.uuid4().hex))
    return reader, writer


@pytest.fixture(scope="session")
def loaded_engine(loaded_url: str) -> Iterator[Engine]:
    engine = engine_for(loaded_url)
    yield engine
    engine.dispose()


# --- helpers shared as fixtures --------------------------------------------------------------------

def database_state(engine: Engine) -> dict[str, object]:
    """Row counts, sums of every measure and of currency flags, releases and reference counts."""
    state: dict[str, object] = {}
    with engine.connect() as conn:
        for model, measures in FACT_MEASURES.items():
            table = model.__table__
            row = conn.execute(select(
                func.count(),
                *(func.coalesce(func.sum(table.c[m]), 0) for m in measures),
                func.coalesce(func.sum(table.c.release_id), 0),
                func.coalesce(func.sum(case((table.c.is_current.is_(True), 1), else_=0)), 0),
            ).select_from(table)).one()
            state[table.name] = tuple(round(float(v), 6) for v in row)
        state["release"] = tuple(conn.execute(
            select(func.count(), func.coalesce(func.sum(Release.row_count), 0))
        ).one())
        state["release_period"] = tuple(conn.execute(select(
            func.count(),
            func.coalesce(func.sum(case((ReleasePeriod.is_current.is_(True), 1), else_=0)), 0),
        )).one())
        for model in (Area, Drug, State, SeizureEvent):
            state[model.__tablename__] = conn.execute(
                select(func.count()).select_from(model)
            ).scalar_one()
        state["data_version"] = conn.execute(
            select(DataVersion.version).where(DataVersion.id == 1)
        ).scalar_one_or_none()
    return state


@pytest.fixture
def db_state() -> Callable[[Engine], dict[str, object]]:
    """db_state(engine): a snapshot to compare before/after (counts, sums, releases, version)."""
    return database_state


def cli_env(database_url: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k != "DATABASE_URL" and not k.startswith("BORDERSTATS_")}
    if database_url:
        env["DATABASE_URL"] = database_url
    return env


def borderstats_command() -> list[str]:
    script = BIN_DIR / "borderstats"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from app.ops.cli import main; main()"]


@pytest.fixture
def run_cli(tmp_path: Path) -> Callable[..., subprocess.CompletedProcess[str]]:
    """run_cli(args, database_url=..., cwd=..., program=...): a real command in a subprocess.

    program "borderstats" (default) or "alembic", from the virtualenv running the tests; the
    environment is the test's minus DATABASE_URL / BORDERSTATS_*, plus DATABASE_URL=database_url.
    """

    def run(args: Sequence[str], *, database_url: str | None, cwd: Path | None = None,
            program: str = "borderstats", timeout: float = 120) -> subprocess.CompletedProcess[str]:
        command = borderstats_command() if program == "borderstats" else [str(BIN_DIR / program)]
        return subprocess.run(
            [*command, *map(str, args)], cwd=cwd or tmp_path,
            env=cli_env(database_url), capture_output=True, text=True, timeout=timeout,
        )

    return run


def invoke_in_process(args: Sequence[str], *, env: dict[str, str] | None, cwd: Path,
                      monkeypatch: pytest.MonkeyPatch) -> subprocess.CompletedProcess[str]:
    """`borderstats ARGS` in this process with Typer's CliRunner, as in a new process: only the
    given settings (every DATABASE_URL / BORDERSTATS_* of the test run unset, the settings cache
    cleared around the run), no log handler an earlier test installed, in `cwd`."""
    from typer.testing import CliRunner

    from app.config import get_settings
    from app.ops.cli import cli

    unset = {k: None for k in os.environ if k == "DATABASE_URL" or k.startswith("BORDERSTATS_")}
    monkeypatch.chdir(cwd)
    get_settings.cache_clear()
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    root.handlers, root.level = [], logging.WARNING  # alembic logs at INFO
    try:
        result = CliRunner().invoke(cli, [str(a) for a in args],
                                    env={**unset, "COLUMNS": "120", **(env or {})},
                                    catch_exceptions=False)
    finally:
        get_settings.cache_clear()
        root.handlers, root.level = handlers, level
    return subprocess.CompletedProcess(list(args), result.exit_code, result.stdout, result.stderr)


@pytest.fixture
def run_cli_in_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                       ) -> Callable[..., subprocess.CompletedProcess[str]]:
    """run_cli's call, in this process (invoke_in_process): for tests of what a command does
    and says, where the process boundary is not the point (~0.7 s of start-up a call saved)."""

    def run(args: Sequence[str], *, database_url: str | None,
            cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
        env = {"DATABASE_URL": database_url} if database_url else None
        return invoke_in_process(args, env=env, cwd=cwd or tmp_path, monkeypatch=monkeypatch)

    return run


@pytest.fixture
def spawn_cli(tmp_path: Path) -> Callable[..., subprocess.Popen[bytes]]:
    """spawn_cli(args, database_url=...): start `borderstats` without waiting (stdout discarded)."""

    def spawn(args: Sequence[str], *, database_url: str | None) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [*borderstats_command(), *map(str, args)], cwd=tmp_path, env=cli_env(database_url),
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )

    return spawn
