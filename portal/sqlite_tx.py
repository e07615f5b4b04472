"""Real serialization of writers on SQLite (AUD-1, and every read-modify-write).

SQLite ignores ``SELECT … FOR UPDATE``, and a deferred transaction that has
read cannot always upgrade to a write lock while another writer waits, so two
requests could read the same audit chain head or the same counter. The
embedded default therefore starts every transaction with ``BEGIN IMMEDIATE``:
the write lock is taken before the first read, the next transaction waits for
it (busy timeout), and each read-modify-write sees the last committed state.
PostgreSQL keeps its own row locks (``with_for_update``) on the same paths.

Work that only reads (``audit verify``) and a test's own thread run inside
``deferred_transactions()``: reads then take no lock and always see the
newest committed data (WAL), so they block no writer.

Used by the portal's engine and by the embedded signing service's engine.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

_DEFERRED: ContextVar[bool] = ContextVar("sqlite_deferred_transactions", default=False)


@contextmanager
def deferred_transactions(enabled: bool = True) -> Iterator[None]:
    """Transactions begun in this context (thread) do not take the write lock
    first: for read-only work, and for a test's own thread, which must not
    hold the lock while the application serves requests on other threads."""
    token = _DEFERRED.set(enabled)
    try:
        yield
    finally:
        _DEFERRED.reset(token)


def sqlite_immediate_transactions_on_connect(dbapi_connection: Any) -> None:
    # pysqlite would otherwise open deferred transactions on its own; with
    # autocommit at the driver level SQLAlchemy's "begin" event emits ours.
    dbapi_connection.isolation_level = None


def sqlite_begin_immediate(connection: Any) -> None:
    driver_connection = connection.connection.dbapi_connection
    if _DEFERRED.get():
        # pysqlite's own mode: reads outside any transaction (always the
        # newest data), a deferred BEGIN before the first write.
        driver_connection.isolation_level = ""
        return
    driver_connection.isolation_level = None
    connection.exec_driver_sql("BEGIN IMMEDIATE")
