"""The service's own database: its own metadata and schema management.

Deliberately independent of the portal's SQLAlchemy/Alembic setup (RS-2): the
service has its own Alembic history (``remote_signing/service/migrations``,
version table ``rs_alembic_version``) and upgrades its database on start.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import (
    Connection,
    DateTime,
    Dialect,
    Engine,
    TypeDecorator,
    create_engine,
    event,
    inspect,
)
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.pool import ConnectionPoolEntry

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
VERSION_TABLE = "rs_alembic_version"


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every backend (SQLite drops the zone)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None:
            return value.astimezone(UTC).replace(tzinfo=None)
        return None

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
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
    engine = create_engine(url, pool_pre_ping=True)
    event.listen(engine, "begin", _postgres_durability)
    return engine


# Execution option naming a transaction that only moves short-lived, single-use
# state (the code's use, the activation token's creation and use): see
# ``short_lived_state``.
SHORT_LIVED = "rs_short_lived_state"


def short_lived_state(s: Session) -> Connection:
    """Mark the session's next transaction as holding only short-lived, single-use
    state, committed without waiting for the disk (WAL fsync / PostgreSQL's
    commit flush). Call it before the transaction's first query.

    Why that is safe: such a commit is atomic and visible to every later
    request at once, so single use holds while the machine runs; only a power
    loss or OS crash can roll back its last commits, and then the activation
    token (held only in the portal's memory on the same deployment) and the
    code's 10 minutes are gone with them. Everything that must outlive a crash
    (keys, certificates, revocation, locks, PIN/OTP failure counts) commits
    durably: ``durable_from_here`` ends this transaction first. Answers the
    transaction's connection (for Core statements)."""
    return s.connection(execution_options={SHORT_LIVED: True})


def durable_from_here(s: Session) -> None:
    """Commit a short-lived transaction now, so what the session writes next
    (a failure count, a lock) starts a new transaction that is durable."""
    if s.in_transaction() and s.connection().get_execution_options().get(SHORT_LIVED):
        s.commit()


def _begin_immediate(connection: Connection) -> None:
    """SQLite ignores FOR UPDATE: PIN and OTP counters, SAD use and issuance
    are read-modify-writes, so each transaction holds the write lock from its
    first read (the next one waits for it, busy timeout)."""
    # The safety level cannot change inside a transaction: set it before BEGIN,
    # and only when it differs from the connection's last one.
    level = "NORMAL" if connection.get_execution_options().get(SHORT_LIVED) else "FULL"
    info = connection.connection.info
    if info.get("rs_synchronous") != level:
        connection.exec_driver_sql(f"PRAGMA synchronous={level}")
        info["rs_synchronous"] = level
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def _postgres_durability(connection: Connection) -> None:
    if connection.get_execution_options().get(SHORT_LIVED):
        connection.exec_driver_sql("SET LOCAL synchronous_commit TO OFF")


def _sqlite_pragmas(dbapi_conn: sqlite3.Connection, record: ConnectionPoolEntry) -> None:
    # Every transaction takes SQLite's write lock first (see _begin_immediate).
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute("PRAGMA synchronous=FULL")  # every commit durable unless short_lived_state
    record.info["rs_synchronous"] = "FULL"
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA secure_delete=ON")
    cur.close()


def ensure_schema(engine: Engine) -> None:
    """Bring the service's database to the newest migration (its own Alembic
    history under ``migrations/``, version table ``rs_alembic_version``)."""
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
