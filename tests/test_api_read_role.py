"""The read suite's database role: every read-side test reaches Postgres as a SELECT-only role (the
role the API uses in production), so an API that tried to write would fail; only with
BORDERSTATS_TEST_READ_ROLE=0 is it the owner."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from tests.api_helpers import api_client, get_json
from tests.conftest import engine_for, read_role_requested


def test_loaded_url_is_select_only_unless_turned_off(backend: str,
                                                                         loaded_url: str) -> None:
    if backend == "sqlite":
        assert loaded_url.startswith("sqlite:///")  # SQLite has no roles: the file is the database
        return
    engine = engine_for(loaded_url)
    try:
        with engine.connect() as conn:
            user, superuser = conn.execute(text(
                "SELECT current_user, rolsuper FROM pg_roles WHERE rolname = current_user")).one()
            writable = conn.execute(text(
                "SELECT bool_or(has_table_privilege(current_user, c.oid, 'INSERT,UPDATE,DELETE')) "
                "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = 'public' AND c.relkind = 'r'")).scalar_one()
        if read_role_requested():
            assert user.startswith("bs_test_ro_") and not superuser and writable is False
            with engine.connect() as conn, pytest.raises(DBAPIError):
                conn.exec_driver_sql("SET TRANSACTION READ WRITE; DELETE FROM release")
        else:
            assert writable is True
    finally:
        engine.dispose()
    with api_client(loaded_url) as client:
        body = get_json(client, "/readyz")
    assert body["status"] == "ready"
