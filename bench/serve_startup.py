"""Time the seed snapshot load, and `borderstats serve` on an empty database until its first answer.

First, `app.ingest.snapshot.load` of the shipped snapshot into a fresh, migrated database, in this process
(imports and migrations not counted), as `serve` loads it: the facts, after which every query is
answered (from the facts): target <= 0.5 s. Printed beside it, the rollups `serve` writes next
(`app.ingest.rollups.complete`, timed here in an idle process; serve writes them in a thread while
it starts and answers), and the load with the rollups in the same transaction (`borderstats seed
load`). Then each run starts `borderstats serve` as
a subprocess on a free port with a fresh database (a new SQLite file, or a new Postgres database
created and dropped around the run), polls /seizures?drug=fentanyl until it answers 200, and prints
the seconds from launch to that answer: migrations, the seed snapshot load, the imports and the
first query all count: target <= 2 s; then, polling the database, the seconds from launch until
every rollup is written. Before them, `borderstats --help` as a new process: target <= 0.5 s.
A baseline first (a new Python importing the libraries the
start needs) gives this machine's speed at that moment; both figures are also printed as multiples
of it, the way to compare runs on machines of different speed.

    .venv/bin/python bench/serve_startup.py                      # SQLite and Postgres, 3 runs each
    .venv/bin/python bench/serve_startup.py --backend sqlite --runs 5
    .venv/bin/python bench/serve_startup.py --postgres postgresql://postgres@127.0.0.1:5432/postgres
"""

from __future__ import annotations

import argparse
import contextlib
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

PROBE = "/seizures?drug=fentanyl"
LOAD_TARGET = 0.5
ANSWER_TARGET = 2.0
HELP_TARGET = 0.5  # `borderstats --help`: only the commands that need them import the web stack
DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"


def free_port() -> int:
    """Return a TCP port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def answered(url: str) -> bool:
    """Whether `url` answers 200 now."""
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


@contextlib.contextmanager
def sqlite_database() -> Iterator[dict[str, str]]:
    """Yield the environment of a fresh embedded SQLite file."""
    with tempfile.TemporaryDirectory(prefix="bs-bench-") as tmp:
        yield {"BORDERSTATS_SQLITE_PATH": str(Path(tmp) / "borderstats.db")}


@contextlib.contextmanager
def postgres_database(admin_url: str) -> Iterator[dict[str, str]]:
    """Yield the environment of a new, empty Postgres database; drop it afterwards."""
    import psycopg

    name = f"bs_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base, _, _ = admin_url.rpartition("/")
    try:
        yield {"DATABASE_URL": f"{base}/{name}"}
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def rollups_written(env: dict[str, str], started: float, limit: float) -> float:
    """Seconds from `started` until the server's database holds every rollup (polled)."""
    from app.db import database_urls, make_sync_engine
    from app.ingest import rollups

    url = env.get("DATABASE_URL") or f"sqlite:///{env['BORDERSTATS_SQLITE_PATH']}"
    engine = make_sync_engine(database_urls(url))
    try:
        while time.perf_counter() - started < limit:
            with engine.connect() as conn:
                if not rollups.incomplete(conn):
                    return time.perf_counter() - started
            time.sleep(0.02)
        raise RuntimeError(f"the rollups were not written within {limit} s")
    finally:
        engine.dispose()


def time_start(command: str, env: dict[str, str], *, limit: float) -> tuple[float, float]:
    """Start `borderstats serve` with `env`; return seconds to the first 200 on PROBE, and to
    the rollups it writes after its start being in the database (polled after that answer)."""
    port = free_port()
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("BORDERSTATS_")}
    full_env.pop("DATABASE_URL", None)
    full_env.update(env)
    with tempfile.TemporaryDirectory(prefix="bs-bench-cwd-") as cwd:
        started = time.perf_counter()
        process = subprocess.Popen(
            [command, "serve", "--port", str(port)], env=full_env, cwd=cwd,
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )
        try:
            url = f"http://127.0.0.1:{port}{PROBE}"
            while time.perf_counter() - started < limit:
                if process.poll() is not None:
                    raise RuntimeError(f"serve exited with {process.returncode}: "
                                       f"{process.stderr.read().strip()[-500:]}")
                if answered(url):
                    answer = time.perf_counter() - started
                    return answer, rollups_written(env, started, limit)
                time.sleep(0.02)
            raise RuntimeError(f"no answer on {url} within {limit} s")
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def time_snapshot_load(backend: str, admin_url: str, *, with_rollups: bool) -> tuple[float, float]:
    """Seconds `app.ingest.snapshot.load` takes to fill a fresh, migrated database (in this
    process), and then `rollups.complete` (0 when the load wrote the rollups itself)."""
    from app.db import database_urls, make_sync_engine
    from app.ingest import rollups, snapshot
    from app.ops.migrate import upgrade
    from app.paths import project_dir

    database = sqlite_database() if backend == "sqlite" else postgres_database(admin_url)
    with database as env:
        url = env.get("DATABASE_URL") or f"sqlite:///{env['BORDERSTATS_SQLITE_PATH']}"
        engine = make_sync_engine(database_urls(url))
        try:
            upgrade(engine)
            started = time.perf_counter()
            snapshot.load(engine, project_dir("seed") / "snapshot", with_rollups=with_rollups)
            loaded = time.perf_counter()
            written = rollups.complete(engine)
            assert bool(written) != with_rollups
            return loaded - started, time.perf_counter() - loaded
        finally:
            engine.dispose()


BASELINE = "import sqlalchemy, polars, fastapi, pydantic"


def time_baseline(runs: int) -> float:
    """Median seconds for a new Python process to import the libraries the start needs: this
    machine's speed at this moment, to compare figures across machines (as ratios)."""
    times = []
    for _ in range(max(runs, 3)):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", BASELINE], check=True)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def verdict(value: float, target: float) -> str:
    return f"target <= {target:g} s ({'meets' if value <= target else 'misses'} it at the median)"


def main() -> int:
    """Run the benchmark and print one line per run and a summary per backend."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES,
                        help="a server URL whose user may CREATE DATABASE (default %(default)s)")
    parser.add_argument("--command", default=str(Path(sys.executable).with_name("borderstats")),
                        help="the borderstats executable (default: beside this Python)")
    parser.add_argument("--limit", type=float, default=60.0, help="give up after this many seconds")
    args = parser.parse_args()
    backends = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
    baseline = time_baseline(args.runs)
    print(f"baseline: a new Python importing {BASELINE[7:]}: median {baseline:.2f} s "
          "(figures below also as multiples of it)", flush=True)
    helps = []
    for _ in range(max(args.runs, 5)):
        started = time.perf_counter()
        subprocess.run([args.command, "--help"], check=True, capture_output=True,
                       env={k: v for k, v in os.environ.items()
                            if not k.startswith("BORDERSTATS_") and k != "DATABASE_URL"})
        helps.append(time.perf_counter() - started)
    print(f"`borderstats --help`, a new process: median {statistics.median(helps):.2f} s "
          f"({statistics.median(helps) / baseline:.1f}x baseline), best {min(helps):.2f} s; "
          f"{verdict(statistics.median(helps), HELP_TARGET)}", flush=True)
    for backend in backends:
        loads, after, whole = [], [], []
        for run in range(1, args.runs + 1):
            seconds, rollups = time_snapshot_load(backend, args.postgres, with_rollups=False)
            with_them, _ = time_snapshot_load(backend, args.postgres, with_rollups=True)
            loads.append(seconds)
            after.append(rollups)
            whole.append(with_them)
            print(f"{backend:8} run {run}: snapshot load {seconds:.2f} s, then its rollups "
                  f"{rollups:.2f} s (as serve writes them, here in an idle process); with the "
                  f"rollups in one transaction {with_them:.2f} s (seed load)", flush=True)
        print(f"{backend:8} snapshot load median {statistics.median(loads):.2f} s "
              f"({statistics.median(loads) / baseline:.1f}x baseline), best {min(loads):.2f} s; "
              f"{verdict(statistics.median(loads), LOAD_TARGET)}; then the rollups: median "
              f"{statistics.median(after):.2f} s; `seed load` with them: median "
              f"{statistics.median(whole):.2f} s", flush=True)
    for backend in backends:
        times, complete = [], []
        for run in range(1, args.runs + 1):
            database = sqlite_database() if backend == "sqlite" else postgres_database(args.postgres)
            with database as env:
                seconds, written = time_start(args.command, env, limit=args.limit)
            times.append(seconds)
            complete.append(written)
            print(f"{backend:8} run {run}: first data answer after {seconds:.2f} s; "
                  f"rollups written after {written:.2f} s", flush=True)
        print(f"{backend:8} first data answer median {statistics.median(times):.2f} s "
              f"({statistics.median(times) / baseline:.1f}x baseline), best "
              f"{min(times):.2f} s, worst {max(times):.2f} s over {len(times)} run(s); "
              f"{verdict(statistics.median(times), ANSWER_TARGET)}; every rollup written after "
              f"{statistics.median(complete):.2f} s (median; answers read the facts until then)",
              flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
