"""A real browser on a real server, offline: fixtures for the dashboard and documentation tests.

Chromium from Debian (/usr/bin/chromium) driven by Playwright's sync API. The app runs as
`borderstats serve --no-seed` in a subprocess on a free port over the read-only `loaded_url`
database (so once per backend). Every request that is not to the app's own origin is aborted and
recorded, and console errors, page errors, failed requests and HTTP errors are collected: a test
asserts there were none, which is what "works offline" means here. Without /usr/bin/chromium (or
Playwright) the tests skip with one line; with BORDERSTATS_REQUIRE_BROWSER=1 (CI) they fail.

Test modules import the fixtures: `from browser_support import chromium, live_server, visit`.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from conftest import borderstats_command, cli_env

CHROMIUM = Path("/usr/bin/chromium")
REQUIRE_ENV = "BORDERSTATS_REQUIRE_BROWSER"
SKIP_REASON = ("browser tests skipped: no /usr/bin/chromium "
               "(apt-get install -y chromium chromium-driver, and pip install playwright)")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
# The policy the pages are written for: only the app's own scripts, styles, images and requests.
STRICT_CSP = "default-src 'self'"
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


def free_port() -> int:
    """Return a TCP port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# Module scope: each test module imports these fixtures, which makes one fixture per module, and
# Playwright's sync API runs one instance at a time; pytest ends a module's before the next starts.
@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """Debian's Chromium, headless, launched once per module; skip (or fail in CI) when missing."""
    required = os.environ.get(REQUIRE_ENV, "").strip() not in {"", "0", "false", "no"}
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        sync_playwright = None
    if sync_playwright is None or not CHROMIUM.exists():
        if required:
            pytest.fail(f"{REQUIRE_ENV}=1 but {SKIP_REASON.split(': ', 1)[1]}", pytrace=False)
        pytest.skip(SKIP_REASON)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def live_server(chromium: Any, loaded_url: str) -> Iterator[str]:
    """`borderstats serve` on the loaded database: its base URL (http://127.0.0.1:PORT)."""
    port = free_port()
    env = {**cli_env(loaded_url), "BORDERSTATS_LOG_LEVEL": "WARNING", "BORDERSTATS_VERSION_TTL": "0"}
    process = subprocess.Popen(
        [*borderstats_command(), "serve", "--no-seed", "--host", "127.0.0.1", "--port", str(port)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while not _answers(f"{base}/readyz"):
            if process.poll() is not None:
                error = process.stderr.read().decode(errors="replace") if process.stderr else ""
                pytest.fail(f"borderstats serve exited with {process.returncode}: {error[-2000:]}")
            if time.monotonic() > deadline:
                pytest.fail("borderstats serve did not become ready within 60 s")
            time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


@dataclass
class Visit:
    """One page in its own browser context, and everything that went wrong while it ran."""

    page: Any
    base: str
    problems: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)

    def json(self, path: str) -> Any:
        """GET `path` from the server outside the page (the test's own request)."""
        request = urllib.request.Request(self.base + path, headers={"Accept": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as response:
            import json

            return json.loads(response.read())

    def text(self, path: str) -> str:
        with urllib.request.urlopen(self.base + path, timeout=30) as response:
            return response.read().decode("utf-8")


@pytest.fixture
def visit(chromium: Any, live_server: str) -> Iterator[Callable[..., Visit]]:
    """visit(path, viewport=DESKTOP, csp=STRICT_CSP, wait_for=None): open a page offline.

    `csp` is added to the page's response as its Content-Security-Policy (None: none added).
    """
    contexts: list[Any] = []

    def open_page(path: str, *, viewport: dict[str, int] = DESKTOP, csp: str | None = STRICT_CSP,
                  wait_for: str | None = None) -> Visit:
        context = chromium.new_context(viewport=viewport, service_workers="block")
        contexts.append(context)
        page = context.new_page()
        seen = Visit(page=page, base=live_server)

        def route(request_route: Any) -> None:
            request = request_route.request
            if not request.url.startswith(live_server + "/"):
                seen.blocked.append(request.url)
                request_route.abort("internetdisconnected")
            elif csp and request.resource_type == "document":
                response = request_route.fetch()
                headers = {k: v for k, v in response.headers.items()
                           if k.lower() not in {"content-encoding", "content-length"}}
                headers["content-security-policy"] = csp
                request_route.fulfill(response=response, headers=headers)
            else:
                request_route.continue_()

        context.route("**/*", route)
        page.on("console", lambda message: seen.problems.append(f"console {message.type}: {message.text}")
                if message.type == "error" else None)
        page.on("pageerror", lambda error: seen.problems.append(f"page error: {error}"))
        page.on("requestfailed", lambda request: seen.problems.append(
            f"request failed: {request.url} ({request.failure})"))
        page.on("response", lambda response: seen.problems.append(
            f"HTTP {response.status}: {response.url}") if response.status >= 400 else None)
        page.goto(live_server + path)
        if wait_for:
            page.wait_for_selector(wait_for, timeout=30_000)
        return seen

    yield open_page
    for context in contexts:
        with contextlib.suppress(Exception):
            context.close()


def screenshot(page: Any, name: str) -> Path:
    """Write a full-page screenshot to tests/artifacts/ (git-ignored) and return its path."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    page.screenshot(path=str(path), full_page=True)
    return path
