"""Benchmark: HTTP throughput and latency of the data endpoints beside a trivial one, plus the
uncached cost of aggregates inside Postgres.

Usage: .venv/bin/python bench/api.py [--workers 2] [--duration 10] [--connections 32]
Needs wrk (apt-get install wrk). Loads all of ../shared/data into a throwaway Postgres database
through `borderstats ingest`, serves it with `borderstats serve`, and runs wrk against each URL
in turn on 127.0.0.1, the trivial /healthz (no database) first: it is the ceiling.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CEILING = "/healthz"
DATA_URLS = [
    "/seizures?drug=fentanyl&group_by=area,fiscal_year",
    "/encounters?group_by=sector,month&fiscal_year=2022",
    "/overdose-deaths?group_by=year",
]
# Aggregates over whole tables, timed inside Postgres without any cache.
FULL_TABLE_QUERIES = [
    ("seizures", {}),
    ("seizures", {"group_by": "fiscal_year"}),
    ("seizures", {"group_by": "drug,fiscal_year"}),
    ("seizures", {"group_by": "area,fiscal_year"}),
    ("seizures", {"group_by": "state"}),
    ("seizures", {"group_by": "component,region,month"}),
    ("encounters", {}),
    ("encounters", {"group_by": "fiscal_year"}),
    ("encounters", {"group_by": "state,fiscal_year"}),
    ("encounters", {"group_by": "citizenship"}),
    ("encounters", {"region": "southwest", "group_by": "component,month"}),
    ("encounters", {"component": "usbp", "group_by": "area,fiscal_year"}),
    ("overdose_deaths", {"group_by": "year"}),
    ("overdose_deaths", {"group_by": "state,year", "limit": "1000"}),
    ("overdose_deaths", {"group_by": "category,year", "limit": "1000"}),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(base: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(base + DATA_URLS[0], timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("server did not answer in time")


def run_wrk(url: str, *, duration: int, connections: int, threads: int) -> dict[str, float]:
    out = subprocess.run(
        ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--timeout", "5s",
         "--latency", url],
        check=True, capture_output=True, text=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    latency = {p: _ms(v) for p, v in re.findall(r"^\s+(50|75|90|99)%\s+([\d.]+\w+)", out, re.M)}
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(r"Socket errors: (.*)", out)
    return {"rps": rps, "p50": latency["50"], "p99": latency["99"],
            "non2xx": int(errors.group(1)) if errors else 0,
            "socket_errors": socket_errors.group(1) if socket_errors else ""}


def _ms(text: str) -> float:
    value, unit = re.match(r"([\d.]+)(\w+)", text).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


async def postgres_timings(url: str, runs: int = 7) -> list[tuple[str, float, float]]:
    """Median execution and planning time (EXPLAIN ANALYZE) of the API's own SQL."""
    from sqlalchemy.dialects import postgresql

    from app import query
    from app.catalog import load_catalog, read_version
    from app.db import database_urls, make_async_engine
    from app.params import parse_query

    engine = make_async_engine(database_urls(url), timeout=30)
    rows = []
    try:
        async with engine.connect() as conn:
            catalog = await load_catalog(conn, await read_version(conn))
            cases = [(name, dict(q.split("=") for q in u.split("?")[1].split("&")))
                     for name, u in zip(("seizures", "encounters", "overdose_deaths"), DATA_URLS,
                                        strict=True)] + FULL_TABLE_QUERIES
            for dataset, params in cases:
                spec = parse_query(dataset, params, catalog)
                sql = str(query.plan(spec, catalog).statement.compile(
                    dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}))
                execution, planning = [], []
                for _ in range(runs):
                    result = await conn.exec_driver_sql(
                        "EXPLAIN (ANALYZE, FORMAT JSON) " + sql.replace("%", "%%"))
                    plan = result.scalar()[0]
                    execution.append(plan["Execution Time"])
                    planning.append(plan["Planning Time"])
                label = dataset + ("?" + "&".join(f"{k}={v}" for k, v in params.items())
                                   if params else "")
                rows.append((label, statistics.median(execution), statistics.median(planning)))
    finally:
        await engine.dispose()
    return rows


def serve_and_measure(cli: str, env: dict[str, str], args: argparse.Namespace, label: str) -> None:
    port = free_port()
    server = subprocess.Popen(
        [cli, "serve", "--port", str(port), "--workers", str(args.workers), "--no-seed"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        base = f"http://127.0.0.1:{port}"
        wait_ready(base)
        for path in [CEILING, *DATA_URLS]:
            for _ in range(3 * args.workers):  # warm every worker
                urllib.request.urlopen(base + path, timeout=5).read()
        print(f"\n{label}")
        print(f"{'endpoint':60} {'req/s':>9} {'vs ceiling':>10} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7}")
        ceiling = None
        for path in [CEILING, *DATA_URLS]:
            stats = run_wrk(base + path, duration=args.duration, connections=args.connections,
                            threads=args.threads)
            ceiling = ceiling or stats["rps"]
            errors = stats["non2xx"] + (1 if stats["socket_errors"] else 0)
            print(f"{path:60} {stats['rps']:9.0f} {stats['rps'] / ceiling:10.0%} "
                  f"{stats['p50']:8.2f} {stats['p99']:8.2f} {errors:7d}"
                  + (f"  socket errors: {stats['socket_errors']}" if stats["socket_errors"] else ""))
    finally:
        server.terminate()
        server.wait(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--server", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()

    name = f"bs_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(args.server, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = args.server.rsplit("/", 1)[0] + "/" + name
    cli = str(Path(sys.executable).with_name("borderstats"))
    env = {**os.environ, "DATABASE_URL": url, "BORDERSTATS_WORKERS": str(args.workers),
           "BORDERSTATS_LOG_LEVEL": "WARNING"}
    try:
        files = sorted(str(p) for p in args.data.glob("*") if p.suffix in {".csv", ".xlsx"})
        subprocess.run([cli, "ingest", "--quiet", *files], env=env, check=True, capture_output=True)
        print(f"wrk -t{args.threads} -c{args.connections} -d{args.duration}s --latency, "
              f"{args.workers} uvicorn worker(s), Postgres, 127.0.0.1")
        # As deployed (responses cached per data version), then with the response cache off so
        # every data request runs its SQL (the data version is still read at most once a second).
        for label, cache_entries in (("response cache on (default)", "1024"),
                                     ("response cache off: every request queries Postgres", "0")):
            serve_and_measure(cli, {**env, "BORDERSTATS_CACHE_ENTRIES": cache_entries}, args, label)
    except BaseException:
        with psycopg.connect(args.server, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        raise
    try:
        print("\nuncached, inside Postgres (EXPLAIN ANALYZE, median of 7): execution / planning ms")
        for label, execution, planning in asyncio.run(postgres_timings(url)):
            flag = "" if execution + planning < 10 else "  <- over 10 ms"
            print(f"  {label:70} {execution:7.2f} {planning:6.2f}{flag}")
    finally:
        with psycopg.connect(args.server, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
