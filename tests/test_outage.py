"""A database outage: 503 JSON within a bounded time, /readyz says why, service resumes by itself.

The app runs under a real uvicorn server (in a thread) and reaches the real Postgres through a TCP
proxy the test controls: stopping the proxy refuses new connections and cuts the open ones (a
database that is down); silencing it keeps connections open but forwards nothing (a frozen server
or a network partition). The same app, never restarted, must answer 200 again once the proxy is
back. Postgres only: an embedded SQLite file cannot become unreachable this way.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import socket
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
import uvicorn
from sqlalchemy.engine import make_url

from app.config import Settings
from app.main import create_app

DATA = "/seizures?drug=fentanyl"
DB_TIMEOUT = 1.0  # connect timeout and the /readyz budget
REQUEST_TIMEOUT = 2.0  # the deadline for a response to start
FAST = 5.0  # what "answered quickly" means in these tests


class TcpProxy:
    """Forward 127.0.0.1:<port> to an upstream address; stop, silence and restart on demand."""

    def __init__(self, upstream: tuple[str, int]):
        self.upstream = upstream
        self.port = 0
        self.silent = False
        self._listener: socket.socket | None = None
        self._acceptor: threading.Thread | None = None
        self._sockets: set[socket.socket] = set()
        self._lock = threading.Lock()

    def start(self) -> None:
        """Listen (on the same port as before, after a stop) and forward."""
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        listener.settimeout(0.05)
        self.port = listener.getsockname()[1]
        self._listener = listener
        self._acceptor = threading.Thread(target=self._accept, args=(listener,), daemon=True)
        self._acceptor.start()

    def stop(self) -> None:
        """Refuse new connections and cut every open one."""
        listener, self._listener = self._listener, None
        if listener is not None:
            listener.close()
        if self._acceptor is not None:
            self._acceptor.join(5)
        self._cut_all()

    def silence(self) -> None:
        """Keep accepting and keep connections open, but forward nothing either way."""
        self.silent = True

    def resume(self) -> None:
        """End a silence: cut the connections it stalled, forward new ones again."""
        self.silent = False
        self._cut_all()

    def _cut_all(self) -> None:
        with self._lock:
            sockets, self._sockets = list(self._sockets), set()
        for sock in sockets:
            _close(sock)

    def _accept(self, listener: socket.socket) -> None:
        while self._listener is listener:
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            client.settimeout(None)
            with self._lock:
                self._sockets.add(client)
            if self.silent:
                continue  # accepted, never answered
            try:
                server = socket.create_connection(self.upstream, timeout=5)
            except OSError:
                _close(client)
                continue
            server.settimeout(None)
            with self._lock:
                self._sockets.add(server)
            for source, target in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(source, target), daemon=True).start()

    def _pump(self, source: socket.socket, target: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                while self.silent:
                    time.sleep(0.01)
                    if source.fileno() == -1:
                        return
                target.sendall(data)
        except OSError:
            pass
        finally:
            _close(source)
            _close(target)


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def outage_url(backend: str, request: pytest.FixtureRequest) -> str:
    """The loaded Postgres database (checked before loading, so SQLite loads nothing here)."""
    if backend != "postgres":
        pytest.skip("an outage needs a database behind a network socket: Postgres only")
    return request.getfixturevalue("loaded_url")


@pytest.fixture
def proxy(outage_url: str) -> Iterator[TcpProxy]:
    url = make_url(outage_url)
    tcp = TcpProxy((url.host or "127.0.0.1", url.port or 5432))
    tcp.start()
    yield tcp
    tcp.stop()


@pytest.fixture
def base_url(proxy: TcpProxy, outage_url: str) -> Iterator[str]:
    """A real uvicorn server (in a thread) running one app that reaches Postgres via the proxy."""
    database_url = make_url(outage_url).set(port=proxy.port).render_as_string(hide_password=False)
    settings = Settings(
        database_url=database_url, version_ttl_seconds=0, cache_entries=0, pool_size=2,
        db_timeout_seconds=DB_TIMEOUT, request_timeout_seconds=REQUEST_TIMEOUT, log_format="text",
    )
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=port,
                                           log_config=None, access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(15)


def timed_get(client: httpx.Client, path: str) -> tuple[httpx.Response, float]:
    started = time.perf_counter()
    response = client.get(path)
    return response, time.perf_counter() - started


def wait_for_200(client: httpx.Client, path: str, *, within: float) -> httpx.Response:
    deadline = time.monotonic() + within
    while True:
        response = client.get(path)
        if response.status_code == 200 or time.monotonic() > deadline:
            return response
        time.sleep(0.1)


def assert_unavailable(response: httpx.Response, elapsed: float) -> dict:
    assert response.status_code == 503, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert elapsed < FAST, f"503 took {elapsed:.2f} s"
    return response.json()


def test_database_down_answers_503_fast_and_service_resumes_without_restart(
        base_url: str, proxy: TcpProxy) -> None:
    with httpx.Client(base_url=base_url, timeout=30) as client:
        before = client.get(DATA)
        assert before.status_code == 200
        assert client.get("/readyz").json()["status"] == "ready"

        proxy.stop()
        for _ in range(3):
            response, elapsed = timed_get(client, DATA)
            body = assert_unavailable(response, elapsed)
            assert body["error"]["code"] == "service_unavailable"
            assert response.headers["retry-after"] == "5"
        response, elapsed = timed_get(client, "/readyz")
        body = assert_unavailable(response, elapsed)
        assert body["status"] == "unavailable"
        assert body["checks"]["database"] == "unreachable"
        assert body["reason"].startswith("database: unreachable")
        assert client.get("/healthz").status_code == 200  # the process itself is fine

        proxy.start()
        assert wait_for_200(client, DATA, within=FAST).json() == before.json()
        ready = client.get("/readyz")
        assert ready.status_code == 200
        assert ready.json()["checks"] == {"database": "ok", "migrations": "ok", "data": "ok"}


def test_silent_database_answers_503_within_the_deadline_and_service_resumes(
        base_url: str, proxy: TcpProxy) -> None:
    with httpx.Client(base_url=base_url, timeout=30) as client:
        before = client.get(DATA)
        assert before.status_code == 200

        proxy.silence()
        response, elapsed = timed_get(client, DATA)
        body = assert_unavailable(response, elapsed)
        assert body["error"]["code"] == "service_unavailable"
        assert elapsed >= REQUEST_TIMEOUT * 0.9
        response, elapsed = timed_get(client, "/readyz")
        body = assert_unavailable(response, elapsed)
        assert body["checks"]["database"] == f"no answer within {DB_TIMEOUT:g} s"

        # More concurrent requests than the pool holds: every one is a 503, none a 500 or a hang.
        def get(_: int) -> tuple[int, float]:
            with httpx.Client(base_url=base_url, timeout=30) as own:
                response, elapsed = timed_get(own, DATA)
                return response.status_code, elapsed

        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            outcomes = list(pool.map(get, range(8)))
        assert [status for status, _ in outcomes] == [503] * 8
        assert max(elapsed for _, elapsed in outcomes) < FAST

        proxy.resume()
        assert wait_for_200(client, DATA, within=15).json() == before.json()
        assert client.get("/readyz").status_code == 200
