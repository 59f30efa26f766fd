"""Settings from environment variables (and an optional .env file)."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Annotated

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_SQLITE_PATH = Path(".borderstats") / "borderstats.db"


class Settings(BaseSettings):
    """Every knob the service reads; see the configuration table in README.md."""

    # populate_by_name: Settings(version_ttl_seconds=0) works as well as the environment names.
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)

    database_url: str | None = Field(
        default=None,
        description="postgresql://user@host:5432/db, postgres://..., or sqlite:///path.db. "
        "Unset: an embedded SQLite file at BORDERSTATS_SQLITE_PATH.",
    )
    database_read_url: str | None = Field(
        default=None, validation_alias="DATABASE_READ_URL",
        description="Optional: the API reads from this database (a read replica of DATABASE_URL); "
        "ingest, sync and migrations always use DATABASE_URL.",
    )
    sqlite_path: Path = Field(
        default=DEFAULT_SQLITE_PATH,
        validation_alias="BORDERSTATS_SQLITE_PATH",
        description="Where the embedded SQLite database lives when DATABASE_URL is unset.",
    )
    pool_size: int = Field(default=5, ge=1, le=100, validation_alias="BORDERSTATS_POOL_SIZE")
    active_requests: int = Field(
        default=4, ge=0, le=1000, validation_alias="BORDERSTATS_ACTIVE_REQUESTS",
        description="Requests a worker works on at once; the others wait their turn, first "
        "come first served, within the request deadline (0: no limit).",
    )
    db_timeout_seconds: float = Field(
        default=3.0, gt=0, le=60, validation_alias="BORDERSTATS_DB_TIMEOUT",
        description="Connect and statement timeout; a data request fails with 503 after it.",
    )
    request_timeout_seconds: float = Field(
        default=10.0, gt=0, le=600, validation_alias="BORDERSTATS_REQUEST_TIMEOUT",
        description="A request whose response has not started after this long is answered 503 "
        "(a database that accepts connections but never replies).",
    )
    cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["*"], validation_alias="BORDERSTATS_CORS_ORIGINS"
    )
    log_level: str = Field(default="INFO", validation_alias="BORDERSTATS_LOG_LEVEL")
    log_format: str = Field(default="json", validation_alias="BORDERSTATS_LOG_FORMAT")
    host: str = Field(default="127.0.0.1", validation_alias="BORDERSTATS_HOST")
    port: int = Field(default=8000, ge=1, le=65535, validation_alias="BORDERSTATS_PORT")
    workers: int = Field(default=1, ge=1, le=64, validation_alias="BORDERSTATS_WORKERS")
    version_ttl_seconds: float = Field(
        default=1.0, ge=0, le=60, validation_alias="BORDERSTATS_VERSION_TTL",
        description="How long a worker trusts its cached data version before asking the "
        "database again (0: every request asks).",
    )
    cache_entries: int = Field(default=1024, ge=0, validation_alias="BORDERSTATS_CACHE_ENTRIES")
    cache_mb: float = Field(
        default=16.0, ge=0, le=4096, validation_alias="BORDERSTATS_CACHE_MB",
        description="Megabytes of rendered responses a worker may keep (with the entry bound); "
        "what a worker holds beyond its ~110 MB at rest.",
    )
    rate_limit: float = Field(
        default=0.0, ge=0, le=100_000, validation_alias="BORDERSTATS_RATE_LIMIT",
        description="Requests per second each client may make, per worker (token bucket); 0: off. "
        "The health probes are exempt.",
    )
    rate_burst: int = Field(
        default=20, ge=1, le=100_000, validation_alias="BORDERSTATS_RATE_BURST",
        description="Requests a client may make at once before BORDERSTATS_RATE_LIMIT applies.",
    )
    max_body_bytes: int = Field(
        default=65_536, ge=1024, le=100_000_000, validation_alias="BORDERSTATS_MAX_BODY_BYTES",
        description="A request body larger than this is refused with 413.",
    )
    body_timeout_seconds: float = Field(
        default=5.0, gt=0, le=600, validation_alias="BORDERSTATS_BODY_TIMEOUT",
        description="A request body not received in full after this long is answered 408.",
    )
    outage_log_seconds: float = Field(
        default=60.0, gt=0, le=86_400, validation_alias="BORDERSTATS_OUTAGE_LOG_INTERVAL",
        description="While the database is unavailable, a summary line at most this often.",
    )
    reader_password: SecretStr | None = Field(
        default=None, validation_alias="BORDERSTATS_READER_PASSWORD",
        description="`borderstats db grant`: password of the read-only role the API connects as.",
    )
    writer_password: SecretStr | None = Field(
        default=None, validation_alias="BORDERSTATS_WRITER_PASSWORD",
        description="`borderstats db grant`: password of the role ingest and sync connect as.",
    )
    sync_manifest: Path | None = Field(
        default=None, validation_alias="BORDERSTATS_SYNC_MANIFEST",
        description="The sources manifest `borderstats sync` reads (default: seed/sources.json).",
    )
    sync_max_mb: float = Field(
        default=100.0, gt=0, le=10_000, validation_alias="BORDERSTATS_SYNC_MAX_MB",
        description="A download larger than this many megabytes is refused.",
    )
    sync_timeout_seconds: float = Field(
        default=30.0, gt=0, le=600, validation_alias="BORDERSTATS_SYNC_TIMEOUT",
        description="Connect and read timeout of each request sync makes.",
    )
    sync_attempts: int = Field(
        default=4, ge=1, le=20, validation_alias="BORDERSTATS_SYNC_ATTEMPTS",
        description="Tries per request on a 5xx, 429 or network error, with exponential backoff.",
    )
    sync_backoff_seconds: float = Field(
        default=2.0, ge=0, le=300, validation_alias="BORDERSTATS_SYNC_BACKOFF",
        description="First retry delay; doubled at each further retry, with jitter.",
    )
    sync_contact: str = Field(
        default="", validation_alias="BORDERSTATS_SYNC_CONTACT",
        description="A URL or e-mail address added to sync's User-Agent so a publisher can reach "
        "whoever runs this deployment.",
    )
    max_file_mb: float = Field(
        default=200.0, gt=0, le=100_000, validation_alias="BORDERSTATS_MAX_FILE_MB",
        description="`borderstats ingest` refuses a file larger than this (official files are a "
        "few MB; the limit keeps a wrong path such as /dev/zero from filling memory).",
    )

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            stripped = value.strip()
            if stripped.startswith("["):
                return json.loads(stripped)
            return [part.strip() for part in stripped.split(",") if part.strip()]
        return value

    @field_validator("log_level")
    @classmethod
    def _check_level(cls, value: str) -> str:
        level = value.strip().upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError("BORDERSTATS_LOG_LEVEL must be DEBUG, INFO, WARNING, ERROR or CRITICAL")
        return level

    @field_validator("log_format")
    @classmethod
    def _check_format(cls, value: str) -> str:
        if value not in {"json", "text"}:
            raise ValueError("BORDERSTATS_LOG_FORMAT must be 'json' or 'text'")
        return value


@lru_cache
def get_settings() -> Settings:
    """Return the process-wide settings."""
    return Settings()
