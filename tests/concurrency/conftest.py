"""Concurrency fixtures (issue #11 item 3): every test runs once on a fresh
migrated SQLite file and once on a fresh PostgreSQL database (a copy of a
migrated template in the server `make test` starts), prepares its data in
process, then drives REAL gunicorn (2 workers × 4 threads) with parallel
browsers. gunicorn mails through the suite's SMTP sink, scans with the shared
clamd and signs through a private signing service whose code mails a capture
reads."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import create_engine, text

from portal.extensions import db
from remote_signing.testing import ServiceProcess, SmtpCapture
from tests.conftest import (
    CLAMD_PORT,
    PG_URL,
    Factories,
    SmtpSink,
    app_in_context,
    base_config,
    free_port,
    migrated_pg_database,
    pg_url,
)

from .live import Answers, Browser, LivePortal, portal_env

BACKENDS = [pytest.param("sqlite", id="sqlite"),
            pytest.param("postgres", id="postgres", marks=pytest.mark.postgres)]


# --- the signing service (private, shared by the session) ------------------------------

@pytest.fixture(scope="session")
def signing_mail() -> Iterator[SmtpCapture]:
    """Where the signing service mails its one-time codes."""
    sink = SmtpCapture().start()
    yield sink
    sink.stop()


@pytest.fixture(scope="session")
def signing_service(tmp_path_factory: pytest.TempPathFactory,
                    signing_mail: SmtpCapture) -> Iterator[ServiceProcess]:
    service = ServiceProcess(tmp_path_factory.mktemp("concurrency-rs"),
                             smtp_port=signing_mail.port,
                             env={"RS_KDF_MEMORY_KIB": "8192", "RS_KDF_TIME_COST": "1"})
    service.start(timeout=90)
    yield service
    service.stop()


# --- databases -------------------------------------------------------------------------------

def _pg_admin() -> Any:
    return create_engine(PG_URL, isolation_level="AUTOCOMMIT")


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    """A migrated PostgreSQL database every test copies (CREATE DATABASE … TEMPLATE)."""
    name = f"portal_conc_tmpl_{os.getpid()}"
    with migrated_pg_database(name):
        yield name


@pytest.fixture(params=BACKENDS)
def live_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        target = tmp_path / "portal.sqlite3"
        shutil.copyfile(request.getfixturevalue("template_sqlite"), target)
        yield f"sqlite:///{target}"
        return
    template = request.getfixturevalue("pg_template")
    name = f"portal_conc_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    admin = _pg_admin()
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    yield pg_url(name)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


# --- the portal: in process for preparing data, gunicorn for the load ------------------------

@pytest.fixture
def live_config(tmp_path: Path, live_database_url: str, smtp_server: SmtpSink,
                signing_service: ServiceProcess) -> dict[str, Any]:
    from remote_signing.service.config import DEV_CONSOLE_SECRET, DEV_PORTAL_SECRET

    smtp_server.clear()
    return {**base_config(tmp_path, live_database_url, smtp_server.port),
            "CLAMD_HOST": "127.0.0.1", "CLAMD_PORT": CLAMD_PORT,
            "SIGNING_SERVICE_URL": signing_service.url,
            "SIGNING_CLIENT_ID": "portal", "SIGNING_CLIENT_SECRET": DEV_PORTAL_SECRET,
            "SIGNING_CONSOLE_CLIENT_ID": "console",
            "SIGNING_CONSOLE_CLIENT_SECRET": DEV_CONSOLE_SECRET}


@pytest.fixture
def app(live_config: dict[str, Any]) -> Iterator[Flask]:
    """The test's own app on the same database, for preparing data and reading
    the outcome. Its reads never hold SQLite's write lock."""
    with app_in_context(live_config) as application:
        yield application


@pytest.fixture
def factories(app: Flask) -> Factories:
    return Factories(product_kdf=True)


@pytest.fixture
def live(live_config: dict[str, Any], tmp_path: Path, app: Flask) -> Iterator[LivePortal]:
    portal = LivePortal(portal_env(live_config), free_port(), tmp_path).start()
    yield portal
    portal.stop()


@pytest.fixture
def answers() -> Answers:
    return Answers()


@pytest.fixture
def browser(live: LivePortal, answers: Answers) -> Any:
    """``browser()`` → a new visitor of the live portal."""
    return lambda: Browser(live.url, answers)


def assert_healthy(live: LivePortal, answers: Answers) -> None:
    """After each test: no 5xx answered, no traceback logged, the chain verifies."""
    db.session.commit()  # end the test's own read transaction
    assert answers.seen, "no request was made"
    assert not answers.server_errors(), answers.server_errors()
    log = live.log()
    assert "Traceback" not in log, log[-4000:]
    live.audit_verify()
