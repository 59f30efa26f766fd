"""Admission (app/api/admission.py) on its own: turns, and what a request's context passes on."""

from __future__ import annotations

import asyncio

from app.api.admission import Admission, holds_turn


def _scope(path: str) -> dict:
    return {"type": "http", "method": "GET", "path": path, "headers": []}


async def _receive() -> dict:
    return {"type": "http.request", "body": b"", "more_body": False}


def test_a_request_started_after_the_response_began_queues_for_its_own_turn():
    """uvicorn starts the next request pipelined on a connection from inside the last send of
    the one before, so its task inherits that request's context. The turn is no longer held by
    then: the new request must take a turn of its own, not run beside the limit."""

    async def scenario() -> tuple[int, list[str]]:
        running, most, order = 0, 0, []
        started: list[asyncio.Task] = []

        async def inner(scope, receive, send):
            nonlocal running, most
            path = scope["path"]
            if path == "/first":
                await send({"type": "http.response.start", "status": 200, "headers": []})
                # as uvicorn does for a pipelined request: a task started from this context
                started.append(asyncio.ensure_future(admission(_scope("/pipelined"), _receive,
                                                               _ignore)))
                await asyncio.sleep(0)
                started.append(asyncio.ensure_future(admission(_scope("/other"), _receive,
                                                               _ignore)))
                await send({"type": "http.response.body", "body": b""})
                return
            running += 1
            most = max(most, running)
            order.append(path)
            await asyncio.sleep(0.05)
            running -= 1
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b""})

        async def _ignore(_message):
            return None

        admission = Admission(inner, limit=1)
        await admission(_scope("/first"), _receive, _ignore)
        await asyncio.gather(*started)
        return most, order

    most, order = asyncio.run(scenario())
    assert most == 1
    assert order == ["/pipelined", "/other"]


def test_a_request_made_in_process_while_the_turn_is_held_runs_on_it():
    async def scenario() -> list[bool]:
        seen = []

        async def inner(scope, receive, send):
            seen.append(holds_turn())
            if scope["path"] == "/outer":
                await admission(_scope("/nested"), _receive, send)  # one turn: no deadlock
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b""})

        async def ignore(_message):
            return None

        admission = Admission(inner, limit=1)
        await asyncio.wait_for(admission(_scope("/outer"), _receive, ignore), timeout=2)
        seen.append(holds_turn())
        return seen

    assert asyncio.run(scenario()) == [True, True, False]
