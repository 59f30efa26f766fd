"""Pure ASGI guards in front of the API: security headers, bounded request bodies, and a
trailing-slash redirect that never names a host.

Each is a small class wrapping the next ASGI app, so none buffers a streamed (CSV) response, and
each answers its own errors in the project's one error shape.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from urllib.parse import quote

import orjson
from starlette.routing import Match, Router
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.errors import ApiError

# Strict by default: the pages the app serves (/docs, the dashboard) load their scripts, styles
# and images from the app itself, with no inline code.
CONTENT_SECURITY_POLICY = ("default-src 'self'; img-src 'self' data:; object-src 'none'; "
                           "base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"cross-origin-opener-policy", b"same-origin"),
)
# Methods whose requests carry no body the API reads.
_BODILESS = frozenset({"GET", "HEAD", "OPTIONS", "DELETE"})


class PayloadTooLarge(ApiError):
    status_code = 413
    code = "payload_too_large"


class RequestTimeout(ApiError):
    status_code = 408
    code = "request_timeout"


async def send_error(send: Send, error: ApiError, headers: Iterable[tuple[bytes, bytes]] = ()) -> None:
    """Answer `error` as JSON in the one error shape, never cached."""
    body = orjson.dumps(error.body())
    await send({"type": "http.response.start", "status": error.status_code, "headers": [
        (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
        (b"cache-control", b"no-store"), *headers]})
    await send({"type": "http.response.body", "body": body})


class SecurityHeaders:
    """Add nosniff, no-referrer, DENY framing and a strict CSP to every HTTP response, and
    `Cache-Control: no-store` to every error that sets no caching of its own (so no proxy or CDN
    keeps a 4xx or 5xx).

    A header the response already sets (a page with its own CSP) is left as it is.
    """

    def __init__(self, app: ASGIApp, headers: Iterable[tuple[bytes, bytes]] = SECURITY_HEADERS) -> None:
        self.app = app
        self.headers = tuple(headers)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", ())}
                extra = [(n, v) for n, v in self.headers if n not in present]
                if message["status"] >= 400 and b"cache-control" not in present:
                    extra.append((b"cache-control", b"no-store"))
                message = {**message, "headers": [*message.get("headers", ()), *extra]}
            await send(message)

        await self.app(scope, receive, send_with_headers)


class RequestBodyLimit:
    """Read a request body whole before the app sees it: at most `max_bytes`, within `timeout`.

    A declared Content-Length over the limit is refused (413) before a byte is read; a chunked
    body is refused as soon as it passes the limit; a body that stops arriving (a Content-Length
    larger than what is sent) is answered 408 after `timeout` seconds instead of holding the
    handler until the request deadline. Both close the connection.
    """

    def __init__(self, app: ASGIApp, *, max_bytes: int, timeout: float) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.timeout = timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or (scope["method"] in _BODILESS and not _declares_body(scope)):
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        close = [(b"connection", b"close")]
        if declared is not None and declared > self.max_bytes:
            await send_error(send, self._too_large(), close)
            return
        chunks: list[bytes] = []
        received = 0
        try:
            async with asyncio.timeout(self.timeout):
                while True:
                    message = await receive()
                    if message["type"] == "http.disconnect":
                        return  # the client is gone: nobody to answer
                    chunk = message.get("body", b"")
                    received += len(chunk)
                    if received > self.max_bytes:
                        await send_error(send, self._too_large(), close)
                        return
                    chunks.append(chunk)
                    if not message.get("more_body", False):
                        break
        except TimeoutError:
            expected = f" of the {declared} bytes its Content-Length announced" if declared else ""
            await send_error(send, RequestTimeout(
                f"the request body did not arrive in full within {self.timeout:g} s: {received} "
                f"bytes{expected} were received", received_bytes=received), close)
            return
        await self.app(scope, _replay(b"".join(chunks), receive), send)

    def _too_large(self) -> PayloadTooLarge:
        return PayloadTooLarge(f"the request body is larger than {self.max_bytes} bytes, the most "
                               "this API accepts", max_bytes=self.max_bytes)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _declares_body(scope: Scope) -> bool:
    return any(name in (b"content-length", b"transfer-encoding") for name, _ in scope["headers"])


def _replay(body: bytes, receive: Receive) -> Receive:
    """A receive() that returns the buffered body once, then whatever the client sends next."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


class SlashRedirect:
    """Redirect `/seizures/` to `/seizures` with a relative Location (never the Host header).

    Only paths whose form without the trailing slash is a route are redirected (308, method and
    body kept); anything else goes on to routing and its 404. Use with redirect_slashes=False.
    """

    def __init__(self, app: ASGIApp, *, router: Router) -> None:
        self.app = app
        self.router = router

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or len(path) < 2 or not path.endswith("/"):
            await self.app(scope, receive, send)
            return
        target = path.rstrip("/")
        # "//host" would be a protocol-relative URL: another site.
        if not target or target.startswith("//") or not self._routes(scope, target):
            await self.app(scope, receive, send)
            return
        location = quote(target, safe="/:@!$&'()*+,;=-._~")
        if scope.get("query_string"):
            location += "?" + scope["query_string"].decode("latin-1")
        await send({"type": "http.response.start", "status": 308, "headers": [
            (b"location", location.encode("latin-1")), (b"content-length", b"0")]})
        await send({"type": "http.response.body", "body": b""})

    def _routes(self, scope: Scope, path: str) -> bool:
        probe = {**scope, "path": path}
        return any(route.matches(probe)[0] != Match.NONE for route in self.router.routes)
