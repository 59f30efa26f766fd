"""Time the dashboard's first render in Chromium against a warm server and weigh what it transfers.

Starts `borderstats serve` on a free port (the embedded SQLite default in a temporary folder,
seeded from the shipped snapshot on first start, or the database --database-url names), loads the
page once to warm the server, then loads it --runs times, each in a fresh browser context (empty
cache), and prints:

- first render: from navigation start to the performance mark "dashboard-ready", which the page
  makes once every chart of the first selection is drawn (and sets <html data-ready>);
- DOMContentLoaded and load (navigation timing), for comparison;
- bytes transferred for one load, as sent with Chromium's Accept-Encoding (gzip is the encoding the
  app offers): response bodies plus headers, every request of the page.

Each figure is printed beside its target (first render <= 1 s, transfer <= 500 KB gzipped).

    .venv/bin/python bench/page.py                     # embedded SQLite, 5 runs
    .venv/bin/python bench/page.py --runs 10 --database-url postgresql://postgres@127.0.0.1:5432/bs
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
from collections.abc import Iterator
from pathlib import Path
from typing import Any

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
FIRST_RENDER_TARGET_S = 1.0
TRANSFER_TARGET_KB = 500.0


def free_port() -> int:
    """Return a TCP port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def ready(url: str) -> bool:
    """Whether `url` answers 200 now."""
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


@contextlib.contextmanager
def server(command: str, database_url: str | None) -> Iterator[str]:
    """Run `borderstats serve` until the block ends; yield its base URL."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("BORDERSTATS_") and k != "DATABASE_URL"}
    env["BORDERSTATS_LOG_LEVEL"] = "WARNING"
    if database_url:
        env["DATABASE_URL"] = database_url
    with tempfile.TemporaryDirectory(prefix="bs-bench-page-") as cwd:
        process = subprocess.Popen([command, "serve", "--port", str(port)], cwd=cwd, env=env,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 120
            while not ready(f"{base}/readyz"):
                if process.poll() is not None:
                    error = process.stderr.read()[-500:]
                    raise RuntimeError(f"serve exited with {process.returncode}: {error}")
                if time.monotonic() > deadline:
                    raise RuntimeError("serve was not ready within 120 s")
                time.sleep(0.1)
            yield base
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def load_once(browser: Any, base: str) -> dict[str, Any]:
    """Load / in a fresh context: timings in seconds and the bytes of every response."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    finished: list[Any] = []
    page.on("requestfinished", lambda request: finished.append(request))
    page.goto(f"{base}/")
    page.wait_for_selector("html[data-ready]", timeout=30_000)
    if page.get_attribute("html", "data-ready") == "error":
        raise RuntimeError("the dashboard reported an error")
    timings = page.evaluate("""() => {
        const nav = performance.getEntriesByType("navigation")[0];
        const mark = performance.getEntriesByName("dashboard-ready")[0];
        return {ready: mark.startTime, dcl: nav.domContentLoadedEventEnd, load: nav.loadEventEnd};
    }""")
    page.wait_for_load_state("networkidle")
    sizes = []
    for request in finished:
        size = request.sizes()
        response = request.response()
        encoding = response.headers.get("content-encoding", "") if response else ""
        sizes.append((request.url.removeprefix(base), size["responseBodySize"], size["responseHeadersSize"],
                      encoding))
    context.close()
    return {"ready": timings["ready"] / 1000, "dcl": timings["dcl"] / 1000, "load": timings["load"] / 1000,
            "sizes": sizes}


def verdict(ok: bool) -> str:
    return "meets the target" if ok else "MISSES the target"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--database-url", default=None, help="default: the embedded SQLite file")
    parser.add_argument("--command", default=str(Path(sys.executable).with_name("borderstats")))
    parser.add_argument("--verbose", action="store_true", help="list every response of one load")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with server(args.command, args.database_url) as base, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        load_once(browser, base)  # warm: the server's response cache, Python's imports, SQLite pages
        runs = [load_once(browser, base) for _ in range(args.runs)]
        browser.close()
    ready_s = [r["ready"] for r in runs]
    backend = "Postgres" if args.database_url else "embedded SQLite"
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"dashboard at / on {backend}, {args.runs} runs after one warm-up, fresh browser cache each run; "
          f"load average {load} on {os.cpu_count()} cores")
    print(f"first render (charts drawn): median {statistics.median(ready_s):.3f} s, max {max(ready_s):.3f} s"
          f"  (target <= {FIRST_RENDER_TARGET_S:.0f} s: {verdict(max(ready_s) <= FIRST_RENDER_TARGET_S)})")
    print(f"DOMContentLoaded: median {statistics.median(r['dcl'] for r in runs):.3f} s; "
          f"load: median {statistics.median(r['load'] for r in runs):.3f} s")
    sizes = runs[-1]["sizes"]
    body = sum(s[1] for s in sizes)
    total = sum(s[1] + s[2] for s in sizes)
    gzipped = sum(1 for s in sizes if s[3] == "gzip")
    print(f"transferred by one load: {total / 1000:.1f} KB ({body / 1000:.1f} KB of bodies) in {len(sizes)} "
          f"responses, {gzipped} of them gzipped  (target <= {TRANSFER_TARGET_KB:.0f} KB: "
          f"{verdict(total / 1000 <= TRANSFER_TARGET_KB)})")
    if args.verbose:
        for url, body_size, header_size, encoding in sorted(sizes, key=lambda s: -s[1]):
            print(f"  {body_size / 1000:8.1f} KB + {header_size:4d} B headers  {encoding or '-':5}  {url}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
