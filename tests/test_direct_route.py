"""The direct route (app/api/direct.py) reads query parameters exactly as FastAPI does: for every
parameter of every GET endpoint served by it (the data endpoints, the comparisons, the reference
lists), alone, repeated, with bad values, with each value it enumerates and beside every other
parameter, the model it reads equals FastAPI's, and where FastAPI finds an error the reader gives
the request back (FastAPI then answers it with its own 422)."""

from __future__ import annotations

import itertools
import typing
from typing import Annotated, Any, Literal

import pytest
from fastapi import APIRouter, Depends, FastAPI, HTTPException, Query
from fastapi.dependencies.utils import request_params_to_args
from fastapi.testclient import TestClient
from pydantic import BaseModel, ConfigDict
from starlette.datastructures import QueryParams
from starlette.responses import Response

from app.api.deps import ContextDep, context
from app.api.direct import DirectRoute
from app.api.params import DATA_MODELS
from app.api.routes import comparisons, data, reference

SeizureParams = DATA_MODELS["seizures"]
ROUTES = {route.path: route for router in (data.router, comparisons.router, reference.router)
          for route in router.routes if isinstance(route, DirectRoute)}

# Values of each kind a client sends: plain, comma list, blank, number-like, out of range,
# a format and a flag, words that are no number, a date, a month.
VALUES = ["fentanyl", "a,b", "", "7", "0", "-1", "5000000", "1e3", "csv", "xml", "true",
          "maybe", "2021", "FY2021", "2021-10", "2024-02-30", " 12 ", "Tucson", "-quantity_lbs"]


READERS = {path: route.get_route_handler().reader for path, route in ROUTES.items()}


def _aliases(route: DirectRoute) -> list[str]:
    model = READERS[route.path].model
    return [info.alias or name for name, info in model.model_fields.items()]


def _enumerated(annotation: Any) -> list[str]:
    """The values a `Literal[...]` field (or an optional one) accepts."""
    if typing.get_origin(annotation) is Literal:
        return [str(v) for v in typing.get_args(annotation)]
    return [v for arg in typing.get_args(annotation) for v in _enumerated(arg)]


def _values(route: DirectRoute, alias: str) -> list[str]:
    """The kinds of value, and every value the parameter enumerates."""
    model = READERS[route.path].model
    return VALUES + [v for name, info in model.model_fields.items()
                     if (info.alias or name) == alias for v in _enumerated(info.annotation)]


def _required_params(route: DirectRoute) -> dict[str, str]:
    """A value for each required parameter (its first enumerated value, else any text), so the
    other parameters are checked in queries that can be valid."""
    model = READERS[route.path].model
    return {info.alias or name: (_enumerated(info.annotation) or ["2021"])[0]
            for name, info in model.model_fields.items() if info.is_required()}


def _required(route: DirectRoute) -> str:
    return "&".join(f"{k}={v}" for k, v in _required_params(route).items())


def _check(route: DirectRoute, query: str) -> bool:
    """The reader agrees with FastAPI on this query string; True when FastAPI accepts it."""
    reader = READERS[route.path]
    received = QueryParams(query)
    values, errors = request_params_to_args(route.dependant.query_params, received)
    ours = reader.read(received)
    # A name that is no parameter's alias (unknown, or a field's own name: from_) is FastAPI's to
    # read; the reader reads every other query string.
    names = {info.alias or name for name, info in reader.model.model_fields.items()}
    foreign = not set(received.keys()) <= names
    assert (reader.values(received) is None) == foreign, query
    if errors or foreign:
        assert ours is None, (query, errors)
        return not errors
    theirs = values["params"]
    assert ours is not None, query
    assert type(ours) is type(theirs), query
    assert ours.model_dump() == theirs.model_dump(), query
    assert ours.model_fields_set == theirs.model_fields_set, query
    return True


def test_the_data_comparison_and_reference_endpoints_have_direct_routes():
    assert sorted(ROUTES) == [
        "/areas", "/comparisons", "/comparisons/change", "/comparisons/encounter-share",
        "/comparisons/ports-vs-between", "/comparisons/seizure-share",
        "/comparisons/seizures-vs-encounters", "/datasets", "/drugs", "/encounters",
        "/overdose-deaths", "/releases", "/seizure-events", "/seizures"]
    models = {READERS[path].model for path in ("/encounters", "/overdose-deaths", "/seizures")}
    assert models == set(DATA_MODELS.values())


@pytest.mark.parametrize("path", sorted(ROUTES))
def test_each_parameter_alone_repeated_and_misnamed(path):
    route = ROUTES[path]
    accepted = rejected = 0
    base = _required(route)
    assert _check(route, base)
    for alias in _aliases(route):
        for value in _values(route, alias):
            for query in (f"{alias}={value}", f"{alias}={value}&{alias}=2022",
                          f"{alias}=2022&{alias}={value}", f"{alias.upper()}={value}",
                          f"{alias}_={value}", f"{alias}_={value}&{alias}_=2022", f"{alias}"):
                if _check(route, f"{base}&{query}" if base else query):
                    accepted += 1
                else:
                    rejected += 1
    # both outcomes occur for every endpoint with parameters: the check compares models, and
    # gives back errors; every parameter takes some value
    aliases = _aliases(route)
    assert rejected > 0 and accepted >= len(aliases) * 2, (accepted, rejected)


@pytest.mark.parametrize("path", sorted(ROUTES))
def test_every_pair_of_parameters(path):
    route = ROUTES[path]
    aliases = _aliases(route)
    base = _required(route)
    for first, second in itertools.combinations(aliases, 2):
        for a, b in (("2021", "10"), ("fentanyl", "csv"), ("a,b", "true")):
            for query in (f"{first}={a}&{second}={b}", f"{second}={b}&{first}={a}&{first}={b}"):
                _check(route, query)
                if base:
                    _check(route, f"{base}&{query}")
    # the same parameter under the field's name beside its alias (from_ and from)
    _check(route, "from_=2021-01&from=2021-02")
    _check(route, "from_=2021-01&unknown=1")


def _deny() -> None:
    raise HTTPException(403, "denied by a router's dependency")


def _teapot() -> None:
    raise HTTPException(418, "the context, overridden")


def test_a_dependency_of_an_including_router_applies_to_every_request():
    """The direct path solves nothing but the context: where FastAPI would solve more, FastAPI
    answers every request, valid ones included (no database is reached: the dependency fails
    first)."""
    app = FastAPI()
    for router in (data.router, comparisons.router, reference.router):
        app.include_router(router, dependencies=[Depends(_deny)])
    with TestClient(app) as client:
        for path in ROUTES:
            assert client.get(path).status_code == 403
            assert client.get(path, params={"group_by": "month", "limit": "5"}).status_code == 403


def test_an_override_of_the_context_applies_to_valid_requests():
    app = FastAPI()
    for router in (data.router, comparisons.router, reference.router):
        app.include_router(router)
    app.dependency_overrides[context] = _teapot
    with TestClient(app) as client:
        for path in ROUTES:
            assert client.get(path, params={"limit": "5"}).status_code == 418


def test_an_endpoint_the_direct_route_cannot_call_is_refused_when_the_route_is_made():
    router = APIRouter(route_class=DirectRoute)

    async def wrong(params: Annotated[SeizureParams, Query()], context: ContextDep):
        raise AssertionError("never called")

    with pytest.raises(TypeError, match="async def \\(params, ctx\\)"):
        router.add_api_route("/wrong", wrong)


class _Sequences(BaseModel):
    model_config = ConfigDict(extra="forbid")
    tags: tuple[str, ...] | None = None
    kinds: set[str] | None = None
    one: str | None = None


def test_any_sequence_field_takes_every_repeated_value_as_fastapi_reads_it():
    router = APIRouter(route_class=DirectRoute)

    async def endpoint(params: Annotated[_Sequences, Query()], ctx: ContextDep) -> Response:
        raise AssertionError("never called")

    router.add_api_route("/sequences", endpoint)
    route = router.routes[0]
    reader = route.get_route_handler().reader
    for query in ["tags=a&tags=b&kinds=x&kinds=y&kinds=x&one=1&one=2", "tags=a", "kinds=", ""]:
        values, errors = request_params_to_args(route.dependant.query_params, QueryParams(query))
        assert errors == []
        assert reader.read(QueryParams(query)) == values["params"], query
    assert reader.read(QueryParams("tags=a&tags=b")).tags == ("a", "b")


def test_an_endpoint_that_returns_no_response_is_refused():
    router = APIRouter(route_class=DirectRoute)

    async def returns_a_dict(params: Annotated[SeizureParams, Query()], ctx: ContextDep) -> dict:
        return {}

    with pytest.raises(TypeError, match="returns a Response"):
        router.add_api_route("/dict", returns_a_dict)


def test_a_fields_own_name_is_an_unknown_parameter_where_its_documented_name_differs(client):
    """`from` is a Python keyword, so its field is `from_`; only `from` is a parameter. Over every
    endpoint, every such field: its own name is a 422 naming it and suggesting the documented
    one (it was read as `from` since the models populated fields by name)."""
    renamed = [(path, name, info.alias) for path, reader in READERS.items()
               for name, info in reader.model.model_fields.items()
               if info.alias and info.alias != name]
    assert renamed  # the data endpoints' `from` at least
    for path, name, alias in renamed:
        response = client.get(path, params={**_required_params(ROUTES[path]), name: "2021"})
        assert response.status_code == 422, (path, name)
        error = response.json()["error"]
        assert (error["parameter"], error["did_you_mean"]) == (name, alias), (path, error)


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    """The app on an empty database: a 422 for a parameter comes before any query."""
    from app.config import Settings
    from app.main import create_app

    path = tmp_path_factory.mktemp("direct") / "empty.db"
    with TestClient(create_app(Settings(database_url=f"sqlite:///{path}"))) as c:
        yield c
