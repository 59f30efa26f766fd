"""Load test (not a test suite): a real `borderstats serve` (2 uvicorn workers) on a Postgres
database holding every official file, driven by wrk.

Phase 1: 60 s at 64 connections over a mix of data, comparison and claim URLs (mostly cached).
Phase 2: 30 s of distinct queries (every request a new query string, so nothing is cached).
Prints, for each phase and beside its target (issue 10: 0 errors; p99 < 1 s for the mix, < 200 ms
for distinct queries; RSS <= 150 MB a worker): requests, non-2xx answers, timeouts, p99, and the
RSS of each worker before and after.

Usage: .venv/bin/python bench/load.py [--admin-url postgresql://postgres@127.0.0.1:5432]
         [--mix-seconds 60] [--distinct-seconds 30] [--connections 64] [--workers 2]
Needs wrk (apt-get install wrk). Sends traffic to 127.0.0.1 only and stops by itself.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parents[1]
DATA_DIR = ROOT.parent / "shared" / "data"
BIN = Path(sys.executable).parent
RSS_TARGET_MB = 150  # issue 10: each worker after 60 s of mixed load

MIX = [
    "/seizures?drug=fentanyl&fiscal_year=2021&region=southwest&group_by=component",
    "/seizures?drug=fentanyl&region=southwest&fiscal_year=2021&group_by=area,fiscal_year"
    "&sort=-quantity_lbs&limit=3",
    "/seizures?drug=meth&port=san%20diego&group_by=fiscal_year&format=csv",
    "/encounters?region=southwest&fiscal_year=2022&group_by=state",
    "/encounters?sector=el%20paso,rgv,del%20rio,laredo&from=2021-10&to=2022-04&group_by=area",
    "/overdose-deaths?from=2019&group_by=year",
    "/overdose-deaths?state=AZ,NM&year=2021&group_by=state",
    "/comparisons/seizures-vs-encounters?drug=fentanyl&fiscal_year=2021&groups=CA,AZ%3BNM,TX",
    "/comparisons/seizure-share?drug=fentanyl&fiscal_year=2021"
    "&part_area=san-diego-field-office,tucson-field-office&base=southwest-ofo",
    "/comparisons/change?dataset=seizures&drug=fentanyl&before=FY2025&after=FY2026",
    "/claims",
    "/claims/fentanyl-caaz-port-share",
]
# Lua for wrk: requests from a list (phase 1) or each one new (phase 2), and a JSON summary.
LUA = r"""
local paths = {%(paths)s}
local distinct = %(distinct)s
local counter = 0
local drugs = {"fentanyl", "meth", "cocaine", "heroin", "marijuana"}
init = function(args)
  counter = tonumber(args[1]) or 0
end
request = function()
  counter = counter + 1
  local path
  if distinct then
    local n = counter
    local drug = drugs[(n %% #drugs) + 1]
    local year = 2019 + (math.floor(n / 5) %% 7)
    -- limit makes each query string new: no two requests share a cache entry
    path = "/seizures?drug=" .. drug .. "&fiscal_year=" .. year
           .. "&group_by=area,month&limit=" .. (1 + math.floor(n / 35) %% 9999)
           .. "&offset=" .. (n %% 3)
  else
    path = paths[(counter %% #paths) + 1]
  end
  return wrk.format("GET", path)
end
done = function(summary, latency, requests)
  io.write(string.format(
    'WRK_JSON {"requests": %%d, "non_2xx_3xx": %%d, "timeouts": %%d, "connect_errors": %%d, '
    .. '"read_errors": %%d, "write_errors": %%d, "p50_ms": %%.2f, "p99_ms": %%.2f, '
    .. '"max_ms": %%.2f, "seconds": %%.2f}\n',
    summary.requests, summary.errors.status, summary.errors.timeout, summary.errors.connect,
    summary.errors.read, summary.errors.write, latency:percentile(50) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000, summary.duration / 1e6))
end
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(p) for p in text.split()]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def worker_rss(server_pid: int) -> dict[int, float]:
    """RSS of each uvicorn worker: the serve process's children that are Python processes."""
    workers = [p for p in children(server_pid)
               if "python" in Path(f"/proc/{p}/cmdline").read_bytes().decode(errors="replace")
               and "resource_tracker" not in Path(f"/proc/{p}/cmdline").read_bytes().decode(errors="replace")]
    return {p: rss_mb(p) for p in workers}


def connections_per_worker(port: int) -> list[int]:
    """How many of the client's connections each worker holds now (`ss`; [] without it): the
    kernel hands a burst of new connections to whichever worker accepts first, and a worker
    with more of them answers each more slowly for the whole run."""
    try:
        out = subprocess.run(["ss", "-tnpH", "state", "established", f"( sport = :{port} )"],
                             capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    pids = [part.split(",")[0] for part in out.split("pid=")[1:]]
    return sorted((pids.count(p) for p in set(pids)), reverse=True)


def run_wrk(base: str, *, distinct: bool, seconds: int, connections: int) -> dict[str, float]:
    paths = ", ".join(json.dumps(p) for p in MIX)
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(LUA % {"paths": paths, "distinct": "true" if distinct else "false"})
    try:
        wrk = subprocess.Popen(["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--timeout",
                                "5s", "-s", script.name, base], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
        time.sleep(min(2.0, seconds / 2))
        held = connections_per_worker(int(base.rsplit(":", 1)[1]))
        out, err = wrk.communicate(timeout=seconds + 60)
        if wrk.returncode:
            raise subprocess.CalledProcessError(wrk.returncode, "wrk", out, err)
    finally:
        os.unlink(script.name)
    line = next(x for x in out.splitlines() if x.startswith("WRK_JSON "))
    return {**json.loads(line.removeprefix("WRK_JSON ")), "held": held}


def report(label: str, figures: dict[str, float], before: dict[int, float],
           after: dict[int, float], p99_target: float) -> None:
    errors = figures["non_2xx_3xx"] + figures["connect_errors"] + figures["read_errors"] + \
        figures["write_errors"]
    print(f"\n{label}")
    rate = figures["requests"] / figures["seconds"]
    print(f"  requests       {figures['requests']:>10,}   ({rate:,.0f}/s)")
    print(f"  non-2xx        {figures['non_2xx_3xx']:>10,}   target 0")
    print(f"  socket errors  {errors - figures['non_2xx_3xx']:>10,}   target 0")
    print(f"  timeouts (>5s) {figures['timeouts']:>10,}   target 0")
    print(f"  p50            {figures['p50_ms']:>10.1f} ms")
    met = "met" if figures["p99_ms"] < p99_target else "missed"
    print(f"  p99            {figures['p99_ms']:>10.1f} ms   target < {p99_target:.0f} ms ({met})")
    print(f"  max            {figures['max_ms']:>10.1f} ms")
    if figures["held"]:
        print(f"  connections a worker holds (2 s in): {' / '.join(map(str, figures['held']))}")
    for pid in sorted(before):
        rss = after.get(pid, 0)
        print(f"  worker {pid} RSS {before[pid]:.1f} MB -> {rss:.1f} MB   target <= {RSS_TARGET_MB} MB "
              f"({'met' if rss <= RSS_TARGET_MB else 'missed'})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--admin-url", default="postgresql://postgres@127.0.0.1:5432")
    parser.add_argument("--mix-seconds", type=int, default=60)
    parser.add_argument("--distinct-seconds", type=int, default=30)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    name = f"bs_load_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(f"{args.admin_url}/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = f"{args.admin_url}/{name}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("BORDERSTATS_")}
    env |= {"DATABASE_URL": url, "BORDERSTATS_LOG_LEVEL": "WARNING"}
    server = None
    try:
        files = sorted(str(p) for p in DATA_DIR.glob("*") if p.suffix in {".csv", ".xlsx"})
        subprocess.run([str(BIN / "borderstats"), "ingest", "-q", *files], env=env, check=True,
                       capture_output=True)
        port = free_port()
        server = subprocess.Popen([str(BIN / "borderstats"), "serve", "--port", str(port),
                                   "--workers", str(args.workers), "--no-seed"], env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if urllib.request.urlopen(base + "/readyz", timeout=2).status == 200 and \
                        len(worker_rss(server.pid)) == args.workers:
                    break
            except OSError:
                pass
            time.sleep(0.3)
        for path in MIX:  # every URL answers 200 before it is measured
            assert urllib.request.urlopen(base + path, timeout=10).status == 200, path
        print(f"borderstats serve, {args.workers} workers, Postgres {name}; wrk -t2 "
              f"-c{args.connections}; {os.cpu_count()} cores shared with the client")
        start = worker_rss(server.pid)
        mix = run_wrk(base, distinct=False, seconds=args.mix_seconds, connections=args.connections)
        middle = worker_rss(server.pid)
        report(f"phase 1: {args.mix_seconds} s over {len(MIX)} data, comparison and claim URLs",
               mix, start, middle, p99_target=1000)
        distinct = run_wrk(base, distinct=True, seconds=args.distinct_seconds,
                           connections=args.connections)
        end = worker_rss(server.pid)
        report(f"phase 2: {args.distinct_seconds} s of distinct queries (none cached)",
               distinct, middle, end, p99_target=200)
    finally:
        if server is not None:
            server.terminate()
            server.wait(30)
        with psycopg.connect(f"{args.admin_url}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
