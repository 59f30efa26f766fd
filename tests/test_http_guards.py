"""Edges of the HTTP API (issue 11, item 2): odd bodies, size and time limits, redirects, headers,
CORS, what reaches the log, and the one error shape on every status the OpenAPI documents."""

from __future__ import annotations

import json
import socket
import time
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from fastapi.testclient import TestClient

from app.api.http_cache import CACHEABLE_PREFIXES
from app.api.security import CONTENT_SECURITY_POLICY
from app.config import Settings
from app.errors import ECHO_CHARS, MAX_LISTED_ERRORS
from app.main import create_app
from tests.api_helpers import api_client
from tests.live_server import live_server

UNREACHABLE = "postgresql://postgres@127.0.0.1:1/x"
VERIFY = "/claims/verify"
CLAIM: dict[str, Any] = {
    "claim": "Most fentanyl seized at the southwest border in FY2022 was seized at ports of entry.",
    "comparator": {"op": ">", "value": 0.5},
    "definitions": [{"id": "sw-ports", "kind": "share", "dataset": "seizures",
                     "measure": "quantity_lbs", "filters": {"drug": "fentanyl", "fiscal_year": "2022"},
                     "part": {"component": "ofo"}, "base": {"region": "southwest"}}],
}


@pytest.fixture(scope="module")
def client(loaded_url: str):
    with api_client(loaded_url) as c:
        yield c


def claim_with(value_text: str) -> bytes:
    """The example claim with its comparator value written as raw JSON text (NaN, 1e999...)."""
    return json.dumps(CLAIM).replace('"value": 0.5', f'"value": {value_text}').encode()


# --- bodies --------------------------------------------------------------------------------------

@pytest.mark.parametrize("raw, echoed", [("NaN", "NaN"), ("Infinity", "Infinity"),
                                         ("-Infinity", "-Infinity"), ("1e999", "Infinity")])
def test_a_non_finite_number_in_a_claim_is_a_422_naming_it(client: TestClient, raw: str,
                                                           echoed: str) -> None:
    response = client.post(VERIFY, content=claim_with(raw),
                           headers={"content-type": "application/json"})
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert (error["code"], error["parameter"], error["value"]) == (
        "invalid_parameter", "comparator.value", echoed)


def test_a_body_that_is_not_utf8_is_a_400_in_the_error_shape(client: TestClient) -> None:
    response = client.post(VERIFY, content=b'{"claim": "\xff\xfe"}',
                           headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "bad_request"
    assert set(response.json()) == {"error"}


def test_a_body_over_the_limit_is_refused_with_413(client: TestClient) -> None:
    padded = {**CLAIM, "claim": "x" * 70_000}
    response = client.post(VERIFY, json=padded)
    assert response.status_code == 413
    assert response.json()["error"] == {
        "code": "payload_too_large", "max_bytes": 65_536,
        "message": "the request body is larger than 65536 bytes, the most this API accepts"}
    assert response.headers["connection"] == "close"


def read_reply(sock: socket.socket) -> tuple[bytes, dict[str, Any]]:
    """Read one HTTP response carrying a JSON error; return its status line and the JSON."""
    reply = b""
    while b"}}" not in reply:
        chunk = sock.recv(4096)
        if not chunk:
            break
        reply += chunk
    head, _, body = reply.partition(b"\r\n\r\n")
    return head.split(b"\r\n")[0], json.loads(body)


def test_a_chunked_body_is_refused_as_soon_as_it_passes_the_limit(loaded_url: str) -> None:
    settings = Settings(database_url=loaded_url, body_timeout_seconds=5, log_level="WARNING")
    with live_server(settings) as base:
        port = int(base.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            sock.sendall(b"POST /claims/verify HTTP/1.1\r\nHost: t\r\nContent-Type: application/json"
                         b"\r\nTransfer-Encoding: chunked\r\n\r\n")
            started = time.monotonic()
            for _ in range(5):  # 80 KB, and the body goes on (no final chunk)
                sock.sendall(b"4000\r\n" + b" " * 16_384 + b"\r\n")
            status, body = read_reply(sock)
            elapsed = time.monotonic() - started
    assert status.startswith(b"HTTP/1.1 413 ")
    assert body["error"]["code"] == "payload_too_large"
    assert elapsed < 2  # not the 5 s body timeout: the rest was never waited for


def test_a_long_submitted_value_is_echoed_shortened(loaded_url: str) -> None:
    drug = "y" * 10_000_000
    body = {**CLAIM, "definitions": [{**CLAIM["definitions"][0], "filters": {"drug": drug}}]}
    with api_client(loaded_url, max_body_bytes=20_000_000) as c:
        response = c.post(VERIFY, json=body)
    assert response.status_code == 422
    assert len(response.content) < 3000
    error = response.json()["error"]
    assert error["parameter"] == "definitions[0].filters.drug"
    assert error["value"] == "y" * ECHO_CHARS + "… (10000000 characters)"
    assert error["value"] in error["message"]


def test_at_most_twenty_further_errors_are_listed(client: TestClient) -> None:
    body = {**CLAIM, **{f"unknown_{i:03d}": i for i in range(100)}}
    response = client.post(VERIFY, json=body)
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["parameter"] == "unknown_000"
    assert [e["parameter"] for e in error["other_errors"]] == [
        f"unknown_{i:03d}" for i in range(1, MAX_LISTED_ERRORS + 1)]
    assert error["more_errors"] == 100 - 1 - MAX_LISTED_ERRORS


def test_a_content_length_beyond_the_body_is_a_408_after_the_body_timeout(loaded_url: str) -> None:
    settings = Settings(database_url=loaded_url, body_timeout_seconds=1, log_level="WARNING")
    with live_server(settings) as base:
        port = int(base.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            started = time.monotonic()
            sock.sendall(b"POST /claims/verify HTTP/1.1\r\nHost: t\r\nContent-Type: application/json"
                         b"\r\nContent-Length: 100\r\n\r\n{\"claim\":")
            status, body = read_reply(sock)
            elapsed = time.monotonic() - started
    assert status.startswith(b"HTTP/1.1 408 ")
    assert 0.9 < elapsed < 3
    error = body["error"]
    assert error["code"] == "request_timeout"
    assert error["message"] == ("the request body did not arrive in full within 1 s: 9 bytes of the "
                                "100 bytes its Content-Length announced were received")
    assert "database" not in error["message"]


# --- redirects, headers, CORS ----------------------------------------------------------------------

def test_a_trailing_slash_redirects_relatively_whatever_the_host(client: TestClient) -> None:
    response = client.get("/seizures/?drug=fentanyl", headers={"Host": "evil.example"},
                          follow_redirects=False)
    assert response.status_code == 308
    assert response.headers["location"] == "/seizures?drug=fentanyl"
    assert client.get("/claims/fentanyl-caaz-port-share/", follow_redirects=False).headers[
        "location"] == "/claims/fentanyl-caaz-port-share"


@pytest.mark.parametrize("path", ["//evil.example/", "/no-such-thing/", "/seizures/x/"])
def test_a_trailing_slash_on_no_route_is_a_404_not_a_redirect(client: TestClient, path: str) -> None:
    # The path as sent on the wire: a client library would read "//evil.example/" as a host.
    response = client.get(httpx.URL(scheme="http", host="testserver", path=path),
                          follow_redirects=False)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert "location" not in response.headers


@pytest.mark.parametrize("method, path, status", [
    ("GET", "/seizures?drug=fentanyl", 200), ("GET", "/seizures?drug=fentanil", 422),
    ("GET", "/nothing", 404), ("GET", "/healthz", 200), ("POST", "/claims/verify", 422),
    ("GET", "/openapi.json", 200),
])
def test_every_response_carries_the_security_headers(client: TestClient, method: str, path: str,
                                                     status: int) -> None:
    response = client.request(method, path, json={} if method == "POST" else None)
    assert response.status_code == status
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert "frame-ancestors 'none'" in CONTENT_SECURITY_POLICY
    assert CONTENT_SECURITY_POLICY.startswith("default-src 'self';")
    if status >= 400:  # no proxy or CDN keeps an error
        assert response.headers["cache-control"] == "no-store"
    elif path.startswith("/seizures"):
        assert response.headers["cache-control"].startswith("public, max-age=")


def test_cors_preflight_allows_only_the_headers_the_api_reads(client: TestClient) -> None:
    def preflight(headers: str) -> httpx.Response:
        return client.options(VERIFY, headers={"Origin": "https://news.example",
                                               "Access-Control-Request-Method": "POST",
                                               "Access-Control-Request-Headers": headers})

    allowed = preflight("content-type")
    assert allowed.status_code == 200
    assert {h.strip().lower() for h in allowed.headers["access-control-allow-headers"].split(",")} == {
        "accept", "accept-language", "content-language", "content-type", "if-none-match",
        "x-request-id"}
    assert preflight("x-evil").status_code == 400
    assert preflight("authorization").status_code == 400


# --- what reaches the log ----------------------------------------------------------------------------

def test_secrets_in_a_query_string_never_reach_the_log(capsys: pytest.CaptureFixture[str]) -> None:
    with api_client(UNREACHABLE, log_level="INFO") as c:
        capsys.readouterr()
        c.get("/healthz?password=hunter2&drug=fentanyl&api_key=k3y&access_token=t0k")
    err = capsys.readouterr().err
    line = next(json.loads(x) for x in err.splitlines() if '"borderstats.access"' in x)
    assert line["query"] == "password=***&drug=fentanyl&api_key=***&access_token=***"
    assert "hunter2" not in err and "k3y" not in err and "t0k" not in err


def test_readyz_gives_anonymous_clients_a_generic_reason_and_logs_the_detail(
        capsys: pytest.CaptureFixture[str]) -> None:
    with api_client(UNREACHABLE, log_level="WARNING", db_timeout_seconds=2) as c:
        capsys.readouterr()
        response = c.get("/readyz")
    body = response.json()
    assert response.status_code == 503
    assert body["reason"] == "database: unreachable" and body["checks"]["database"] == "unreachable"
    assert "127.0.0.1" not in response.text and "port" not in response.text
    warning = json.loads(next(x for x in capsys.readouterr().err.splitlines() if "WARNING" in x))
    assert warning["message"].startswith("database unavailable: ")
    assert "127.0.0.1" in warning["message"]


def test_an_outage_is_logged_once_not_once_per_request(capsys: pytest.CaptureFixture[str]) -> None:
    with api_client(UNREACHABLE, log_level="WARNING", db_timeout_seconds=1) as c:
        capsys.readouterr()
        statuses = [c.get("/seizures", params={"drug": "fentanyl", "limit": i}).status_code
                    for i in range(1, 41)]
    assert statuses == [503] * 40
    warnings = [json.loads(x) for x in capsys.readouterr().err.splitlines() if '"WARNING"' in x]
    assert [w["message"].split(":")[0] for w in warnings] == ["database unavailable"]


# --- the contract --------------------------------------------------------------------------------

def test_every_operation_documents_its_error_statuses_with_the_one_schema() -> None:
    app = create_app(Settings(database_url=UNREACHABLE, log_level="WARNING"))
    schema = app.openapi()
    error_ref = {"$ref": "#/components/schemas/Error"}
    assert schema["components"]["schemas"]["Error"]["required"] == ["error"]
    assert "HTTPValidationError" not in schema["components"]["schemas"]
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            statuses = set(operation["responses"])
            expected = {"200", "408", "413"}
            if path != "/healthz":
                expected |= {"503"}
            if path not in ("/healthz", "/readyz"):
                expected |= {"429"}
                if operation.get("parameters") or operation.get("requestBody"):
                    expected |= {"422"}  # the dashboard's / takes no input
                expected |= {"304"} if method == "get" and path.startswith(CACHEABLE_PREFIXES) \
                    else set() if method == "get" else {"400"}
            if "{" in path:
                expected |= {"404"}
            assert statuses == expected, (method, path)
            for status in statuses - {"200", "304"}:
                if (path, status) == ("/readyz", "503"):
                    continue  # the readiness body
                content = operation["responses"][status]["content"]["application/json"]
                assert content["schema"] == error_ref, (method, path, status)
            for status in statuses & {"429", "503"} - ({"503"} if path == "/readyz" else set()):
                assert "Retry-After" in operation["responses"][status]["headers"]


def test_an_outage_log_is_one_line_then_a_summary_per_interval_then_one_line_at_the_end(
        caplog: pytest.LogCaptureFixture) -> None:
    from app.ops.outage_log import OutageLog

    now = [0.0]
    outage = OutageLog(interval=5, clock=lambda: now[0])
    with caplog.at_level("WARNING", logger="borderstats"):
        for i in range(1239):  # 1,239 failed requests in 12.39 s
            now[0] = i / 100
            outage.failed("connection refused")
        now[0] = 20.0
        outage.succeeded()
        outage.succeeded()  # no outage, no line
    assert [r.getMessage() for r in caplog.records] == [
        "database unavailable: connection refused",
        "database still unavailable after 5 s: 500 more request(s) failed in the last 5 s; "
        "last reason: connection refused",
        "database still unavailable after 10 s: 500 more request(s) failed in the last 5 s; "
        "last reason: connection refused",
        "database available again after 20.0 s; 1239 request(s) failed meanwhile",
    ]


def assert_answered_beside_stalled_downloads(settings: Settings) -> None:
    """Three clients start a 4.7 MB NDJSON download (more than a socket's send buffer holds) and
    read nothing; 1.5 s later (the streams have filled their sockets and wait for their readers,
    or for a download slot) a query must still be answered within 2.5 s."""
    with live_server(settings) as base:
        address = urlsplit(base)
        stalled = []
        try:
            for _ in range(3):
                client = socket.socket()
                client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
                client.connect((address.hostname, address.port))
                client.sendall(b"GET /seizures?group_by=area,drug,component,land_filter,month"
                               b"&format=ndjson HTTP/1.1\r\nHost: test\r\n\r\n")
                stalled.append(client)
            time.sleep(1.5)
            started = time.monotonic()
            answer = httpx.get(f"{base}/seizures", params={"drug": "fentanyl",
                                                           "group_by": "fiscal_year"}, timeout=30)
            assert answer.status_code == 200, answer.text[:300]
            assert time.monotonic() - started < 2.5
        finally:
            for client in stalled:
                client.close()


def test_downloads_read_slowly_leave_connections_for_other_requests(backend, loaded_url):
    """Postgres, a pool of 2: three clients start a 4.7 MB NDJSON download (more than a socket's
    send buffer holds) and read nothing, so each
    stream stalls holding its connection. At most half the pool may stream: the other
    connection still answers a query at once (without the cap both connections would be held
    and the query would wait for the pool until its deadline)."""
    if backend != "postgres":
        pytest.skip("the pool and its limit are Postgres's (SQLite opens a connection a request)")
    settings = Settings(database_url=loaded_url, pool_size=2, cache_entries=0,
                        version_ttl_seconds=60, log_level="WARNING")
    assert_answered_beside_stalled_downloads(settings)


# --- admission: a few requests of a worker at once, the others in turn ----------------------------

async def _concurrency_seen(database_url: str, active: int, paths: list[str]) -> tuple[int, list]:
    """Request `paths` all at once from one app, each data statement made slow (0.2 s); returns
    the most data requests ever running at once, and (path, status) in the order answered."""
    import asyncio

    from app.query import execute

    app = create_app(Settings(database_url=database_url, active_requests=active, cache_entries=0,
                              pool_size=10,  # more than the requests: the turns are the limit
                              version_ttl_seconds=60, log_level="WARNING"))
    running, most, answered = 0, 0, []
    real_run = execute.run

    async def slow_run(*args, **kwargs):
        nonlocal running, most
        running += 1
        most = max(most, running)
        try:
            await asyncio.sleep(0.2)
            return await real_run(*args, **kwargs)
        finally:
            running -= 1

    async def get(client: httpx.AsyncClient, path: str) -> None:
        response = await client.get(path)
        answered.append((path, response.status_code))

    execute.run = slow_run
    try:
        transport = httpx.ASGITransport(app=app)
        async with (app.router.lifespan_context(app),
                    httpx.AsyncClient(transport=transport, base_url="http://test") as client):
            assert (await client.get("/drugs")).status_code == 200  # the catalog, read once
            await asyncio.gather(*(get(client, p) for p in paths))
    finally:
        execute.run = real_run
    return most, answered


DATA = [f"/seizures?drug=fentanyl&group_by=area&limit={n}" for n in range(1, 7)]


@pytest.mark.parametrize("active, most", [(2, 2), (1, 1), (0, 6)])
def test_a_worker_works_on_at_most_its_active_requests_at_once(loaded_url, active, most):
    import asyncio

    seen, answered = asyncio.run(_concurrency_seen(loaded_url, active, DATA))
    assert seen == most
    assert sorted(answered) == sorted((p, 200) for p in DATA)


def test_requests_take_their_turns_first_come_first_served(loaded_url):
    import asyncio

    _seen, answered = asyncio.run(_concurrency_seen(loaded_url, 1, DATA))
    assert answered == [(p, 200) for p in DATA]


def test_health_checks_do_not_wait_for_a_turn(loaded_url):
    import asyncio

    _seen, answered = asyncio.run(_concurrency_seen(loaded_url, 1, [*DATA[:3], "/healthz"]))
    assert answered[0] == ("/healthz", 200)
    assert answered[1:] == [(p, 200) for p in DATA[:3]]


def test_a_request_made_in_process_runs_on_its_parents_turn(loaded_url):
    """GET /cite answers the URL it cites through the app itself: with one turn a worker, that
    inner request waiting for a turn would wait for its own parent until the deadline: it
    would take the whole deadline (10 s), where answering takes ~0.2-2 s, slow machines included."""
    deadline = 10
    with api_client(loaded_url, active_requests=1, request_timeout_seconds=deadline,
                    cache_entries=0) as client:
        started = time.monotonic()
        answer = client.get("/cite", params={"url": "/seizures?drug=fentanyl&fiscal_year=2021"})
        assert answer.status_code == 200, answer.text[:300]
        assert answer.json()["data"]["apa"]
        assert time.monotonic() - started < deadline / 2


def _holding_the_turn(seconds: float, running: Any) -> Any:
    """A stand-in for execute.run that keeps its turn for `seconds` even when the request
    deadline cancels it (as a driver waits for the database to cancel a statement)."""
    import asyncio

    from app.query import execute

    real_run = execute.run

    async def slow_run(*args, **kwargs):
        running.set()
        loop = asyncio.get_running_loop()
        until, cancelled = loop.time() + seconds, False
        while (left := until - loop.time()) > 0:
            try:
                await asyncio.sleep(left)
            except asyncio.CancelledError:
                cancelled = True
        if cancelled:
            raise asyncio.CancelledError
        return await real_run(*args, **kwargs)

    return slow_run


def test_a_deadline_passed_in_the_queue_is_a_busy_503_not_an_outage(loaded_url):
    """One turn, held for 1.5 s by a slow request, past a 0.5 s deadline. Behind it, a request
    queued for the turn and a second one for the same URL waiting for the first one's answer:
    both are answered 503 saying the server is busy (no outage counted for them; the slow one
    is), and the turn is not lost: a later request is answered."""
    import asyncio

    from app.query import execute

    async def scenario() -> tuple[list[httpx.Response], int]:
        app = create_app(Settings(database_url=loaded_url, active_requests=1,
                                  request_timeout_seconds=0.5, cache_entries=64,
                                  version_ttl_seconds=60, log_level="WARNING"))
        real_run = execute.run
        running = asyncio.Event()
        transport = httpx.ASGITransport(app=app)
        async with (app.router.lifespan_context(app),
                    httpx.AsyncClient(transport=transport, base_url="http://test") as client):
            assert (await client.get("/drugs")).status_code == 200
            execute.run = _holding_the_turn(1.5, running)
            try:
                slow = asyncio.ensure_future(client.get(DATA[0]))
                await running.wait()  # it holds the one turn now
                queued, follower = await asyncio.gather(client.get(DATA[1]),
                                                        client.get(DATA[1]))
                first = await slow
            finally:
                execute.run = real_run
            failures = app.state.outage_log.total  # (a statement answered ends the count)
            after = await client.get(DATA[2])
        return [first, queued, follower, after], failures

    (first, queued, follower, after), outage_failures = asyncio.run(scenario())
    assert first.status_code == 503  # the slow one itself: no response within the deadline
    assert "database may be unreachable" in first.json()["error"]["message"]
    for busy in (queued, follower):
        assert busy.status_code == 503
        assert busy.json()["error"]["message"] == ("the server is busy: no turn to answer "
                                                   "within 0.5 s; retry shortly")
        assert busy.headers["retry-after"] == "5"
    assert after.status_code == 200
    assert outage_failures == 1  # the slow request's only


def test_a_cite_does_not_wait_for_a_queued_request_of_the_url_it_cites(loaded_url, monkeypatch):
    """One turn. /cite takes it; a plain GET of the very URL it will cite (pinned to the newest
    release) arrives, starts computing that answer (others asking for it would wait for it) and
    queues for the turn; then /cite asks for that URL in process. It must compute it on its own
    turn, not wait for the queued request, which waits for /cite: both are answered."""
    import asyncio

    from app.api import deps

    async def scenario() -> tuple[httpx.Response, httpx.Response]:
        app = create_app(Settings(database_url=loaded_url, active_requests=1,
                                  request_timeout_seconds=3, cache_entries=64,
                                  version_ttl_seconds=60, log_level="WARNING"))
        go, citing = asyncio.Event(), asyncio.Event()
        real_catalog = deps.Context.catalog

        async def held_catalog(self):
            if self.request.url.path == "/cite" and not go.is_set():
                citing.set()
                await go.wait()
            return await real_catalog(self)

        monkeypatch.setattr(deps.Context, "catalog", held_catalog)
        transport = httpx.ASGITransport(app=app)
        async with (app.router.lifespan_context(app),
                    httpx.AsyncClient(transport=transport, base_url="http://test") as client):
            catalog = await app.state.catalogs.get()
            url = f"/seizures?drug=fentanyl&fiscal_year=2021&as_of={catalog.newest_release}"
            cite = asyncio.ensure_future(client.get("/cite", params={"url": url}))
            await citing.wait()  # /cite holds the turn
            plain = asyncio.ensure_future(client.get(url))
            for _ in range(500):  # until the plain request is computing that answer, queued
                await asyncio.sleep(0.01)  # (it reads the vintage's catalog first)
                if app.state.responses.pending:
                    break
            assert app.state.responses.pending
            go.set()
            return await cite, await plain

    cite, plain = asyncio.run(scenario())
    assert cite.status_code == 200, cite.text[:300]
    assert plain.status_code == 200, plain.text[:300]


def test_downloads_read_slowly_leave_turns_for_other_requests(backend, loaded_url):
    """One turn a worker, two download slots: two clients start a 4.7 MB NDJSON download and read
    nothing (their streams stall), a third waits for a download slot. None of them holds the
    turn (a streamed response gives it back when it starts, a download before it waits for a
    slot), so a query is still answered at once."""
    if backend != "postgres":
        pytest.skip("download slots are Postgres's pool's (SQLite opens a connection a request)")
    settings = Settings(database_url=loaded_url, pool_size=4, active_requests=1, cache_entries=0,
                        version_ttl_seconds=60, log_level="WARNING")
    assert_answered_beside_stalled_downloads(settings)
