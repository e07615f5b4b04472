"""Test helpers for the certificates area."""

from __future__ import annotations

import re
from typing import Any

from kyc.models import KycConsent, KycState, KycSubmission
from portal.extensions import db

PIN = "Shomei2026A!"
OTP_RE = re.compile(r"ワンタイムパスワード: (\d{6,})")


def approve_kyc(user: Any) -> KycSubmission:
    consent = KycConsent(user_id=user.id, document_version="test", ip="")
    db.session.add(consent)
    db.session.flush()
    sub = KycSubmission(
        user_id=user.id, company_id=user.company_id, consent_id=consent.id, state=KycState.APPROVED
    )
    db.session.add(sub)
    db.session.commit()
    return sub


def register_and_issue(client: Any, pin: str = PIN) -> Any:
    r = client.post_form(
        "/certs/pin/register", {"pin": pin, "pin_confirm": pin}, token_page="/certs/pin/register"
    )
    assert r.status_code == 302, r.get_data(as_text=True)
    r = client.post_form("/certs/pin/issue", {}, token_page="/certs/pin/issue")
    assert r.status_code == 200
    return r


def code_from(sink: Any, email: str, before: int = 0, timeout: float = 10) -> str:
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for msg in sink.messages[before:]:
            if email in str(msg["To"]):
                body = msg.get_body(("plain",)).get_content()
                match = OTP_RE.search(body)
                if match:
                    return match.group(1)
        time.sleep(0.05)
    raise AssertionError(f"no code mailed to {email}")
