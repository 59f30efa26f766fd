"""Readiness: is the database reachable, migrated to the latest revision, and holding data?"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from app.models import DataVersion, Release

CHECKS = ("database", "migrations", "data")
_latest: dict[str, str | None] = {}
_unwinding: set[asyncio.Future] = set()  # timed-out probes still cancelling


@dataclass
class Readiness:
    """The outcome of each check: "ok" or the reason it failed."""

    checks: dict[str, str] = field(default_factory=lambda: dict.fromkeys(CHECKS, "not checked"))
    schema_revision: str | None = None
    latest_revision: str | None = None
    data_version: int | None = None
    releases: int | None = None
    # Why the database could not be reached (driver message: host, port...): for the log only.
    detail: str | None = None

    @property
    def ready(self) -> bool:
        return all(value == "ok" for value in self.checks.values())

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"status": "ready" if self.ready else "unavailable"}
        if not self.ready:
            name = next(n for n in CHECKS if self.checks[n] != "ok")
            body["reason"] = f"{name}: {self.checks[name]}"
        body["checks"] = self.checks
        body["schema_revision"] = self.schema_revision
        body["latest_revision"] = self.latest_revision
        body["data_version"] = self.data_version
        body["releases"] = self.releases
        return body


async def latest_revision() -> str | None:
    """Return the newest migration revision, read from the migration scripts once per process."""
    if "head" not in _latest:
        from app.ops.migrate import head_revision, script_head

        # the scripts' own lines first: Alembic is imported only for scripts that reading misses
        _latest["head"] = script_head() or await asyncio.to_thread(head_revision)
    return _latest["head"]


async def check_readiness(engine: AsyncEngine, *, timeout: float) -> Readiness:
    """Run the three checks through the async engine, answering within `timeout` seconds."""
    result = Readiness(latest_revision=await latest_revision())
    stage = ["database"]
    probe = asyncio.ensure_future(_probe(engine, result, stage))
    # Not wait_for: it would wait for the cancelled probe to finish, and a driver cancelling a
    # query on a silent server takes seconds. The probe unwinds in the background instead.
    try:
        done, _ = await asyncio.wait({probe}, timeout=timeout)
    finally:
        if not probe.done():  # timed out, or this request was cancelled
            probe.cancel()
            _unwinding.add(probe)
            probe.add_done_callback(_forget)
    if not done:
        # a copy: the cancelled probe may still write to `result` while it unwinds
        answer = replace(result, checks=dict(result.checks))
        answer.checks[stage[0]] = f"no answer within {timeout:g} s"
        return answer
    try:
        probe.result()
    except (SQLAlchemyError, OSError) as exc:
        # Clients get a generic reason; the host and port in the driver's message stay in the log.
        result.checks[stage[0]] = "unreachable"
        result.detail = _reason(exc)
    return result


async def _probe(engine: AsyncEngine, result: Readiness, stage: list[str]) -> None:
    async with engine.connect() as conn:
        await conn.execute(text("SELECT 1"))
        result.checks["database"] = "ok"
        stage[0] = "migrations"
        result.schema_revision = await _schema_revision(conn)
        if result.schema_revision is None:
            result.checks["migrations"] = "no schema: run `borderstats db upgrade`"
            result.checks["data"] = "no schema"
            return
        if result.schema_revision != result.latest_revision:
            result.checks["migrations"] = (f"schema at {result.schema_revision}, latest is "
                                           f"{result.latest_revision}: run `borderstats db upgrade`")
        else:
            result.checks["migrations"] = "ok"
        stage[0] = "data"
        result.releases = await conn.scalar(select(func.count()).select_from(Release))
        result.data_version = await conn.scalar(
            select(DataVersion.version).where(DataVersion.id == 1)
        )
        result.checks["data"] = "ok" if result.releases else (
            "no release loaded: run `borderstats seed load` or `borderstats ingest`"
        )


async def _schema_revision(conn: AsyncConnection) -> str | None:
    """The revision in alembic_version, or None when the database was never migrated."""
    try:
        return await conn.scalar(text("SELECT version_num FROM alembic_version"))
    except DBAPIError as exc:
        if exc.connection_invalidated:
            raise
        await conn.rollback()  # Postgres refuses further statements in a failed transaction
        return None


def _forget(probe: asyncio.Future) -> None:
    _unwinding.discard(probe)
    if not probe.cancelled():
        probe.exception()  # retrieved, so asyncio does not report it as never retrieved


def _reason(exc: BaseException) -> str:
    original = getattr(exc, "orig", None) or exc
    lines = str(original).strip().splitlines()
    return lines[0] if lines else type(original).__name__
