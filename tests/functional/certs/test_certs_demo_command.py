"""SIGN-3, RS-1: ``demo sign-sample`` signs as the demo representative end to end
(adapter → service process, code read from the SMTP sink's Maildir) and the
output validates in pyHanko, pdfsig (NSS, exported root trusted) and qpdf."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Mailbox
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from portal.demo import DEMO_ADMIN, DEMO_REP_PASSWORD, DEMO_STAFF
from portal.demo.signing import DEMO_SIGNING_PIN
from remote_signing.testing import (
    ServiceProcess,
    free_port,
    pdfsig,
    qpdf_check,
    validate_with_pyhanko,
)


@pytest.fixture(scope="module")
def maildir_service(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Path, ServiceProcess]]:
    maildir = tmp_path_factory.mktemp("demo-mail") / "maildir"
    port = free_port()
    sink = Controller(Mailbox(str(maildir)), hostname="127.0.0.1", port=port)
    sink.start()
    proc = ServiceProcess(tmp_path_factory.mktemp("demo-signing"), smtp_port=port).start()
    yield maildir, proc
    proc.stop()
    sink.stop()


@pytest.fixture
def app_config(
    app_config: dict[str, Any], maildir_service: tuple[Path, ServiceProcess]
) -> dict[str, Any]:
    maildir, proc = maildir_service
    app_config["SIGNING_SERVICE_URL"] = proc.url
    app_config["DEV_MAILDIR"] = str(maildir)
    return app_config


def test_sign3_demo_sign_sample_validates_independently(app, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    runner = app.test_cli_runner()
    root_pem = tmp_path / "root.pem"
    r = runner.invoke(args=["rs", "export-root", "--out", str(root_pem)])
    assert r.exit_code == 0, r.output
    root_der = x509.load_pem_x509_certificate(root_pem.read_bytes()).public_bytes(
        serialization.Encoding.DER
    )

    out = tmp_path / "signed.pdf"
    r = runner.invoke(args=["demo", "sign-sample", "--out", str(out)])
    assert r.exit_code == 0, r.output
    signed = out.read_bytes()

    report = validate_with_pyhanko(signed, root_der)
    assert report.intact and report.valid and report.trusted
    assert report.coverage in {"ENTIRE_FILE", "ENTIRE_REVISION"}
    assert report.timestamp_valid and report.timestamp_trusted
    assert report.signer_cn == "代表 太郎"

    text = pdfsig(signed, root_der, tmp_path / "nss")
    assert "Signature is Valid." in text and "Certificate is Trusted." in text, text
    rc, check = qpdf_check(signed, tmp_path)
    assert rc == 0, check

    # a second run reuses the demo certificate and reads a fresh code
    r = runner.invoke(args=["demo", "sign-sample", "--out", str(tmp_path / "again.pdf")])
    assert r.exit_code == 0, r.output
    assert "demo certificate issued" not in r.output


def test_demo_seed_prints_each_demo_credential_once(app) -> None:  # type: ignore[no-untyped-def]
    """Walk defect (#15 rule 6): ``make run`` showed the 署名用PIN twice (the issuing
    line and the logins); now every credential is printed once, the PIN right
    under the logins."""
    runner = app.test_cli_runner()
    for _ in range(2):  # the first run issues the certificate, the second reuses it
        r = runner.invoke(args=["demo", "seed"])
        assert r.exit_code == 0, r.output
        for secret in (DEMO_SIGNING_PIN, DEMO_REP_PASSWORD, DEMO_STAFF[1], DEMO_ADMIN[1]):
            assert r.output.count(secret) == 1, (secret, r.output)
        lines = r.output.splitlines()
        logins = lines.index("Demo logins:")
        assert lines[logins + 4] == f"  署名用PIN (代表者)   : {DEMO_SIGNING_PIN}"
