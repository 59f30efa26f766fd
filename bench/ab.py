"""Benchmark: two checkouts side by side on the uncached query path, alternated, one run.

Usage: .venv/bin/python bench/ab.py BEFORE AFTER --database URL [--duration 3] [--rounds 4]

BEFORE and AFTER are project checkouts, each with its own .venv (`python3 -m venv .venv &&
.venv/bin/pip install -e .`); URL a Postgres database holding every file of ../shared/data. Both
servers (one uvicorn worker each, response cache off) run at once on the same database; for each
URL, `wrk -t1 -c32` runs against one then the other, in the order A B B A A B ..., and each run's
worker CPU (from /proc/<pid>/stat) is divided by its requests. Prints the medians: req/s and CPU
ms per request of each, and the change. On a noisy machine two separate runs of bench/api.py can
differ more than the two versions do; alternating short runs inside one run does not.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from api import CEILING, DATA_URLS  # the same questions as bench/api.py


def _worker_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _wait_until_up(port: int) -> None:
    for _ in range(150):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}{CEILING}", timeout=2)
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"the server on port {port} did not answer {CEILING}")


def _wrk(port: int, url: str, seconds: int) -> tuple[float, int]:
    out = subprocess.run(["wrk", "-t1", "-c32", f"-d{seconds}s", f"http://127.0.0.1:{port}{url}"],
                         capture_output=True, text=True, check=True).stdout
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors:
        raise SystemExit(f"{url}: {errors.group(1)} non-2xx answers on port {port}")
    return rate, requests


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before", type=Path)
    parser.add_argument("after", type=Path)
    parser.add_argument("--database", required=True)
    parser.add_argument("--duration", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--port", type=int, default=18900)
    args = parser.parse_args()
    trees = [args.before.resolve(), args.after.resolve()]
    servers = []
    for index, tree in enumerate(trees):
        env = {**os.environ, "BORDERSTATS_CACHE_ENTRIES": "0", "BORDERSTATS_LOG_LEVEL": "WARNING",
               "DATABASE_URL": args.database}
        servers.append(subprocess.Popen(
            [str(tree / ".venv/bin/uvicorn"), "--factory", "app.main:create_app",
             "--port", str(args.port + index), "--log-level", "warning"], cwd=tree, env=env))
    try:
        for index in range(2):
            _wait_until_up(args.port + index)
        print(f"A = {trees[0]}\nB = {trees[1]}\nwrk -t1 -c32, {args.duration} s runs, "
              f"{args.rounds} rounds alternated, 1 worker each, cache off; medians\n")
        print(f"{'endpoint':80} {'A req/s':>8} {'A ms':>6} {'B req/s':>8} {'B ms':>6} {'CPU':>6}")
        for url in [CEILING, *DATA_URLS]:
            runs: list[list[tuple[float, float]]] = [[], []]
            for index in range(2):  # warm both: plans, prepared statements
                _wrk(args.port + index, url, 1)
            for round_ in range(args.rounds):
                for index in ((0, 1) if round_ % 2 == 0 else (1, 0)):
                    pid = servers[index].pid
                    before = _worker_cpu(pid)
                    rate, requests = _wrk(args.port + index, url, args.duration)
                    runs[index].append((rate, (_worker_cpu(pid) - before) / requests * 1000))
            (rate_a, ms_a), (rate_b, ms_b) = [
                (statistics.median(r for r, _ in found), statistics.median(c for _, c in found))
                for found in runs]
            print(f"{url[:80]:80} {rate_a:8.0f} {ms_a:6.2f} {rate_b:8.0f} {ms_b:6.2f} "
                  f"{(ms_b / ms_a - 1) * 100:+5.0f}%", flush=True)
    finally:
        for server in servers:
            server.terminate()
        for server in servers:
            server.wait()


if __name__ == "__main__":
    main()
