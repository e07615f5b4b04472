"""Rules and state transitions of signing certificates (PIN-1…PIN-5, CERT-1,
CERT-4…CERT-6). The signing service holds keys and PINs; this module keeps the
portal's mirror row, audits every change and never stores a PIN."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from flask import current_app
from sqlalchemy import select

from kyc.document_step import register_document_step
from kyc.models import KycState
from kyc.services import latest_submission
from portal import audit
from portal.clock import as_utc, now
from portal.errors import DomainError, Forbidden
from portal.extensions import db
from portal.mail import queue_mail
from portal.models import CustomerRole, CustomerUser, UserState
from portal.states import Lifecycle
from remote_signing import client as rs

from . import messages as msg
from . import requests
from .models import TRANSITIONS, CertState, SigningCertificate

log = logging.getLogger(__name__)

EXPIRY_NOTICE_DAYS = 30

# CERT-4 reasons (the users area passes these) → RFC 5280 reason codes.
X509_REASONS = {
    "name_changed": "superseded",
    "company_name_changed": "affiliationChanged",
    "user_deleted": "cessationOfOperation",
    "pin_forgotten": "keyCompromise",
    "reissued": "superseded",
}


class SigningStatus(StrEnum):
    """CERT-6: the one status line of a user card."""

    NOT_LOGGED_IN = "初回未ログイン"
    REQUESTED = "証明書発行依頼中"
    KYC_REVIEW = "本人確認書類確認中"
    PIN_PENDING = "PIN登録待ち"
    ISSUE_PENDING = "証明書発行待ち"  # PIN registered, 発行 not pressed yet (#13 item 2)
    CAN_SIGN = "署名可能"
    LOCKED = "署名不可"
    REVOKED = "証明書失効"
    VIEWER = "参照権限のため署名はできません"

    @property
    def word(self) -> str:
        """The ステータス value of the card (guide §3.4: a viewer's is 署名不可)."""
        return SigningStatus.LOCKED.value if self is SigningStatus.VIEWER else self.value

    @property
    def note(self) -> str:
        """The sentence under the user's name on the card (source guide §3.4)."""
        return {
            SigningStatus.CAN_SIGN: "有効な電子証明書をご活用頂けます。",
            SigningStatus.LOCKED: "署名用PINロック中のため署名はできません。",
            SigningStatus.REVOKED: (
                "電子証明書が失効しています。電子証明書発行依頼を行ってください。"
            ),
            SigningStatus.VIEWER: "参照権限のため署名はできません。",
            SigningStatus.PIN_PENDING: "初期PIN登録・証明書発行をお待ちしています。",
            SigningStatus.ISSUE_PENDING: (
                "初期PINは登録済みです。「発行」ボタンを押下して電子証明書を発行してください。"
            ),
            SigningStatus.REQUESTED: "本人確認書類のアップロードをお願いします。",
            SigningStatus.KYC_REVIEW: "本人確認書類を確認しています。確認完了までお待ちください。",
            SigningStatus.NOT_LOGGED_IN: "初回ログインが完了していません。",
        }.get(self, self.value)


@contextmanager
def signing_client() -> Iterator[rs.SigningClient]:
    api = rs.SigningClient.from_config(current_app.config)
    try:
        yield api
    finally:
        api.close()


def _credential(cert: SigningCertificate) -> dict[str, Any]:
    return {"credential": cert.credential_id}


CERT_LIFECYCLE: Lifecycle[CertState] = Lifecycle(
    CertState, TRANSITIONS, "certs.{to}", refusal="この電子証明書の状態では操作できません。",
    detail_of=_credential)


# --- queries ---------------------------------------------------------------------------


def certificates_of(user: CustomerUser) -> list[SigningCertificate]:
    return list(
        db.session.scalars(
            select(SigningCertificate)
            .where(SigningCertificate.user_id == user.id)
            .order_by(SigningCertificate.id)
        )
    )


def current_certificate(user: CustomerUser) -> SigningCertificate | None:
    """The newest live certificate, else the newest one of any state."""
    certs = certificates_of(user)
    live = [c for c in certs if c.state is not CertState.REVOKED]
    shown = live or certs
    return shown[-1] if shown else None


def credential_ids_of(user: CustomerUser) -> list[str]:
    return [c.credential_id for c in certificates_of(user)]


def active_credential_id(user: CustomerUser) -> str | None:
    """The newest issued certificate: during a reissue (CERT-2) the old one still
    signs after the new PIN is registered, until 発行 supersedes it."""
    active = [c for c in certificates_of(user) if c.state is CertState.ACTIVE]
    return active[-1].credential_id if active else None


def certificate_expiry(user: CustomerUser) -> datetime | None:
    cert = current_certificate(user)
    return cert.valid_to if cert is not None and cert.state is CertState.ACTIVE else None


def signing_status(user: CustomerUser, *, live: bool = False) -> str:
    """CERT-6 label for the user card. ``live`` asks the service whether a PIN-5
    lock happened since the portal last looked (falls back to the mirror)."""
    return signing_status_enum(user, live=live).value


def signing_status_enum(user: CustomerUser, *, live: bool = False) -> SigningStatus:
    if user.role is CustomerRole.VIEWER:
        return SigningStatus.VIEWER
    if not user.first_login_done:
        return SigningStatus.NOT_LOGGED_IN
    cert = current_certificate(user)
    request_at = _open_request_at(user)
    if request_at is not None:  # CERT-2: a reissue goes KYC → PIN even if the old one lives
        return _status_before_certificate(user, cert, since=request_at)
    if cert is not None and cert.state is CertState.ACTIVE:
        if live:
            refresh_lock(cert)
        if cert.pin_locked:
            return SigningStatus.LOCKED
        if cert.valid_to is not None and as_utc(cert.valid_to) < now():
            return SigningStatus.REVOKED
        return SigningStatus.CAN_SIGN
    return _status_before_certificate(user, cert)


def _open_request_at(user: CustomerUser) -> datetime | None:
    """When the user's open certificate request (CERT-2) was made, if any."""
    request = requests.open_cert_request(user)
    return as_utc(request.created_at) if request is not None else None


def _status_before_certificate(
    user: CustomerUser, cert: SigningCertificate | None, *, since: datetime | None = None
) -> SigningStatus:
    """Where the user is on the way to a (new) certificate. Documents older than
    ``since`` (the open request) or than the revocation belong to the old one."""
    submission = latest_submission(user)
    revoked_at = as_utc(cert.revoked_at) if cert is not None and cert.revoked_at else None
    cutoff = since or revoked_at
    if submission is not None and cutoff is not None and as_utc(submission.created_at) <= cutoff:
        submission = None  # documents of the old certificate do not count
    if submission is None:
        return (
            SigningStatus.REVOKED
            if revoked_at is not None and since is None
            else SigningStatus.REQUESTED
        )
    if submission.state == KycState.APPROVED:
        if cert is not None and cert.state is CertState.PIN_REGISTERED:
            return SigningStatus.ISSUE_PENDING
        return SigningStatus.PIN_PENDING
    if submission.state == KycState.SUBMITTED:
        return SigningStatus.KYC_REVIEW
    return SigningStatus.REQUESTED


@register_document_step
def on_document_step(user: CustomerUser) -> bool:
    """KYC-1/CERT-1: identity documents belong to the way to a certificate: asked
    for (証明書発行依頼中) or in review (本人確認書類確認中). Never a viewer's step
    (no certificate), nor that of a user who can sign or is past the review
    (#13 item 4). The KYC pages ask through ``kyc.document_step``."""
    if user.role is CustomerRole.VIEWER or user.state is not UserState.ACTIVE:
        return False
    return signing_status_enum(user) in (SigningStatus.REQUESTED, SigningStatus.KYC_REVIEW)


def refresh_lock(cert: SigningCertificate) -> None:
    """Mirror the service's lock state (PIN-5 locks happen inside the service)."""
    try:
        with signing_client() as api:
            locked = api.credential_info(cert.credential_id).status == "locked"
    except rs.SigningError:
        return
    if locked != cert.pin_locked:
        cert.pin_locked = locked
        db.session.commit()


def note_locked(user: CustomerUser) -> None:
    """The service refused with CredentialLocked: record it now (the caller rolls
    back its own change)."""
    mark_locked(user)
    db.session.commit()


def mark_locked(user: CustomerUser) -> None:
    """Mirror a PIN-5 lock the service reported so the user card says 署名不可, in
    the caller's transaction (the signing dialog commits it with its outcome)."""
    cert = current_certificate(user)
    if cert is not None and cert.state is CertState.ACTIVE and not cert.pin_locked:
        cert.pin_locked = True
        audit.record(
            "certs.pin_locked_by_failures",
            actor=None,
            company_id=cert.company_id,
            target=cert,
            detail={"credential": cert.credential_id},
        )


# --- PIN-1: 初期PIN登録 → 発行 ---------------------------------------------------------------


def _require_signer(user: CustomerUser) -> None:
    if user.role is CustomerRole.VIEWER or user.state is not UserState.ACTIVE:
        raise Forbidden(msg.VIEWER)


def can_register_pin(user: CustomerUser) -> bool:
    return signing_status_enum(user) is SigningStatus.PIN_PENDING and not pending_certificate(user)


def pending_certificate(user: CustomerUser) -> SigningCertificate | None:
    cert = current_certificate(user)
    return cert if cert is not None and cert.state is CertState.PIN_REGISTERED else None


def _lock_user(user: CustomerUser) -> None:
    """One certificate step of a user at a time: a double submit waits here and
    then sees the first one's certificate (no second key, no second issue).
    PostgreSQL: the user's row lock; SQLite: BEGIN IMMEDIATE already holds the
    write lock. Objects read before the lock are reloaded."""
    db.session.execute(
        select(CustomerUser.id).where(CustomerUser.id == user.id).with_for_update()
    )
    db.session.expire_all()


def register_pin(user: CustomerUser, pin: str) -> SigningCertificate:
    """登録: the service generates the key and wraps it under the PIN (not issued yet)."""
    _lock_user(user)
    _require_signer(user)
    if pending_certificate(user) is not None:
        raise DomainError("初期PINは登録済みです。「発行」ボタンを押下してください。")
    if signing_status_enum(user) is not SigningStatus.PIN_PENDING:
        raise DomainError("本人確認書類の確認が完了していないため、初期PINを登録できません。")
    try:
        with signing_client() as api:
            info = api.create_credential(
                user_id=user.mypage_id,
                name=user.display_name,
                email=user.email,
                organization=user.company.name,
                pin=pin,
                issue=False,
            )
    except rs.PinPolicyViolation as exc:
        raise msg.CertError("初期PINが登録条件を満たしていません。", field="pin") from exc
    except rs.SigningError as exc:
        raise msg.from_signing_error(exc) from exc
    cert = SigningCertificate(
        user_id=user.id,
        company_id=user.company_id,
        credential_id=info.credential_id,
        state=CertState.PIN_REGISTERED,
        pin_locked=False,
        serial_hex="",
        subject="",
        revocation_reason="",
    )
    db.session.add(cert)
    db.session.flush()
    audit.record(
        "certs.pin_registered", actor=user, target=cert, detail={"credential": info.credential_id}
    )
    db.session.commit()
    return cert


def issue_certificate(user: CustomerUser) -> SigningCertificate:
    """発行: the CA issues the 5-year certificate; earlier ones are superseded (CERT-2)."""
    _lock_user(user)
    cert = pending_certificate(user)
    if cert is None:
        raise DomainError("初期PINが登録されていません。初期PINを登録してください。")
    try:
        with signing_client() as api:
            info = api.issue(cert.credential_id)
            older = [
                c for c in certificates_of(user) if c.state is CertState.ACTIVE and c.id != cert.id
            ]
            _revoke_at_service(api, older, "reissued")
    except rs.SigningError as exc:
        raise msg.from_signing_error(exc) from exc
    cert.serial_hex = info.serial_hex
    cert.subject = info.subject[:500]
    cert.valid_from = info.valid_from
    cert.valid_to = info.valid_to
    CERT_LIFECYCLE.move(cert, CertState.ACTIVE, actor=user, detail={"serial": info.serial_hex})
    for old in older:
        _mark_revoked(old, "reissued", actor=user)
    db.session.flush()
    requests.close_issued_request(user, new_credential_id=cert.credential_id,
                                  superseded=len(older))
    db.session.commit()
    return cert


# --- PIN-3: 署名用PIN変更 ----------------------------------------------------------------------


def change_pin(user: CustomerUser, current_pin: str, new_pin: str) -> None:
    _require_signer(user)
    cert_id = active_credential_id(user)
    if cert_id is None:
        raise DomainError(msg.NO_CERT)
    try:
        with signing_client() as api:
            api.change_pin(cert_id, current_pin, new_pin)
    except rs.PinPolicyViolation as exc:
        raise msg.CertError("変更後のPINが登録条件を満たしていません。", field="new_pin") from exc
    except rs.CredentialLocked as exc:
        note_locked(user)
        raise msg.from_signing_error(exc) from exc
    except rs.SigningError as exc:
        raise msg.from_signing_error(
            exc, pin_field="current_pin", pin_message=msg.CURRENT_PIN_WRONG
        ) from exc
    audit.record("certs.pin_changed", actor=user, target=current_certificate(user))
    db.session.commit()


# --- PIN-4: 署名用PINロック / ロック解除 ----------------------------------------------------------


def lockable_certificate(target: CustomerUser) -> SigningCertificate:
    cert = current_certificate(target)
    if cert is None or cert.state is not CertState.ACTIVE:
        raise DomainError("このユーザには有効な電子証明書がないため、署名用PINロックはできません。")
    return cert


def set_lock(actor: CustomerUser, target: CustomerUser, *, locked: bool) -> SigningCertificate:
    """The caller has checked Permission.PIN_LOCK on ``target`` (same company, not self)."""
    cert = lockable_certificate(target)
    try:
        with signing_client() as api:
            if locked:
                api.lock(cert.credential_id)
            else:
                api.unlock(cert.credential_id)
    except rs.SigningError as exc:
        raise msg.from_signing_error(exc) from exc
    cert.pin_locked = locked
    audit.record(
        "certs.pin_locked" if locked else "certs.pin_unlocked",
        actor=actor,
        target=cert,
        detail={"user": target.id, "credential": cert.credential_id},
    )
    db.session.commit()
    return cert


# --- CERT-4: revocation (the one path: reissue, user and company changes, deletion) ----------


def revoke_user_certificate(user: CustomerUser, reason: str, actor: Any = None) -> int:
    """Revoke every live certificate of ``user`` (name change, company name change,
    deletion, PIN forgotten). Published at once in the CRL and OCSP. A service
    failure refuses the whole change, so nothing is half done. Returns the count.
    The caller commits (the change that caused the revocation is in the same
    transaction)."""
    live = [c for c in certificates_of(user) if c.state is not CertState.REVOKED]
    try:
        with signing_client() as api:
            _revoke_at_service(api, live, reason)
    except rs.SigningError as exc:
        raise msg.CertError(msg.UNAVAILABLE) from exc
    for cert in live:
        _mark_revoked(cert, reason, actor=actor)
    if live:
        queue_mail("cert_revoked", user.email, name=user.display_name)
    return len(live)


def _revoke_at_service(api: rs.SigningClient, certs: list[SigningCertificate],
                       reason: str) -> None:
    """The only place a certificate is revoked at the signing service."""
    for cert in certs:
        api.revoke(cert.credential_id, X509_REASONS.get(reason, "unspecified"))


def _mark_revoked(cert: SigningCertificate, reason: str, *, actor: Any) -> None:
    cert.revoked_at = now()
    cert.revocation_reason = reason[:32]
    CERT_LIFECYCLE.move(cert, CertState.REVOKED, actor=actor, detail={"reason": reason})


# --- CERT-5: expiry notice ---------------------------------------------------------------------


def send_expiry_notices(at: datetime | None = None) -> int:
    """Mail every holder whose certificate expires within 30 days, once."""
    moment = at or now()
    limit = moment + timedelta(days=EXPIRY_NOTICE_DAYS)
    due = db.session.scalars(
        select(SigningCertificate).where(
            SigningCertificate.state == CertState.ACTIVE,
            SigningCertificate.expiry_notice_sent_at.is_(None),
            SigningCertificate.valid_to.is_not(None),
            SigningCertificate.valid_to <= limit,
        )
    ).all()
    sent = 0
    for cert in due:
        if cert.valid_to is None or as_utc(cert.valid_to) < moment:
            continue
        queue_mail(
            "cert_expiring", cert.user.email, name=cert.user.display_name, valid_to=cert.valid_to
        )
        cert.expiry_notice_sent_at = moment
        audit.record(
            "certs.expiry_notice",
            target=cert,
            company_id=cert.company_id,
            detail={"valid_to": cert.valid_to},
        )
        sent += 1
    db.session.commit()
    return sent


# --- AUTH-6: the one-time codes follow the user's e-mail address --------------------------------


def sync_email(user: CustomerUser) -> None:
    """Call after a verified e-mail change: the service mails codes to this address.
    A service failure refuses the change (the caller rolls back)."""
    live = [c for c in certificates_of(user) if c.state is not CertState.REVOKED]
    try:
        with signing_client() as api:
            for cert in live:
                api.update_email(cert.credential_id, user.email)
    except rs.SigningError as exc:
        raise msg.CertError(msg.UNAVAILABLE) from exc
