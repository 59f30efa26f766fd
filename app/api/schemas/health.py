"""The bodies of /healthz and /readyz."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from app.api.schemas.common import Strict


class Liveness(Strict):
    """The process is alive."""

    status: Literal["ok"]


class ReadinessChecks(Strict):
    """Each check: `ok`, or why it failed (`not checked` after an earlier failure)."""

    database: str = Field(description="The database answers.")
    migrations: str = Field(description="The schema is at the latest migration.")
    data: str = Field(description="At least one release is loaded.")


class Readiness(Strict):
    """Whether the database can answer data requests, and why not."""

    status: Literal["ready", "unavailable"]
    reason: str | None = Field(None, description="The first failed check and why (absent when "
                               "ready).")
    checks: ReadinessChecks
    schema_revision: str | None = Field(description="The database's migration revision.")
    latest_revision: str | None = Field(description="The newest migration this build knows.")
    data_version: int | None = Field(description="The data version; null when unreachable.")
    releases: int | None = Field(description="Releases loaded; null when unreachable.")
