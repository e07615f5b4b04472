"""Helpers to run the signing service as a real process and capture its mail.

Used by the tests, the benchmark and the portal's fixtures; not imported by
the product at run time.
"""

from __future__ import annotations

import email
import email.policy
import os
import re
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import requests
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

ROOT = Path(__file__).resolve().parent.parent
OTP_RE = re.compile(r"ワンタイムパスワード: (\d{6,})")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _Handler:
    def __init__(self, sink: SmtpCapture) -> None:
        self._sink = sink

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.content
        assert isinstance(content, bytes)  # the Controller keeps decode_data=False
        msg = email.message_from_bytes(content, policy=email.policy.default)
        self._sink._add(msg)  # noqa: SLF001
        return "250 OK"


@dataclass
class SmtpCapture:
    """A real aiosmtpd server on a free port (port=0 does not work with Controller)."""

    port: int = 0
    messages: list[EmailMessage] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._cond = threading.Condition()
        self.port = self.port or free_port()
        self._controller = Controller(_Handler(self), hostname="127.0.0.1", port=self.port)

    def start(self) -> SmtpCapture:
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()

    def _add(self, msg: EmailMessage) -> None:
        with self._cond:
            self.messages.append(msg)
            self._cond.notify_all()

    def wait_for(self, to: str, after: int = 0, timeout: float = 10) -> EmailMessage:
        """The first message to ``to`` with index >= ``after``."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for msg in self.messages[after:]:
                    if to in str(msg["To"]):
                        return msg
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"no mail to {to}")
                self._cond.wait(left)

    def otp_for(self, to: str, after: int = 0, timeout: float = 10) -> str:
        body = self.wait_for(to, after, timeout).get_content()
        match = OTP_RE.search(body)
        if not match:
            raise AssertionError("no code in the OTP mail")
        return match.group(1)


class ServiceProcess:
    """``python -m remote_signing.service`` on a free loopback port."""

    def __init__(
        self,
        workdir: Path,
        *,
        smtp_port: int,
        env: dict[str, Any] | None = None,
        port: int | None = None,
    ) -> None:
        self.workdir = Path(workdir)
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = self.workdir / "service.log"
        self.output_path = self.workdir / "service.out"
        self.db_path = self.workdir / "signing.db"
        base = {
            "RS_DATABASE_URL": f"sqlite:///{self.db_path}",
            "RS_MASTER_KEY_FILE": str(self.workdir / "master.key"),
            "RS_PUBLIC_URL": self.url,
            "RS_SMTP_HOST": "127.0.0.1",
            "RS_SMTP_PORT": str(smtp_port),
            "RS_LOG_FILE": str(self.log_path),
            "RS_CA_KEY_SIZE": "2048",
        }
        self.env = {**os.environ, **base, **{k: str(v) for k, v in (env or {}).items()}}
        self.env["PYTHONPATH"] = os.pathsep.join(
            filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])
        )
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 30) -> ServiceProcess:
        self.workdir.mkdir(parents=True, exist_ok=True)
        out = open(self.output_path, "ab")  # noqa: SIM115
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "remote_signing.service", "--port", str(self.port)],
            env=self.env,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=self.workdir,
        )
        out.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RuntimeError(
                    f"signing service exited: {self.output_path.read_text()[-2000:]}"
                )
            try:
                if requests.get(self.url + "/health", timeout=1).status_code == 200:
                    return self
            except requests.RequestException:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError("signing service did not become ready")

    def stop(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait(5)
        self._proc = None


# --- independent validation (SIGN-3) --------------------------------------------
@dataclass(frozen=True)
class PyHankoReport:
    intact: bool
    valid: bool
    trusted: bool
    coverage: str
    timestamp_valid: bool
    timestamp_trusted: bool
    revoked: bool
    signer_cn: str


def validate_with_pyhanko(
    pdf: bytes, root_der: bytes, *, index: int = -1, fetch: bool = True
) -> PyHankoReport:
    """Validate one embedded signature against the exported root (fresh context per call)."""
    from datetime import timedelta
    from io import BytesIO

    from asn1crypto import x509 as ax509
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext

    root = ax509.Certificate.load(root_der)
    reader = PdfFileReader(BytesIO(pdf))
    sig = reader.embedded_signatures[index]
    # fetched OCSP/CRL answers come after the context's moment: allow a loaded machine
    late = timedelta(seconds=60)
    vc = ValidationContext(trust_roots=[root], allow_fetching=fetch, time_tolerance=late)
    ts_vc = ValidationContext(trust_roots=[root], allow_fetching=fetch, time_tolerance=late)
    status = validate_pdf_signature(sig, signer_validation_context=vc, ts_validation_context=ts_vc)
    ts = status.timestamp_validity
    return PyHankoReport(
        intact=status.intact,
        valid=status.valid,
        trusted=status.trusted,
        coverage=status.coverage.name if status.coverage is not None else "",
        timestamp_valid=bool(ts and ts.intact and ts.valid),
        timestamp_trusted=bool(ts and ts.trusted),
        revoked=status.revoked,
        signer_cn=status.signing_cert.subject.native.get("common_name", ""),
    )


def pdfsig(pdf: bytes, root_der: bytes, workdir: Path) -> str:
    """poppler's pdfsig with the root trusted in a fresh NSS database."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    workdir.mkdir(parents=True, exist_ok=True)
    nss = workdir / "nss"
    nss.mkdir(exist_ok=True)
    root_pem = workdir / "root.pem"
    root_pem.write_bytes(
        x509.load_der_x509_certificate(root_der).public_bytes(serialization.Encoding.PEM)
    )
    (workdir / "signed.pdf").write_bytes(pdf)
    subprocess.run(
        ["certutil", "-N", "-d", f"sql:{nss}", "--empty-password"], check=True, capture_output=True
    )
    subprocess.run(
        [
            "certutil",
            "-A",
            "-d",
            f"sql:{nss}",
            "-n",
            "root",
            "-t",
            "CT,C,C",
            "-a",
            "-i",
            str(root_pem),
        ],
        check=True,
        capture_output=True,
    )
    out = subprocess.run(
        ["pdfsig", "-nssdir", f"sql:{nss}", str(workdir / "signed.pdf")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    return out.stdout + out.stderr


def qpdf_check(pdf: bytes, workdir: Path) -> tuple[int, str]:
    path = workdir / "check.pdf"
    path.write_bytes(pdf)
    out = subprocess.run(["qpdf", "--check", str(path)], capture_output=True, text=True, timeout=60)
    return out.returncode, out.stdout + out.stderr
