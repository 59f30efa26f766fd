"""The FastAPI application: create_app() wires settings, engine, routers, errors and middleware.

Servers start it through the factory (`uvicorn --factory app.main:create_app`): nothing is built
at import, so importing the package never reads settings or opens a database.
"""

from __future__ import annotations

import asyncio
import gc
import logging
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from sqlalchemy import event
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from app.api.admission import Admission
from app.api.docs import API_DESCRIPTION, OPENAPI_TAGS
from app.api.http_cache import GZip, HttpCache, ResponseCache
from app.api.middleware import RequestMiddleware
from app.api.openapi import finish_openapi
from app.api.ratelimit import RateLimit
from app.api.routes import (
    claims,
    comparisons,
    data,
    health,
    pages,
    reference,
    revisions,
    vintages,
)
from app.api.security import RequestBodyLimit, SecurityHeaders, SlashRedirect
from app.claims.registry import registry
from app.config import Settings, get_settings
from app.db import make_async_engine, read_urls_from_settings
from app.errors import (
    ApiError,
    MethodNotAllowed,
    NotFound,
    ServiceUnavailable,
    closest,
    from_validation,
)
from app.ops.logs import configure_logging
from app.ops.outage_log import OutageLog
from app.query.catalog import CatalogCache

log = logging.getLogger("borderstats")

# The garbage collector's thresholds while serving. A request allocates thousands of objects (its
# rows) that live across CPython's default young collections (every 700 allocations): they are
# promoted, and a full collection walks the whole heap every few hundred requests, ~75 ms each.
# Measured on a 2-core machine (wrk -c32, /encounters uncached): 16 % of the worker's time in
# the collector and 615 req/s; with these, 1 % and 810 req/s. Reference counting still frees
# all but cyclic garbage at once; only cycles wait longer.
GC_THRESHOLDS = (10_000, 10, 10)

# Bodies of at least this many bytes are sent gzip-compressed to a client that accepts it.
# Level 5: level 9 (Starlette's default) costs about three times the CPU for bodies ~1 % smaller.
GZIP_MINIMUM, GZIP_LEVEL = 1000, 5




def operation_id(route: APIRoute) -> str:
    """A route's operationId: its handler's name (get_seizures), what generated clients call.
    One function for every app (the OpenAPI document's key holds it)."""
    return route.name


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the application; the database engine is created when it starts (lifespan)."""
    settings = settings or get_settings()
    configure_logging(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        engine = make_async_engine(read_urls_from_settings(settings), pool_size=settings.pool_size,
                                   timeout=settings.db_timeout_seconds,
                                   pool_wait=settings.request_timeout_seconds)
        # Any statement the database answers ends an outage in the log.
        event.listen(engine.sync_engine, "after_cursor_execute",
                     lambda *_args: app.state.outage_log.succeeded())
        app.state.engine = engine
        app.state.catalogs = CatalogCache(engine, ttl=settings.version_ttl_seconds)
        app.state.download_slots = asyncio.Semaphore(max(1, settings.pool_size // 2))
        app.state.responses = ResponseCache(settings.cache_entries,
                                             max_bytes=int(settings.cache_mb * 1_000_000))
        registry()  # read seed/claims.json now, not inside the first request
        thresholds = gc.get_threshold()
        gc.set_threshold(*GC_THRESHOLDS)
        try:
            yield
        finally:
            gc.set_threshold(*thresholds)
            await engine.dispose()

    app = FastAPI(
        title="borderstats",
        version="0.1.0",
        summary="Official US southern-border statistics: CBP drug seizures and migrant "
        "encounters, CDC/NCHS overdose deaths, and checks of a news article's claims.",
        description=API_DESCRIPTION,
        openapi_tags=OPENAPI_TAGS,
        lifespan=lifespan,
        docs_url=None,  # /docs and /redoc are served offline by app.api.routes.pages
        redoc_url=None,
        redirect_slashes=False,  # SlashRedirect answers with a relative Location instead
        generate_unique_id_function=operation_id,
    )
    app.state.settings = settings
    app.state.outage_log = OutageLog(interval=settings.outage_log_seconds)
    routers = [data.router, reference.router, comparisons.router, claims.router,
               revisions.router, vintages.router, health.router]
    for router in routers:
        app.include_router(router)
    pages.install(app)
    _install_error_handlers(app)
    finish_openapi(app, [*routers, pages.router])
    # innermost: a request waits for its turn only once the cache could not answer it
    app.add_middleware(Admission, limit=settings.active_requests)
    # cached bodies skip routing, validation and the queue (and, compressed once, gzip)
    app.add_middleware(HttpCache, gzip_minimum=GZIP_MINIMUM, gzip_level=GZIP_LEVEL)
    app.add_middleware(GZip, minimum_size=GZIP_MINIMUM, compresslevel=GZIP_LEVEL)
    app.add_middleware(SlashRedirect, router=app.router)
    # Bodies are read whole (bounded) before the handler, well inside the request deadline.
    app.add_middleware(RequestBodyLimit, max_bytes=settings.max_body_bytes,
                       timeout=min(settings.body_timeout_seconds, settings.request_timeout_seconds / 2))
    if settings.rate_limit > 0:  # inside CORS, so a browser can read its 429
        app.add_middleware(RateLimit, rate=settings.rate_limit, burst=settings.rate_burst)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=settings.cors_origins,
        allow_methods=["GET", "HEAD", "POST", "OPTIONS"],
        allow_headers=["Content-Type", "Accept", "If-None-Match", "X-Request-ID"],
        expose_headers=["ETag", "X-Request-ID", "Content-Disposition", "Retry-After", "Link",
                        "X-Total-Count"],
        max_age=3600,
    )
    app.add_middleware(SecurityHeaders)
    # outermost: ids, times, logs and bounds every request
    app.add_middleware(RequestMiddleware, timeout=settings.request_timeout_seconds,
                       outage=app.state.outage_log)
    return app


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(_request: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse(exc.body(), status_code=exc.status_code)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        """Routing errors (unknown path, wrong method) in the one error shape."""
        error = _routing_error(request, exc)
        headers = dict(exc.headers or {})
        return JSONResponse(error.body(), status_code=error.status_code, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse(_validation_body(request, exc), status_code=422)

    @app.exception_handler(DBAPIError)
    async def database_error(request: Request, exc: DBAPIError) -> JSONResponse:
        if _is_outage(exc):
            reason = str(exc.orig).splitlines()[0] if exc.orig else str(exc)
            request.app.state.outage_log.failed(reason)
            error = ServiceUnavailable("the database is unreachable; retry shortly",
                                       retry_after_seconds=5)
            return JSONResponse(error.body(), status_code=503, headers={"Retry-After": "5"})
        raise exc

    @app.exception_handler(Exception)
    async def unexpected_error(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        body = {"error": {"code": "internal_error",
                          "message": "an unexpected error occurred; it has been logged"}}
        return JSONResponse(body, status_code=500)

    @app.exception_handler(TimeoutError)
    @app.exception_handler(PoolTimeout)  # every pooled connection busy for db_timeout seconds
    async def timeout_error(request: Request, exc: TimeoutError) -> JSONResponse:
        request.app.state.outage_log.failed(f"no answer in time ({type(exc).__name__})")
        error = ServiceUnavailable("the database did not answer in time; retry shortly",
                                   retry_after_seconds=5)
        return JSONResponse(error.body(), status_code=503, headers={"Retry-After": "5"})


def _routing_error(request: Request, exc: StarletteHTTPException) -> ApiError:
    path = request.url.path
    if exc.status_code == 405:
        allowed = _methods_at(request)
        if "GET" in allowed:
            allowed.add("HEAD")  # answered by RequestMiddleware as a GET without its body
        allowed = sorted(allowed)
        exc.headers = {**(exc.headers or {}), "Allow": ", ".join(allowed)}
        return MethodNotAllowed(f"{request.method} is not allowed on {path}; use "
                                f"{' or '.join(allowed) or 'another method'}",
                                method=request.method, path=path, accepted=allowed)
    if exc.status_code == 404:
        paths = _public_paths(request.app)
        error = NotFound(f"no endpoint at {path}; the endpoints are listed at / and documented "
                         "at /docs", path=path, accepted=paths)
        suggestion = closest(path, paths)
        if suggestion:
            error.details["did_you_mean"] = suggestion
        return error
    error = ApiError(str(exc.detail))
    error.status_code = exc.status_code
    return error


def _methods_at(request: Request) -> set[str]:
    """Every method some route answers at this path (Starlette names only the first route's)."""
    return {method for method in ("GET", "POST", "PUT", "PATCH", "DELETE")
            if any(route.matches({**request.scope, "method": method})[0] == Match.FULL
                   for route in request.app.router.routes)}


def _public_paths(app: FastAPI) -> list[str]:
    """The documented paths with a GET (from the OpenAPI document, built once)."""
    return sorted(path for path, operations in app.openapi()["paths"].items() if "get" in operations)


# SQLSTATEs that mean "the database cannot serve now", not "the SQL is wrong": connection
# exceptions (08...), shutdown or start-up (57P01-57P03), too many connections, statement timeout.
_OUTAGE_STATES = ("08", "57P01", "57P02", "57P03", "53300", "57014")


def _is_outage(exc: DBAPIError) -> bool:
    if exc.connection_invalidated:
        return True
    orig = exc.orig
    sqlstate = getattr(orig, "sqlstate", None)
    if sqlstate:
        return sqlstate.startswith(_OUTAGE_STATES)
    if type(orig).__module__.startswith("sqlite3"):
        # SQLite reports SQL mistakes as OperationalError too; only a locked or missing file is
        # a passing condition.
        text = str(orig).lower()
        return "locked" in text or "unable to open" in text or "disk i/o" in text
    # psycopg raises OperationalError without a SQLSTATE when it cannot connect at all.
    return isinstance(exc, OperationalError)


def _validation_body(request: Request, exc: RequestValidationError) -> dict[str, Any]:
    """FastAPI's validation errors in the project's one error shape."""
    route = request.scope.get("route")
    error = from_validation(exc.errors(), known_parameters=_query_names(route) if route else None,
                            path=request.url.path)
    return error.body()


def _query_names(route: Any) -> set[str]:
    names: set[str] = set()
    for param in getattr(route, "dependant", None).query_params if route else []:
        annotation = getattr(param.field_info, "annotation", None)
        fields = getattr(annotation, "model_fields", None)
        if fields:
            names.update(f.alias or n for n, f in fields.items())
        else:
            names.add(param.alias)
    return names
