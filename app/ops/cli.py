"""The `borderstats` command: serve, ingest, db, seed, claims.

Exit codes: 0 success; 1 the input or data was rejected (the reason is one line on stderr);
2 wrong usage or configuration (an option, DATABASE_URL, a BORDERSTATS_* variable); 3 the database
is unreachable or not migrated.
"""

from __future__ import annotations

import gc
import logging
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

# Only what `--help` needs is imported here: SQLAlchemy, pydantic settings and the web stack are
# imported by the commands that use them (`borderstats --help` in well under half a second).
if TYPE_CHECKING:
    import threading

    from app.config import Settings

READER = "borderstats_reader"  # app.ops.roles names them too; not imported here (psycopg at start-up)
WRITER = "borderstats_writer"
EXIT_REJECTED = 1
EXIT_USAGE = 2
EXIT_DATABASE = 3
EXIT_CODES = ("Exit codes: 0 success; 1 input or data rejected; 2 wrong usage or configuration; "
              "3 database unreachable. A failure prints one line on stderr.")

cli = typer.Typer(
    name="borderstats",
    help="Official US southern-border statistics (CBP, DHS OHSS, CDC/NCHS) behind an HTTP API.\n\n"
    "Start with `borderstats serve`: it migrates the database, loads the shipped snapshot into "
    "an empty one and serves http://127.0.0.1:8000/.\n\n"
    "The database is DATABASE_URL (postgresql://... or sqlite:///...); unset, an embedded "
    "SQLite file (BORDERSTATS_SQLITE_PATH, default .borderstats/borderstats.db).",
    epilog=EXIT_CODES,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
db_cli = typer.Typer(help="Schema migrations (Alembic).", no_args_is_help=True)
seed_cli = typer.Typer(help="The compact snapshot of official figures shipped in seed/.",
                       no_args_is_help=True)
cli.add_typer(db_cli, name="db")
cli.add_typer(seed_cli, name="seed")


def fail(message: str, code: int = EXIT_REJECTED) -> None:
    """Print a one-line reason on stderr and exit with `code`."""
    typer.echo(f"borderstats: {message}", err=True)
    raise typer.Exit(code)


def _settings() -> Settings:
    from pydantic import ValidationError

    from app.config import get_settings

    try:
        return get_settings()
    except ValidationError as exc:
        error = exc.errors()[0]
        name = ".".join(str(part) for part in error.get("loc", ())) or "configuration"
        fail(f"invalid setting {name}: {error.get('msg', 'invalid value')}", EXIT_USAGE)


def _engine(urls=None):
    """The database's engine (`urls`: the settings' when not given); a bad URL exits 2."""
    from app.db import make_sync_engine

    return make_sync_engine(urls or _urls())


def _urls():
    """The settings' database URLs; a bad URL exits 2."""
    from app.db import DatabaseURLError, urls_from_settings

    try:
        return urls_from_settings(_settings())
    except DatabaseURLError as exc:
        fail(str(exc), EXIT_USAGE)


def _database_error(exc: Exception) -> None:
    """Exit 3 with one line for a database error; re-raise anything else (call it from an
    `except` block)."""
    from sqlalchemy.exc import OperationalError, SQLAlchemyError

    from app.db import urls_from_settings

    if not isinstance(exc, SQLAlchemyError):
        raise exc
    urls = urls_from_settings(_settings())
    reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
    if isinstance(exc, OperationalError):
        fail(f"cannot reach the database {urls.safe()}: {reason}", EXIT_DATABASE)
    fail(f"database error on {urls.safe()}: {reason}", EXIT_DATABASE)


def _progress_enabled(quiet: bool) -> bool:
    return not quiet and sys.stderr.isatty()


# --- ingest -----------------------------------------------------------------------------------

@cli.command()
def ingest(
    files: Annotated[list[Path], typer.Argument(help="Official CSV files or the OHSS .xlsx workbook.",
                                                 show_default=False)],
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
    allow_new_areas: Annotated[bool, typer.Option(
        "--allow-new-areas", help="Add areas of responsibility (and accept state codes) the "
        "reference does not list, instead of refusing them as typos.")] = False,
    allow_new_drugs: Annotated[bool, typer.Option(
        "--allow-new-drugs", help="Add drug types the reference does not list, instead of "
        "refusing them as typos.")] = False,
    max_file_mb: Annotated[float | None, typer.Option(
        "--max-file-mb", min=0.001, help="Refuse a file larger than this many MB (default "
        "BORDERSTATS_MAX_FILE_MB, else 200).", show_default=False)] = None,
) -> None:
    """Load official files: format detected from the header, all files or none."""
    from app.ingest.errors import IngestError
    from app.ingest.load import ingest_paths, start_parsing
    from app.ingest.options import IngestOptions
    from app.ops.migrate import upgrade

    options = IngestOptions(allow_new_areas=allow_new_areas, allow_new_drugs=allow_new_drugs,
                            max_file_mb=max_file_mb or _settings().max_file_mb)
    paths = [str(f) for f in files]
    urls = _urls()  # a bad URL is said before anything is read
    # The files are parsed while the database is opened and upgraded; a database error is still
    # said before a file's (the parse's outcome is read once the database is ready).
    parsing = start_parsing(paths, options)
    try:
        engine = _engine(urls)
    except BaseException:
        parsing.cancel()
        raise
    started = time.perf_counter()
    try:
        upgrade(engine)
        if _progress_enabled(quiet):
            from rich.progress import Progress

            with Progress(transient=True) as bar:
                task = bar.add_task("ingest", total=2 * len(files))
                results = ingest_paths(engine, paths,
                                       progress=lambda msg, n: bar.update(task, advance=n,
                                                                          description=msg),
                                       options=options, parsing=parsing)
        else:
            results = ingest_paths(engine, paths, options=options, parsing=parsing)
    except IngestError as exc:
        fail(f"{exc} (nothing was loaded)")
    except Exception as exc:  # a database error exits 3 (one line); the rest re-raises
        _database_error(exc)
    finally:
        parsing.cancel()
        engine.dispose()
    for result in results:
        typer.echo(result.summary())
    typer.echo(f"{len(results)} file(s) in {time.perf_counter() - started:.2f} s")


# --- sync -----------------------------------------------------------------------------------

@cli.command()
def sync(
    dataset: Annotated[str | None, typer.Option(
        help="Only the release families of this dataset (seizures, encounters, overdose_deaths).",
        show_default=False)] = None,
    family: Annotated[list[str] | None, typer.Option(
        help="Only this release family (repeatable), e.g. cbp-seizures.", show_default=False)] = None,
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", help="Read the agency pages and say what would be downloaded; write nothing.")
    ] = False,
    manifest: Annotated[Path | None, typer.Option(
        help="Sources manifest (default BORDERSTATS_SYNC_MANIFEST, else the shipped "
        "seed/sources.json).", show_default=False)] = None,
    every: Annotated[float | None, typer.Option(
        help="Run again every SECONDS until stopped (a failed pass is reported, not fatal).",
        min=1, show_default=False)] = None,
) -> None:
    """Download new official releases from the agencies' pages and ingest them."""
    from app.ingest.sources import ManifestError, default_manifest_path, load_manifest, select_sources

    settings = _settings()
    manifest_path = manifest or settings.sync_manifest or default_manifest_path()
    try:
        select_sources(load_manifest(manifest_path), dataset=dataset, families=family)
    except ManifestError as exc:
        fail(str(exc), EXIT_USAGE)
    engine = _engine()
    try:
        while True:
            code = _sync_pass(engine, settings, manifest_path, dataset=dataset, families=family,
                              dry_run=dry_run)
            if every is None:
                raise typer.Exit(code)
            typer.echo(f"next sync in {every:g} s")
            gc.collect()  # idle until the next pass: free a pass's cycles now (see main())
            time.sleep(every)
    except KeyboardInterrupt:
        raise typer.Exit(0) from None
    finally:
        engine.dispose()


def _sync_pass(engine, settings: Settings, manifest_path: Path, *, dataset: str | None,
               families: list[str] | None, dry_run: bool) -> int:
    """Run sync once; print one line per source; return the exit code (never raise it)."""
    from app.ingest.sources import ManifestError, load_manifest, select_sources
    from app.ingest.sync import default_policy
    from app.ingest.sync import sync as run_sync
    from app.ops.migrate import upgrade

    started = time.perf_counter()
    try:
        sources = select_sources(load_manifest(manifest_path), dataset=dataset, families=families)
        if not dry_run:
            upgrade(engine)
        report = run_sync(engine, sources, policy=default_policy(settings), dry_run=dry_run,
                          manifest=manifest_path)
    except ManifestError as exc:
        typer.echo(f"borderstats: {exc}", err=True)
        return EXIT_USAGE
    except Exception as exc:  # a database error exits 3 (one line); the rest re-raises
        try:
            _database_error(exc)
        except typer.Exit as exit_:
            return exit_.exit_code
    for line in report.lines():
        typer.echo(line)
    failed = sum(o.failed for o in report.outcomes)
    typer.echo(f"{len(report.outcomes)} source(s), {failed} failed, in "
               f"{time.perf_counter() - started:.2f} s{' (dry run)' if dry_run else ''}")
    return EXIT_REJECTED if report.failed else 0


# --- db -------------------------------------------------------------------------------------

@db_cli.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument(
        help="Target revision id, or head for the latest.")] = "head") -> None:
    """Migrate the schema up (default: to the latest revision), and at the latest write any
    rollup it declares that the data do not have yet (a start stopped before writing them, or a
    rollup added by a release of borderstats)."""
    from app.db import urls_from_settings
    from app.ingest import rollups
    from app.ops.migrate import head_revision, script_head, upgrade

    engine = _engine()
    try:
        upgrade(engine, revision)
        written = (rollups.complete(engine)
                   if revision in ("head", script_head() or head_revision()) else [])
    except Exception as exc:  # a database error exits 3 (one line); the rest re-raises
        _database_error(exc)
    finally:
        engine.dispose()
    typer.echo(f"schema at {revision} on {urls_from_settings(_settings()).safe()}")
    if written:
        typer.echo(f"wrote the rollups of {', '.join(written)}")


@db_cli.command("downgrade")
def db_downgrade(revision: Annotated[str, typer.Argument(
        help="Target revision id, or base for an empty schema.")] = "base") -> None:
    """Migrate the schema down (default: remove every table)."""
    from app.ops.migrate import downgrade

    engine = _engine()
    try:
        downgrade(engine, revision)
    except Exception as exc:  # a database error exits 3 (one line); the rest re-raises
        _database_error(exc)
    typer.echo(f"schema at {revision}")


@db_cli.command("check")
def db_check() -> None:
    """Fail if the models and the migrated schema differ."""
    from alembic.util.exc import CommandError

    from app.ops.migrate import check

    engine = _engine()
    try:
        check(engine)
    except CommandError as exc:
        fail(str(exc).splitlines()[0])
    except Exception as exc:  # a database error exits 3 (one line); the rest re-raises
        _database_error(exc)
    typer.echo("schema matches the models")


@db_cli.command("current")
def db_current() -> None:
    """Print the schema revision of the database and the latest one."""
    from app.ops.migrate import current_revision, head_revision

    engine = _engine()
    try:
        current = current_revision(engine)
    except Exception as exc:  # a database error exits 3 (one line); the rest re-raises
        _database_error(exc)
    typer.echo(f"database: {current or '(empty)'}; latest: {head_revision()}")


@db_cli.command("grant")
def db_grant(
    reader: Annotated[str, typer.Option(help="Name of the read-only role (the API).")] = READER,
    writer: Annotated[str, typer.Option(help="Name of the writing role (ingest, sync).")] = WRITER,
) -> None:
    """Create or refresh the read-only and writer roles (Postgres; run as the schema's owner).

    Passwords come from BORDERSTATS_READER_PASSWORD and BORDERSTATS_WRITER_PASSWORD; there is no
    default. Idempotent: run it on every deploy, after `db upgrade`.
    """
    from app.db import urls_from_settings
    from app.ops.roles import RolesError, RoleSpec, grant_roles

    settings = _settings()
    missing = [name for name, value in (("BORDERSTATS_READER_PASSWORD", settings.reader_password),
                                        ("BORDERSTATS_WRITER_PASSWORD", settings.writer_password))
               if value is None or not value.get_secret_value()]
    if missing:
        fail(f"set {' and '.join(missing)}: the roles get no default password", EXIT_USAGE)
    engine = _engine()
    try:
        grant_roles(engine, reader=RoleSpec(reader, settings.reader_password.get_secret_value()),
                    writer=RoleSpec(writer, settings.writer_password.get_secret_value()))
    except RolesError as exc:
        fail(str(exc), EXIT_USAGE)
    except Exception as exc:  # a database error exits 3 (one line); the rest re-raises
        if type(exc).__module__.startswith("psycopg"):  # psycopg's own (raw connection)
            fail(f"cannot grant the roles: {str(exc).strip().splitlines()[0]}", EXIT_DATABASE)
        _database_error(exc)
    finally:
        engine.dispose()
    typer.echo(f"roles {reader} (read-only) and {writer} (read-write) granted on "
               f"{urls_from_settings(settings).safe()}")


# --- seed -----------------------------------------------------------------------------------

def _default_snapshot() -> Path:
    from app.paths import project_dir

    return project_dir("seed") / "snapshot"


@seed_cli.command("build")
def seed_build(
    data_dir: Annotated[Path, typer.Option(help="Folder of official files.")] = Path("../shared/data"),
    out: Annotated[Path | None, typer.Option(help="Output folder (default seed/snapshot).")] = None,
) -> None:
    """Write the snapshot of current figures from the official files in DATA_DIR."""
    from app.ingest import snapshot
    from app.ingest.errors import IngestError

    files = sorted(p for p in data_dir.glob("*") if p.suffix.lower() in {".csv", ".xlsx"})
    if not files:
        fail(f"no .csv or .xlsx files in {data_dir}", 2)
    try:
        summary = snapshot.build(files, out or _default_snapshot())
    except IngestError as exc:
        fail(str(exc))
    typer.echo(f"snapshot from {len(files)} files: {summary.line()}")


@seed_cli.command("load")
def seed_load(
    snapshot_dir: Annotated[Path | None, typer.Option(
        "--from", help="Snapshot folder (default: the snapshot shipped with borderstats).")] = None,
    if_empty: Annotated[bool, typer.Option(
        "--if-empty", help="Succeed without loading when the database already holds releases "
        "(for deploy scripts run on every start).")] = False,
) -> None:
    """Fill an empty database from the snapshot (migrating it first); refuse a non-empty one."""
    from app.ingest import snapshot
    from app.models import database_is_empty
    from app.ops.migrate import upgrade

    engine = _engine()
    started = time.perf_counter()
    try:
        upgrade(engine)
        if if_empty and not database_is_empty(engine):
            typer.echo("the database already holds releases; nothing loaded")
            return
        summary = snapshot.load(engine, snapshot_dir or _default_snapshot())
    except snapshot.SnapshotError as exc:
        if if_empty and not database_is_empty(engine):
            typer.echo("the database was filled meanwhile; nothing loaded")  # a concurrent load won
            return
        fail(str(exc))
    except Exception as exc:  # a database error exits 3 (one line); the rest re-raises
        _database_error(exc)
    finally:
        engine.dispose()
    typer.echo(f"loaded {summary.line()} in {time.perf_counter() - started:.2f} s")


# --- serve ------------------------------------------------------------------------------------

@cli.command()
def serve(
    host: Annotated[str | None, typer.Option(
        help="Interface to listen on (default BORDERSTATS_HOST, else 127.0.0.1; "
        "0.0.0.0 for every interface).", show_default=False)] = None,
    port: Annotated[int | None, typer.Option(
        help="TCP port (default BORDERSTATS_PORT, else 8000).", show_default=False)] = None,
    workers: Annotated[int | None, typer.Option(
        help="Worker processes (default BORDERSTATS_WORKERS, else 1).", show_default=False)] = None,
    seed: Annotated[bool, typer.Option(
        help="Load the seed snapshot when the database is empty.")] = True,
) -> None:
    """Migrate, load the seed snapshot into an empty database, and serve the API."""
    from app.db import DatabaseURLError, read_urls_from_settings, urls_from_settings
    from app.ops.logs import configure_logging

    settings = _settings()
    host = host or settings.host
    port = port or settings.port
    workers = workers or settings.workers
    configure_logging(settings)  # uvicorn's own lines then share the app's format
    try:
        read_urls_from_settings(settings)  # a bad DATABASE_READ_URL: one line, not a traceback
    except DatabaseURLError as exc:
        fail(str(exc), EXIT_USAGE)
    if _prepare_database(seed=seed):
        _complete_rollups_in_background()
    log = logging.getLogger("borderstats")
    log.info("borderstats serving %s at http://%s:%d/ (docs: http://%s:%d/docs)",
             urls_from_settings(settings).safe(), host, port, host, port)

    import uvicorn

    options = {"factory": True, "host": host, "port": port, "workers": workers, "log_config": None,
               "log_level": settings.log_level.lower(), "access_log": False,
               "proxy_headers": True, "server_header": False}
    if workers > 1 and sys.platform == "linux":
        _serve_on_own_sockets(uvicorn.Config("app.main:create_app", **options))
    else:
        uvicorn.run("app.main:create_app", **options)


class _OwnSocket:
    """What uvicorn's supervisor hands each worker it starts (or restarts) instead of the socket
    it would share: unpickled in the worker, it is a new socket bound to the address with
    SO_REUSEPORT, not yet listening (asyncio listens on it once the app has started, so a
    worker being replaced is given no connection before it can answer)."""

    def __init__(self, host: str, port: int):
        self.address = (host, port)

    def __reduce__(self):
        return _worker_socket, self.address


def _bind(host: str, port: int, *, reuse_address: bool, reuse_port: bool):
    import socket

    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    if reuse_address:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reuse_port:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


def _worker_socket(host: str, port: int):
    """A worker's own socket (see _OwnSocket). A worker that cannot bind exits as uvicorn's
    workers do when they cannot start (status 3), which its supervisor does not retry."""
    from uvicorn.config import STARTUP_FAILURE

    try:
        return _bind(host, port, reuse_address=True, reuse_port=True)
    except OSError as exc:
        logging.getLogger("uvicorn.error").error("%s", exc)
        sys.exit(STARTUP_FAILURE)


def _serve_on_own_sockets(config) -> None:
    """Serve with config.workers processes under uvicorn's supervisor (restarts, signals), each
    accepting on a socket of its own, the sockets sharing the port (SO_REUSEPORT, Linux): the
    kernel spreads new connections over the workers evenly. On one shared socket, whichever
    worker is idle first takes the next connection, so a burst of keep-alive clients settles
    unevenly (42 / 22 of 64 connections in bench/load.py; 34 / 30 and 35 / 29 on a socket
    each) and the busier worker is the bottleneck. Measured on 2 cores, 2 workers: wrk -t2 -c64
    15 s of ~200-row distinct pages, p99 163-189 ms on one socket, 100-130 ms on a socket each
    (two runs each); bench/load.py's distinct phase, alternated three times, 880-967 req/s on
    one socket, 917-1,076 on a socket each, its p99 (165-291 ms) no different beyond the noise.

    This process first binds the address as uvicorn would (SO_REUSEADDR), so that an address in
    use, by another server with SO_REUSEPORT too, fails here, once, with uvicorn's message and
    status; then keeps it bound with SO_REUSEPORT alone, not listening (a socket that does not
    listen is given no connections; without SO_REUSEADDR it keeps any other server off the port
    while the workers start) and resolves port 0 to the port every worker then binds."""
    from uvicorn.supervisors import Multiprocess

    log = logging.getLogger("uvicorn.error")
    try:
        if config.port:
            _bind(config.host, config.port, reuse_address=True, reuse_port=False).close()
        reserved = _bind(config.host, config.port, reuse_address=False, reuse_port=True)
    except OSError as exc:
        log.error("%s", exc)
        sys.exit(1)  # as uvicorn's own bind of a shared socket for several workers
    try:
        port = reserved.getsockname()[1]
        shown = f"[{config.host}]" if ":" in config.host else config.host
        log.info("Uvicorn running on http://%s:%d (Press CTRL+C to quit)", shown, port)
        Multiprocess(config, sockets=[_OwnSocket(config.host, port)]).run()
    finally:
        reserved.close()


def _prepare_database(*, seed: bool) -> bool:
    """Migrate to the latest revision and load the seed snapshot's facts into an empty database.
    Returns whether some dataset's rollups are still to be written (after a seed, or a start
    that was stopped before it wrote them): `serve` writes them once it is up.

    The loader (and polars with it) is imported only when there is something to load: a server
    started again on its database, the usual start, never holds it (with one worker, the
    serving process is this one: ~25 MB of RSS and ~0.2 s of start saved)."""
    from app.ingest import rollups
    from app.models import database_is_empty
    from app.ops.migrate import upgrade

    engine = _engine()
    try:
        upgrade(engine)
        if seed and database_is_empty(engine):
            _seed(engine)
        with engine.connect() as conn:
            return bool(rollups.incomplete(conn))
    except Exception as exc:  # a database error exits 3 (one line); the rest re-raises
        _database_error(exc)
    finally:
        engine.dispose()


# Waits before each new try at writing the rollups while the database is busy or unreachable
# (a long ingest holding SQLite's write lock past its busy timeout, a restart of Postgres).
ROLLUP_RETRY_SECONDS = (2, 5, 15, 60, 300)


def _complete_rollups_in_background() -> threading.Thread:
    """Write the absent rollups in a thread of this process while it serves. Until they are
    written every query reads the facts (the same answers, from more rows); a stop before they
    are written leaves none (one transaction), and the next start writes them. Tried again while
    the database is busy; any other error (a role that may not write, as the API's in
    docker-compose.yml, where `borderstats db upgrade` writes them) is logged once. Returns the
    thread (started)."""
    import threading

    def complete() -> None:
        from sqlalchemy.exc import OperationalError

        from app.ingest import rollups

        log = logging.getLogger("borderstats")
        for wait in (*ROLLUP_RETRY_SECONDS, None):
            started = time.perf_counter()
            engine = _engine()
            try:
                datasets = rollups.complete(engine)
            except OperationalError as exc:  # busy or unreachable: maybe not for long
                error = str(exc).splitlines()[0]
            except Exception as exc:  # the server goes on answering from the facts
                log.warning("could not write the rollups (queries read the facts; `borderstats "
                            "db upgrade` writes them): %s", str(exc).splitlines()[0])
                return
            else:
                if datasets:
                    log.info("wrote the rollups of %s in %.2f s", ", ".join(datasets),
                             time.perf_counter() - started)
                return
            finally:
                engine.dispose()
            if wait is None:
                log.warning("could not write the rollups (queries read the facts; `borderstats "
                            "db upgrade` writes them): %s", error)
                return
            log.info("could not write the rollups yet (%s); trying again in %d s", error, wait)
            time.sleep(wait)

    thread = threading.Thread(target=complete, name="borderstats-rollups", daemon=True)
    thread.start()
    return thread


def _seed(engine) -> None:
    """Load the seed snapshot's facts into the empty database behind `engine` (the rollups
    follow once the server is up: the first answer sooner)."""
    from app.ingest import snapshot
    from app.models import database_is_empty

    try:
        summary = snapshot.load(engine, _default_snapshot(), with_rollups=False)
    except snapshot.SnapshotError as exc:
        if not database_is_empty(engine):
            return  # another process seeded it meanwhile
        fail(str(exc))
    logging.getLogger("borderstats").info("seeded an empty database: %s", summary.line())


# The garbage collector's thresholds while a command starts and runs. Importing what `serve`
# needs (the web stack, SQLAlchemy, polars, the app) leaves ~140,000 tracked objects that live
# as long as the process and almost no garbage, yet with CPython's defaults (700, 10, 10) the
# collector runs 340 times over them: 0.17 s of a 1.0 s import (gc.callbacks, 2-core machine),
# 0.1 s off the first answer of `serve` (bench/serve_startup.py: 1.97 -> 1.86 s). Cycles are
# still collected, less often; serving sets its own thresholds (app.main.GC_THRESHOLDS).
STARTUP_GC_THRESHOLDS = (50_000, 20, 100)


def main() -> None:
    gc.set_threshold(*STARTUP_GC_THRESHOLDS)
    cli()
