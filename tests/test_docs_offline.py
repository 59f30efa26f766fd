"""/docs (Swagger UI) and /redoc (ReDoc) work with the network off: the app serves their assets.

The browser tests open them in Chromium with every request off the app's origin aborted; the
others read the pages and assets over real HTTP (TestClient) on both backends.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import browser_support
import pytest
from api_helpers import api_client

chromium = browser_support.chromium
live_server = browser_support.live_server
visit = browser_support.visit

WEB = Path(__file__).resolve().parents[1] / "app" / "web"
# Swagger UI's stylesheet draws its icons as data: SVG images; that is all it needs beyond 'self'.
DOCS_CSP = "default-src 'self'; img-src 'self' data:"
# ReDoc 2.5.4 always renders Redocly's logo from its CDN (no option turns it off); the page's policy
# refuses that one image and the documentation is whole without it.
REDOC_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"


def operations(openapi: dict) -> list[tuple[str, str]]:
    return [(method.upper(), path) for path, ops in openapi["paths"].items() for method in ops]


def test_swagger_ui_renders_every_operation_offline(visit):
    seen = visit("/docs", csp=DOCS_CSP, wait_for=".opblock")
    expected = operations(seen.json("/openapi.json"))
    page = seen.page
    page.wait_for_function(f"document.querySelectorAll('.opblock').length === {len(expected)}")
    rendered = page.eval_on_selector_all(
        ".opblock", "els => els.map(e => [e.querySelector('.opblock-summary-method').textContent, "
        "e.querySelector('.opblock-summary-path').dataset.path])")
    assert sorted(map(tuple, rendered)) == sorted(expected)
    assert page.locator(".info .title").inner_text().startswith("borderstats")
    assert seen.problems == []
    assert seen.blocked == []


def test_redoc_renders_every_operation_offline(visit):
    seen = visit("/redoc", csp=None, wait_for="[data-section-id^='operation/']")
    expected = operations(seen.json("/openapi.json"))
    page = seen.page
    page.wait_for_function(
        f"document.querySelectorAll(\"[data-section-id^='operation/']\").length === {len(expected)}")
    assert page.locator("h1").first.inner_text().startswith("borderstats")
    # The page's own policy refuses the logo before any request leaves the browser.
    assert seen.blocked == []
    refused, failed = seen.problems
    assert refused.startswith(f"console error: Loading the image '{REDOC_LOGO}' violates the "
                              "following Content Security Policy directive")
    assert failed == f"request failed: {REDOC_LOGO} (csp)"


class Tags(HTMLParser):
    """Every start tag of a page with its attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.inline_scripts = 0
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, {k: v or "" for k, v in attrs}))
        self._in_script = tag == "script"

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.inline_scripts += 1


def parse(html: str) -> Tags:
    tags = Tags()
    tags.feed(html)
    return tags


@pytest.fixture(scope="module")
def client(database_url_module):
    with api_client(database_url_module) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def database_url_module(backend, _databases):
    url = _databases.create()
    yield url
    _databases.drop(url)


@pytest.mark.parametrize("path", ["/", "/docs", "/redoc"])
def test_pages_load_only_their_own_assets_with_no_inline_script_style_or_handler(client, path):
    response = client.get(path, headers={"Accept": "text/html"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    html = response.text
    assert not re.search(r"(?i)\b(src|href)\s*=\s*[\"']?(https?:)?//", html)
    page = parse(html)
    assert page.inline_scripts == 0
    assert [tag for tag, _ in page.tags if tag == "style"] == []
    assert [(tag, name) for tag, attrs in page.tags for name in attrs
            if name == "style" or name.startswith("on")] == []
    assets = [attrs.get("src") or attrs.get("href") for tag, attrs in page.tags
              if tag in {"script", "link"} and (attrs.get("src") or attrs.get("href"))]
    assert assets and all(a.startswith("/") for a in assets)
    for asset in assets:
        assert client.get(asset).status_code == 200, asset


def test_the_docs_pages_use_the_vendored_swagger_ui_and_redoc(client):
    docs = parse(client.get("/docs").text)
    redoc = parse(client.get("/redoc").text)
    scripts = [attrs["src"] for tag, attrs in docs.tags + redoc.tags if tag == "script"]
    assert scripts == ["/static/vendor/swagger-ui-dist-5.35.0/swagger-ui-bundle.js", "/static/docs.js",
                       "/static/vendor/redoc-2.5.4/redoc.standalone.js"]
    assert ("redoc", {"spec-url": "/openapi.json"}) in redoc.tags


def test_vendored_files_are_cached_for_a_year_and_the_apps_own_files_revalidated(client):
    vendored = client.get("/static/vendor/plot-0.6.17/plot.umd.min.js")
    assert vendored.status_code == 200
    assert vendored.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert vendored.headers["content-type"].startswith("text/javascript")
    own = client.get("/static/app.js")
    assert own.headers["cache-control"] == "no-cache"
    etag = own.headers["etag"]
    assert client.get("/static/app.js", headers={"If-None-Match": etag}).status_code == 304
    assert client.get("/static/no-such-file.js").status_code == 404


def test_every_vendored_library_ships_its_licence_and_says_where_it_came_from():
    vendor = WEB / "vendor"
    folders = sorted(p.name for p in vendor.iterdir() if p.is_dir())
    assert folders == ["d3-7.9.0", "plot-0.6.17", "redoc-2.5.4", "swagger-ui-dist-5.35.0"]
    readme = (vendor / "README.md").read_text()
    for folder in folders:
        assert (vendor / folder / "LICENSE").stat().st_size > 500, folder
        assert f"`{folder}/`" in readme and f"{folder.rsplit('-', 1)[1]}" in readme, folder
    assert "npm pack @observablehq/plot@0.6.17 d3@7.9.0 swagger-ui-dist@5.35.0 redoc@2.5.4" in readme
