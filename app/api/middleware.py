"""RequestMiddleware: a request id, a deadline until the response starts, one log line per request.

Pure ASGI rather than BaseHTTPMiddleware: it adds a few microseconds per request, no task and no
memory stream, and it never buffers a streamed (CSV) body.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import time

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.errors import ServiceUnavailable
from app.ops.logs import REQUEST_ID, redact_query
from app.ops.outage_log import OutageLog

access_log = logging.getLogger("borderstats.access")
log = logging.getLogger("borderstats")

# An incoming X-Request-ID is kept only if it cannot forge or break a log line.
_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:=+/-]{1,128}")
RETRY_AFTER_SECONDS = 5
_replies: set[asyncio.Task] = set()  # 503 replies in flight (the loop keeps only weak references)


def incoming_request_id(headers: list[tuple[bytes, bytes]]) -> str | None:
    """Return the client's X-Request-ID if it is short and plain, else None."""
    for name, value in headers:
        if name == b"x-request-id":
            text = value.decode("latin-1").strip()
            return text if _SANE_REQUEST_ID.fullmatch(text) else None
    return None


class RequestMiddleware:
    """Tag each HTTP request with an id, bound the wait for its response, and log it.

    The id (the client's X-Request-ID when sane, else a new one) is returned in X-Request-ID and
    set on every log line written while the request runs. When no response has started after
    `timeout` seconds (a database that accepts connections but never answers), the client gets a
    503 at once and the handler is cancelled; its clean-up (the database driver may wait seconds
    to cancel a query) finishes in the background. A streaming response is not timed once started.
    One watchdog task per event loop checks the requests in flight a few times a second: cheaper
    than a timer per request, and as precise as a deadline of seconds needs.
    """

    def __init__(self, app: ASGIApp, *, timeout: float, outage: OutageLog | None = None) -> None:
        self.app = app
        self.timeout = timeout
        self.outage = outage or OutageLog()
        self._inflight: dict[_Exchange, asyncio.Task] = {}
        self._watchdog: asyncio.Task | None = None
        self._watchdog_loop: asyncio.AbstractEventLoop | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["method"] == "HEAD":
            # HEAD is GET without the body (RFC 9110): same status and headers, for caches and
            # link checkers.
            scope = {**scope, "method": "GET"}
            send = _without_body(send)
        request_id = incoming_request_id(scope["headers"]) or os.urandom(16).hex()
        token = REQUEST_ID.set(request_id)
        scope.setdefault("state", {})  # shared with the layers inside (a turn being waited for)
        exchange = _Exchange(scope, send, request_id)
        task = asyncio.current_task()
        self._inflight[exchange] = task
        self._ensure_watchdog()
        try:
            await self.app(scope, receive, exchange.send)
        except asyncio.CancelledError:
            if not exchange.timed_out:
                raise
            task.uncancel()  # our own cancellation, already answered with a 503
        except BaseException:
            exchange.status = exchange.status or 500
            raise
        finally:
            del self._inflight[exchange]
            if not exchange.timed_out:
                exchange.log()
            REQUEST_ID.reset(token)

    def _ensure_watchdog(self) -> None:
        loop = asyncio.get_running_loop()
        if self._watchdog is None or self._watchdog.done() or self._watchdog_loop is not loop:
            self._watchdog = loop.create_task(self._watch())
            self._watchdog_loop = loop

    async def _watch(self) -> None:
        """Answer 503 for every request without a response after `timeout`; stop when idle."""
        interval = min(0.25, self.timeout / 4)
        while self._inflight:
            await asyncio.sleep(interval)
            now = time.perf_counter()
            for exchange, task in list(self._inflight.items()):
                if not exchange.status and now - exchange.started >= self.timeout:
                    exchange.expire(task, self.timeout, self.outage)


def _without_body(send: Send) -> Send:
    async def send_head(message: Message) -> None:
        if message["type"] == "http.response.body":
            if not message.get("more_body", False):
                await send({"type": "http.response.body", "body": b""})
            return
        await send(message)

    return send_head


class _Exchange:
    """One request's response state: its status, whether the deadline answered it instead."""

    __slots__ = ("id_header", "raw_send", "scope", "started", "status", "timed_out")

    def __init__(self, scope: Scope, send: Send, request_id: str) -> None:
        self.scope = scope
        self.raw_send = send
        self.id_header = (b"x-request-id", request_id.encode("latin-1"))
        self.started = time.perf_counter()
        self.status = 0
        self.timed_out = False

    async def send(self, message: Message) -> None:
        if self.timed_out:
            return  # the client already has its 503
        if message["type"] == "http.response.start":
            self.status = message["status"]
            message = {**message, "headers": [*message.get("headers", ()), self.id_header]}
        await self.raw_send(message)

    def expire(self, task: asyncio.Task, timeout: float, outage: OutageLog) -> None:
        if self.status:
            return
        self.timed_out = True
        self.status = 503
        if self.scope["state"].get("waiting_behind"):
            # still queued behind other requests (for a turn, app.api.admission, or for another
            # request's answer, app.api.http_cache): busy, not an outage
            message = (f"the server is busy: no turn to answer within {timeout:g} s; retry "
                       "shortly")
        else:
            # an outage is logged once and summarised, not once per request
            outage.failed(f"no response within {timeout:g} s; answered 503 and cancelled the "
                          "handler")
            message = (f"no response within {timeout:g} s; the database may be unreachable; "
                       "retry shortly")
        reply = asyncio.get_running_loop().create_task(self._reply_unavailable(message))
        _replies.add(reply)
        reply.add_done_callback(_replies.discard)
        task.cancel()

    async def _reply_unavailable(self, message: str) -> None:
        error = ServiceUnavailable(message, retry_after_seconds=RETRY_AFTER_SECONDS)
        body = orjson.dumps(error.body())
        try:
            await self.raw_send({"type": "http.response.start", "status": 503, "headers": [
                (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                (b"retry-after", str(RETRY_AFTER_SECONDS).encode()), (b"cache-control", b"no-store"),
                self.id_header,
            ]})
            await self.raw_send({"type": "http.response.body", "body": body})
        finally:
            self.log()

    def log(self) -> None:
        if not access_log.isEnabledFor(logging.INFO):
            return
        scope = self.scope
        fields = {"method": scope["method"], "path": scope["path"]}
        if scope.get("query_string"):
            fields["query"] = redact_query(scope["query_string"].decode("latin-1")[:1000])
        fields["status"] = self.status
        fields["duration_ms"] = round((time.perf_counter() - self.started) * 1000, 2)
        access_log.info("%s %s %d", scope["method"], scope["path"], self.status, extra=fields)
