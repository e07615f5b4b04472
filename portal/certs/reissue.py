"""電子証明書発行依頼 (CERT-2, CERT-3): who may ask for a new certificate for
whom and with which power of attorney, and the registration of a request with
its effects. The form, the draft and the PoA step before 登録 are the users
area's (``portal.users.cert_requests``), which calls this module; the request's
life cycle is ``portal.certs.requests``. Functions work in the caller's
transaction and the views commit."""

from __future__ import annotations

from portal import audit
from portal.errors import DomainError, NotFound
from portal.extensions import db
from portal.mail import queue_mail
from portal.models import CustomerRole, CustomerUser
from portal.notices import notify
from portal.permissions import MANAGERS, SIGNING_ROLES, Permission, can
from portal.web import served_url

from . import requests, services
from .models import CertificateRequest, CertReason, CertRequestState, PoaKind

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


def had_certificate(subject: CustomerUser) -> bool:
    """Guide §3.5.1: a request asks for a certificate again (記載事項変更, PIN失念,
    有効期限延長), so the subject holds or held one. A user's first certificate
    comes after the user is created (documents, then the PIN, CERT-1)."""
    return bool(services.certificates_of(subject))


def offered_poa(actor: CustomerUser, subject: CustomerUser) -> PoaKind | None:
    """The PoA kind when the actor may ask for a new certificate of the subject
    (CERT-3, the permission, a certificate to renew); ``None`` otherwise."""
    kind = cert_request_poa(actor, subject)
    if kind is None or not can(actor, Permission.CERTS_REQUEST, subject) \
            or not had_certificate(subject):
        return None
    return kind


def can_request_cert(actor: CustomerUser, subject: CustomerUser) -> bool:
    """Whether the 電子証明書発行依頼 button shows; ``requestable_poa`` enforces
    the same."""
    return offered_poa(actor, subject) is not None and requests.open_cert_request(subject) is None


def requestable_poa(actor: CustomerUser, subject: CustomerUser) -> PoaKind:
    """The PoA kind a request needs now; refuses like ``can_request_cert``."""
    kind = offered_poa(actor, subject)
    if kind is None:
        raise NotFound()
    if requests.open_cert_request(subject) is not None:
        raise DomainError(MSG_CERT_OPEN)
    return kind


def register_cert_request(actor: CustomerUser, subject: CustomerUser, reason: CertReason, *,
                          poa_kind: PoaKind, poa_id: int | None) -> CertificateRequest:
    """登録: the request exists; the subject uploads documents again, then
    registers a PIN (CERT-2). PIN失念 revokes the old certificate at once."""
    if requestable_poa(actor, subject) is not poa_kind:
        raise NotFound()
    request = CertificateRequest(company_id=subject.company_id, subject_user_id=subject.id,
                                 requested_by=actor.id, reason=reason, poa_id=poa_id,
                                 state=CertRequestState.REQUESTED)
    db.session.add(request)
    db.session.flush()
    audit.record("cert_request.created", actor=actor, target=request,
                 detail={"subject": subject.id, "reason": reason.value,
                         "poa": poa_kind.value})
    count = 0
    if reason is CertReason.PIN_FORGOTTEN:
        count = services.revoke_user_certificate(subject, "pin_forgotten", actor=actor)
        audit.record("certificate.revoked_by_change", actor=actor, target=subject,
                     detail={"cause": "pin_forgotten", "count": count})
    queue_mail("cert_request_received", subject.email, name=subject.display_name,
               reason=reason.label, revoked=count > 0)
    notify(user_id=subject.id, company_id=subject.company_id, link=served_url("kyc.start"),
           text="電子証明書発行依頼を受け付けました。本人確認書類のアップロードをお願いします。")
    return request

