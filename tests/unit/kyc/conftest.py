"""Private clamd daemons and a silent listener for the KYC scanner tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from kyc.devtools import ClamdProcess, SilentListener
from kyc.scanner import ClamdScanner


@pytest.fixture(scope="session")
def clamd_daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ClamdProcess]:
    """A real clamd with the project's test signature (fails loudly if it cannot start)."""
    daemon = ClamdProcess(tmp_path_factory.mktemp("clamd")).start()
    yield daemon
    daemon.stop()


@pytest.fixture
def scanner(clamd_daemon: ClamdProcess) -> ClamdScanner:
    return ClamdScanner("127.0.0.1", clamd_daemon.port, timeout=10.0)


@pytest.fixture
def private_clamd(tmp_path: Path) -> Iterator[ClamdProcess]:
    """A clamd this test may stop and start."""
    daemon = ClamdProcess(tmp_path / "clamd").start()
    yield daemon
    daemon.stop()


@pytest.fixture
def silent_listener() -> Iterator[SilentListener]:
    listener = SilentListener()
    yield listener
    listener.stop()


@pytest.fixture
def resetting_listener() -> Iterator[SilentListener]:
    listener = SilentListener(close_after=4096)
    yield listener
    listener.stop()
