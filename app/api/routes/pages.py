"""GET / (the dashboard for browsers, an index of the API for other clients), /docs, /redoc and /static.

Every page is a static file of app/web that loads only same-origin scripts and styles (no inline
script, style or event handler, no CDN), so the documentation and the dashboard work offline.
"""

from __future__ import annotations

import gzip
from functools import cache
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.datastructures import Headers
from starlette.types import Scope

from app.api.schemas.reference import IndexDocument

WEB_DIR = Path(__file__).resolve().parents[2] / "web"
STATIC_PREFIX = "/static"
DOCS_PATH = "/docs"
REDOC_PATH = "/redoc"
# Vendored libraries live in folders named with their version: a new version is a new URL.
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"
# ReDoc styles its page at run time and renders in a worker: the one page whose policy allows
# inline styles and blob: workers (scripts stay same-origin only).
REDOC_POLICY = ("default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
                "worker-src 'self' blob:; object-src 'none'; base-uri 'none'; "
                "frame-ancestors 'none'")
COMPRESSIBLE = {".js", ".css", ".svg", ".html", ".txt", ".md"}

router = APIRouter()

INDEX_EXAMPLE = {
    "data": {
        "docs": DOCS_PATH,
        "redoc": REDOC_PATH,
        "openapi": "/openapi.json",
        "endpoints": [
            {"path": "/seizures", "method": "GET", "summary": "Drug seizures (CBP)"},
            {"path": "/claims/verify", "method": "POST", "summary": "Check a claim you submit"},
        ],
    }
}


@cache
def page(name: str) -> bytes:
    """Return one HTML page of app/web, read once."""
    return (WEB_DIR / name).read_bytes()


def api_index(app: FastAPI) -> dict[str, Any]:
    """List the documentation URLs and every documented operation, from the app's OpenAPI document."""
    endpoints = [
        {"path": path, "method": method.upper(), "summary": operation.get("summary", "")}
        for path, operations in app.openapi()["paths"].items()
        for method, operation in operations.items()
    ]
    return {"data": {"docs": DOCS_PATH, "redoc": REDOC_PATH, "openapi": app.openapi_url,
                     "endpoints": endpoints}}


def wants_html(accept: str) -> bool:
    """Whether the client is a browser: its Accept header names text/html."""
    return "text/html" in accept.lower()


@router.get(
    "/", summary="Dashboard (browsers) or an index of the API (other clients)", tags=["reference"],
    response_class=JSONResponse, response_model=IndexDocument,
    responses={200: {
        "description": "With `Accept: text/html` (a browser): the dashboard, an HTML page built "
        "only on the public endpoints. Otherwise: the documentation URLs and every operation.",
        "content": {
            "application/json": {"example": INDEX_EXAMPLE},
            "text/html": {"schema": {"type": "string"},
                          "example": "<!doctype html><html lang=\"en\">…</html>"},
        },
    }},
)
async def index(request: Request) -> Response:
    """Serve the dashboard to a browser and a JSON index of the API to any other client."""
    headers = {"Vary": "Accept", "Cache-Control": REVALIDATE}
    if wants_html(request.headers.get("accept", "")):
        return HTMLResponse(page("index.html"), headers=headers)
    return JSONResponse(api_index(request.app), headers=headers)


@router.get(DOCS_PATH, include_in_schema=False)
async def swagger_ui() -> HTMLResponse:
    """Serve Swagger UI from the app's own copy."""
    return HTMLResponse(page("docs.html"), headers={"Cache-Control": REVALIDATE})


@router.get(REDOC_PATH, include_in_schema=False)
async def redoc() -> HTMLResponse:
    """Serve ReDoc from the app's own copy."""
    return HTMLResponse(page("redoc.html"), headers={"Cache-Control": REVALIDATE,
                                                     "Content-Security-Policy": REDOC_POLICY})


class WebFiles(StaticFiles):
    """app/web over HTTP: vendored libraries cached for a year, the app's own files revalidated.

    Text files go out gzipped when the client accepts it, compressed once per file version and
    kept: compressing d3 and Plot on every request cost more than the rest of a page load.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._gzipped: dict[tuple[str, str], bytes] = {}

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        if response.status_code not in (200, 304):
            return response
        vendored = Path(path).parts[:1] == ("vendor",)
        response.headers["Cache-Control"] = IMMUTABLE if vendored else REVALIDATE
        if Path(path).suffix not in COMPRESSIBLE or not isinstance(response, FileResponse):
            return response
        response.headers["Vary"] = "Accept-Encoding"
        headers = Headers(scope=scope)
        if "gzip" not in headers.get("accept-encoding", "").lower():
            return response
        etag = response.headers["etag"].rstrip('"') + '-gzip"'
        out = {"Cache-Control": response.headers["Cache-Control"], "ETag": etag, "Vary": "Accept-Encoding",
               "Content-Type": response.headers["content-type"]}
        if etag in headers.get("if-none-match", ""):
            return Response(status_code=304, headers=out)
        key = (path, etag)
        if key not in self._gzipped:
            self._gzipped[key] = gzip.compress(Path(response.path).read_bytes(), compresslevel=9, mtime=0)
        return Response(self._gzipped[key], headers={**out, "Content-Encoding": "gzip"})


def install(app: FastAPI) -> None:
    """Add the pages and mount app/web at /static."""
    app.include_router(router)
    app.mount(STATIC_PREFIX, WebFiles(directory=WEB_DIR), name="static")
