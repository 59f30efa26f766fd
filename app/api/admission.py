"""Admission: at most a few requests of a worker are worked on at once; the others wait their
turn, first come first served.

Without it, every request a worker has accepted runs interleaved with every other at each await
(the catalog, the pool, the statement, the rows), so under a burst each takes as long as all of
them together, and the unlucky ones much longer. Measured on a 2-core machine (2 workers, wrk
-c64, 15 s of distinct uncached queries, bench/load.py's): unbounded p50 29 ms, p99 600 ms; with
4 turns a worker p50 58-68 ms, p99 140-210 ms, at the same throughput (~1,000-1,200 req/s).

A turn is held until the response starts: the body is already made by then (or, for a download,
it streams at the client's pace, bounded by the download slots instead), so a slow reader never
holds one. A download gives its turn back before it waits for a download slot (`give_back`).
Health checks (/healthz, /readyz) never wait: a busy worker is not an unhealthy one. A request
made in process by a request that holds a turn (GET /cite answers the URL it cites) runs on its
parent's turn while that turn is held: waiting behind its own parent would deadlock (and it
does not wait for another request's copy of the same answer either: app.api.http_cache). Once
the response has started, the turn is no longer held, so a request that merely inherits the
context (the next request pipelined on the same connection starts from inside the last send)
queues like any other. Waiting counts toward the request deadline (RequestMiddleware), so a
burst queues, and only a wait longer than the deadline is a 503, which says the server was busy
(`scope["state"]["waiting_behind"]`), not that the database is down.
"""

from __future__ import annotations

import asyncio
from contextvars import ContextVar

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

EXEMPT = frozenset({"/healthz", "/readyz"})
# The turn of the request whose task this is (inherited by what it starts, in process or not)
_TURN: ContextVar[_Turn | None] = ContextVar("borderstats_turn", default=None)


class _Turn:
    __slots__ = ("held", "slots")

    def __init__(self, slots: asyncio.Semaphore) -> None:
        self.slots = slots
        self.held = True

    def give_back(self) -> None:
        if self.held:
            self.held = False
            self.slots.release()


class Admission:
    """Pure ASGI: at most `limit` requests of this worker hold a turn (0: no limit)."""

    def __init__(self, app: ASGIApp, *, limit: int) -> None:
        self.app = app
        self.limit = limit
        self._slots: asyncio.Semaphore | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (scope["type"] != "http" or self.limit <= 0 or scope["path"] in EXEMPT
                or holds_turn()):
            await self.app(scope, receive, send)
            return
        slots = self._slots_of_this_loop()
        state = scope.setdefault("state", {})
        state["waiting_behind"] = True
        try:
            await slots.acquire()  # FIFO; cancelled by the request deadline while waiting
        finally:
            state.pop("waiting_behind", None)
        turn = _Turn(slots)
        state["turn"] = turn
        in_turn = _TURN.set(turn)

        async def send_giving_back(message: Message) -> None:
            if message["type"] == "http.response.start":
                turn.give_back()
            await send(message)

        try:
            await self.app(scope, receive, send_giving_back)
        finally:
            turn.give_back()
            _TURN.reset(in_turn)

    def _slots_of_this_loop(self) -> asyncio.Semaphore:
        loop = asyncio.get_running_loop()
        if self._slots is None or self._loop is not loop:
            self._slots, self._loop = asyncio.Semaphore(self.limit), loop
        return self._slots


def holds_turn() -> bool:
    """Whether this task runs inside a request that holds its turn (a request made in process)."""
    turn = _TURN.get()
    return turn is not None and turn.held


def give_back(request: Request) -> None:
    """End this request's turn early: it is about to wait for something else (a download slot)
    that other requests' turns must not wait behind."""
    turn = request.scope.get("state", {}).get("turn")
    if turn is not None:
        turn.give_back()
