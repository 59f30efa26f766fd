"""Least-privilege Postgres roles: a read-only role for the API, a writer for ingest and sync.

Run by the owner of the schema (the role that migrates), idempotently: a role that exists gets its
password and grants refreshed, so `borderstats db grant` can run on every deploy. Default
privileges make every table a later migration creates readable (and writable) by them too.
"""

from __future__ import annotations

from dataclasses import dataclass

from psycopg import sql
from sqlalchemy import Engine

READER = "borderstats_reader"
WRITER = "borderstats_writer"


class RolesError(ValueError):
    """The roles cannot be made here (not Postgres, a bad name, no password)."""


@dataclass(frozen=True)
class RoleSpec:
    name: str
    password: str


def _create_or_update(spec: RoleSpec, database: str) -> list[sql.Composable]:
    role = sql.Identifier(spec.name)
    return [
        sql.SQL("DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = {name}) THEN "
                "CREATE ROLE {role}; END IF; END $$").format(name=sql.Literal(spec.name), role=role),
        sql.SQL("ALTER ROLE {role} WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION "
                "NOBYPASSRLS PASSWORD {password}").format(role=role,
                                                          password=sql.Literal(spec.password)),
        sql.SQL("GRANT CONNECT ON DATABASE {db} TO {role}").format(db=sql.Identifier(database),
                                                                    role=role),
        sql.SQL("GRANT USAGE ON SCHEMA public TO {role}").format(role=role),
    ]


def grant_statements(reader: RoleSpec, writer: RoleSpec, database: str) -> list[sql.Composable]:
    """The SQL that creates or refreshes both roles on `database` (schema public)."""
    statements = [*_create_or_update(reader, database), *_create_or_update(writer, database)]
    r, w = sql.Identifier(reader.name), sql.Identifier(writer.name)
    statements += [
        # The API reads; even a bug cannot make it write.
        sql.SQL("ALTER ROLE {r} SET default_transaction_read_only = on").format(r=r),
        sql.SQL("GRANT SELECT ON ALL TABLES IN SCHEMA public TO {r}").format(r=r),
        sql.SQL("ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO {r}").format(r=r),
        # Ingest and sync write rows; the schema stays the owner's (no CREATE, no DROP).
        sql.SQL("GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {w}").format(w=w),
        sql.SQL("GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO {w}").format(w=w),
        sql.SQL("ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON "
                "TABLES TO {w}").format(w=w),
        sql.SQL("ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT, UPDATE ON SEQUENCES "
                "TO {w}").format(w=w),
    ]
    return statements


def grant_roles(engine: Engine, *, reader: RoleSpec, writer: RoleSpec) -> None:
    """Create or refresh the reader and writer roles on the engine's database, in one transaction."""
    if engine.dialect.name != "postgresql":
        raise RolesError("database roles exist only on Postgres; SQLite has no users")
    for spec in (reader, writer):
        if not spec.password:
            raise RolesError(f"no password for the role {spec.name}")
    if reader.name == writer.name:
        raise RolesError("the reader and the writer must be two roles")
    raw = engine.raw_connection()
    try:
        connection = raw.driver_connection
        with connection.cursor() as cursor:
            cursor.execute("SELECT current_database()")
            database = cursor.fetchone()[0]
            # A concurrent run (two deploys at once) waits instead of failing on CREATE ROLE.
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext('borderstats roles'))")
            for statement in grant_statements(reader, writer, database):
                cursor.execute(statement)
        connection.commit()
    except Exception:
        connection.rollback()
        raise
    finally:
        raw.close()
