"""The users area's part of 電子証明書発行依頼 (CERT-2, CERT-3): the request's
draft and its PoA step (confirm → sign / upload → 登録), on the guide's
ユーザ情報の管理 pages. Who may ask with which PoA, and the request itself with
its effects, are the signing room's (``portal.certs.reissue``). Functions work
in the caller's transaction; the views commit."""

from __future__ import annotations

from portal.certs import reissue
from portal.certs.models import CertificateRequest, CertReason, PoaKind
from portal.errors import DomainError, NotFound
from portal.extensions import db
from portal.models import CustomerUser, UserState
from portal.users import poa
from portal.users.models import DraftKind, PoaPurpose, UserDraft


def start_cert_request(actor: CustomerUser, subject: CustomerUser,
                       reason: CertReason) -> UserDraft:
    kind = reissue.requestable_poa(actor, subject)
    return poa.new_draft(DraftKind.CERT_REQUEST, actor, {"reason": reason.value}, kind,
                         subject=subject)


def register_from_draft(actor: CustomerUser, draft: UserDraft, *,
                        signed_poa: bytes | None = None) -> CertificateRequest:
    """登録: stores the PoA and registers the request (``portal.certs.reissue``)."""
    if draft.actor_id != actor.id or draft.kind != DraftKind.CERT_REQUEST:
        raise NotFound()
    subject = db.session.get(CustomerUser, draft.subject_user_id)
    if subject is None or subject.state != UserState.ACTIVE:
        raise NotFound()
    kind = PoaKind(draft.poa_kind)
    if reissue.requestable_poa(actor, subject) is not kind:
        raise NotFound()
    if kind is PoaKind.SYSTEM and signed_poa is None:
        raise DomainError(poa.MSG_SIGNATURE_NEEDED)
    reason = CertReason(poa.draft_data(draft)["reason"])
    poa.consume_draft(draft)
    stored = poa.poa_from_draft(draft, purpose=PoaPurpose.CERT_REQUEST, agent=subject,
                                actor=actor, signed_pdf=signed_poa)
    return reissue.register_cert_request(actor, subject, reason, poa_kind=kind,
                                         poa_id=stored.id if stored else None)
