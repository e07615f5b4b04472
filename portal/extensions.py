"""Flask extensions, created unbound and initialised by the factory."""

from __future__ import annotations

from enum import StrEnum

from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import Enum, MetaData
from sqlalchemy.orm import DeclarativeBase

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


db = SQLAlchemy(model_class=Base)
login_manager = LoginManager()
csrf = CSRFProtect()
migrate = Migrate()


def str_enum(enum_cls: type[StrEnum]) -> Enum:
    """A StrEnum column stored by value (VARCHAR), read back as the enum."""
    return Enum(enum_cls, native_enum=False, length=32, create_constraint=False,
                values_callable=lambda members: [m.value for m in members])
