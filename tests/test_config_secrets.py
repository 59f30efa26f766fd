"""Secrets in configuration never reach a terminal or a log (issue 11, item 2): a malformed or
odd DATABASE_URL is one line with the password masked and exit 2, from the CLI and from uvicorn."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.db import DatabaseURLError, database_urls, mask_password

BIN = Path(sys.executable).parent


def run(args: list[str], env_extra: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("DATABASE_URL", "DATABASE_READ_URL") and not k.startswith("BORDERSTATS_")}
    return subprocess.run(args, env={**env, **env_extra}, cwd=cwd, capture_output=True, text=True,
                          timeout=60)


@pytest.mark.parametrize("raw, reason", [
    ("postgresql//user:secret@host/db", "not a database URL"),
    ("postgresql://user:secret@host:fivefour/db", "its port is not a number"),
])
def test_a_malformed_database_url_is_one_masked_line_and_exit_2(raw: str, reason: str,
                                                                 tmp_path: Path) -> None:
    result = run([str(BIN / "borderstats"), "db", "current"], {"DATABASE_URL": raw}, tmp_path)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr == (f"borderstats: DATABASE_URL {mask_password(raw)!r}: {reason}; use "
                             "postgresql://user@host:5432/db or sqlite:///path.db\n")
    assert "secret" not in result.stderr and ":***@" in result.stderr


def test_a_malformed_read_url_stops_serve_with_one_line(tmp_path: Path) -> None:
    result = run([str(BIN / "borderstats"), "serve", "--port", "1"],
                 {"DATABASE_READ_URL": "postgresql://r:secret@replica:x/db"}, tmp_path)
    assert result.returncode == 2
    assert result.stderr.splitlines()[-1] == (
        "borderstats: DATABASE_READ_URL 'postgresql://r:***@replica:x/db': its port is not a "
        "number; use postgresql://user@host:5432/db or sqlite:///path.db")
    assert "secret" not in result.stderr + result.stdout


def test_uvicorn_start_up_never_prints_the_password(tmp_path: Path) -> None:
    """Started without the CLI (`uvicorn --factory app.main:create_app`), the failed start-up is
    masked too."""
    result = run([str(BIN / "uvicorn"), "--factory", "app.main:create_app", "--port", "1"],
                 {"DATABASE_URL": "postgresql//user:secret@host/db"}, Path(__file__).parents[1])
    assert result.returncode != 0
    assert "postgresql//user:***@host/db" in result.stderr
    assert "secret" not in result.stderr + result.stdout


@pytest.mark.parametrize("raw, masked", [
    ("postgresql//user:secret@host/db", "postgresql//user:***@host/db"),
    ("user:pw@host", "user:***@host"),
    ("postgresql://user@host:5432/db", "postgresql://user@host:5432/db"),
    ("sqlite:///x.db", "sqlite:///x.db"),
])
def test_mask_password_needs_no_well_formed_url(raw: str, masked: str) -> None:
    assert mask_password(raw) == masked


def test_the_error_carries_no_parser_message_that_repeats_the_url() -> None:
    with pytest.raises(DatabaseURLError) as caught:
        database_urls("postgresql://user:secret@host:abc/db")
    assert caught.value.__cause__ is None and caught.value.__suppress_context__
    assert "secret" not in str(caught.value)
