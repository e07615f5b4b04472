"""The signing service as a real separate process on a free port, with a real
SMTP server it mails the one-time codes to. Every test runs against both key
stores (RS-2): software, and pkcs11 with a private SoftHSM2 token under the
session's tmp dir (the shared one under var/ is never touched)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from remote_signing.client import SigningClient
from remote_signing.service.config import DEV_PORTAL_SECRET
from remote_signing.service.pkcs11_store import init_token
from remote_signing.testing import ServiceProcess, SmtpCapture


@pytest.fixture(scope="session")
def rs_mail() -> Iterator[SmtpCapture]:
    sink = SmtpCapture().start()
    yield sink
    sink.stop()


TOKEN_LABEL = "rs-functional"
TOKEN_PIN = "functional-token-pin"


def pkcs11_env(directory: Path) -> dict[str, Any]:
    """A private SoftHSM2 token and the service settings that use it."""
    conf = init_token(directory, label=TOKEN_LABEL, user_pin=TOKEN_PIN, so_pin="functional-so")
    return {
        "SOFTHSM2_CONF": str(conf),
        "RS_KEYSTORE_BACKEND": "pkcs11",
        "RS_PKCS11_TOKEN_LABEL": TOKEN_LABEL,
        "RS_PKCS11_USER_PIN": TOKEN_PIN,
    }


@pytest.fixture(scope="session", params=["software", "pkcs11"])
def rs_backend_env(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Any]:
    if request.param == "software":
        return {"RS_KEYSTORE_BACKEND": "software"}
    return pkcs11_env(tmp_path_factory.mktemp("rs-softhsm"))


@pytest.fixture(scope="session")
def rs_process(
    tmp_path_factory: pytest.TempPathFactory, rs_mail: SmtpCapture, rs_backend_env: dict[str, Any]
) -> Iterator[ServiceProcess]:
    proc = ServiceProcess(
        tmp_path_factory.mktemp("rs-process"), smtp_port=rs_mail.port, env=rs_backend_env
    ).start()
    yield proc
    proc.stop()


@pytest.fixture
def rs_client(rs_process: ServiceProcess) -> Iterator[SigningClient]:
    client = SigningClient(rs_process.url, "portal", DEV_PORTAL_SECRET, timeout=30)
    yield client
    client.close()
