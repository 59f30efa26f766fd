"""Run Alembic from code: the same migrations the `alembic` command runs from pyproject.toml.

Alembic (with Mako and the migration scripts) is imported only when there is something to
migrate. Every command that opens the database upgrades it first (serve, ingest, sync, seed
load), so this is part of every start:
- a database at head: its one revision is read with a plain query, the head from the scripts'
  own `revision`/`down_revision` lines (`script_head`; a test holds it to Alembic's answer):
  ~0.2 s less a start on a slow 2-core machine;
- a new database (no table at all): the schema is created from the models in one transaction,
  with the row the first migration inserts, and stamped at head, as Alembic's documentation
  suggests for a database built from scratch (~0.5 s instead of running every migration; a test
  holds the two schemas, their rows included, equal on both backends, and `alembic check` holds
  the models to the migrations);
- anything else (behind, at base, stamped with an unknown revision) goes through Alembic.
"""

from __future__ import annotations

import ast
import datetime as dt
import re
from typing import TYPE_CHECKING

from sqlalchemy import Column, Engine, MetaData, PrimaryKeyConstraint, String, Table, inspect, text
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
    if revision == "head":
        stamped, head = _stamped(engine), script_head()
        if head is not None and stamped == (head,):
            return
        if head is not None and stamped is None and _create_if_new(engine, head):
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
        if path.name.startswith((".#", "__init__")):  # as Alembic: an editor's lock, a package
            continue
        try:
            text_ = path.read_text()
        except OSError:
            return None
        found = dict((name, value) for name, value in _ASSIGNED.findall(text_))
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


def _create_if_new(engine: Engine, head: str) -> bool:
    """Create the schema at `head` from the models if the database holds no table at all (in one
    transaction: all of it or nothing); False, changing nothing, if it holds any."""
    from app import models  # noqa: F401  (registers every table on Base.metadata)
    from app.db import Base, lock_for_writing

    with engine.begin() as conn:
        # One transaction on SQLite too (its driver would commit each CREATE TABLE by itself,
        # and a failure or a kill halfway would leave tables no upgrade could go on from); and
        # one start at a time: a second waits here, then finds the tables and leaves the
        # database to Alembic, which finds it at head.
        lock_for_writing(conn)
        if inspect(conn).get_table_names():
            return False
        Base.metadata.create_all(conn)
        # the row the first migration inserts (20261128_6b72491b8588_initial_schema.py)
        conn.execute(Base.metadata.tables["data_version"].insert().values(
            id=1, version=0, updated_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC)))
        version = Table("alembic_version", MetaData(), Column("version_num", String(32)),
                        PrimaryKeyConstraint("version_num", name="alembic_version_pkc"))
        version.create(conn)
        conn.execute(version.insert().values(version_num=head))
    return True


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
