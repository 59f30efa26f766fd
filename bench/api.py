"""Benchmark: the uncached query path, beside a trivial endpoint, with the worker's CPU per request.

Usage: .venv/bin/python bench/api.py [--database URL] [--duration 5] [--connections 32]

Serves a Postgres database holding every file of ../shared/data with `borderstats serve` (one
worker unless --workers says otherwise), with the response cache off (every request runs its SQL)
and then on, and runs `wrk -t1` against each URL in turn on 127.0.0.1. Without --database it
creates a throwaway database and loads the files through `borderstats ingest` first.

For each URL it prints req/s, p50/p99, errors, and the CPU seconds the server's processes used
during the run divided by the requests served: the server's own cost per request (Python, the
driver, HTTP parsing), without the database's (a separate process). Targets (issue 10, on a
2-core machine): uncached, <= 2 ms of server CPU per request; cold `GET /claims` <= 50 ms. The
ratio to the trivial endpoint (/healthz, no database) is the figure to compare across machines.
Then the SQL of each question timed inside Postgres (EXPLAIN ANALYZE, median of 7).
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
# The questions of ../shared/bench/side_by_side.sh, then the other kinds of answer.
DATA_URLS = [
    "/seizures?drug=fentanyl&group_by=area,fiscal_year&limit=1000",
    "/encounters?group_by=sector,month&fiscal_year=2022&limit=1000",
    "/seizures?drug=fentanyl&fiscal_year=2021&group_by=area,month,component&limit=100",
    "/overdose-deaths?group_by=year",
    "/comparisons/ports-vs-between?drug=fentanyl&fiscal_year=2023",
    "/claims",
]
COLD_CLAIMS_TARGET_MS = 50.0
CPU_TARGET_MS = 2.0
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(base: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(base + DATA_URLS[0], timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("server did not answer in time")


def process_tree_cpu(root: int) -> float:
    """CPU seconds (user + system) used so far by `root` and every process below it."""
    children: dict[int, list[int]] = {}
    times: dict[int, float] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid, ppid = int(entry), int(fields[1])
        children.setdefault(ppid, []).append(pid)
        times[pid] = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime, stime
    total, todo = 0.0, [root]
    while todo:
        pid = todo.pop()
        total += times.get(pid, 0.0)
        todo.extend(children.get(pid, []))
    return total


def run_wrk(url: str, *, duration: int, connections: int, threads: int) -> dict[str, float]:
    out = subprocess.run(
        ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--timeout", "10s",
         "--latency", url],
        check=True, capture_output=True, text=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    total = int(re.search(r"(\d+) requests in", out).group(1))
    latency = {p: _ms(v) for p, v in re.findall(r"^\s+(50|75|90|99)%\s+([\d.]+\w+)", out, re.M)}
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(r"Socket errors: (.*)", out)
    return {"rps": rps, "requests": total, "p50": latency["50"], "p99": latency["99"],
            "non2xx": int(errors.group(1)) if errors else 0,
            "socket_errors": socket_errors.group(1) if socket_errors else ""}


def _ms(text: str) -> float:
    value, unit = re.match(r"([\d.]+)(\w+)", text).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def cold_claims_ms(base: str, runs: int = 15) -> float:
    """Median latency of GET /claims, one request at a time, with the response cache off."""
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        with urllib.request.urlopen(base + "/claims", timeout=10) as r:
            r.read()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def serve_and_measure(cli: str, env: dict[str, str], args: argparse.Namespace, label: str,
                      cached: bool) -> None:
    port = free_port()
    server = subprocess.Popen(
        [cli, "serve", "--port", str(port), "--workers", str(args.workers), "--no-seed"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        base = f"http://127.0.0.1:{port}"
        wait_ready(base)
        for path in [CEILING, *DATA_URLS]:
            for _ in range(5 * args.workers):  # warm every worker (imports, catalog, compiled SQL)
                urllib.request.urlopen(base + path, timeout=10).read()
        print(f"\n{label}")
        print(f"{'endpoint':82} {'req/s':>7} {'x trivial':>9} {'p50 ms':>7} {'p99 ms':>7} "
              f"{'errors':>6} {'CPU ms/req':>10}")
        ceiling = None
        for path in [CEILING, *DATA_URLS]:
            before = process_tree_cpu(server.pid)
            stats = run_wrk(base + path, duration=args.duration, connections=args.connections,
                            threads=1)
            cpu_ms = (process_tree_cpu(server.pid) - before) * 1000 / max(stats["requests"], 1)
            ceiling = ceiling or stats["rps"]
            errors = stats["non2xx"] + (1 if stats["socket_errors"] else 0)
            target = ("" if cached or path == CEILING else
                      f"  (target <= {CPU_TARGET_MS:g}: {'met' if cpu_ms <= CPU_TARGET_MS else 'missed'})")
            print(f"{path:82} {stats['rps']:7.0f} {stats['rps'] / ceiling:9.2f} "
                  f"{stats['p50']:7.2f} {stats['p99']:7.2f} {errors:6d} {cpu_ms:10.2f}{target}"
                  + (f"  socket errors: {stats['socket_errors']}" if stats["socket_errors"] else ""))
        if not cached:
            cold = cold_claims_ms(base)
            print(f"GET /claims, one at a time, uncached: median {cold:.1f} ms "
                  f"(target <= {COLD_CLAIMS_TARGET_MS:g}: "
                  f"{'met' if cold <= COLD_CLAIMS_TARGET_MS else 'missed'})")
    finally:
        server.terminate()
        server.wait(timeout=15)


async def postgres_timings(url: str, runs: int = 7) -> list[tuple[str, float, float]]:
    """Median execution and planning time (EXPLAIN ANALYZE) of the API's own SQL."""
    from urllib.parse import parse_qsl, urlsplit

    from sqlalchemy.dialects import postgresql

    from app.api.params import DATA_MODELS
    from app.datasets import DATASETS
    from app.db import database_urls, make_async_engine
    from app.query.build import build
    from app.query.catalog import load_catalog, read_version
    from app.query.sources import choose_family

    by_path = {d.path: name for name, d in DATASETS.items()}
    engine = make_async_engine(database_urls(url), timeout=30)
    rows = []
    try:
        async with engine.connect() as conn:
            catalog = await load_catalog(conn, await read_version(conn))
            for target in DATA_URLS:
                parts = urlsplit(target)
                if parts.path not in by_path:
                    continue  # comparisons and claims run batches, not one plan
                model = DATA_MODELS[by_path[parts.path]]
                fields = {f.alias or n: f for n, f in model.model_fields.items()}
                raw = {k: [v] if "list" in str(fields[k].annotation) else v
                       for k, v in parse_qsl(parts.query)}
                spec = model.model_validate(raw).resolve(catalog)
                plan = build(spec, choose_family(spec, catalog), catalog)
                statement = plan.statement.params(plan.parameters())
                sql = str(statement.compile(dialect=postgresql.dialect(),
                                            compile_kwargs={"literal_binds": True}))
                execution, planning = [], []
                for _ in range(runs):
                    result = await conn.exec_driver_sql(
                        "EXPLAIN (ANALYZE, FORMAT JSON) " + sql.replace("%", "%%"))
                    explained = result.scalar()[0]
                    execution.append(explained["Execution Time"])
                    planning.append(explained["Planning Time"])
                rows.append((f"{target} [{plan.rollup or 'facts'}]", statistics.median(execution),
                             statistics.median(planning)))
    finally:
        await engine.dispose()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--server", default="postgresql://postgres@127.0.0.1:5432/postgres",
                        help="a Postgres server to create the throwaway database on")
    parser.add_argument("--database", help="use this database (already holding every file) as is")
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--duration", type=int, default=5)
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()

    throwaway = None
    url = args.database
    if url is None:
        throwaway = f"bs_bench_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(args.server, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{throwaway}"')
        url = args.server.rsplit("/", 1)[0] + "/" + throwaway
    cli = str(Path(sys.executable).with_name("borderstats"))
    env = {**os.environ, "DATABASE_URL": url, "BORDERSTATS_LOG_LEVEL": "WARNING"}
    try:
        if throwaway:
            files = sorted(str(p) for p in args.data.glob("*") if p.suffix in {".csv", ".xlsx"})
            subprocess.run([cli, "ingest", "--quiet", *files], env=env, check=True,
                           capture_output=True)
            # Planner statistics, as autovacuum gathers them within a minute of a load: the
            # figures are for a database in service, not one seconds old.
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute("ANALYZE")
        print(f"wrk -t1 -c{args.connections} -d{args.duration}s --latency, {args.workers} "
              f"uvicorn worker(s), Postgres, 127.0.0.1, {os.cpu_count()} cores")
        serve_and_measure(cli, {**env, "BORDERSTATS_CACHE_ENTRIES": "0"}, args,
                          "response cache off: every request runs its SQL", cached=False)
        serve_and_measure(cli, {**env, "BORDERSTATS_CACHE_ENTRIES": "1024"}, args,
                          "response cache on (as deployed)", cached=True)
        print("\ninside Postgres (EXPLAIN ANALYZE, median of 7): execution / planning ms")
        for label, execution, planning in asyncio.run(postgres_timings(url)):
            print(f"  {label:100} {execution:7.2f} {planning:6.2f}")
    finally:
        if throwaway:
            with psycopg.connect(args.server, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{throwaway}" WITH (FORCE)')


if __name__ == "__main__":
    main()
