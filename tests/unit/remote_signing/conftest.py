"""In-process fixtures for the signing service: its Flask test client, a real
SMTP capture, and a CA bootstrapped once per session (copied per test)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from remote_signing.service import create_app
from remote_signing.testing import SmtpCapture
from tests.unit.remote_signing.rs_helpers import PORTAL, Api, service_config


@pytest.fixture(scope="session")
def rs_smtp() -> Iterator[SmtpCapture]:
    sink = SmtpCapture().start()
    yield sink
    sink.stop()


@pytest.fixture(scope="session")
def rs_template(tmp_path_factory: pytest.TempPathFactory, rs_smtp: SmtpCapture) -> Path:
    db = tmp_path_factory.mktemp("rs-template") / "signing.db"
    app = create_app(service_config(db, rs_smtp.port))
    app.extensions["rs_engine"].dispose()
    return db


@pytest.fixture
def rs_config(tmp_path: Path, rs_template: Path, rs_smtp: SmtpCapture) -> dict[str, Any]:
    db = tmp_path / "signing.db"
    shutil.copy(rs_template, db)
    return service_config(db, rs_smtp.port, tmp_path / "service.log")


@pytest.fixture
def rs_app(rs_config: dict[str, Any]) -> Iterator[Flask]:
    app = create_app(rs_config)
    yield app
    app.extensions["rs_engine"].dispose()


@pytest.fixture
def api(rs_app: Flask, rs_smtp: SmtpCapture) -> Api:
    return Api(rs_app.test_client(), rs_smtp, PORTAL)
