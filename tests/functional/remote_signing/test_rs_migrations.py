"""RS-2: the signing service's own database has its own Alembic history, never the
portal's: one head, models and migrations agree on SQLite and PostgreSQL, and a
database created before the service had migrations is adopted without data loss."""

from __future__ import annotations

import os
from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, text

from remote_signing.service import models  # noqa: F401
from remote_signing.service.db import VERSION_TABLE, Base, alembic_config, ensure_schema
from tests.conftest import PG_URL


def _diff(engine) -> list:  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        opts = {"compare_type": True, "version_table": VERSION_TABLE}
        return compare_metadata(MigrationContext.configure(conn, opts=opts),
                                Base.metadata)


def test_the_service_history_has_one_head_of_its_own() -> None:
    heads = ScriptDirectory.from_config(alembic_config()).get_heads()
    assert len(heads) == 1
    assert heads[0].startswith("rs")


def test_a_new_sqlite_database_is_migrated_to_the_models(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'rs.db'}")
    ensure_schema(engine)
    ensure_schema(engine)  # every start runs it: idempotent
    assert _diff(engine) == []
    tables = set(inspect(engine).get_table_names())
    assert VERSION_TABLE in tables and "alembic_version" not in tables


def test_a_database_from_before_migrations_is_adopted_with_its_rows(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'legacy.db'}")
    with engine.begin() as conn:  # the tables create_all made then (= rs0001), no version row
        command.upgrade(alembic_config(conn), "rs0001")
        conn.execute(text(f"DROP TABLE {VERSION_TABLE}"))
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE rs_schema (name VARCHAR(32) PRIMARY KEY, version INTEGER)"))
        conn.execute(text("INSERT INTO rs_schema VALUES ('signing', 1)"))
        conn.execute(text("INSERT INTO rs_service_key VALUES ('root', x'01', x'02')"))
    ensure_schema(engine)
    assert "rs_schema" not in inspect(engine).get_table_names()
    with engine.connect() as conn:
        assert conn.execute(text("SELECT name FROM rs_service_key")).scalar_one() == "root"
    assert _diff(engine) == []


def test_a_postgresql_database_is_migrated_to_the_models() -> None:
    name = f"rs_migrations_{os.getpid()}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine = create_engine(PG_URL.rsplit("/", 1)[0] + f"/{name}")
    try:
        ensure_schema(engine)
        assert _diff(engine) == []
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
