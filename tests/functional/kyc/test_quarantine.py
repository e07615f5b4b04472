"""KYC-4: scanner down or silent → the bytes wait encrypted in quarantine, the
user sees the guide's message, and a retry or `flask kyc rescan` completes it.
Each test runs its own clamd / silent socket so it may stop them."""

from __future__ import annotations

import socket
import struct
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from kyc import devtools
from kyc.devtools import ClamdProcess, SilentListener
from kyc.models import KycFile, KycQuarantine, QuarantineState
from portal.extensions import db
from portal.uploads import SCAN_PENDING_MESSAGE

from .conftest import KycDriver, World, stored_blobs

JPEG = devtools.sample_image("JPEG")


@pytest.fixture
def own_clamd(tmp_path: Path, app: Any) -> Iterator[ClamdProcess]:
    daemon = ClamdProcess(tmp_path / "own-clamd").start()
    app.config["CLAMD_PORT"] = daemon.port
    yield daemon
    daemon.stop()


def passport_draft(kyc: KycDriver, world: World) -> int:
    kyc.login(world.user)
    sid = kyc.agree()
    kyc.choose(sid, "identity", "passport")
    return sid


def pending(sid: int) -> list[KycQuarantine]:
    return list(db.session.execute(select(KycQuarantine).where(
        KycQuarantine.submission_id == sid)).scalars())


def assert_quarantined(kyc: KycDriver, sid: int, response: Any, app: Any) -> KycQuarantine:
    assert response.status_code == 202
    assert SCAN_PENDING_MESSAGE in response.get_data(as_text=True)
    assert db.session.execute(select(KycFile)).first() is None  # never accepted unscanned
    [entry] = pending(sid)
    assert entry.state == QuarantineState.PENDING and entry.storage_key
    raw = b"".join(p.read_bytes() for p in stored_blobs(app))
    assert raw and JPEG[:100] not in raw  # the waiting bytes are encrypted
    page = kyc.client.get(f"/mypage/kyc/{sid}").get_data(as_text=True)
    assert SCAN_PENDING_MESSAGE in page
    submit = kyc.post(f"/mypage/kyc/{sid}/submit")
    assert submit.status_code == 400  # cannot send while a scan is outstanding
    assert "ウイルススキャン中のファイルがあります" in submit.get_data(as_text=True)
    return entry


def test_clamd_stopped_then_retry_completes(kyc: KycDriver, world: World, app: Any,
                                            own_clamd: ClamdProcess) -> None:
    sid = passport_draft(kyc, world)
    own_clamd.stop()
    entry = assert_quarantined(kyc, sid, kyc.upload(sid, "identity", "photo", "旅券.jpg", JPEG),
                               app)
    assert entry.last_reason == "down"

    still_down = kyc.post(f"/mypage/kyc/{sid}/pending/{entry.id}/retry")
    assert still_down.status_code == 202
    assert SCAN_PENDING_MESSAGE in still_down.get_data(as_text=True)

    own_clamd.start()
    app.config["CLAMD_PORT"] = own_clamd.port
    response = kyc.post(f"/mypage/kyc/{sid}/pending/{entry.id}/retry")
    assert response.status_code == 302
    stored = db.session.execute(select(KycFile)).scalar_one()
    assert stored.original_name == "旅券.jpg" and stored.slot == "photo"
    db.session.refresh(entry)
    assert entry.state == QuarantineState.RELEASED and entry.storage_key is None
    assert entry.attempts == 2
    assert len(stored_blobs(app)) == 1  # the quarantine copy is gone
    page = kyc.client.get(f"/mypage/kyc/{sid}").get_data(as_text=True)
    assert SCAN_PENDING_MESSAGE not in page and "旅券.jpg" in page


def test_silent_clamd_times_out_then_background_rescan_completes(
        kyc: KycDriver, world: World, app: Any, kyc_clamd: ClamdProcess) -> None:
    sid = passport_draft(kyc, world)
    silent = SilentListener()
    try:
        app.config.update(CLAMD_PORT=silent.port, CLAMD_TIMEOUT=0.5)
        response = kyc.upload(sid, "identity", "photo", "passport.jpg", JPEG)
        entry = assert_quarantined(kyc, sid, response, app)
        assert entry.last_reason == "timeout" and silent.connections >= 1
    finally:
        silent.stop()

    app.config.update(CLAMD_PORT=kyc_clamd.port, CLAMD_TIMEOUT=5.0)
    result = app.test_cli_runner().invoke(args=["kyc", "rescan"])
    assert result.exit_code == 0 and "released=1" in result.output
    db.session.expire_all()
    assert db.session.execute(select(KycFile)).scalar_one().original_name == "passport.jpg"


def test_infected_file_found_on_rescan_is_dropped_and_audited(
        kyc: KycDriver, world: World, app: Any, own_clamd: ClamdProcess) -> None:
    sid = passport_draft(kyc, world)
    own_clamd.stop()
    infected = devtools.sample_pdf() + devtools.EICAR
    response = kyc.upload(sid, "identity", "photo", "passport.pdf", infected)
    assert response.status_code == 202
    own_clamd.start()
    app.config["CLAMD_PORT"] = own_clamd.port
    result = app.test_cli_runner().invoke(args=["kyc", "rescan"])
    assert "infected=1" in result.output
    db.session.expire_all()
    assert db.session.execute(select(KycFile)).first() is None
    [entry] = pending(sid)
    assert entry.state == QuarantineState.INFECTED and entry.storage_key is None
    assert stored_blobs(app) == []
    from portal.models import AuditEntry

    actions = [a for (a,) in db.session.execute(select(AuditEntry.action))]
    assert "kyc.file.quarantined" in actions and "kyc.file.infected" in actions


def test_a_new_upload_supersedes_the_waiting_one(kyc: KycDriver, world: World, app: Any,
                                                 own_clamd: ClamdProcess) -> None:
    sid = passport_draft(kyc, world)
    own_clamd.stop()
    kyc.upload(sid, "identity", "photo", "first.jpg", JPEG)
    own_clamd.start()
    app.config["CLAMD_PORT"] = own_clamd.port
    assert kyc.upload(sid, "identity", "photo", "second.jpg", JPEG).status_code == 302
    [entry] = pending(sid)
    assert entry.state == QuarantineState.SUPERSEDED
    assert db.session.execute(select(KycFile.original_name)).scalar_one() == "second.jpg"
    assert len(stored_blobs(app)) == 1


class StopDuringStream:
    """A TCP relay in front of a real clamd that stops the daemon once part of
    an INSTREAM has passed through, then drops the client's connection."""

    def __init__(self, daemon: ClamdProcess, after_bytes: int) -> None:
        self.daemon = daemon
        self.after_bytes = after_bytes
        self.port = devtools.free_port()
        self.relayed = 0
        self._server = socket.create_server(("127.0.0.1", self.port))
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        client, _ = self._server.accept()
        upstream = socket.create_connection(("127.0.0.1", self.daemon.port))
        while self.relayed < self.after_bytes:
            chunk = client.recv(65536)
            if not chunk:
                break
            upstream.sendall(chunk)
            self.relayed += len(chunk)
        self.daemon.stop()  # clamd goes away in the middle of the stream
        upstream.close()
        client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        client.close()

    def close(self) -> None:
        self._thread.join(timeout=10)
        self._server.close()


def test_clamd_stopped_during_the_upload(kyc: KycDriver, world: World, app: Any,
                                         own_clamd: ClamdProcess) -> None:
    sid = passport_draft(kyc, world)
    big = devtools.large_pdf(4 * 1024 * 1024)
    relay = StopDuringStream(own_clamd, after_bytes=1024 * 1024)
    app.config["CLAMD_PORT"] = relay.port
    try:
        response = kyc.upload(sid, "identity", "photo", "passport.pdf", big)
    finally:
        relay.close()
    assert relay.relayed >= 1024 * 1024 and own_clamd.process is None  # it really stopped
    entry = assert_quarantined(kyc, sid, response, app)
    assert entry.last_reason in ("down", "timeout")

    own_clamd.start()
    app.config["CLAMD_PORT"] = own_clamd.port
    assert kyc.post(f"/mypage/kyc/{sid}/pending/{entry.id}/retry").status_code == 302
    stored = db.session.execute(select(KycFile)).scalar_one()
    assert stored.size == len(big) and stored.original_name == "passport.pdf"
