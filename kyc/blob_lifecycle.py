"""Keeps the encrypted file store in step with the database transaction.

A blob that replaced another is deleted only once the database no longer
points at it (after commit); a blob written for a row that is rolled back is
deleted with the rollback. So a failed commit never leaves a row pointing at
a deleted file, and never leaves an orphaned copy of an identity document.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

from portal.extensions import db
from portal.filestore import get_file_store

_ON_COMMIT = "kyc.delete_on_commit"
_ON_ROLLBACK = "kyc.delete_on_rollback"


def delete_after_commit(key: str) -> None:
    db.session.info.setdefault(_ON_COMMIT, []).append(key)


def written(key: str) -> None:
    """A new blob that belongs to this transaction's rows."""
    db.session.info.setdefault(_ON_ROLLBACK, []).append(key)


def _delete(keys: list[str]) -> None:
    if not keys:  # every Session in the process passes here; only ours carry keys
        return
    store = get_file_store()
    for key in keys:
        store.delete(key)


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    session.info.pop(_ON_ROLLBACK, None)
    _delete(session.info.pop(_ON_COMMIT, []))


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session, *_: Any) -> None:
    session.info.pop(_ON_COMMIT, None)
    _delete(session.info.pop(_ON_ROLLBACK, []))
