"""The life cycle of a certificate issuance request (電子証明書発行依頼, CERT-2):
証明書発行依頼中 → 発行済 when the new certificate is issued, or → 取消 when the
user is deleted meanwhile. ``LIFECYCLE`` is the only writer of the state; who
may ask and the registration are ``portal.certs.reissue``, the form and the PoA
step the users area's (``portal.users.cert_requests``)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from portal import audit
from portal.clock import as_utc, now
from portal.extensions import db
from portal.models import CustomerUser
from portal.states import Lifecycle

from .models import (
    CERT_REQUEST_TRANSITIONS,
    CertificateRequest,
    CertRequestState,
    CertState,
    SigningCertificate,
)


def _stamp_completed(request: CertificateRequest, _actor: Any) -> None:
    request.completed_at = now()


LIFECYCLE: Lifecycle[CertRequestState] = Lifecycle(
    states=CertRequestState,
    table=CERT_REQUEST_TRANSITIONS,
    audit_action="cert_request.{to}",
    refusal="この電子証明書発行依頼は既に%(current)sです。",
    on_move=_stamp_completed,
)


def open_cert_request(user: CustomerUser) -> CertificateRequest | None:
    """The request in progress (証明書発行依頼中). A request whose new
    certificate has been issued since is closed here (CERT-2)."""
    request = db.session.execute(
        select(CertificateRequest).where(
            CertificateRequest.subject_user_id == user.id,
            CertificateRequest.state == CertRequestState.REQUESTED)
        .order_by(CertificateRequest.id.desc()).limit(1)).scalar_one_or_none()
    if request is None:
        return None
    issued = _issued_certificate(user)
    if issued is not None and as_utc(issued.created_at) > as_utc(request.created_at):
        LIFECYCLE.move(request, CertRequestState.ISSUED)
        return None
    return request


def _issued_certificate(user: CustomerUser) -> SigningCertificate | None:
    """The user's newest live certificate when it is issued (a newer one that
    only has its PIN registered means the request is still open)."""
    newest_live = db.session.scalars(
        select(SigningCertificate)
        .where(SigningCertificate.user_id == user.id,
               SigningCertificate.state != CertState.REVOKED)
        .order_by(SigningCertificate.id.desc()).limit(1)).first()
    return newest_live if newest_live is not None and newest_live.state is CertState.ACTIVE \
        else None


def cancel_open_request(user: CustomerUser, *, actor: Any) -> None:
    """The user is deleted (the bank may do so during a request, USR-6)."""
    request = open_cert_request(user)
    if request is not None:
        LIFECYCLE.move(request, CertRequestState.CANCELLED, actor=actor)


def close_issued_request(user: CustomerUser, *, new_credential_id: str,
                         superseded: int) -> None:
    """発行 of the new certificate completes the open request (CERT-2). Usually
    ``open_cert_request`` already sees the new certificate and closes it; a
    request made after that certificate's PIN was registered is closed here."""
    request = open_cert_request(user)
    if request is None:
        return
    LIFECYCLE.move(request, CertRequestState.ISSUED)
    audit.record("certificate.superseded", target=user, company_id=user.company_id,
                 detail={"count": superseded, "new": new_credential_id})
