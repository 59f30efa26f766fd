"""Benchmark: the floor under the uncached questions of ../shared/bench/side_by_side.sh, beside
Datasette and borderstats, in one run.

Usage: .venv/bin/python bench/floor.py --database URL [--duration 5] [--connections 32]

The floor is the least a Python worker answering from Postgres must do: a bare ASGI app (this
module's `app`, no framework, no middleware) under the same uvicorn, one worker, that looks the
request's statement up by its URL (the SQL borderstats renders for it, worked out before the
clock starts), runs it on one of 5 open psycopg connections (binary rows, autocommit, as the API
does) and writes the rows as JSON objects with orjson. It parses no parameter, shapes nothing,
writes no meta, sets no header: no real answer can cost less. Whatever it cannot reach, no
change inside borderstats can.

For each question it prints req/s of Datasette (loaded by ../shared/bench/load_datasette.py, as
side_by_side.sh does; its venv is reused), of borderstats with the response cache off, and of the
floor, each as a multiple of Datasette, beside the issue's target (5x Datasette), and the CPU
per request of the worker and of Postgres (its processes, from /proc): on a 2-core machine
Postgres, the worker and wrk share two cores, so the CPU a request costs all of them bounds the
rate. Start it on a quiet machine; compare only figures of one run.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import pickle
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))

QUESTIONS = [  # (label, Datasette URL, borderstats URL): side_by_side.sh's
    ("trivial", "/-/versions.json", "/healthz"),
    ("(a) fentanyl by area x FY",
     '/border.json?sql=select "Area of Responsibility", fiscal_year, sum("Sum Qty (lbs)") as '
     'lbs, sum("Count of Event") as events from seizures where "Drug Type"=\'Fentanyl\' group by '
     '1,2&_shape=array',
     "/seizures?drug=fentanyl&group_by=area,fiscal_year&limit=1000"),
    ("(b) sector x month FY2022",
     '/border.json?sql=select Sector, Month, sum(Quantity) from encounters_sector where '
     '"Fiscal Year"=2022 group by 1,2&_shape=array',
     "/encounters?group_by=sector,month&fiscal_year=2022&limit=1000"),
    ("(c) fentanyl FY2021 rows", "/border/seizures.json?Drug+Type=Fentanyl&fiscal_year=2021"
     "&_size=100",
     "/seizures?drug=fentanyl&fiscal_year=2021&group_by=area,month,component&limit=100"),
]
TARGET_X = 5.0
POOL = 5  # the API's default pool (BORDERSTATS_POOL_SIZE)


# --- the floor app --------------------------------------------------------------------------------

_statements: dict[bytes, tuple[str, dict]] = {}
_connections: asyncio.Queue | None = None


async def app(scope, receive, send):  # a bare ASGI callable
    global _connections
    if scope["type"] == "lifespan":
        import psycopg

        while (message := await receive())["type"] != "lifespan.shutdown":
            if message["type"] == "lifespan.startup":
                with open(os.environ["BENCH_FLOOR_STATEMENTS"], "rb") as f:
                    _statements.update(pickle.load(f))
                _connections = asyncio.Queue()
                for _ in range(POOL):
                    _connections.put_nowait(await psycopg.AsyncConnection.connect(
                        os.environ["DATABASE_URL"], autocommit=True))
                await send({"type": "lifespan.startup.complete"})
        while _connections is not None and not _connections.empty():
            await _connections.get_nowait().close()
        await send({"type": "lifespan.shutdown.complete"})
        return
    import orjson

    target = scope["raw_path"] + (b"?" + scope["query_string"] if scope["query_string"] else b"")
    if target == b"/trivial":
        body = b'{"status":"ok"}'
    else:
        sql, parameters = _statements[target]
        conn = await _connections.get()
        try:
            cursor = conn.cursor(binary=True)
            await cursor.execute(sql, parameters)
            rows = await cursor.fetchall()
            names = [c.name for c in cursor.description]
            await cursor.close()
        finally:
            _connections.put_nowait(conn)
        body = orjson.dumps({"data": [dict(zip(names, row, strict=True)) for row in rows]})
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


# --- the run --------------------------------------------------------------------------------------

async def render_statements(url: str) -> dict[bytes, tuple[str, dict]]:
    """The SQL and values borderstats runs for each question (app/query/execute.py
    `psycopg_sql`, as the API renders it)."""
    from urllib.parse import urlsplit

    from starlette.datastructures import QueryParams

    from app.api.direct import ParamReader
    from app.api.params import DATA_MODELS
    from app.datasets import DATASETS
    from app.db import database_urls, make_async_engine
    from app.query.build import build
    from app.query.catalog import load_catalog, read_version
    from app.query.execute import psycopg_sql
    from app.query.sources import choose_family

    by_path = {d.path: name for name, d in DATASETS.items()}
    engine = make_async_engine(database_urls(url), timeout=30)
    statements = {}
    try:
        async with engine.connect() as conn:
            catalog = await load_catalog(conn, await read_version(conn))
            for _, _, target in QUESTIONS[1:]:
                parts = urlsplit(target)
                params = ParamReader(DATA_MODELS[by_path[parts.path]]).read(
                    QueryParams(parts.query))
                spec = params.resolve(catalog)
                plan = build(spec, choose_family(spec, catalog), catalog)
                statements[target.encode()] = psycopg_sql(plan, conn.dialect)
    finally:
        await engine.dispose()
    return statements


def postgres_cpu() -> float:
    """CPU seconds used so far by every process named postgres (the backends of the servers'
    open connections, and any other client's: run it on a quiet machine)."""
    total = 0.0
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    stat = f.read()
            except OSError:
                continue
            if stat[stat.index("(") + 1:stat.rindex(")")] == "postgres":
                fields = stat.rsplit(")", 1)[1].split()
                total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def datasette() -> str | None:
    tmp = Path(os.environ.get("TMPDIR", "/tmp"))
    found = os.environ.get("DATASETTE") or str(tmp / "datasette-venv" / "bin" / "datasette")
    return found if Path(found).exists() else None


def main() -> None:
    from api import free_port, process_tree_cpu, run_wrk

    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", required=True,
                        help="a Postgres database holding every file of ../shared/data")
    parser.add_argument("--duration", type=int, default=5)
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()

    uvicorn = str(Path(sys.executable).with_name("uvicorn"))
    env = {**os.environ, "DATABASE_URL": args.database, "BORDERSTATS_LOG_LEVEL": "WARNING",
           "BORDERSTATS_CACHE_ENTRIES": "0"}
    work = Path(tempfile.mkdtemp(prefix="floor-"))
    statements = work / "statements.pickle"
    statements.write_bytes(pickle.dumps(asyncio.run(render_statements(args.database))))
    servers: dict[str, tuple[subprocess.Popen, str]] = {}

    def start(name: str, command: list[str], extra: dict[str, str] | None = None) -> None:
        port = free_port()
        process = subprocess.Popen(
            [c.replace("PORT", str(port)) for c in command], env={**env, **(extra or {})},
            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        servers[name] = (process, f"http://127.0.0.1:{port}")

    ds = datasette()
    if ds:
        db = work / "border.db"
        subprocess.run([sys.executable, str(ROOT.parent / "shared" / "bench" / "load_datasette.py"),
                        str(db)], check=True, capture_output=True)
        start("datasette", [ds, "serve", str(db), "-h", "127.0.0.1", "-p", "PORT", "--setting",
                            "sql_time_limit_ms", "10000", "--setting", "default_cache_ttl", "0"])
    worker = [uvicorn, "--host", "127.0.0.1", "--port", "PORT", "--workers", "1",
              "--log-level", "warning"]
    start("borderstats", [*worker, "--factory", "app.main:create_app"])
    start("floor", [*worker, "--app-dir", str(HERE), "floor:app"],
          {"BENCH_FLOOR_STATEMENTS": str(statements)})
    try:
        for name, (_, base) in servers.items():
            probe = {"datasette": "/-/versions.json", "floor": "/trivial"}.get(name, "/healthz")
            for _ in range(150):
                try:
                    urllib.request.urlopen(base + probe, timeout=2).read()
                    break
                except OSError:
                    time.sleep(0.2)
            else:
                raise SystemExit(f"{name} did not start")
        print(f"wrk -t1 -c{args.connections} -d{args.duration}s, one process each, "
              f"{os.cpu_count()} cores; borderstats and the floor read Postgres, cache off")
        print(f"{'question':28} {'datasette':>9} {'borderstats':>11} {'x ds':>5} {'floor':>7} "
              f"{'x ds':>5} {'target':>7} | {'worker CPU ms/req':>17} {'Postgres CPU ms/req':>19}")
        for label, ds_path, bs_path in QUESTIONS:
            figures: dict[str, tuple[float, float, float]] = {}
            for name, (process, base) in servers.items():
                path = ds_path if name == "datasette" else bs_path
                if name == "floor" and label == "trivial":
                    path = "/trivial"
                urllib.request.urlopen(base + path.replace(" ", "%20").replace('"', "%22"),
                                       timeout=10).read()  # warm
                worker_before, pg_before = process_tree_cpu(process.pid), postgres_cpu()
                stats = run_wrk(base + path.replace(" ", "%20").replace('"', "%22"),
                                duration=args.duration, connections=args.connections, threads=1)
                n = max(stats["requests"], 1)
                errors = stats["non2xx"] + (1 if stats["socket_errors"] else 0)
                if errors:
                    raise SystemExit(f"{name} {path}: {errors} error(s) under load")
                figures[name] = (stats["rps"],
                                 (process_tree_cpu(process.pid) - worker_before) * 1000 / n,
                                 (postgres_cpu() - pg_before) * 1000 / n)
            base_rps = figures["datasette"][0] if "datasette" in figures else float("nan")
            bs, floor = figures["borderstats"], figures["floor"]
            print(f"{label:28} {base_rps:9.0f} {bs[0]:11.0f} {bs[0] / base_rps:5.1f} "
                  f"{floor[0]:7.0f} {floor[0] / base_rps:5.1f} {TARGET_X * base_rps:7.0f} | "
                  f"{bs[1]:8.2f} /{floor[1]:7.2f} {bs[2]:9.2f} /{floor[2]:8.2f}")
        print("(worker and Postgres CPU: borderstats / floor; target: 5x Datasette's req/s)")
    finally:
        for process, _ in servers.values():
            process.terminate()
        for process, _ in servers.values():
            process.wait(timeout=15)


if __name__ == "__main__":
    main()
