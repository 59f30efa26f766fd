"""Run Alembic from code: the same migrations the `alembic` command runs from pyproject.toml.

Alembic (with Mako and the migration scripts) is imported only when there is something to do:
`upgrade` to head of a database already there reads its one revision with a plain query and the
head from the scripts' own `revision`/`down_revision` lines (`script_head`; a test holds it to
Alembic's answer). Every command that opens the database upgrades it first (serve, ingest, sync,
load-snapshot), so this is part of every start: ~0.2 s less on a slow 2-core machine.
"""

from __future__ import annotations

import ast
import re
from typing import TYPE_CHECKING

from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError

from app.paths import project_dir

if TYPE_CHECKING:
    from alembic.config import Config

_ASSIGNED = re.compile(r"^(revision|down_revision)\s*(?::[^=]*)?=\s*(.+?)\s*$", re.MULTILINE)


def alembic_config() -> Config:
    """An Alembic config for the project's migrations, wherever the project is installed."""
    import sys

    from alembic.config import Config

    # (Config's default stdout is the one of the moment Alembic was first imported, which may be
    # a stream a CLI runner has closed since: the current one is named here)
    config = Config(stdout=sys.stdout)
    config.set_main_option("script_location", str(project_dir("migrations")))
    return config


def _run(engine: Engine, fn, *args, **kwargs) -> None:
    config = alembic_config()
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        fn(config, *args, **kwargs)


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Migrate the schema up to `revision` (nothing to import or run when it is there)."""
    if revision == "head" and _stamped(engine) == (script_head(),):
        return
    from alembic import command

    _run(engine, command.upgrade, revision)


def downgrade(engine: Engine, revision: str = "base") -> None:
    """Migrate the schema down to `revision`."""
    from alembic import command

    _run(engine, command.downgrade, revision)


def check(engine: Engine) -> None:
    """Raise if the models and the migrated schema differ (alembic check)."""
    from alembic import command

    _run(engine, command.check)


def head_revision() -> str | None:
    from alembic.script import ScriptDirectory

    script = ScriptDirectory(str(project_dir("migrations")))
    return script.get_current_head()


def script_head() -> str | None:
    """The one head of the migration scripts, read from their `revision` and `down_revision`
    assignments without importing them (None when they do not make exactly one head)."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in sorted(project_dir("migrations").joinpath("versions").glob("*.py")):
        found = dict((name, value) for name, value in _ASSIGNED.findall(path.read_text()))
        try:
            own = ast.literal_eval(found["revision"])
            down = ast.literal_eval(found.get("down_revision", "None"))
        except (KeyError, ValueError, SyntaxError):
            return None  # a script this reading does not understand: let Alembic decide
        if not isinstance(own, str):
            return None
        revisions.add(own)
        parents.update([down] if isinstance(down, str) else down or ())
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else None


def _stamped(engine: Engine) -> tuple[str, ...] | None:
    """The revisions the database is stamped with (None: no version table, or unreadable)."""
    try:
        with engine.connect() as conn:
            return tuple(conn.execute(text("SELECT version_num FROM alembic_version")).scalars())
    except SQLAlchemyError:
        return None


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def is_at_head(engine: Engine) -> bool:
    return current_revision(engine) == head_revision()
