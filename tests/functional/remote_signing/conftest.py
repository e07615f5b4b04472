"""The signing service as a real separate process on a free port, with a real
SMTP server it mails the one-time codes to."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from remote_signing.client import SigningClient
from remote_signing.service.config import DEV_PORTAL_SECRET
from remote_signing.testing import ServiceProcess, SmtpCapture


@pytest.fixture(scope="session")
def rs_mail() -> Iterator[SmtpCapture]:
    sink = SmtpCapture().start()
    yield sink
    sink.stop()


@pytest.fixture(scope="session")
def rs_process(
    tmp_path_factory: pytest.TempPathFactory, rs_mail: SmtpCapture
) -> Iterator[ServiceProcess]:
    proc = ServiceProcess(tmp_path_factory.mktemp("rs-process"), smtp_port=rs_mail.port).start()
    yield proc
    proc.stop()


@pytest.fixture
def rs_client(rs_process: ServiceProcess) -> Iterator[SigningClient]:
    client = SigningClient(rs_process.url, "portal", DEV_PORTAL_SECRET, timeout=30)
    yield client
    client.close()
