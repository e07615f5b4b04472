"""Helpers shared by the signing-service unit tests."""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask.testing import FlaskClient

from remote_signing.service.config import DEV_CONSOLE_SECRET, DEV_PORTAL_SECRET
from remote_signing.testing import SmtpCapture

MASTER_KEY = base64.b64encode(os.urandom(32)).decode()
PIN = "Kaiyaku2026!"
EMAIL = "taro@example.jp"


def service_config(db: Path, smtp_port: int, log: Path | None = None) -> dict[str, Any]:
    return {
        "DATABASE_URL": f"sqlite:///{db}",
        "MASTER_KEY": MASTER_KEY,
        "CA_KEY_SIZE": 2048,
        "SMTP_PORT": smtp_port,
        "PUBLIC_URL": "http://127.0.0.1:8100",
        "LOG_FILE": str(log) if log else None,
    }


TOKEN_LABEL = "rs-test"
TOKEN_PIN = "test-token-pin"
_softhsm_conf: list[str] = []


def private_softhsm_token(directory: Path) -> str:
    """A SoftHSM2 token for this test process (SoftHSM2 reads SOFTHSM2_CONF once
    per process: the first call decides; later calls reuse it)."""
    from remote_signing.service.pkcs11_store import init_token

    if not _softhsm_conf:
        conf = init_token(directory, label=TOKEN_LABEL, user_pin=TOKEN_PIN, so_pin="test-so-pin")
        os.environ["SOFTHSM2_CONF"] = str(conf)
        _softhsm_conf.append(str(conf))
    return _softhsm_conf[0]


def pkcs11_config() -> dict[str, Any]:
    return {
        "KEYSTORE_BACKEND": "pkcs11",
        "PKCS11_TOKEN_LABEL": TOKEN_LABEL,
        "PKCS11_USER_PIN": TOKEN_PIN,
    }


def basic(client_id: str, secret: str) -> dict[str, str]:
    token = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


PORTAL = basic("portal", DEV_PORTAL_SECRET)
CONSOLE = basic("console", DEV_CONSOLE_SECRET)


@dataclass
class Api:
    """The CSC/admin calls through the Flask test client, as the portal makes them."""

    http: FlaskClient
    smtp: SmtpCapture
    headers: dict[str, str]

    def call(self, path: str, body: dict[str, Any], headers: dict[str, str] | None = None) -> Any:
        return self.http.post(path, json=body, headers=self.headers if headers is None else headers)

    def create(
        self, user_id: str = "u1", pin: str = PIN, email: str = EMAIL, name: str = "山田 太郎"
    ) -> str:
        r = self.call(
            "/admin/v1/credentials/create",
            {
                "userID": user_id,
                "name": name,
                "email": email,
                "organization": "株式会社テスト商事",
                "PIN": pin,
            },
        )
        assert r.status_code == 201, r.json
        return str(r.json["credentialID"])

    def send_otp(self, cred: str, email: str = EMAIL) -> str:
        before = len(self.smtp.messages)
        r = self.call("/csc/v2/credentials/sendOTP", {"credentialID": cred})
        assert r.status_code == 200, r.json
        return self.smtp.otp_for(email, before)

    def send_otp_with_pin(self, cred: str, pin: str = PIN, email: str = EMAIL) -> Any:
        """PIN first: returns the response; ``response.otp`` is the mailed code or None."""
        before = len(self.smtp.messages)
        r = self.call("/csc/v2/credentials/sendOTP", {"credentialID": cred, "PIN": pin})
        r.otp = self.smtp.otp_for(email, before) if r.status_code == 200 else None
        return r

    def authorize(
        self,
        cred: str,
        hashes: list[bytes],
        pin: str | None = PIN,
        otp: str | None = None,
        num: int | None = None,
        pin_token: str | None = None,
    ) -> Any:
        body: dict[str, Any] = {
            "credentialID": cred,
            "numSignatures": len(hashes) if num is None else num,
            "hashes": [base64.b64encode(h).decode() for h in hashes],
            "hashAlgorithmOID": "2.16.840.1.101.3.4.2.1",
        }
        if pin is not None:
            body["PIN"] = pin
        if otp is not None:
            body["OTP"] = otp
        if pin_token is not None:
            body["pinToken"] = pin_token
        return self.call("/csc/v2/credentials/authorize", body)

    def sad(self, cred: str, hashes: list[bytes]) -> str:
        r = self.authorize(cred, hashes, otp=self.send_otp(cred))
        assert r.status_code == 200, r.json
        return str(r.json["SAD"])

    def sign(self, cred: str, sad: str, hashes: list[bytes]) -> Any:
        return self.call(
            "/csc/v2/signatures/signHash",
            {
                "credentialID": cred,
                "SAD": sad,
                "hashes": [base64.b64encode(h).decode() for h in hashes],
                "hashAlgorithmOID": "2.16.840.1.101.3.4.2.1",
                "signAlgo": "1.2.840.113549.1.1.1",
            },
        )

    def admin(self, action: str, cred: str, **extra: Any) -> Any:
        return self.call(f"/admin/v1/credentials/{action}", {"credentialID": cred, **extra})
