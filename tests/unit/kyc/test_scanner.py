"""KYC-4: the clamd scanner against real daemons and real sockets."""

from __future__ import annotations

import time

import pytest

from kyc import devtools
from kyc.devtools import ClamdProcess, free_port
from kyc.interfaces import scanner_from_config
from kyc.scanner import ClamdScanner
from portal.config import ConfigError
from portal.scanning import ScannerUnavailable, UnavailableReason


def test_eicar_is_found_by_the_project_signature(scanner: ClamdScanner) -> None:
    result = scanner.scan(devtools.EICAR)
    assert result.infected and result.signature == "Portal.Test.EICAR.UNOFFICIAL"


def test_clean_bytes_are_clean(scanner: ClamdScanner) -> None:
    result = scanner.scan(devtools.sample_pdf())
    assert not result.infected and result.signature is None


def test_eicar_split_across_chunks_is_found(scanner: ClamdScanner) -> None:
    from kyc.scanner import CHUNK_SIZE

    data = b"\x00" * (CHUNK_SIZE - 30) + devtools.EICAR
    assert scanner.scan(data).infected


def test_stopped_daemon_is_unavailable_not_clean(private_clamd: ClamdProcess) -> None:
    scanner = ClamdScanner("127.0.0.1", private_clamd.port, timeout=5.0)
    assert not scanner.scan(b"hello").infected
    private_clamd.stop()
    with pytest.raises(ScannerUnavailable) as unavailable:
        scanner.scan(b"hello")
    assert unavailable.value.reason is UnavailableReason.DOWN
    private_clamd.start()
    assert scanner.scan(devtools.EICAR).infected


def test_nothing_listening_is_down() -> None:
    with pytest.raises(ScannerUnavailable) as unavailable:
        ClamdScanner("127.0.0.1", free_port(), timeout=2.0).scan(b"x")
    assert unavailable.value.reason is UnavailableReason.DOWN


def test_accepting_but_not_answering_times_out(silent_listener) -> None:  # type: ignore[no-untyped-def]
    scanner = ClamdScanner("127.0.0.1", silent_listener.port, timeout=0.5)
    started = time.monotonic()
    with pytest.raises(ScannerUnavailable) as unavailable:
        scanner.scan(devtools.sample_pdf())
    assert unavailable.value.reason is UnavailableReason.TIMEOUT
    assert time.monotonic() - started < 3
    assert silent_listener.connections == 1


def test_silent_peer_with_a_large_upload_times_out_while_sending(silent_listener) -> None:  # type: ignore[no-untyped-def]
    scanner = ClamdScanner("127.0.0.1", silent_listener.port, timeout=0.5)
    started = time.monotonic()
    with pytest.raises(ScannerUnavailable) as unavailable:
        scanner.scan(b"\x00" * (9 * 1024 * 1024))  # larger than the socket buffers
    assert unavailable.value.reason is UnavailableReason.TIMEOUT
    assert time.monotonic() - started < 3


def test_daemon_dying_mid_stream_is_unavailable(resetting_listener) -> None:  # type: ignore[no-untyped-def]
    scanner = ClamdScanner("127.0.0.1", resetting_listener.port, timeout=2.0)
    with pytest.raises(ScannerUnavailable) as unavailable:
        scanner.scan(b"\x00" * (4 * 1024 * 1024))
    assert unavailable.value.reason is UnavailableReason.DOWN


def test_stream_over_the_daemon_limit_is_an_error_not_clean(tmp_path) -> None:  # type: ignore[no-untyped-def]
    daemon = ClamdProcess(tmp_path, stream_max_bytes=1024 * 1024).start()
    try:
        scanner = ClamdScanner("127.0.0.1", daemon.port, timeout=5.0)
        with pytest.raises(ScannerUnavailable):
            scanner.scan(b"\x01" * (3 * 1024 * 1024))
    finally:
        daemon.stop()


def test_configuration_chooses_the_scanner(clamd_daemon: ClamdProcess) -> None:
    """#15 item 3: kyc.interfaces.scanner_from_config is the one place choosing it."""
    config = {"VIRUS_SCANNER": "clamd", "CLAMD_HOST": "127.0.0.1",
              "CLAMD_PORT": clamd_daemon.port, "CLAMD_TIMEOUT": 5.0}
    chosen = scanner_from_config(config)
    assert isinstance(chosen, ClamdScanner) and chosen.scan(devtools.EICAR).infected
    assert scanner_from_config({**config, "VIRUS_SCANNER": lambda c: chosen}) is chosen
    with pytest.raises(ConfigError, match="unknown scanner 'clamav'"):
        scanner_from_config({**config, "VIRUS_SCANNER": "clamav"})
