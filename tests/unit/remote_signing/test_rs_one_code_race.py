"""SIGN-2, PIN-5 (#11 item 5): one code authorizes once, also when two requests
use it at the same moment on PostgreSQL.

SQLite runs the signing service's transactions one after the other (BEGIN
IMMEDIATE); PostgreSQL runs them side by side, and a plain read of the open code
takes no lock. The code is closed with ``UPDATE … WHERE closed_at IS NULL``: the
request that closes it second gets no activation token; the one token signs once."""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, event, text

from remote_signing.service import create_app
from remote_signing.testing import SmtpCapture
from tests.conftest import PG_URL
from tests.unit.remote_signing.rs_helpers import PORTAL, Api, service_config

H1 = hashlib.sha256(b"contract one").digest()


@pytest.fixture
def pg_service_url() -> Iterator[str]:
    name = f"rs_one_code_{os.getpid()}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield PG_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_sign2_one_code_in_two_simultaneous_authorizations_gives_one_token_on_postgresql(
    pg_service_url: str, rs_smtp: SmtpCapture, tmp_path: Path
) -> None:
    app = create_app({**service_config(tmp_path / "unused.db", rs_smtp.port),
                      "DATABASE_URL": pg_service_url})
    engine = app.extensions["rs_engine"]
    try:
        api = Api(app.test_client(), rs_smtp, PORTAL)
        cred = api.create()
        code = api.send_otp(cred)
        other: list[Any] = []
        started = threading.Event()

        def other_request() -> None:
            other.append(Api(app.test_client(), rs_smtp, PORTAL).authorize(cred, [H1], otp=code))

        def in_between(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
            # The first request has read the open code and is about to close it:
            # the second one runs from start to end right now.
            if statement.startswith("UPDATE rs_otp") and not started.is_set():
                started.set()
                worker = threading.Thread(target=other_request)
                worker.start()
                worker.join()

        event.listen(engine, "before_cursor_execute", in_between)
        first = api.authorize(cred, [H1], otp=code)
        event.remove(engine, "before_cursor_execute", in_between)

        assert other[0].status_code == 200 and "SAD" in other[0].json
        assert first.status_code == 400 and first.json["error"] == "invalid_otp"
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM rs_sad")).scalar_one() == 1
        sad = other[0].json["SAD"]
        assert api.sign(cred, sad, [H1]).status_code == 200
        assert api.sign(cred, sad, [H1]).json["error"] == "invalid_sad"
    finally:
        engine.dispose()
