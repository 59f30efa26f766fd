"""Benchmark: `borderstats ingest` of every file of ../shared/data into Postgres and into SQLite,
beside a baseline that only reads the same CSV files and copies their raw lines into Postgres.

Usage: .venv/bin/python bench/ingest.py [--server postgresql://postgres@127.0.0.1:5432/postgres]
       [--data ../shared/data] [--repeat 3]

Each run gets a fresh database (a throwaway Postgres database, or a new SQLite file), migrated
before the clock starts; then the real CLI command is timed as a new process, as a user runs it.
The baseline is also a new process: Python's csv module reads every CSV file and COPYs one text
line per record into a temporary Postgres table (the workbook is left out: the csv module cannot
read it). Prints one line per run, then best/median of each beside the target (<= 2 s).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET_SECONDS = 2.0

BASELINE = r"""
import csv, sys, psycopg
files, url = sys.argv[1:-1], sys.argv[-1]
with psycopg.connect(url) as conn:
    conn.execute("CREATE TEMP TABLE raw_line (file text, line text)")
    with conn.cursor().copy("COPY raw_line (file, line) FROM STDIN") as copy:
        for name in files:
            with open(name, newline="", encoding="utf-8-sig") as handle:
                for row in csv.reader(handle):
                    copy.write_row((name, ",".join(row)))
    print(conn.execute("SELECT count(*) FROM raw_line").fetchone()[0])
"""


@contextlib.contextmanager
def postgres_database(server: str) -> Iterator[str]:
    """A new, empty Postgres database; dropped afterwards."""
    import psycopg

    name = f"bs_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield server.rsplit("/", 1)[0] + "/" + name
    finally:
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextlib.contextmanager
def sqlite_database() -> Iterator[str]:
    with tempfile.TemporaryDirectory(prefix="bs-bench-") as tmp:
        yield f"sqlite:///{Path(tmp) / 'bench.db'}"


def time_ingest(cli: str, url: str, files: list[str]) -> tuple[float, float, int]:
    """(seconds for the whole command, seconds the command reports, rows) of one ingest."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BORDERSTATS_")}
    env["DATABASE_URL"] = url
    subprocess.run([cli, "db", "upgrade"], env=env, check=True, capture_output=True)
    started = time.perf_counter()
    done = subprocess.run([cli, "ingest", "--quiet", *files], env=env, check=True,
                          capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    lines = done.stdout.splitlines()
    rows = sum(int(line.split(" rows")[0].rsplit(" ", 1)[-1].replace(",", ""))
               for line in lines if " rows, " in line)
    reported = float(lines[-1].split(" in ")[1].split(" s")[0])
    return elapsed, reported, rows


def time_baseline(url: str, files: list[str]) -> tuple[float, int]:
    csv_files = [f for f in files if f.endswith(".csv")]
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", BASELINE, *csv_files, url], check=True,
                          capture_output=True, text=True)
    return time.perf_counter() - started, int(done.stdout.strip())


def summary(label: str, times: list[float]) -> str:
    best, median = min(times), statistics.median(times)
    verdict = "meets" if median <= TARGET_SECONDS else "misses"
    return (f"{label}: best {best:.2f} s, median {median:.2f} s over {len(times)} run(s); "
            f"target <= {TARGET_SECONDS:.0f} s ({verdict} it at the median)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    files = sorted(str(p) for p in args.data.glob("*") if p.suffix in {".csv", ".xlsx"})
    cli = str(Path(sys.executable).with_name("borderstats"))
    results: dict[str, list[float]] = {"postgres": [], "sqlite": [], "baseline": []}
    for run in range(1, args.repeat + 1):
        for backend in ("postgres", "sqlite"):
            database = postgres_database(args.server) if backend == "postgres" else sqlite_database()
            with database as url:
                elapsed, reported, rows = time_ingest(cli, url, files)
            results[backend].append(elapsed)
            print(f"run {run} {backend:8}: {len(files)} files, {rows:,} rows, {elapsed:.2f} s whole "
                  f"command (new process), {reported:.2f} s as the command reports it", flush=True)
        with postgres_database(args.server) as url:
            elapsed, lines = time_baseline(url, files)
        results["baseline"].append(elapsed)
        print(f"run {run} baseline: {lines:,} CSV records read and copied in {elapsed:.2f} s "
              "(new process)", flush=True)
    print(summary("ingest into Postgres", results["postgres"]))
    print(summary("ingest into SQLite  ", results["sqlite"]))
    baseline = statistics.median(results["baseline"])
    print(f"baseline (csv module + COPY of raw lines): median {baseline:.2f} s; ingest / baseline: "
          f"Postgres {statistics.median(results['postgres']) / baseline:.1f}x, "
          f"SQLite {statistics.median(results['sqlite']) / baseline:.1f}x")


if __name__ == "__main__":
    main()
