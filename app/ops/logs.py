"""Logging configuration: one JSON (or text) line per event, on stderr.

Every line carries the id of the request it belongs to (a context variable set by
app.middleware.RequestMiddleware), and any password inside a URL is masked before a line is
written, whatever logged it.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import sys
from contextvars import ContextVar
from typing import Any, TextIO

import orjson

from app.config import Settings

REQUEST_ID: ContextVar[str | None] = ContextVar("borderstats_request_id", default=None)

# scheme://user:password@ -> scheme://user:***@ (the form DatabaseURLs.safe() prints)
_URL_PASSWORD = re.compile(r"(\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s:/@]*:)[^\s@/]+@")
_SECRET_NAME = r"[^=&\s]*(?:pass|pwd|secret|token|api_?key|auth|session|signature|credential)[^=&\s]*="
# ...?password=secret&... in a URL (libpq accepts the password as a query parameter too; requests
# may carry tokens)
_QUERY_PASSWORD = re.compile(rf"([?&]{_SECRET_NAME})[^&\s\"']+", re.IGNORECASE)
# A request's query string: the value of any parameter whose name says it is a secret.
_SECRET_PARAMETER = re.compile(rf"((?:^|&){_SECRET_NAME})[^&]*", re.IGNORECASE)
# uvicorn adds color_message, a copy of the message with terminal colours
_STANDARD_FIELDS = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "color_message"}


def redact(text: str) -> str:
    """Mask passwords in any URL inside `text`."""
    if "://" not in text:
        return text
    return _QUERY_PASSWORD.sub(r"\1***", _URL_PASSWORD.sub(r"\1***@", text))


def redact_query(query: str) -> str:
    """Mask the values of password, token, key... parameters in a URL query string."""
    return _SECRET_PARAMETER.sub(r"\1***", query)


def _extra_fields(record: logging.LogRecord) -> dict[str, Any]:
    return {k: v for k, v in record.__dict__.items() if k not in _STANDARD_FIELDS}


class JsonFormatter(logging.Formatter):
    """Format a record as one JSON object on one line."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        request_id = REQUEST_ID.get()
        if request_id is not None:
            line["request_id"] = request_id
        line.update(_extra_fields(record))
        if record.exc_info:
            line["exception"] = redact(self.formatException(record.exc_info))
        return orjson.dumps(line, default=str).decode()


class TextFormatter(logging.Formatter):
    """Format a record as a readable line: time, level, logger, message, key=value extras."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        extras = _extra_fields(record)
        request_id = REQUEST_ID.get()
        if request_id is not None and "request_id" not in extras:
            extras["request_id"] = request_id
        if extras:
            text += " " + " ".join(f"{k}={v}" for k, v in extras.items())
        return redact(text)


class _StderrHandler(logging.StreamHandler):
    """Write to whatever sys.stderr is at the time (test runners swap it)."""

    def __init__(self) -> None:
        super().__init__()

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, _value: TextIO) -> None:
        pass


def configure_logging(settings: Settings) -> None:
    """Send every log line (the app's and uvicorn's) to stderr in the configured format and level."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "borderstats", False):
            root.removeHandler(handler)
    handler = _StderrHandler()
    handler.borderstats = True  # type: ignore[attr-defined]
    handler.setFormatter(JsonFormatter() if settings.log_format == "json" else TextFormatter())
    root.addHandler(handler)
    root.setLevel(settings.log_level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
        logger.setLevel(logging.NOTSET)
    # RequestMiddleware logs every request; uvicorn's own access line would repeat it.
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)  # one line per plugin
