"""Request ids, one structured log line per request, masked secrets, and the response deadline."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from app.api.middleware import RequestMiddleware
from app.config import Settings
from app.main import create_app
from app.ops.logs import JsonFormatter, TextFormatter, redact

UNREACHABLE = "postgresql://postgres@127.0.0.1:1/x"


@contextmanager
def client(**options: Any) -> Iterator[TestClient]:
    # Every setting explicit, so no BORDERSTATS_* variable or .env file can change what is logged.
    settings = Settings(**{"database_url": UNREACHABLE, "db_timeout_seconds": 2, "log_level": "INFO",
                           "log_format": "json", **options})
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def access_lines(stderr: str) -> list[dict[str, Any]]:
    lines = [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
    return [line for line in lines if line["logger"] == "borderstats.access"]


# --- request ids ---------------------------------------------------------------------------------

def test_every_response_carries_a_new_request_id() -> None:
    with client() as c:
        ids = [c.get(path).headers["x-request-id"] for path in ("/healthz", "/healthz", "/nope")]
        invalid = c.get("/seizures", params={"nonsense": "1"})
    assert all(re.fullmatch(r"[0-9a-f]{32}", i) for i in ids)
    assert len(set(ids)) == 3
    assert invalid.status_code == 422 and re.fullmatch(r"[0-9a-f]{32}", invalid.headers["x-request-id"])


@pytest.mark.parametrize("incoming", ["abc-123", "7f3c0a1e-94b2-4f8e-9a51-2f1d7c8e0b6d",
                                      "Root=1-67891233-abcdef012345678912345678"])
def test_a_sane_incoming_request_id_is_kept(incoming: str) -> None:
    with client() as c:
        assert c.get("/healthz", headers={"X-Request-ID": incoming}).headers["x-request-id"] == incoming


@pytest.mark.parametrize("incoming", ["has space", 'quote"d', "x" * 129, "", "{json}"])
def test_an_odd_incoming_request_id_is_replaced(incoming: str) -> None:
    with client() as c:
        returned = c.get("/healthz", headers={"X-Request-ID": incoming}).headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", returned)


# --- log lines -----------------------------------------------------------------------------------

def test_one_json_line_per_request_with_its_fields(capsys: pytest.CaptureFixture[str]) -> None:
    with client(log_format="json") as c:
        capsys.readouterr()
        response = c.get("/healthz", params={"probe": "1"}, headers={"X-Request-ID": "req-42"})
    lines = access_lines(capsys.readouterr().err)
    assert len(lines) == 1
    line = lines[0]
    assert {k: line[k] for k in ("method", "path", "query", "status", "request_id", "level")} == {
        "method": "GET", "path": "/healthz", "query": "probe=1", "status": 200,
        "request_id": "req-42", "level": "INFO"}
    assert response.headers["x-request-id"] == "req-42"
    assert isinstance(line["duration_ms"], float) and 0 <= line["duration_ms"] < 5000
    assert line["ts"].endswith("+00:00")


def test_lines_logged_while_handling_carry_the_request_id(capsys: pytest.CaptureFixture[str]) -> None:
    with client(log_format="json") as c:
        capsys.readouterr()
        response = c.get("/seizures", params={"drug": "fentanyl"}, headers={"X-Request-ID": "trace-9"})
    assert response.status_code == 503
    lines = [json.loads(x) for x in capsys.readouterr().err.splitlines() if x.startswith("{")]
    warning = next(line for line in lines if line["level"] == "WARNING")
    assert warning["message"].startswith("database unavailable")
    assert warning["request_id"] == "trace-9"
    assert [line["status"] for line in access_lines("\n".join(map(json.dumps, lines)))] == [503]


def test_text_format_is_one_readable_line(capsys: pytest.CaptureFixture[str]) -> None:
    with client(log_format="text") as c:
        capsys.readouterr()
        c.get("/healthz", headers={"X-Request-ID": "t-1"})
    lines = [x for x in capsys.readouterr().err.splitlines() if "borderstats.access" in x]
    assert len(lines) == 1
    assert "GET /healthz 200" in lines[0]
    assert "status=200" in lines[0] and "request_id=t-1" in lines[0]


def test_log_level_warning_drops_request_lines(capsys: pytest.CaptureFixture[str]) -> None:
    with client(log_level="WARNING") as c:
        capsys.readouterr()
        c.get("/healthz")
    assert access_lines(capsys.readouterr().err) == []


def test_a_database_password_never_reaches_the_log(capsys: pytest.CaptureFixture[str]) -> None:
    with client(database_url="postgresql://bs:s3cret@127.0.0.1:1/x") as c:
        assert c.get("/seizures", params={"drug": "fentanyl"}).status_code == 503
        assert c.get("/readyz").status_code == 503
        logging.getLogger("borderstats").error("cannot use postgresql://bs:s3cret@db:5432/x")
    err = capsys.readouterr().err
    assert "s3cret" not in err
    assert "postgresql://bs:***@db:5432/x" in err


@pytest.mark.parametrize("raw, masked", [
    ("postgresql+psycopg://u:pw@h:5432/db", "postgresql+psycopg://u:***@h:5432/db"),
    ("see postgres://a:b%40c@h/d and sqlite:///x.db", "see postgres://a:***@h/d and sqlite:///x.db"),
    ("postgresql://user@host/db", "postgresql://user@host/db"),
    ("no url at all: a:b@c", "no url at all: a:b@c"),
])
def test_redact_masks_url_passwords(raw: str, masked: str) -> None:
    assert redact(raw) == masked


@pytest.mark.parametrize("formatter", [JsonFormatter(), TextFormatter()])
def test_formatters_mask_passwords_in_exceptions(formatter: logging.Formatter) -> None:
    try:
        raise RuntimeError("connect to postgresql://u:hunter2@h/db failed")
    except RuntimeError:
        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", None, sys.exc_info())
    out = formatter.format(record)
    assert "hunter2" not in out and "u:***@h" in out


# --- the deadline ---------------------------------------------------------------------------------

async def _silent_app(scope, receive, send) -> None:
    await asyncio.sleep(3600)  # a handler stuck on a database that never answers


async def _slow_stream(scope, receive, send) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/csv")]})
    await asyncio.sleep(0.5)
    await send({"type": "http.response.body", "body": b"a,b\n1,2\n"})


def _call(app, path: str = "/") -> tuple[httpx.Response, float]:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
            return await c.get(path)

    started = time.perf_counter()
    response = asyncio.run(go())
    return response, time.perf_counter() - started


def test_no_response_within_the_deadline_is_a_503_json() -> None:
    response, elapsed = _call(RequestMiddleware(_silent_app, timeout=0.3))
    assert response.status_code == 503
    assert 0.25 < elapsed < 2
    assert response.json()["error"]["code"] == "service_unavailable"
    assert response.headers["retry-after"] == "5"
    assert re.fullmatch(r"[0-9a-f]{32}", response.headers["x-request-id"])


def test_a_response_that_started_in_time_is_never_cut() -> None:
    response, elapsed = _call(RequestMiddleware(_slow_stream, timeout=0.2))
    assert response.status_code == 200
    assert response.text == "a,b\n1,2\n"
    assert elapsed >= 0.5
