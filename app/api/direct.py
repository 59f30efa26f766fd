"""A direct route for endpoints declared as `async def (params: Annotated[Model, Query()], ctx)`
(the data endpoints, the comparisons, the reference lists): their query parameters read without
FastAPI's per-request dependency solving, valid requests only.

FastAPI documents such an endpoint from its signature (a query-parameter model and the request's
Context) and, per request, re-derives from each of the model's fields (~40 on a data endpoint)
how to read it from the query string: 0.13 ms of the worker per request on a 2-core machine, a
fifth of an uncached answer's Python. `ParamReader` derives that once per model and reads the
query string the same way (a list field takes every repeated value, any other field the last
one). A request the reader does not parse into a valid model (a name that is no parameter's, a
value the model refuses) is handed to FastAPI's own handler unchanged, so every 422 is
FastAPI's, word for word. tests/test_direct_route.py checks the reader against FastAPI's over
every parameter of every such endpoint.
"""

from __future__ import annotations

import collections.abc
import inspect
import types
import typing
from collections.abc import Callable, Coroutine
from typing import Any

import fastapi.routing
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from pydantic import BaseModel, ValidationError
from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import Response

from app.api.deps import context

_SEQUENCES = (list, tuple, set, frozenset, collections.abc.Sequence, collections.abc.Set)


def _is_sequence(annotation: Any) -> bool:
    """A sequence (`list[str]`, `tuple[...]`, `set[...]`), optional or not: read with every
    repeated value, as FastAPI reads it."""
    origin = typing.get_origin(annotation) or annotation
    if origin in (typing.Union, types.UnionType):
        return any(_is_sequence(arg) for arg in typing.get_args(annotation))
    return origin in _SEQUENCES


class ParamReader:
    """Reads one query-parameter model from a query string, as FastAPI reads it."""

    def __init__(self, model: type[BaseModel]) -> None:
        self.model = model
        self.fields = [(info.alias or name, _is_sequence(info.annotation))
                       for name, info in model.model_fields.items()]
        self.aliases = frozenset(alias for alias, _ in self.fields)

    def values(self, query: QueryParams) -> dict[str, Any] | None:
        """What FastAPI validates the model with: each field under its alias, a list field with
        every repeated value, any other with the last one. None when the query string holds a
        name that is not an alias (unknown, or a field's own name such as `from_`): FastAPI
        answers those with its 422 (and versions of it before 0.16x read names differently)."""
        if not self.aliases.issuperset(query.keys()):
            return None
        values: dict[str, Any] = {}
        for alias, many in self.fields:
            if alias in query:
                values[alias] = query.getlist(alias) if many else query[alias]
        return values

    def read(self, query: QueryParams) -> BaseModel | None:
        """The parsed model, or None when FastAPI is to read the request (its 422s)."""
        values = self.values(query)
        if values is None:
            return None
        try:
            return self.model.model_validate(values)
        except ValidationError:
            return None


def _params_model(endpoint: Callable[..., Any]) -> type[BaseModel]:
    """The query model of `async def endpoint(params: Annotated[Model, Query()], ctx)`."""
    if not inspect.iscoroutinefunction(endpoint) or list(
            inspect.signature(endpoint).parameters) != ["params", "ctx"]:
        raise TypeError(f"{endpoint.__qualname__}: a direct route's endpoint is "
                        "`async def (params, ctx)`")
    hints = typing.get_type_hints(endpoint, include_extras=True)
    hint = hints["params"]
    model = typing.get_args(hint)[0] if typing.get_origin(hint) is typing.Annotated else hint
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        raise TypeError(f"{endpoint.__qualname__}: `params` is not a query-parameter model")
    returned = hints.get("return")
    if not (isinstance(returned, type) and issubclass(returned, Response)):
        # FastAPI would serialize anything else through the response model; the direct path
        # passes on what the endpoint returns.
        raise TypeError(f"{endpoint.__qualname__}: a direct route's endpoint returns a Response")
    return model


def _dependant(route: APIRoute) -> Dependant:
    """What FastAPI solves for the route where it is served: since FastAPI 0.16x an included
    route is served through a context carrying the including routers' dependencies (set while
    its handler is built); before, include_router made a new route with them."""
    var = getattr(fastapi.routing, "_effective_route_context_var", None)
    found = var.get() if var is not None else None
    if found is not None and getattr(found, "original_route", None) is route:
        return found.dependant
    return route.dependant


class DirectRoute(APIRoute):
    """A route whose endpoint is `endpoint(params: Annotated[Model, Query()], ctx: ContextDep)`:
    FastAPI documents it from that signature; a request whose parameters parse is answered by
    calling the endpoint directly, any other by FastAPI's handler (its 422s). Where FastAPI would
    solve more than the request's context (a dependency of the route, of a router including it
    or of the app; an override in `app.dependency_overrides`), every request is FastAPI's."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        general = super().get_route_handler()
        reader = ParamReader(_params_model(self.endpoint))
        endpoint = self.endpoint
        # Only the context, itself depending on nothing FastAPI would solve (the request only).
        solved = [(d.call, d.dependencies, d.query_params, d.header_params, d.cookie_params,
                   d.background_tasks_param_name, d.response_param_name)
                  for d in _dependant(self).dependencies]
        if solved != [(context, [], [], [], [], None, None)]:
            general.reader = None  # type: ignore[attr-defined]  # for tests
            return general

        async def handler(request: Request) -> Response:
            params = reader.read(request.query_params)
            if params is None or request.app.dependency_overrides:
                return await general(request)
            return await endpoint(params=params, ctx=await context(request))

        handler.reader = reader  # type: ignore[attr-defined]  # for tests
        return handler
