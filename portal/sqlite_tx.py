"""Real serialization of writers on SQLite (AUD-1, and every read-modify-write).

SQLite ignores ``SELECT … FOR UPDATE``, and a deferred transaction that has
read cannot always upgrade to a write lock while another writer waits, so two
requests could read the same audit chain head or the same counter. The
embedded default therefore starts every transaction with ``BEGIN IMMEDIATE``:
the write lock is taken before the first read, the next transaction waits for
it (busy timeout), and each read-modify-write sees the last committed state.
PostgreSQL keeps its own row locks (``with_for_update``) on the same paths.

Used by the portal's engine and by the embedded signing service's engine.
"""

from __future__ import annotations

from typing import Any


def sqlite_immediate_transactions_on_connect(dbapi_connection: Any) -> None:
    # pysqlite would otherwise open deferred transactions on its own; with
    # autocommit at the driver level SQLAlchemy's "begin" event emits ours.
    dbapi_connection.isolation_level = None


def sqlite_begin_immediate(connection: Any) -> None:
    connection.exec_driver_sql("BEGIN IMMEDIATE")
