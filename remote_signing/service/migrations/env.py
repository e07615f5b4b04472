"""Alembic environment of the signing service (its own history, its own database)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, create_engine

from remote_signing.service import models  # noqa: F401  (registers the tables)
from remote_signing.service.db import VERSION_TABLE, Base

config = context.config


def run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        version_table=VERSION_TABLE,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    run(connection)
else:  # the alembic command line: -x url=... names the database
    url = context.get_x_argument(as_dictionary=True)["url"]
    with create_engine(url).begin() as conn:
        run(conn)
