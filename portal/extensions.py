"""Flask extensions, created unbound and initialised by the factory."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import DateTime, Dialect, Enum, MetaData, TypeDecorator
from sqlalchemy.orm import DeclarativeBase

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """The models' base class: every model subclasses ``Base``.

    ``db.Model`` is built from it and shares its metadata and registry (so
    ``db.session``, ``db.metadata`` and Alembic see every model), but it is an
    attribute of ``db``, which mypy cannot take as a base class. The models
    name ``__tablename__`` themselves and use ``db.session``/``select``, never
    the legacy ``Model.query``, so nothing of ``db.Model``'s own is needed."""

    metadata = MetaData(naming_convention=NAMING)


db = SQLAlchemy(model_class=Base)
login_manager = LoginManager()
csrf = CSRFProtect()
migrate = Migrate()


def str_enum(enum_cls: type[StrEnum]) -> Enum:
    """A StrEnum column stored by value (VARCHAR), read back as the enum."""
    return Enum(enum_cls, native_enum=False, length=32, create_constraint=False,
                values_callable=lambda members: [m.value for m in members])


class UTCDateTime(TypeDecorator[datetime]):
    """The one rule for stored time: timezone-aware, kept as UTC on every
    backend. A naive datetime is refused at bind time, so a stray
    ``datetime.now()`` or a form value without its zone cannot be stored as
    if it were UTC (SQLite would otherwise keep the wall time it is given)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if not isinstance(value, datetime) or value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive or non-datetime value refused for a UTC column: {value!r}")
        utc = value.astimezone(UTC)
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
