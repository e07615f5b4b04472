"""SIGN-2, PIN-5 (#11 item 5): what the service commits durably.

The activation token's creation and single use are short-lived state committed
without waiting for the disk (the 電子署名 step's speed); failure counts, locks
and credentials are committed durably (SQLite ``synchronous=FULL``), so no
crash can hand an attacker back PIN or code attempts."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import event

from tests.unit.remote_signing.rs_helpers import Api

H1 = hashlib.sha256(b"contract one").digest()
FULL, NORMAL = 2, 1


@dataclass
class Commits:
    """(SQLite safety level, statements) of every committed transaction."""

    seen: list[tuple[int, list[str]]] = field(default_factory=list)

    def level_of(self, fragment: str) -> set[int]:
        return {level for level, sql in self.seen if any(fragment in s for s in sql)}


@pytest.fixture
def commits(rs_app: Flask) -> Iterator[Commits]:
    engine = rs_app.extensions["rs_engine"]
    log = Commits()

    def statement(conn: Any, _cursor: Any, sql: str, *_args: Any) -> None:
        conn.info.setdefault("statements", []).append(sql)

    def commit(conn: Any) -> None:
        level = conn.connection.dbapi_connection.execute("PRAGMA synchronous").fetchone()[0]
        log.seen.append((level, conn.info.pop("statements", [])))

    event.listen(engine, "before_cursor_execute", statement)
    event.listen(engine, "commit", commit)
    yield log
    event.remove(engine, "before_cursor_execute", statement)
    event.remove(engine, "commit", commit)


def test_sign2_token_creation_and_use_are_short_lived_credentials_durable(
    api: Api, commits: Commits
) -> None:
    cred = api.create()
    assert api.sign(cred, api.sad(cred, [H1]), [H1]).status_code == 200

    assert commits.level_of("INSERT INTO rs_credential") == {FULL}
    assert commits.level_of("INSERT INTO rs_sad") == {NORMAL}
    assert commits.level_of("UPDATE rs_sad") == {NORMAL}


def test_pin5_wrong_code_and_wrong_pin_counts_are_durable(api: Api, commits: Commits) -> None:
    cred = api.create()
    code = api.send_otp(cred)
    wrong_code = api.authorize(cred, [H1], otp=f"{(int(code) + 1) % 1_000_000:06d}")
    assert wrong_code.json["error"] == "invalid_otp"
    wrong_pin = api.authorize(cred, [H1], pin="Wrong2026!A", otp=code)
    assert wrong_pin.json["error"] == "invalid_pin"

    counted = commits.level_of("otp_failures=(rs_credential.otp_failures")
    counted |= commits.level_of("pin_failures=(rs_credential.pin_failures")
    assert counted == {FULL}
