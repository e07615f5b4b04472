"""The portal's certificate screens against the real signing service, started
as its own process; its one-time-code mails go to the shared SMTP sink."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from remote_signing.testing import ServiceProcess


@pytest.fixture(scope="session")
def signing_service(
    tmp_path_factory: pytest.TempPathFactory, smtp_server: Any
) -> Iterator[ServiceProcess]:
    proc = ServiceProcess(
        tmp_path_factory.mktemp("portal-signing"), smtp_port=smtp_server.port,
        env={"RS_KDF_MEMORY_KIB": "8192", "RS_KDF_TIME_COST": "1"},  # not these tests' subject
    ).start()
    yield proc
    proc.stop()


@pytest.fixture
def app_config(app_config: dict[str, Any], signing_service: ServiceProcess) -> dict[str, Any]:
    app_config["SIGNING_SERVICE_URL"] = signing_service.url
    return app_config
