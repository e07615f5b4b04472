"""The service's own database: its own metadata and schema management.

Deliberately independent of the portal's SQLAlchemy/Alembic setup (RS-2): the
service keeps a ``rs_schema`` table with its schema version and creates its
tables itself on start.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import DateTime, Engine, String, TypeDecorator, create_engine, event, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

SCHEMA_VERSION = 1


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


class SchemaVersion(Base):
    __tablename__ = "rs_schema"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    version: Mapped[int]


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite:///"):
        path = url.removeprefix("sqlite:///")
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True)


def _sqlite_pragmas(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA secure_delete=ON")
    cur.close()


def ensure_schema(engine: Engine) -> None:
    from . import models  # noqa: F401  (registers the tables)

    Base.metadata.create_all(engine)
    with Session(engine) as session, session.begin():
        row = session.scalar(select(SchemaVersion).where(SchemaVersion.name == "signing"))
        if row is None:
            session.add(SchemaVersion(name="signing", version=SCHEMA_VERSION))
        elif row.version != SCHEMA_VERSION:
            raise RuntimeError(
                f"signing service schema is version {row.version}, code expects {SCHEMA_VERSION}"
            )


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)
