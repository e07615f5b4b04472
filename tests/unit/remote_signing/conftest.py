"""In-process fixtures for the signing service: its Flask test client, a real
SMTP capture, and a CA bootstrapped once per session (copied per test).

Every test runs on both key stores (RS-2): ``software`` and ``pkcs11`` (a
private SoftHSM2 token under the session's tmp dir; SoftHSM2 reads its
configuration once per process, so one token serves the whole session and the
per-test database copies all name the same CA keys in it)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from remote_signing.service import create_app
from remote_signing.testing import SmtpCapture
from tests.unit.remote_signing.rs_helpers import (
    PORTAL,
    Api,
    pkcs11_config,
    private_softhsm_token,
    service_config,
)


@pytest.fixture(scope="session")
def rs_smtp() -> Iterator[SmtpCapture]:
    sink = SmtpCapture().start()
    yield sink
    sink.stop()


@pytest.fixture(scope="session", params=["software", "pkcs11"])
def rs_backend(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Any]:
    """The key store's settings: {} for software, a private token for pkcs11."""
    if request.param == "software":
        return {}
    private_softhsm_token(tmp_path_factory.mktemp("rs-softhsm"))
    return pkcs11_config()


@pytest.fixture(scope="session")
def rs_template(
    tmp_path_factory: pytest.TempPathFactory, rs_smtp: SmtpCapture, rs_backend: dict[str, Any]
) -> Path:
    db = tmp_path_factory.mktemp("rs-template") / "signing.db"
    app = create_app({**service_config(db, rs_smtp.port), **rs_backend})
    app.extensions["rs_engine"].dispose()
    return db


@pytest.fixture
def rs_config(
    tmp_path: Path, rs_template: Path, rs_smtp: SmtpCapture, rs_backend: dict[str, Any]
) -> dict[str, Any]:
    db = tmp_path / "signing.db"
    shutil.copy(rs_template, db)
    return {**service_config(db, rs_smtp.port, tmp_path / "service.log"), **rs_backend}


@pytest.fixture
def rs_app(rs_config: dict[str, Any]) -> Iterator[Flask]:
    app = create_app(rs_config)
    yield app
    app.extensions["rs_engine"].dispose()


@pytest.fixture
def api(rs_app: Flask, rs_smtp: SmtpCapture) -> Api:
    return Api(rs_app.test_client(), rs_smtp, PORTAL)
