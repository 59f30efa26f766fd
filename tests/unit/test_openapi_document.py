"""The OpenAPI document is made once a process and shared by apps made of the same routes: what
each app serves is what FastAPI would make for that app alone, finished (error statuses and the
examples' nulls), whatever the app's settings."""

from __future__ import annotations

import copy

import pytest
from fastapi import APIRouter, FastAPI

from app.api.error_docs import add_error_responses
from app.api.openapi import restore_examples
from app.api.routes import claims, comparisons, data, health, pages, reference, revisions, vintages
from app.config import Settings
from app.main import create_app

ROUTERS = [data.router, reference.router, comparisons.router, claims.router, revisions.router,
           vintages.router, health.router, pages.router]

# Settings an operator may change, each away from its default
SETTINGS = [{}, {"cache_entries": 0}, {"rate_limit": 0}, {"rate_limit": 50.0},
            {"active_requests": 3}, {"log_level": "DEBUG"}]


def made_alone(app: FastAPI) -> dict:
    """The document FastAPI makes for this app, finished as the app finishes it, bypassing
    the process's shared copy."""
    app.openapi_schema = None
    document = copy.deepcopy(FastAPI.openapi(app))
    app.openapi_schema = None
    add_error_responses(document)
    restore_examples(document, ROUTERS)
    return document


@pytest.mark.parametrize("settings", SETTINGS, ids=lambda s: ",".join(f"{k}={v}" for k, v in s.items())
                         or "defaults")
def test_every_app_serves_the_document_made_for_it_alone(settings, tmp_path):
    app = create_app(Settings(database_url=f"sqlite:///{tmp_path}/x.db", **settings))
    served = app.openapi()
    assert served == made_alone(app)
    # the shared copy is the one served, and made for it: no app's settings reached it
    other = create_app(Settings(database_url=f"sqlite:///{tmp_path}/y.db"))
    assert other.openapi() is served


def test_a_route_added_to_one_app_is_in_its_document_alone(tmp_path):
    """Added before the first document or after it, directly or in an included router: that
    app's document has the route, as FastAPI alone would make it; other apps' do not."""
    plain = create_app(Settings(database_url=f"sqlite:///{tmp_path}/plain.db"))
    shared = plain.openapi()
    app = create_app(Settings(database_url=f"sqlite:///{tmp_path}/x.db"))
    app.add_api_route("/before", lambda: {}, methods=["GET"], name="before")
    assert "/before" in app.openapi()["paths"]
    app.add_api_route("/after", lambda: {}, methods=["GET"], name="after")
    extra = APIRouter()
    extra.add_api_route("/included", lambda: {}, methods=["GET"], name="included")
    app.include_router(extra, prefix="/v2")
    served = app.openapi()
    assert {"/before", "/after", "/v2/included"} <= served["paths"].keys()
    assert served == made_alone(app)
    assert plain.openapi() is shared
    assert not {"/before", "/after", "/v2/included"} & shared["paths"].keys()
