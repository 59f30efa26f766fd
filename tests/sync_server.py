"""A stand-in for the agencies' web sites: pages with links and official files, on 127.0.0.1.

Tests mutate `routes` between syncs (a new release, a changed layout, an outage) and read `hits`
and `requests` to see what sync asked for. Nothing here reaches the internet.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from pytest_httpserver import HTTPServer, URIPattern
from werkzeug import Request, Response

Handler = Callable[[Request], Response]
ROOT = Path(__file__).resolve().parents[1]
SHIPPED_MANIFEST = ROOT / "seed" / "sources.json"


class AgencyServer(HTTPServer):
    """pytest-httpserver's server, stopped in ~0.02 s instead of up to 0.5: `serve_forever`
    checks for a shutdown every poll interval, 0.5 s by default (socketserver), which each test's
    teardown waited for (~20 s of the suite)."""

    def thread_target(self) -> None:
        assert self.server is not None
        self.server.serve_forever(poll_interval=0.02)


class Agency:
    """One local HTTP server that routes each path to a handler the test chose."""

    def __init__(self, server: HTTPServer):
        self.server = server
        self.routes: dict[str, Handler] = {}
        self.hits: Counter[str] = Counter()
        self.requests: list[tuple[str, dict[str, str], int]] = []
        server.expect_request(_AnyPath()).respond_with_handler(self._dispatch)

    def url(self, path: str) -> str:
        return self.server.url_for(path)

    def _dispatch(self, request: Request) -> Response:
        self.hits[request.path] += 1
        handler = self.routes.get(request.path)
        response = handler(request) if handler else Response("not found", status=404)
        self.requests.append((request.path, dict(request.headers), response.status_code))
        return response

    def statuses(self, path: str) -> list[int]:
        return [status for p, _, status in self.requests if p == path]

    def page(self, path: str, hrefs: list[str], **validators: str) -> None:
        """Serve an HTML page linking `hrefs` (plus some unrelated links, as real pages have)."""
        items = "".join(f'<li><a href="{h}">download</a></li>' for h in hrefs)
        html = ("<!DOCTYPE html><html><head><title>Stats</title></head><body>"
                '<a href="/newsroom">Newsroom</a><a href="/sites/default/files/2025-01/guide.pdf">'
                f"Guide</a><ul>{items}</ul></body></html>")
        self.routes[path] = serve(html.encode(), "text/html; charset=utf-8", **validators)

    def file(self, path: str, data: bytes, **validators: str) -> None:
        self.routes[path] = serve(data, "text/csv", **validators)


class _AnyPath(URIPattern):
    """A URI matcher for pytest-httpserver that accepts every path."""

    def match(self, uri: str) -> bool:
        return True


def serve(body: bytes, content_type: str, etag: str | None = None,
          last_modified: str | None = None) -> Handler:
    """A handler that answers 304 when the client's validators match, else 200 with `body`."""

    def handler(request: Request) -> Response:
        headers = {}
        if etag:
            headers["ETag"] = etag
        if last_modified:
            headers["Last-Modified"] = last_modified
        if (etag and request.headers.get("If-None-Match") == etag) or (
                last_modified and request.headers.get("If-Modified-Since") == last_modified):
            return Response(status=304, headers=headers)
        return Response(body, content_type=content_type, headers=headers)

    return handler


def failing(status: int, times: int, then: Handler | None = None,
            headers: dict[str, str] | None = None) -> Handler:
    """Answer `status` the first `times` requests, then hand over to `then`."""
    count = 0

    def handler(request: Request) -> Response:
        nonlocal count
        count += 1
        if then is None or count <= times:
            return Response("unavailable", status=status, headers=headers or {})
        return then(request)

    return handler


def slow(seconds: float) -> Handler:
    """Answer only after `seconds` (longer than the client waits)."""

    def handler(request: Request) -> Response:
        time.sleep(seconds)
        return Response("late", status=200)

    return handler


def redirect(location: str, status: int = 302) -> Handler:
    def handler(request: Request) -> Response:
        return Response("", status=status, headers={"Location": location})

    return handler


def local_manifest(agency: Agency, directory: Path, families: list[str],
                   **overrides: dict) -> Path:
    """The shipped manifest's entries for `families`, pointed at the local server."""
    shipped = json.loads(SHIPPED_MANIFEST.read_text(encoding="utf-8"))["sources"]
    entries = []
    for entry in shipped:
        if entry["family"] not in families:
            continue
        entry = dict(entry, page_url=agency.url(f"/document/{entry['family']}"),
                     base_url=agency.url("/"))
        entry.update(overrides.get(entry["family"], {}))
        entries.append(entry)
    path = directory / "sources.json"
    path.write_text(json.dumps({"sources": entries}), encoding="utf-8")
    return path
