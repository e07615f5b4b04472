"""The signing dialog's service side (SIGN-2): 送信 mails the code; the final
電子署名 step hands PIN + code to the caller's signing function. Every adapter
error becomes its own Japanese message here; nothing half-signed is stored
because callers store results only after ``sign_documents`` returned them all."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

from portal import audit
from portal.models import CustomerUser
from remote_signing import client as rs
from remote_signing.pdf import SignatureOptions, sign_documents

from . import messages as msg
from . import services

T = TypeVar("T")


def _credential(user: CustomerUser, api: rs.SigningClient) -> rs.CredentialInfo:
    services._require_signer(user)
    cred_id = services.active_credential_id(user)
    if cred_id is None:
        raise msg.CertError(msg.NO_CERT)
    info = api.credential_info(cred_id)
    if info.status == "locked":
        services.note_locked(user)
        raise msg.CertError(msg.LOCKED)
    return info


def send_code(user: CustomerUser) -> str:
    """送信: returns the credential ID shown in the dialog (電子証明書ID)."""
    try:
        with services.signing_client() as api:
            info = _credential(user, api)
            api.send_otp(info.credential_id)
    except rs.SigningError as exc:
        _note(user, exc)
        raise msg.from_signing_error(exc) from exc
    audit.record("certs.sign_code_sent", actor=user, detail={"credential": info.credential_id})
    from portal.extensions import db

    db.session.commit()
    return info.credential_id


def sign_pdfs(
    user: CustomerUser,
    documents: Sequence[bytes],
    *,
    pin: str,
    code: str,
    options: SignatureOptions | Sequence[SignatureOptions] | None = None,
    description: str | None = None,
) -> list[bytes]:
    """電子署名: one authorization (PIN + code) for all ``documents``; returns every
    signed PDF or raises CertError with the message for the dialog."""
    try:
        with services.signing_client() as api:
            info = _credential(user, api)
            return sign_documents(
                api,
                info,
                documents,
                pin=pin,
                otp=code,
                options=options or SignatureOptions(),
                description=description,
            )
    except rs.SigningError as exc:
        _note(user, exc)
        raise msg.from_signing_error(exc) from exc


def run_signing(user: CustomerUser, action: Callable[[], T]) -> T:
    """Run a caller's own signing function, mapping adapter errors the same way."""
    try:
        return action()
    except rs.SigningError as exc:
        _note(user, exc)
        raise msg.from_signing_error(exc) from exc


def _note(user: CustomerUser, exc: rs.SigningError) -> None:
    if isinstance(exc, rs.CredentialLocked):
        services.note_locked(user)
