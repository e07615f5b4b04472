"""電子証明書発行依頼 (CERT-2, CERT-3): who may ask for a new certificate for
whom and with which power of attorney, and 登録 of the request after the PoA
step (the drafts and PoAs are the users area's, ``portal.users.poa``). The
request's life cycle is ``portal.certs.requests``; functions work in the
caller's transaction and the views commit."""

from __future__ import annotations

from portal import audit
from portal.errors import DomainError, NotFound
from portal.extensions import db
from portal.mail import queue_mail
from portal.models import CustomerRole, CustomerUser, UserState
from portal.notices import notify
from portal.permissions import MANAGERS, SIGNING_ROLES, Permission, can
from portal.users import poa
from portal.users.models import DraftKind, PoaKind, PoaPurpose, UserDraft
from portal.users.services import kyc_link

from . import requests, services
from .models import CertificateRequest, CertReason, CertRequestState

R = CustomerRole
MSG_CERT_OPEN = "このユーザは既に電子証明書発行依頼中です。"


def poa_for_cert_request(actor_role: CustomerRole, subject_role: CustomerRole, *,
                         is_self: bool, same_company: bool = True) -> PoaKind | None:
    """CERT-3 as one function. ``None``: this actor may not request for this
    subject. Otherwise the one PoA kind the request needs."""
    if not same_company or subject_role not in SIGNING_ROLES or actor_role not in SIGNING_ROLES:
        return None
    if not is_self and actor_role not in MANAGERS:
        return None  # a signer requests only for themselves
    if subject_role == R.REPRESENTATIVE:
        return PoaKind.NONE
    if is_self:
        return PoaKind.UPLOAD  # administrator/signer for themselves: paper PoA
    return PoaKind.SYSTEM  # representative/administrator for another administrator/signer


def cert_request_poa(actor: CustomerUser, subject: CustomerUser) -> PoaKind | None:
    return poa_for_cert_request(R(actor.role), R(subject.role), is_self=actor.id == subject.id,
                                same_company=actor.company_id == subject.company_id)


def can_request_cert(actor: CustomerUser, subject: CustomerUser) -> bool:
    """Whether the 電子証明書発行依頼 button shows (CERT-3); start_cert_request
    enforces the same."""
    return (cert_request_poa(actor, subject) is not None
            and can(actor, Permission.CERTS_REQUEST, subject)
            and requests.open_cert_request(subject) is None)


def start_cert_request(actor: CustomerUser, subject: CustomerUser,
                       reason: CertReason) -> UserDraft:
    kind = cert_request_poa(actor, subject)
    if kind is None or not can(actor, Permission.CERTS_REQUEST, subject):
        raise NotFound()
    if requests.open_cert_request(subject) is not None:
        raise DomainError(MSG_CERT_OPEN)
    return poa.new_draft(DraftKind.CERT_REQUEST, actor, {"reason": reason.value}, kind,
                         subject=subject)


def register_cert_request(actor: CustomerUser, draft: UserDraft, *,
                          signed_poa: bytes | None = None) -> CertificateRequest:
    """登録: the request exists; the subject uploads KYC again, then PIN (CERT-2)."""
    if draft.actor_id != actor.id or draft.kind != DraftKind.CERT_REQUEST:
        raise NotFound()
    subject = db.session.get(CustomerUser, draft.subject_user_id)
    if subject is None or subject.state != UserState.ACTIVE \
            or cert_request_poa(actor, subject) != draft.poa_kind:
        raise NotFound()
    if requests.open_cert_request(subject) is not None:
        raise DomainError(MSG_CERT_OPEN)
    if PoaKind(draft.poa_kind) is PoaKind.SYSTEM and signed_poa is None:
        raise DomainError(poa.MSG_SIGNATURE_NEEDED)
    reason = CertReason(poa.draft_data(draft)["reason"])
    poa.consume_draft(draft)
    stored = poa.poa_from_draft(draft, purpose=PoaPurpose.CERT_REQUEST, agent=subject,
                                actor=actor, signed_pdf=signed_poa)
    request = CertificateRequest(company_id=subject.company_id, subject_user_id=subject.id,
                                 requested_by=actor.id, reason=reason,
                                 poa_id=stored.id if stored else None,
                                 state=CertRequestState.REQUESTED)
    db.session.add(request)
    db.session.flush()
    audit.record("cert_request.created", actor=actor, target=request,
                 detail={"subject": subject.id, "reason": reason.value,
                         "poa": draft.poa_kind})
    count = 0
    if reason is CertReason.PIN_FORGOTTEN:  # CERT-2: at once for PIN失念
        count = services.revoke_user_certificate(subject, "pin_forgotten", actor=actor)
        audit.record("certificate.revoked_by_change", actor=actor, target=subject,
                     detail={"cause": "pin_forgotten", "count": count})
    queue_mail("cert_request_received", subject.email, name=subject.display_name,
               reason=reason.label, revoked=count > 0)
    notify(user_id=subject.id, company_id=subject.company_id, link=kyc_link(),
           text="電子証明書発行依頼を受け付けました。本人確認書類のアップロードをお願いします。")
    return request
