"""The `borderstats` command: complete help, meaningful exit codes, one-line reasons, serve end to end."""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import typer.main
from conftest import borderstats_command, cli_env, invoke_in_process

from app.ingest import rollups
from app.ops.cli import cli
from app.ops.migrate import head_revision

UNREACHABLE = "postgresql://postgres@127.0.0.1:1/x"

Run = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def borderstats(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Run:
    """borderstats(*args, env={...}): the command run in-process with Typer's CliRunner, with only
    the given settings, in a scratch directory (conftest.invoke_in_process)."""

    def run(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None,
            timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return invoke_in_process(args, env=env, cwd=cwd or tmp_path, monkeypatch=monkeypatch)

    return run


@pytest.fixture
def borderstats_process(tmp_path: Path) -> Run:
    """The real command in its own process: where the process boundary is the point (start-up,
    what reaches the terminal)."""

    def run(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None,
            timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*borderstats_command(), *args],
                              env={**cli_env(None), "COLUMNS": "120", **(env or {})},
                              cwd=cwd or tmp_path, capture_output=True, text=True, timeout=timeout)

    return run


def one_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, f"expected one line on stderr, got: {stderr!r}"
    assert lines[0].startswith("borderstats: ")
    return lines[0]


# --- help ---------------------------------------------------------------------------------------

def _commands(command, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], object]]:
    yield path, command
    for name, sub in getattr(command, "commands", {}).items():
        yield from _commands(sub, (*path, name))


ALL_COMMANDS = [path for path, _ in _commands(typer.main.get_command(cli))]


def test_every_command_and_option_has_help_text() -> None:
    for path, command in _commands(typer.main.get_command(cli)):
        name = " ".join(("borderstats", *path))
        assert (command.help or "").strip(), f"{name} has no help text"
        for param in command.params:
            assert (getattr(param, "help", None) or "").strip(), f"{name} {param.name}: no help"


@pytest.mark.parametrize("path", ALL_COMMANDS, ids=lambda p: " ".join(p) or "borderstats")
def test_help_of_every_command_exits_0(borderstats: Run, path: tuple[str, ...]) -> None:
    result = borderstats(*path, "--help")
    assert result.returncode == 0, result.stderr
    assert "Usage: borderstats" in result.stdout
    assert result.stderr == ""


def test_top_level_help_lists_commands_database_and_exit_codes(borderstats_process: Run) -> None:
    out = borderstats_process("--help").stdout
    for word in ("serve", "ingest", "db", "seed", "DATABASE_URL", "BORDERSTATS_SQLITE_PATH",
                 "Exit codes"):
        assert word in out


def test_serve_help_names_host_port_workers_and_their_variables(borderstats: Run) -> None:
    out = borderstats("serve", "--help").stdout
    for word in ("--host", "--port", "--workers", "BORDERSTATS_HOST", "BORDERSTATS_PORT",
                 "BORDERSTATS_WORKERS", "--no-seed"):
        assert word in out


# --- exit codes ---------------------------------------------------------------------------------

@pytest.mark.parametrize("args", [
    ("db", "upgrade"), ("db", "current"), ("db", "check"), ("seed", "load"),
    ("seed", "load", "--if-empty"), ("ingest", "any.csv"), ("serve", "--port", "1"),
], ids=" ".join)
def test_unreachable_database_exits_3_with_one_line(borderstats: Run, args: tuple[str, ...]) -> None:
    result = borderstats(*args, env={"DATABASE_URL": UNREACHABLE}, timeout=60)
    assert result.returncode == 3
    assert one_line(result.stderr).startswith("borderstats: cannot reach the database ")


def test_database_password_never_printed(borderstats_process: Run) -> None:
    result = borderstats_process("db", "upgrade",
                                 env={"DATABASE_URL": "postgresql://bs:s3cret@127.0.0.1:1/x"})
    assert result.returncode == 3
    assert "s3cret" not in result.stderr + result.stdout
    assert "bs:***@127.0.0.1" in one_line(result.stderr)


@pytest.mark.parametrize("url", ["mysql://u@localhost/db", "not a url", "sqlite://"])
def test_bad_database_url_exits_2_with_one_line(borderstats: Run, url: str) -> None:
    result = borderstats("db", "current", env={"DATABASE_URL": url})
    assert result.returncode == 2
    line = one_line(result.stderr)
    assert "sqlite:///" in line


@pytest.mark.parametrize("url", ["mysql://u@localhost/db", "not a url"])
def test_ingest_with_a_bad_database_url_exits_2_before_reading_a_file(borderstats: Run,
                                                                      url: str) -> None:
    result = borderstats("ingest", "no-such-file.csv", env={"DATABASE_URL": url})
    assert result.returncode == 2
    line = one_line(result.stderr)
    assert "sqlite:///" in line and "no-such-file" not in line


@pytest.mark.parametrize("variable, value", [
    ("BORDERSTATS_POOL_SIZE", "many"), ("BORDERSTATS_LOG_FORMAT", "xml"),
    ("BORDERSTATS_LOG_LEVEL", "loud"), ("BORDERSTATS_PORT", "0"),
])
def test_invalid_setting_exits_2_naming_it(borderstats: Run, variable: str, value: str) -> None:
    result = borderstats("db", "current", env={variable: value})
    assert result.returncode == 2
    assert variable in one_line(result.stderr)


def test_wrong_usage_exits_2(borderstats: Run) -> None:
    assert borderstats("db", "nosuch").returncode == 2
    assert borderstats("serve", "--port", "eighty").returncode == 2


def test_seed_load_twice_refuses_the_second_and_if_empty_succeeds(
        borderstats: Run, database_factory) -> None:
    url = database_factory.new(migrated=False)
    first = borderstats("seed", "load", env={"DATABASE_URL": url})
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith("loaded 12 releases")  # 11 files + seed NCHS figures
    second = borderstats("seed", "load", env={"DATABASE_URL": url})
    assert second.returncode == 1
    assert "already holds releases" in one_line(second.stderr)
    again = borderstats("seed", "load", "--if-empty", env={"DATABASE_URL": url})
    assert again.returncode == 0, again.stderr
    assert again.stdout.strip() == "the database already holds releases; nothing loaded"


def test_seed_load_if_empty_loads_an_empty_database(borderstats: Run, database_factory) -> None:
    url = database_factory.new()
    result = borderstats("seed", "load", "--if-empty", env={"DATABASE_URL": url})
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("loaded 12 releases")  # 11 files + seed NCHS figures


def test_db_current_upgrade_check_on_a_new_database(borderstats: Run, database_factory) -> None:
    env = {"DATABASE_URL": database_factory.new(migrated=False)}
    head = head_revision()
    before = borderstats("db", "current", env=env)
    assert (before.returncode, before.stdout.strip()) == (0, f"database: (empty); latest: {head}")
    unmigrated = borderstats("db", "check", env=env)
    assert unmigrated.returncode == 1
    one_line(unmigrated.stderr)
    upgrade = borderstats("db", "upgrade", env=env)
    assert upgrade.returncode == 0, upgrade.stderr
    assert upgrade.stdout.startswith("schema at head on ")
    assert "rollups" not in upgrade.stdout  # no data: none to write
    after = borderstats("db", "current", env=env)
    assert after.stdout.strip() == f"database: {head}; latest: {head}"
    check = borderstats("db", "check", env=env)
    assert check.returncode == 0, check.stderr
    assert check.stdout.strip().splitlines()[-1] == "schema matches the models"


def test_db_upgrade_writes_the_rollups_the_data_do_not_have(borderstats: Run, database_url: str,
                                                             empty_engine) -> None:
    """A start that loaded the facts and was stopped before the rollups (or a rollup a later
    release declares): `db upgrade`, the deploy's migration step, writes them."""
    from app.ingest import snapshot
    from app.paths import project_dir

    snapshot.load(empty_engine, project_dir("seed") / "snapshot", with_rollups=False)
    upgrade = borderstats("db", "upgrade", env=cli_env(database_url))
    assert upgrade.returncode == 0, upgrade.stderr
    assert upgrade.stdout.splitlines()[-1] == "wrote the rollups of seizures, encounters"
    with empty_engine.connect() as conn:
        assert rollups.incomplete(conn) == []
    again = borderstats("db", "upgrade", env=cli_env(database_url))
    assert "rollups" not in again.stdout


def test_embedded_sqlite_path_is_configurable(borderstats: Run, tmp_path: Path) -> None:
    path = tmp_path / "elsewhere" / "bs.db"
    result = borderstats("db", "upgrade", env={"BORDERSTATS_SQLITE_PATH": str(path)})
    assert result.returncode == 0, result.stderr
    assert path.is_file()
    assert not (tmp_path / ".borderstats").exists()


# --- serve --------------------------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return 0, b""


def test_serve_with_no_configuration_migrates_seeds_and_answers(
        backend: str, database_factory, tmp_path: Path) -> None:
    """SQLite: no settings at all (the embedded file in the working directory); Postgres: DATABASE_URL."""
    env = cli_env(None)
    if backend == "postgres":
        env["DATABASE_URL"] = database_factory.new(migrated=False)
    port = _free_port()
    command = borderstats_command()
    process = subprocess.Popen([*command, "serve", "--port", str(port)], cwd=tmp_path, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        status, body = 0, b""
        while time.monotonic() < deadline and process.poll() is None:
            status, body = _get(f"http://127.0.0.1:{port}/seizures?drug=fentanyl")
            if status == 200:
                break
            time.sleep(0.1)
        assert status == 200, f"no answer; serve exited {process.poll()}"
        assert b'"quantity_lbs"' in body
        assert _get(f"http://127.0.0.1:{port}/readyz")[0] == 200
        # the rollups follow the first answers, written by the serving process
        url = env.get("DATABASE_URL") or f"sqlite:///{tmp_path / '.borderstats' / 'borderstats.db'}"
        engine = database_factory.engine(url)
        deadline = time.monotonic() + 60
        with engine.connect() as conn:
            while rollups.incomplete(conn) and time.monotonic() < deadline:
                conn.rollback()
                time.sleep(0.1)
            assert rollups.incomplete(conn) == []
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as answer:
            assert answer.headers.get("server") is None  # no "server: uvicorn"
            assert answer.headers["x-content-type-options"] == "nosniff"
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=20)
    # a clean shutdown: uvicorn's server re-raises the SIGTERM it handled once it has shut down
    assert process.returncode == -signal.SIGTERM, stderr
    assert f"at http://127.0.0.1:{port}/" in stderr
    assert "seeded an empty database" in stderr
    assert "wrote the rollups of seizures, encounters" in stderr
    if backend == "sqlite":
        assert (tmp_path / ".borderstats" / "borderstats.db").is_file()


def _listening_sockets(port: int) -> set[str]:
    """The inodes of the sockets listening on 127.0.0.1:port (/proc/net/tcp, state 0A)."""
    inodes = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[1] == f"0100007F:{port:04X}" and fields[3] == "0A":
            inodes.add(fields[9])
    return inodes


def _sockets_of(pid: int, inodes: set[str]) -> set[str]:
    """Which of these socket inodes the process holds open."""
    held = set()
    try:
        fds = list(Path(f"/proc/{pid}/fd").iterdir())
    except FileNotFoundError:  # the process ended meanwhile
        return held
    for fd in fds:
        try:
            target = os.readlink(fd)
        except OSError:  # closed meanwhile
            continue
        if target.startswith("socket:[") and target[8:-1] in inodes:
            held.add(target[8:-1])
    return held


def _workers_listening(pid: int, port: int) -> dict[int, set[str]]:
    """The serve process's children that hold a socket listening on the port, with those sockets."""
    listening = _listening_sockets(port)
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except FileNotFoundError:  # serve ended
        return {}
    found = {int(child): _sockets_of(int(child), listening) for child in children}
    return {child: held for child, held in found.items() if held}


@pytest.mark.skipif(sys.platform != "linux", reason="one socket a worker is Linux's SO_REUSEPORT")
def test_serve_with_two_workers_gives_each_its_own_socket_and_replaces_a_killed_one(
        tmp_path: Path) -> None:
    """`serve --workers 2`: each worker accepts on a listening socket of its own (the kernel
    spreads connections over them); the supervising process listens on none. A second server on
    the port is refused, as before; a worker killed with SIGKILL is replaced by one with its own
    socket, and the port answers. (Sockets and processes: one backend, an empty SQLite file.)"""
    url = f"sqlite:///{tmp_path / 'serve.db'}"
    port = _free_port()
    env = {**cli_env(url), "BORDERSTATS_LOG_LEVEL": "WARNING"}
    command = borderstats_command()
    serve = [*command, "serve", "--port", str(port), "--workers", "2", "--no-seed"]
    process = subprocess.Popen(serve, cwd=tmp_path, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True)

    def two_workers() -> dict[int, set[str]]:
        deadline = time.monotonic() + 60
        workers: dict[int, set[str]] = {}
        while time.monotonic() < deadline and process.poll() is None:
            workers = _workers_listening(process.pid, port)
            if len(workers) == 2 and _get(f"http://127.0.0.1:{port}/healthz")[0] == 200:
                break
            time.sleep(0.1)
        return workers

    try:
        workers = two_workers()
        assert len(workers) == 2, f"workers listening: {workers}; serve exited {process.poll()}"
        sockets = [held for held in workers.values()]
        assert all(len(held) == 1 for held in sockets), workers
        assert sockets[0] != sockets[1]
        assert _listening_sockets(port) == sockets[0] | sockets[1]
        assert _sockets_of(process.pid, _listening_sockets(port)) == set()

        second = subprocess.run(serve, cwd=tmp_path, env=env, capture_output=True, text=True,
                                timeout=60)
        assert second.returncode == 1
        assert "Address already in use" in second.stderr

        killed = next(iter(workers))
        os.kill(killed, signal.SIGKILL)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and killed in _workers_listening(process.pid, port):
            time.sleep(0.1)
        after = two_workers()
        assert len(after) == 2 and killed not in after, after
        assert len(set.union(*after.values())) == 2
        assert [_get(f"http://127.0.0.1:{port}/healthz")[0] for _ in range(20)] == [200] * 20
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=30)
    # uvicorn's supervisor stops its workers on SIGTERM and exits 0
    assert process.returncode == 0, stderr


PREPARE_FOR_SERVE = """
import sys
from app.ops.cli import _prepare_database
rollups_to_write = _prepare_database(seed=True)
print(rollups_to_write, ",".join(m for m in ("app.ingest.snapshot", "polars") if m in sys.modules))
"""


def test_serve_imports_the_snapshot_loader_only_to_seed_an_empty_database(
        loaded_url: str, database_factory, tmp_path: Path) -> None:
    """With one worker the serving process is the one that prepared the database: on a database
    that holds releases (a restart) it must not carry the loader and polars for nothing."""

    def prepare(url: str) -> str:
        done = subprocess.run([sys.executable, "-c", PREPARE_FOR_SERVE], env=cli_env(url),
                              cwd=tmp_path, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()

    assert prepare(loaded_url) == "False"
    empty = database_factory.new(migrated=False)
    # seeded with the facts; the rollups are still to be written (serve writes them, running)
    assert prepare(empty) == "True app.ingest.snapshot,polars"
    from app.models import database_is_empty

    engine = database_factory.engine(empty)
    assert not database_is_empty(engine)
    # a start stopped before it wrote them: the next finds them absent, and loads nothing
    assert prepare(empty) == "True"


FULL_COLLECTIONS_DURING_IMPORT = """
import gc, sys
gc.set_threshold(*(int(x) for x in sys.argv[1:]))
before = gc.get_stats()[2]["collections"]
import app.ingest.snapshot, app.ops.migrate, app.main
print(gc.get_stats()[2]["collections"] - before)
"""


@pytest.mark.skipif(sys.version_info >= (3, 14), reason="CPython 3.14's collector is incremental: "
                    "its thresholds and generation statistics mean something else")
def test_a_command_starts_with_thresholds_under_which_importing_the_app_makes_no_full_collection(
        monkeypatch):
    """The collector walks every object on a full collection; importing the app with CPython's
    defaults runs such walks over a heap that is all live. `main` sets the startup thresholds
    before any command, under which the same imports make none."""
    import gc

    from app.ops import cli as cli_module

    def imports_with(thresholds: tuple[int, ...]) -> int:
        done = subprocess.run([sys.executable, "-c", FULL_COLLECTIONS_DURING_IMPORT,
                               *map(str, thresholds)], capture_output=True, text=True, check=True)
        return int(done.stdout)

    assert imports_with((700, 10, 10)) > 0
    assert imports_with(cli_module.STARTUP_GC_THRESHOLDS) == 0
    seen: list[tuple[int, ...]] = []
    monkeypatch.setattr(cli_module, "cli", lambda: seen.append(gc.get_threshold()))
    original = gc.get_threshold()  # the suite runs with the startup thresholds (conftest)
    gc.set_threshold(700, 10, 10)
    try:
        cli_module.main()
    finally:
        gc.set_threshold(*original)
    assert seen == [cli_module.STARTUP_GC_THRESHOLDS]


def test_the_serving_thread_tries_again_while_the_database_cannot_be_reached(
        database_url: str, empty_engine, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    """The rollups serve writes after its start: a database it cannot reach at first (restarting,
    busy past SQLite's timeout) gets them at a later try, each wait said in the log."""
    from app.db import database_urls, make_sync_engine
    from app.ingest import snapshot
    from app.ops import cli as cli_module
    from app.paths import project_dir

    snapshot.load(empty_engine, project_dir("seed") / "snapshot", with_rollups=False)
    engines = iter([make_sync_engine(database_urls(UNREACHABLE), timeout=1),
                    make_sync_engine(database_urls(UNREACHABLE), timeout=1)])
    monkeypatch.setattr(cli_module, "_engine",
                        lambda: next(engines, None) or make_sync_engine(database_urls(database_url)))
    monkeypatch.setattr(cli_module, "ROLLUP_RETRY_SECONDS", (0.05, 0.05, 0.05))
    caplog.set_level(logging.INFO, logger="borderstats")
    thread = cli_module._complete_rollups_in_background()
    thread.join(timeout=60)
    assert not thread.is_alive()
    with empty_engine.connect() as conn:
        assert rollups.incomplete(conn) == []
    lines = [r.getMessage() for r in caplog.records if r.name == "borderstats"]
    assert [line.split(" (")[0] for line in lines[:2]] == ["could not write the rollups yet"] * 2
    assert lines[2].startswith("wrote the rollups of seizures, encounters in ")
    assert len(lines) == 3
