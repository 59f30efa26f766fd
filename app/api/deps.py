"""Dependencies every handler declares: the catalog of this request's data version, a database
connection, and the output the client asked for."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated
from urllib.parse import urlencode

from fastapi import Depends, Request
from pydantic import TypeAdapter, ValidationError
from sqlalchemy.ext.asyncio import AsyncEngine

from app.api.http_cache import fold_params, output_format
from app.query.catalog import Catalog
from app.render.formats import Output, file_name


async def current_catalog(request: Request) -> Catalog:
    """The catalog the HTTP cache layer read for this request, or the current one; with `as_of`,
    the catalog of that vintage (a 422 when it names none)."""
    state = request.scope.setdefault("state", {})
    found = state.get("catalog")
    as_of = request.query_params.get("as_of")
    if as_of is not None:
        if found is None or found.vintage is None:
            found = state["catalog"] = await request.app.state.catalogs.vintage(as_of)
        return found
    return found if found is not None else await request.app.state.catalogs.get()


@dataclass(frozen=True)
class Page:
    """How the request was written: for the next-page link and download names."""

    path: str
    params: list[tuple[str, str]]

    def next_url(self, offset: int, limit: int, shown: int, total: int) -> str | None:
        if offset + shown >= total or shown == 0:
            return None
        items = [(k, v) for k, v in self.params if k != "offset"]
        items.append(("offset", str(offset + limit)))
        return f"{self.path}?{urlencode(items)}"

    @property
    def download_name(self) -> str:
        return file_name(self.path, self.params)

    def asks(self, name: str) -> bool:
        return any(k == name for k, _ in self.params)

    def permalink(self, catalog: Catalog) -> str | None:
        """This request pinned to a vintage: as written when it names one (as_of), else with
        as_of set to the newest release loaded (None while nothing is loaded)."""
        if self.asks("as_of"):
            return f"{self.path}?{urlencode(self.params, safe=',')}"
        newest = catalog.newest_release
        if newest is None:
            return None
        return f"{self.path}?{urlencode([*self.params, ('as_of', str(newest))], safe=',')}"


def page_of(request: Request) -> Page:
    return Page(request.url.path, fold_params(request.query_params.multi_items()))


_FLAG = TypeAdapter(bool)


def _flag(text: str | None) -> bool:
    """A boolean parameter as the parameter models read it (true, 1, yes, on, t, y, any case);
    False for what they refuse (a 422 follows: the context is made before they validate)."""
    if text is None:
        return False
    try:
        return _FLAG.validate_python(text)
    except ValidationError:
        return False


def output_of(request: Request) -> Output:
    params = dict(request.query_params)  # a repeated parameter: the last value, as validated
    fmt, explicit = output_format(request.headers.get("accept", ""), params)
    return Output(fmt, explicit, _flag(params.get("bom")))


@dataclass
class Context:
    """A request's context: the output asked for, how it was written, and (read only when a
    handler needs it, after the parameters validated) the catalog of its data version."""

    request: Request
    output: Output
    page: Page

    async def catalog(self) -> Catalog:
        return await current_catalog(self.request)

    @property
    def engine(self) -> AsyncEngine:
        return self.request.app.state.engine


async def context(request: Request) -> Context:
    # async: FastAPI runs a plain `def` dependency in its thread pool, a hop per request
    return Context(request, output_of(request), page_of(request))


ContextDep = Annotated[Context, Depends(context)]
