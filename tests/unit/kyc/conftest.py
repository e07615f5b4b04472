"""Private clamd daemons and a silent listener for the KYC scanner tests."""

from __future__ import annotations

import socket
import struct
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from kyc.devtools import ClamdProcess, free_port
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


class SilentListener:
    """Accepts TCP connections and never answers (like clamd with a full queue).

    With ``close_after`` it reads that many bytes and then resets the
    connection, like a daemon dying in the middle of a stream.
    """

    def __init__(self, close_after: int | None = None) -> None:
        self.port = free_port()
        self.close_after = close_after
        self.connections = 0
        self._held: list[socket.socket] = []
        self._server = socket.socket()
        self._server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._server.bind(("127.0.0.1", self.port))
        self._server.listen(16)
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        self._server.settimeout(0.1)
        while not self._stopped.is_set():
            try:
                conn, _ = self._server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.connections += 1
            if self.close_after is not None:
                conn.recv(self.close_after)
                # linger 0: close with a reset, as a killed daemon would
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                conn.close()
            else:
                self._held.append(conn)

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join(timeout=2)
        self._server.close()
        for conn in self._held:
            conn.close()


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
