"""Benchmark: load every file of ../shared/data into a fresh Postgres database with `borderstats ingest`.

Usage: .venv/bin/python bench/ingest.py [--server postgresql://postgres@127.0.0.1:5432/postgres]
       [--data ../shared/data] [--repeat 3]

Creates a throwaway database per run, migrates it, then times the real CLI command (a new
process, as a user would run it) and prints one line per run and the best/median.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--server", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    files = sorted(str(p) for p in args.data.glob("*") if p.suffix in {".csv", ".xlsx"})
    cli = str(Path(sys.executable).with_name("borderstats"))
    times = []
    for run in range(args.repeat):
        name = f"bs_bench_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(args.server, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        url = args.server.rsplit("/", 1)[0] + "/" + name
        env = {**os.environ, "DATABASE_URL": url}
        try:
            subprocess.run([cli, "db", "upgrade"], env=env, check=True, capture_output=True)
            started = time.perf_counter()
            done = subprocess.run([cli, "ingest", "--quiet", *files], env=env, check=True,
                                  capture_output=True, text=True)
            elapsed = time.perf_counter() - started
        finally:
            with psycopg.connect(args.server, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        rows = sum(int(line.split(" rows")[0].rsplit(" ", 1)[-1].replace(",", ""))
                   for line in done.stdout.splitlines() if " rows, " in line)
        times.append(elapsed)
        print(f"run {run + 1}: {len(files)} files, {rows:,} rows, {elapsed:.2f} s "
              f"(whole command, new process)")
    print(f"best {min(times):.2f} s, median {statistics.median(times):.2f} s, target < 10 s")


if __name__ == "__main__":
    main()
