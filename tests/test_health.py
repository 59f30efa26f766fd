"""GET /healthz (the process, never the database) and GET /readyz (database, migrations, data)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from app.config import Settings
from app.db import database_urls, make_sync_engine
from app.ingest import snapshot
from app.main import create_app
from app.ops.migrate import head_revision
from app.paths import project_dir

UNREACHABLE = "postgresql://postgres@127.0.0.1:1/x"


@contextmanager
def client_for(database_url: str, **options: Any) -> Iterator[TestClient]:
    settings = Settings(database_url=database_url, log_level="WARNING", db_timeout_seconds=2,
                        **options)
    with TestClient(create_app(settings)) as client:
        yield client


def run_sql(url: str, statement: str) -> None:
    engine = make_sync_engine(database_urls(url))
    try:
        with engine.begin() as conn:
            conn.execute(text(statement))
    finally:
        engine.dispose()


@pytest.fixture
def seeded_url(database_url: str) -> str:
    """A fresh database filled from the shipped seed snapshot."""
    engine = make_sync_engine(database_urls(database_url))
    try:
        snapshot.load(engine, project_dir("seed") / "snapshot")
    finally:
        engine.dispose()
    return database_url


def test_healthz_answers_without_touching_the_database() -> None:
    with client_for(UNREACHABLE) as client:
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response.headers["cache-control"] == "no-store"


def test_readyz_is_ready_on_a_migrated_loaded_database(seeded_url: str) -> None:
    with client_for(seeded_url) as client:
        response = client.get("/readyz")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "ready"
    assert body["checks"] == {"database": "ok", "migrations": "ok", "data": "ok"}
    assert body["schema_revision"] == body["latest_revision"] == head_revision()
    assert body["releases"] == 12  # 11 official files and the NCHS reference figures of seed/
    assert body["data_version"] >= 1
    assert "reason" not in body
    assert response.headers["cache-control"] == "no-store"


def test_readyz_503_names_missing_data(database_url: str) -> None:
    with client_for(database_url) as client:
        response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["migrations"] == "ok"
    assert body["checks"]["data"] == ("no release loaded: run `borderstats seed load` or "
                                      "`borderstats ingest`")
    assert body["reason"].startswith("data: no release loaded")
    assert body["releases"] == 0
    assert response.headers["retry-after"] == "5"


def test_readyz_503_names_a_database_never_migrated(database_factory) -> None:
    with client_for(database_factory.new(migrated=False)) as client:
        response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["checks"] == {"database": "ok",
                              "migrations": "no schema: run `borderstats db upgrade`",
                              "data": "no schema"}
    assert body["schema_revision"] is None
    assert body["reason"] == "migrations: no schema: run `borderstats db upgrade`"


def test_readyz_503_names_a_schema_behind_the_latest_revision(seeded_url: str) -> None:
    run_sql(seeded_url, "UPDATE alembic_version SET version_num = '000000000000'")
    with client_for(seeded_url) as client:
        response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["checks"]["migrations"] == (f"schema at 000000000000, latest is {head_revision()}: "
                                            "run `borderstats db upgrade`")
    assert body["checks"]["data"] == "ok"  # the data check still runs and reports
    assert body["schema_revision"] == "000000000000"


def test_readyz_503_quickly_when_the_database_is_unreachable() -> None:
    with client_for(UNREACHABLE) as client:
        started = time.perf_counter()
        response = client.get("/readyz")
        elapsed = time.perf_counter() - started
    assert response.status_code == 503
    assert elapsed < 5
    body = response.json()
    assert body["checks"]["database"] == "unreachable"  # no host or port for anonymous clients
    assert body["checks"]["migrations"] == body["checks"]["data"] == "not checked"
    assert body["reason"] == "database: unreachable"


def test_data_request_503_json_when_the_database_is_unreachable() -> None:
    with client_for(UNREACHABLE) as client:
        started = time.perf_counter()
        response = client.get("/seizures", params={"drug": "fentanyl"})
        elapsed = time.perf_counter() - started
    assert response.status_code == 503
    assert elapsed < 5
    assert response.json()["error"]["code"] == "service_unavailable"


def test_probes_are_documented_under_health() -> None:
    with client_for(UNREACHABLE) as client:
        paths = client.get("/openapi.json").json()["paths"]
    assert paths["/healthz"]["get"]["tags"] == ["health"]
    assert paths["/readyz"]["get"]["tags"] == ["health"]
    assert "503" in paths["/readyz"]["get"]["responses"]
