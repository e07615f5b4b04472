"""Powers of attorney (委任状, USR-3, CERT-3, SIGN-4): the drafts that wait for
the PoA step (confirm → sign / upload → 登録), the paper PoA upload, the
system-created PoA signed with the signing dialog (``portal.certs.dialog``) and
the stored PoA. Functions work in the caller's transaction; the views commit."""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Generic, TypeVar

from flask import current_app
from sqlalchemy import select

from kyc.interfaces import scanner_from_config
from portal import audit
from portal.certs import dialog
from portal.certs.models import PoaKind
from portal.clock import as_utc, now, to_jst
from portal.crypto import seal, unseal
from portal.errors import DomainError, NotFound
from portal.extensions import db
from portal.filestore import get_file_store
from portal.models import Company, CustomerRole, CustomerUser
from portal.scanning import ScannerUnavailable, VirusScanner
from portal.uploads import (
    AuditTo,
    Received,
    ScanPending,
    UploadAudit,
    UploadPolicy,
    receive,
    recheck,
)
from portal.users import poa_document
from portal.users.models import DraftKind, PoaPurpose, PowerOfAttorney, UserDraft
from remote_signing.pdf import SignatureOptions

POA_SIGNING_REASON = "委任状への電子署名"
T = TypeVar("T")
DRAFT_TTL = timedelta(minutes=30)
R = CustomerRole

MSG_DRAFT = "入力内容の有効期限が切れました。お手数ですが、最初から入力してください。"
MSG_POA_METHOD = "委任状登録方法を選択してください。"
MSG_POA_FILE = "委任状ファイルをアップロードしてください。"
MSG_POA_FORMAT = ("委任状はPDFまたは画像ファイル（jpg, jpeg, png, gif, bmp, tif, tiff）で"
                  "アップロードしてください。")
MSG_SIGNATURE_NEEDED = "委任状への電子署名が必要です。"
UPLOAD_FORMATS = frozenset({"pdf", "jpeg", "png", "gif", "bmp", "tiff"})


def poa_options_for_new_user(role: CustomerRole) -> tuple[PoaKind, ...]:
    """USR-3: none for a representative or viewer; for an administrator or
    signer the system-created PoA (default, first) or an uploaded paper one."""
    if role in (R.REPRESENTATIVE, R.VIEWER):
        return (PoaKind.NONE,)
    return (PoaKind.SYSTEM, PoaKind.UPLOAD)


# --- drafts (entered data waiting for confirm / PoA) ---------------------------------

def _jsonable(data: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.isoformat() if isinstance(v, date) else v) for k, v in data.items()}


def new_draft(kind: DraftKind, actor: CustomerUser, data: dict[str, Any], poa: PoaKind,
               subject: CustomerUser | None = None) -> UserDraft:
    handle = secrets.token_urlsafe(24)
    draft = UserDraft(
        handle=handle, kind=kind, company_id=actor.company_id, actor_id=actor.id,
        subject_user_id=subject.id if subject else None, poa_kind=poa,
        payload_sealed=seal(json.dumps(_jsonable(data), ensure_ascii=False).encode(),
                            context=f"draft:{handle}".encode()),
        expires_at=now() + DRAFT_TTL)
    db.session.add(draft)
    db.session.flush()
    return draft


def draft_data(draft: UserDraft) -> dict[str, Any]:
    raw = unseal(draft.payload_sealed, context=f"draft:{draft.handle}".encode())
    data: dict[str, Any] = json.loads(raw)
    return data


def get_draft(actor: CustomerUser, handle: str, kind: DraftKind) -> UserDraft:
    """Only the actor's own live draft; anything else looks like 'expired'."""
    draft = db.session.execute(
        select(UserDraft).where(UserDraft.handle == handle)).scalar_one_or_none()
    if (draft is None or draft.actor_id != actor.id or draft.kind != kind
            or draft.consumed_at is not None or now() > as_utc(draft.expires_at)):
        raise DomainError(MSG_DRAFT)
    return draft


def consume_draft(draft: UserDraft) -> None:
    if draft.consumed_at is not None:
        raise DomainError(MSG_DRAFT)
    draft.consumed_at = now()


# --- paper PoA upload (USR-3, CERT-3; checked and scanned as KYC-3/4) ----------------

UPLOAD_AUDIT = UploadAudit(refused="poa.upload_refused", infected="poa.upload_refused",
                           stored="poa.uploaded", quarantined="poa.upload_quarantined")


def _scanner() -> VirusScanner:
    return scanner_from_config(current_app.config)


def _pdf_or_image(data: bytes, fmt: str) -> None:
    if fmt not in UPLOAD_FORMATS:
        raise DomainError(MSG_POA_FORMAT, field="file")


def upload_policy(limit: int | None = None) -> UploadPolicy:
    """KYC-3/KYC-4's checks, PDF or image only, stored as ``poa``; no verdict
    keeps the encrypted bytes on the draft, unscanned (quarantine)."""
    return UploadPolicy(limit=int(current_app.config["UPLOAD_MAX_BYTES"]) if limit is None
                        else limit, audit=UPLOAD_AUDIT, store_kind="poa",
                        checks=(_pdf_or_image,), quarantine=True)


def attach_upload(actor: CustomerUser, draft: UserDraft, filename: str | None,
                  data: bytes) -> None:
    """The upload pipeline (``portal.uploads``) checks, scans and keeps the clean
    file encrypted on the draft. A busy or unreachable scanner keeps it in
    quarantine (encrypted, unscanned) and says so (KYC-4)."""
    if draft.poa_kind != PoaKind.UPLOAD:
        raise DomainError(MSG_POA_METHOD, field="poa_method")
    kept = receive(filename, data, upload_policy(), scanner=_scanner(),
                   audit_to=AuditTo(actor, draft), keep=lambda r: _keep_upload(draft, r))
    if not kept.upload_scanned:
        raise ScanPending()


def _keep_upload(draft: UserDraft, received: Received) -> UserDraft:
    """The caller commits right after (a replaced file is deleted here)."""
    if draft.upload_key:
        get_file_store().delete(draft.upload_key)
    draft.upload_key = received.key
    draft.upload_name = received.name.original[:255]
    draft.upload_format = received.format
    draft.upload_scanned = not received.held
    return draft


def retry_quarantined_upload(actor: CustomerUser, draft: UserDraft) -> None:
    """Retrying later completes a quarantined upload (KYC-4). Changes nothing
    while the scanner is still unavailable; the caller commits."""
    if not draft.upload_key or draft.upload_scanned:
        return
    data = get_file_store().get(draft.upload_key)
    try:
        recheck(draft.upload_name, data, upload_policy(max(len(data), 1)), scanner=_scanner(),
                audit_to=AuditTo(actor, draft))
    except ScannerUnavailable:
        raise ScanPending() from None
    except DomainError:  # infected: refused and audited by the pipeline
        get_file_store().delete(draft.upload_key)
        draft.upload_key = None
        draft.upload_scanned = False
        raise
    draft.upload_scanned = True
    audit.record("poa.uploaded", actor=actor, target=draft,
                 detail={"format": draft.upload_format, "after_quarantine": True})


def _require_clean_upload(draft: UserDraft) -> None:
    if not draft.upload_key:
        raise DomainError(MSG_POA_FILE, field="file")
    if not draft.upload_scanned:
        raise ScanPending()


def _store_poa(draft: UserDraft, *, kind: PoaKind, purpose: PoaPurpose, agent: CustomerUser,
               registered_by: CustomerUser, data: bytes, filename: str, fmt: str,
               key: str | None = None) -> PowerOfAttorney:
    key = key or get_file_store().put(data, kind="poa")
    poa = PowerOfAttorney(company_id=agent.company_id, kind=kind, purpose=purpose,
                          agent_user_id=agent.id, registered_by=registered_by.id, file_key=key,
                          filename=filename, content_format=fmt,
                          sha256=hashlib.sha256(data).hexdigest(), size=len(data))
    db.session.add(poa)
    db.session.flush()
    audit.record("poa.stored", actor=registered_by, target=poa,
                 detail={"kind": kind.value, "purpose": purpose.value, "agent": agent.id,
                         "sha256": poa.sha256})
    return poa


def poa_from_draft(draft: UserDraft, *, purpose: PoaPurpose, agent: CustomerUser,
                    actor: CustomerUser, signed_pdf: bytes | None) -> PowerOfAttorney | None:
    kind = PoaKind(draft.poa_kind)
    if kind is PoaKind.NONE:
        return None
    if kind is PoaKind.SYSTEM:
        assert signed_pdf is not None
        return _store_poa(draft, kind=kind, purpose=purpose, agent=agent, registered_by=actor,
                          data=signed_pdf, filename="委任状.pdf", fmt="pdf")
    _require_clean_upload(draft)
    assert draft.upload_key
    data = get_file_store().get(draft.upload_key)
    # The scanned file becomes the PoA as it is stored (no copy, nothing deleted).
    return _store_poa(draft, kind=kind, purpose=purpose, agent=agent, registered_by=actor,
                      data=data, filename=draft.upload_name or "委任状",
                      fmt=draft.upload_format or "pdf", key=draft.upload_key)


# --- the system-created PoA (SIGN-4) -------------------------------------------------

def poa_content(draft: UserDraft, actor: CustomerUser) -> poa_document.PoaContent:
    data = draft_data(draft)
    if draft.kind == DraftKind.CERT_REQUEST:
        subject = db.session.get(CustomerUser, draft.subject_user_id)
        assert subject is not None
        agent, kana = subject.display_name, f"{subject.last_name_kana} {subject.first_name_kana}"
    else:
        agent = f"{data['last_name']} {data['first_name']}"
        kana = f"{data['last_name_kana']} {data['first_name_kana']}"
    company = db.session.get(Company, draft.company_id)
    assert company is not None
    return poa_document.PoaContent(
        bank_name=current_app.config.get("BANK_NAME", "株式会社サンプル銀行"),
        service_name=current_app.config.get("SERVICE_NAME", "電子契約サービス"),
        created_on=to_jst(draft.created_at).date(),
        company_name=company.name, agent_name=agent, agent_name_kana=kana.strip(),
        principal_name=actor.display_name, principal_title=actor.title or "")


def poa_pdf(draft: UserDraft, actor: CustomerUser) -> bytes:
    if draft.poa_kind != PoaKind.SYSTEM:
        raise NotFound()
    return poa_document.render(poa_content(draft, actor))


@dataclass(frozen=True)
class PoaSigning(Generic[T]):
    """The system-created PoA as the signing dialog's subject (SIGN-4 with the SIGN-2
    dialog, ``portal.certs.dialog``): rendered for the occasion (like the sample),
    signed after 認証, then ``register`` stores it with the new user or the
    certificate request in the same transaction (a refusal there creates nothing)."""

    actor: CustomerUser
    draft: UserDraft
    register: Callable[[bytes], T]
    checks_unchanged: bool = False

    @property
    def purpose(self) -> str:
        """What the dialog is bound to (with the user)."""
        return f"poa:{self.draft.handle}"

    @property
    def description(self) -> str:
        return POA_SIGNING_REASON

    def documents(self) -> list[bytes]:
        return [poa_pdf(self.draft, self.actor)]

    def options(self) -> list[SignatureOptions]:
        return [SignatureOptions(field_name="PoASignature", reason=POA_SIGNING_REASON,
                                 name=self.actor.display_name)]

    def record_code_sent(self, sent: dialog.CodeSent) -> None:
        audit.record("poa.signing_code_sent", actor=self.actor, target=self.draft)

    def record_authenticated(self) -> None:
        audit.record("poa.authenticated", actor=self.actor, target=self.draft)

    def record_signed(self, signed: list[bytes]) -> T:
        audit.record("poa.signed", actor=self.actor, target=self.draft)
        return self.register(signed[0])

    def record_refusal(self, refusal: dialog.Refusal) -> None:
        """The failure stays in the log even though nothing is created."""
        audit.record("poa.signing_failed", actor=self.actor, target=self.draft,
                     detail={"step": refusal.at.value, "reason": refusal.error.message})


