"""The service's own database: its own metadata and schema management.

Deliberately independent of the portal's SQLAlchemy/Alembic setup (RS-2): the
service has its own Alembic history (``remote_signing/service/migrations``,
version table ``rs_alembic_version``) and upgrades its database on start.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, DateTime, Engine, TypeDecorator, create_engine, event, inspect
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
VERSION_TABLE = "rs_alembic_version"


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every backend (SQLite drops the zone)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value, dialect):  # type: ignore[no-untyped-def]
        if value is not None:
            return value.astimezone(UTC).replace(tzinfo=None)
        return None

    def process_result_value(self, value, dialect):  # type: ignore[no-untyped-def]
        if value is not None:
            return value.replace(tzinfo=UTC)
        return None


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime}


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite:///"):
        path = url.removeprefix("sqlite:///")
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _begin_immediate)
        return engine
    return create_engine(url, pool_pre_ping=True)


def _begin_immediate(connection: Connection) -> None:
    """SQLite ignores FOR UPDATE: PIN and OTP counters, SAD use and issuance
    are read-modify-writes, so each transaction holds the write lock from its
    first read (the next one waits for it, busy timeout)."""
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def _sqlite_pragmas(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
    # Every transaction takes SQLite's write lock first (see _begin_immediate).
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA secure_delete=ON")
    cur.close()


def ensure_schema(engine: Engine) -> None:
    """Bring the service's database to the newest migration (its own Alembic
    history under ``migrations/``, version table ``rs_alembic_version``)."""
    from . import models  # noqa: F401  (registers the tables)

    with engine.begin() as conn:
        config = alembic_config(conn)
        tables = set(inspect(conn).get_table_names())
        if "rs_credential" in tables and VERSION_TABLE not in tables:
            # Created by create_all before the service had migrations: that is rs0001.
            command.stamp(config, "rs0001")
        command.upgrade(config, "head")


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)
