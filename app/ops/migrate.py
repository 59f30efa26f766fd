"""Run Alembic from code: the same migrations the `alembic` command runs from pyproject.toml."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from app.paths import project_dir


def alembic_config() -> Config:
    """An Alembic config for the project's migrations, wherever the project is installed."""
    config = Config()
    config.set_main_option("script_location", str(project_dir("migrations")))
    return config


def _run(engine: Engine, fn, *args, **kwargs) -> None:
    config = alembic_config()
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        fn(config, *args, **kwargs)


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Migrate the schema up to `revision`."""
    _run(engine, command.upgrade, revision)


def downgrade(engine: Engine, revision: str = "base") -> None:
    """Migrate the schema down to `revision`."""
    _run(engine, command.downgrade, revision)


def check(engine: Engine) -> None:
    """Raise if the models and the migrated schema differ (alembic check)."""
    _run(engine, command.check)


def head_revision() -> str | None:
    script = ScriptDirectory(str(project_dir("migrations")))
    return script.get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def is_at_head(engine: Engine) -> bool:
    return current_revision(engine) == head_revision()
