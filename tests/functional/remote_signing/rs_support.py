"""Helpers for the signing-service functional tests."""

from __future__ import annotations

import itertools

from remote_signing.client import CredentialInfo, SigningClient
from remote_signing.testing import SmtpCapture

PIN = "Kaiyaku2026!"
_seq = itertools.count(1)


def new_credential(
    client: SigningClient,
    name: str = "山田 太郎",
    organization: str = "株式会社テスト商事",
    pin: str = PIN,
) -> tuple[CredentialInfo, str]:
    n = next(_seq)
    email = f"user{n}@example.jp"
    info = client.create_credential(
        user_id=f"u{n}", name=name, email=email, organization=organization, pin=pin
    )
    return info, email


def otp(client: SigningClient, mail: SmtpCapture, info: CredentialInfo, email: str) -> str:
    before = len(mail.messages)
    client.send_otp(info.credential_id)
    return mail.otp_for(email, before)
