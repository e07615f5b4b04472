"""Issue #16 item 5, SIGN-1, RS-1: the adapter tries the configured TSAs in order
and keeps only a timestamp it can verify; without one nothing is signed.

Three ways a TSA fails, each a real answer: nothing listens on its port; it
replays an old, genuinely signed token (wrong nonce and digest); it is another
signing service whose TSA does not chain to our root. The good TSA is the
service's own."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from threading import Thread

import pytest
from asn1crypto import tsp

from remote_signing.client import ServiceUnavailable, SigningClient, TimestampUnavailable
from remote_signing.pdf import sign_documents
from remote_signing.sample import sample_pdf
from remote_signing.service.config import DEV_PORTAL_SECRET
from remote_signing.testing import ServiceProcess, SmtpCapture, free_port
from tests.faults.support import HookProxy
from tests.functional.remote_signing.rs_support import PIN, new_credential, otp
from tests.functional.remote_signing.test_rs_timestamp_chain import (
    assert_every_signature_and_timestamp_trusted,
)

pytestmark = pytest.mark.slow


class ReplayTsa:
    """Answers every request with the same, once valid, TimeStampResp; or, given
    ``forge``, with the real TSA's answer to this very request passed through it."""

    def __init__(self, answer: bytes, forge: Callable[[bytes], bytes] | None = None) -> None:
        self.hits = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                outer.hits += 1
                answer_now = forge(body) if forge is not None else answer
                self.send_response(200)
                self.send_header("Content-Type", "application/timestamp-reply")
                self.send_header("Content-Length", str(len(answer_now)))
                self.end_headers()
                self.wfile.write(answer_now)

        self._server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/tsa"
        Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture(scope="module")
def foreign(tmp_path_factory: pytest.TempPathFactory,
            rs_mail: SmtpCapture) -> Iterator[HookProxy]:
    """Another signing service (its own root), behind a proxy that notes its calls."""
    proc = ServiceProcess(tmp_path_factory.mktemp("foreign-rs"), smtp_port=rs_mail.port).start()
    proxy = HookProxy(proc.url).start()
    yield proxy
    proxy.stop()
    proc.stop()


@pytest.fixture
def replay(rs_client: SigningClient) -> Iterator[ReplayTsa]:
    req = tsp.TimeStampReq({
        "version": "v1",
        "message_imprint": {"hash_algorithm": {"algorithm": "sha256"},
                            "hashed_message": hashlib.sha256(b"yesterday").digest()},
        "nonce": 12345, "cert_req": True})
    server = ReplayTsa(rs_client.timestamp(req.dump()))
    yield server
    server.stop()


@pytest.fixture
def forger(rs_client: SigningClient) -> Iterator[ReplayTsa]:
    """Our own TSA's answer to the request, one bit of the token's signature flipped:
    right nonce, right digest, trusted certificate, but not what the TSA signed."""

    def flip(request_der: bytes) -> bytes:
        resp = tsp.TimeStampResp.load(rs_client.timestamp(request_der))
        signer = resp["time_stamp_token"]["content"]["signer_infos"][0]
        signature = bytearray(signer["signature"].native)
        signature[-1] ^= 1
        signer["signature"] = bytes(signature)
        return resp.dump(force=True)

    server = ReplayTsa(b"", forge=flip)
    yield server
    server.stop()


def dead_url() -> str:
    return f"http://127.0.0.1:{free_port()}/tsa"


def client_with(rs_process: ServiceProcess, tsa_urls: list[str]) -> SigningClient:
    return SigningClient(rs_process.url, "portal", DEV_PORTAL_SECRET, timeout=30,
                         tsa_urls=tsa_urls)


def test_sign1_each_failing_tsa_is_passed_over_and_the_next_one_stamps(
    rs_process: ServiceProcess, rs_client: SigningClient, rs_mail: SmtpCapture,
    foreign: HookProxy, replay: ReplayTsa
) -> None:
    client = client_with(rs_process, [dead_url(), replay.url, f"{foreign.url}/tsa",
                                      f"{rs_process.url}/tsa"])
    try:
        info, email = new_credential(client)
        [signed] = sign_documents(client, info, [sample_pdf()], pin=PIN,
                                  otp=otp(client, rs_mail, info, email))
    finally:
        client.close()
    assert replay.hits >= 1 and "/tsa" in foreign.seen  # both answered, both refused
    assert assert_every_signature_and_timestamp_trusted(
        signed, rs_client.root_certificate()) == ["Signature1: signature + timestamp"]


def test_sign1_no_valid_timestamp_means_no_signature_and_the_code_still_works(
    rs_process: ServiceProcess, rs_client: SigningClient, rs_mail: SmtpCapture,
    foreign: HookProxy, replay: ReplayTsa, forger: ReplayTsa,
    caplog: pytest.LogCaptureFixture
) -> None:
    info, email = new_credential(rs_client)
    code = otp(rs_client, rs_mail, info, email)
    client = client_with(rs_process, [dead_url(), replay.url, f"{foreign.url}/tsa",
                                      forger.url])
    try:
        with pytest.raises(TimestampUnavailable) as refused:
            sign_documents(client, info, [sample_pdf()], pin=PIN, otp=code)
    finally:
        client.close()
    assert isinstance(refused.value, ServiceUnavailable)  # the portal's "service unavailable"
    assert len(refused.value.detail["tried"]) == 4 and forger.hits >= 1
    why = caplog.text  # each TSA passed over for its own reason
    assert "ConnectionError" in why or "ServiceUnavailable" in why
    assert "the token answers another request (nonce)" in why  # the replayed token
    assert "TSA certificate not trusted" in why  # the other service's TSA
    assert "the token's signature does not verify" in why  # the forged token
    # nothing was authorized: the same PIN and code sign once a TSA answers
    [signed] = sign_documents(rs_client, info, [sample_pdf()], pin=PIN, otp=code)
    assert assert_every_signature_and_timestamp_trusted(
        signed, rs_client.root_certificate()) == ["Signature1: signature + timestamp"]


def test_tsa_urls_come_from_the_portal_configuration() -> None:
    from remote_signing.client import tsa_urls_from

    assert tsa_urls_from({"SIGNING_TSA_URLS": ""}) == ()
    assert tsa_urls_from({"SIGNING_TSA_URLS": "http://a/tsa, http://b/tsa"}) == (
        "http://a/tsa", "http://b/tsa")
    assert tsa_urls_from({"SIGNING_TSA_URLS": ["http://a/tsa"]}) == ("http://a/tsa",)
    default = SigningClient.from_config({"SIGNING_SERVICE_URL": "http://rs:8100/",
                                         "SIGNING_CLIENT_ID": "portal",
                                         "SIGNING_CLIENT_SECRET": "x"})
    assert default.tsa_urls == ("http://rs:8100/tsa",)  # the service's own TSA


class CountingClient(SigningClient):
    """The adapter with each TSA request counted."""

    stamps = 0

    def timestamp(self, request_der: bytes, url: str | None = None) -> bytes:
        self.stamps += 1
        return super().timestamp(request_der, url)


def test_sign1_a_tsa_that_answered_seconds_ago_is_not_asked_again_before_authorizing(
    rs_process: ServiceProcess, rs_mail: SmtpCapture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """#11 item 5: the check before the authorization costs a TSA round trip; a TSA
    that gave a valid token within TSA_FRESH_SECONDS counts as up. One that has not
    is asked first (the test above: then a dead TSA costs no code)."""
    from remote_signing import pdf

    client = CountingClient(rs_process.url, "portal", DEV_PORTAL_SECRET, timeout=30,
                            tsa_urls=[f"{rs_process.url}/tsa"])
    monkeypatch.setattr(pdf, "_tsa_answered", {})
    try:
        info, email = new_credential(client)
        stamps = []
        for fresh_seconds in (10.0, 10.0, 0.0):
            monkeypatch.setattr(pdf, "TSA_FRESH_SECONDS", fresh_seconds)
            before = client.stamps
            [signed] = sign_documents(client, info, [sample_pdf()], pin=PIN,
                                      otp=otp(client, rs_mail, info, email))
            stamps.append(client.stamps - before)
            assert assert_every_signature_and_timestamp_trusted(
                signed, client.root_certificate()) == ["Signature1: signature + timestamp"]
    finally:
        client.close()
    # first: check + signature timestamp; then the check is skipped; with no
    # window every signature asks first again
    assert stamps == [2, 1, 2]
