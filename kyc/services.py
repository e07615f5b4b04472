"""KYC rules: consent, uploads (check → scan → encrypt → store, or quarantine),
submission, review and the user-card status. Views pass explicit arguments;
nothing here reads the request. Callers commit."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from flask import current_app
from sqlalchemy import select

from kyc import blob_lifecycle as blobs
from kyc.consent_document import VERSION as CONSENT_VERSION
from kyc.document_types import (
    DocumentCategory,
    DocumentType,
    get_document_type,
    lookup,
    required_categories,
)
from kyc.errors import DocumentTypeNotAllowed
from kyc.interfaces import scanner_from_config
from kyc.models import (
    TRANSITIONS,
    KycConsent,
    KycFile,
    KycQuarantine,
    KycState,
    KycSubmission,
    QuarantineState,
)
from portal import audit
from portal.clock import now
from portal.errors import DomainError, NotFound
from portal.extensions import db
from portal.filestore import get_file_store
from portal.i18n import gettext
from portal.mail import queue_mail
from portal.models import Company, CustomerUser, StaffUser
from portal.notices import notify
from portal.scanning import ScannerUnavailable, VirusScanner
from portal.states import Lifecycle
from portal.uploads import (
    CONTENT_TYPES,
    PREVIEWABLE_IMAGES,
    AuditTo,
    Infected,
    Received,
    UploadAudit,
    UploadPolicy,
    UploadRejected,
    receive,
    recheck,
)
from portal.web import url_for_safe

MSG_CONSENT_REQUIRED = "「内容について確認し、理解しました」にチェックしてください。"
MSG_NOT_EDITABLE = "この本人確認書類はすでに送信済みのため、変更できません。"
MSG_INCOMPLETE = ("アップロードされていない書類があります。"
                  "すべての書類をアップロードしてから送信してください。")
MSG_SCAN_OUTSTANDING = ("ウイルススキャン中のファイルがあります。"
                        "しばらく時間を置いてから再度操作をしてください")
MSG_UNDER_REVIEW = ("ご提出いただいた本人確認書類を当金庫で確認中です。"
                    "確認が完了するまでお待ちください。")
MSG_REASON_REQUIRED = "差戻し理由を入力してください。"
MSG_ILLEGAL_TRANSITION = "この本人確認書類は「%(current)s」のため、この操作はできません。"


class UploadOutcome(StrEnum):
    STORED = "stored"
    PENDING = "pending"  # in quarantine; the user sees the scan-pending message


@dataclass(frozen=True)
class UploadResult:
    outcome: UploadOutcome
    file: KycFile | None = None
    quarantine: KycQuarantine | None = None


# --- configuration ----------------------------------------------------------------------

def default_scanner() -> VirusScanner:
    return scanner_from_config(current_app.config)


def upload_limit() -> int:
    return int(current_app.config["UPLOAD_MAX_BYTES"])


UPLOAD_AUDIT = UploadAudit(refused="kyc.file.refused", infected="kyc.file.infected",
                           stored="kyc.file.stored", quarantined="kyc.file.quarantined")


def upload_policy(limit: int | None = None) -> UploadPolicy:
    """KYC-3/KYC-4: every document format, stored as ``kyc``; no verdict
    keeps the encrypted bytes in quarantine (``KycQuarantine``)."""
    return UploadPolicy(limit=upload_limit() if limit is None else limit, audit=UPLOAD_AUDIT,
                        store_kind="kyc", quarantine=True)


# --- state machine ----------------------------------------------------------------------

KYC_LIFECYCLE: Lifecycle[KycState] = Lifecycle(
    KycState, TRANSITIONS, "kyc.submission.{to}", refusal=MSG_ILLEGAL_TRANSITION)


# --- consent (KYC-1) --------------------------------------------------------------------

def latest_submission(user: CustomerUser) -> KycSubmission | None:
    return db.session.execute(
        select(KycSubmission).where(KycSubmission.user_id == user.id)
        .order_by(KycSubmission.id.desc()).limit(1)
    ).scalar_one_or_none()


def open_draft(user: CustomerUser) -> KycSubmission | None:
    latest = latest_submission(user)
    return latest if latest is not None and latest.state == KycState.DRAFT else None


def agree(user: CustomerUser, *, understood: bool, ip: str = "") -> KycSubmission:
    """同意します: records the consent and opens (or reuses) the draft submission."""
    if not understood:
        raise DomainError(MSG_CONSENT_REQUIRED, field="understood")
    latest = latest_submission(user)
    if latest is not None and latest.state == KycState.SUBMITTED:
        raise DomainError(MSG_UNDER_REVIEW)
    consent = KycConsent(user_id=user.id, document_version=CONSENT_VERSION, agreed_at=now(), ip=ip)
    db.session.add(consent)
    db.session.flush()
    audit.record("kyc.consent.agreed", actor=user, target=consent,
                 detail={"version": CONSENT_VERSION})
    draft = open_draft(user)
    if draft is None:
        draft = KycSubmission(user_id=user.id, company_id=user.company_id, consent_id=consent.id,
                              state=KycState.DRAFT, created_at=now())
        db.session.add(draft)
    else:
        draft.consent_id = consent.id
    db.session.flush()
    return draft


def decline(user: CustomerUser) -> None:
    audit.record("kyc.consent.declined", actor=user, detail={"version": CONSENT_VERSION})


# --- access -----------------------------------------------------------------------------

def draft_for_owner(user: CustomerUser, submission_id: int) -> KycSubmission:
    """Another user's submission looks like "not found" (AUD-4)."""
    submission = db.session.get(KycSubmission, submission_id)
    if submission is None or submission.user_id != user.id:
        raise NotFound()
    return submission


def _editable(submission: KycSubmission) -> None:
    if submission.state != KycState.DRAFT:
        raise DomainError(MSG_NOT_EDITABLE)


def file_of(submission: KycSubmission, file_id: int) -> KycFile:
    found = db.session.get(KycFile, file_id)
    if found is None or found.submission_id != submission.id:
        raise NotFound()
    return found


# --- document types (KYC-2) -------------------------------------------------------------

def chosen_type(submission: KycSubmission, category: DocumentCategory) -> DocumentType | None:
    code = (submission.identity_type if category is DocumentCategory.IDENTITY
            else submission.employment_type)
    return lookup(code) if code else None


def choose_type(user: CustomerUser, submission: KycSubmission, category: DocumentCategory,
                code: str) -> DocumentType:
    _editable(submission)
    doc_type = get_document_type(code, category, user.company.kind)
    previous = chosen_type(submission, category)
    if previous is not None and previous.code == doc_type.code:
        return doc_type
    if category is DocumentCategory.IDENTITY:
        submission.identity_type = doc_type.code
    else:
        submission.employment_type = doc_type.code
    for old in [f for f in submission.files if f.category == category]:
        _delete_file(old)
    for entry in _pending(submission, category=category):
        _close_quarantine(entry, QuarantineState.SUPERSEDED)
    audit.record("kyc.document_type.chosen", actor=user, target=submission,
                 detail={"category": str(category), "type": doc_type.code})
    return doc_type


# --- upload (KYC-3, KYC-4, KYC-5) -------------------------------------------------------

def upload_file(user: CustomerUser, submission: KycSubmission, category: DocumentCategory,
                slot_key: str, filename: str | None, data: bytes, *,
                scanner: VirusScanner | None = None, limit: int | None = None) -> UploadResult:
    """Check, scan, encrypt and store one file for one slot (``portal.uploads``).

    Refusals raise ``UploadRejected`` after adding an audit entry (the caller
    commits so the entry survives). Scanner trouble puts the bytes in the
    encrypted quarantine and returns ``PENDING``; nothing unscanned is accepted.
    """
    _editable(submission)
    doc_type = chosen_type(submission, category)
    if doc_type is None:
        raise DocumentTypeNotAllowed(gettext("%(category)sの種類を選択してください。",
                                             category=gettext(category.label)))
    slot = doc_type.slot(slot_key)
    where = {"category": str(category), "type": doc_type.code, "slot": slot.key}

    def keep(received: Received) -> KycFile | KycQuarantine:
        assert received.key is not None  # the KYC policy stores every file it accepts
        blobs.written(received.key)
        if received.held:
            return _quarantine(user, submission, doc_type, slot.key, received, received.key)
        for entry in _pending(submission, category=category, slot=slot.key):
            _close_quarantine(entry, QuarantineState.SUPERSEDED)
        return _store(submission, doc_type, slot.key, received, received.key)

    kept = receive(filename, data, upload_policy(limit), scanner=scanner or default_scanner(),
                   audit_to=AuditTo(user, submission, submission.company_id, where), keep=keep)
    if isinstance(kept, KycQuarantine):
        return UploadResult(UploadOutcome.PENDING, quarantine=kept)
    return UploadResult(UploadOutcome.STORED, file=kept)


def _store(submission: KycSubmission, doc_type: DocumentType, slot_key: str,
           received: Received, key: str) -> KycFile:
    """Records an already encrypted, scanned blob as the slot's file."""
    category = str(doc_type.category)
    for old in [f for f in submission.files if f.category == category and f.slot == slot_key]:
        _delete_file(old)
    db.session.flush()
    stored = KycFile(submission_id=submission.id, category=category, document_type=doc_type.code,
                     slot=slot_key, storage_key=key, original_name=received.name.original,
                     format=received.format, size=received.size, sha256=received.sha256,
                     uploaded_at=now())
    db.session.add(stored)
    submission.files.append(stored)
    db.session.flush()
    return stored


def _delete_file(file: KycFile) -> None:
    blobs.delete_after_commit(file.storage_key)
    if file in file.submission.files:
        file.submission.files.remove(file)
    db.session.delete(file)


def delete_file(user: CustomerUser, submission: KycSubmission, file_id: int) -> None:
    _editable(submission)
    found = file_of(submission, file_id)
    audit.record("kyc.file.deleted", actor=user, target=found, company_id=submission.company_id,
                 detail={"slot": found.slot, "category": found.category})
    _delete_file(found)


# --- quarantine -------------------------------------------------------------------------

def _quarantine(user: CustomerUser, submission: KycSubmission, doc_type: DocumentType,
                slot_key: str, received: Received, key: str) -> KycQuarantine:
    category = str(doc_type.category)
    for old in _pending(submission, category=category, slot=slot_key):
        _close_quarantine(old, QuarantineState.SUPERSEDED)
    entry = KycQuarantine(
        submission_id=submission.id, user_id=user.id, category=category,
        document_type=doc_type.code, slot=slot_key, storage_key=key,
        original_name=received.name.original[:300], size=received.size,
        sha256=received.sha256, state=QuarantineState.PENDING, attempts=1,
        last_reason=str(received.unscanned), created_at=now(),
    )
    db.session.add(entry)
    db.session.flush()
    return entry


def _pending(submission: KycSubmission, *, category: DocumentCategory | str | None = None,
             slot: str | None = None) -> Sequence[KycQuarantine]:
    query = select(KycQuarantine).where(KycQuarantine.submission_id == submission.id,
                                        KycQuarantine.state == QuarantineState.PENDING)
    if category is not None:
        query = query.where(KycQuarantine.category == str(category))
    if slot is not None:
        query = query.where(KycQuarantine.slot == slot)
    return db.session.execute(query.order_by(KycQuarantine.id)).scalars().all()


def pending_entries(submission: KycSubmission) -> Sequence[KycQuarantine]:
    return _pending(submission)


def _close_quarantine(entry: KycQuarantine, state: QuarantineState) -> None:
    if entry.storage_key:
        blobs.delete_after_commit(entry.storage_key)
    entry.storage_key = None
    entry.state = state
    entry.resolved_at = now()


def rescan(entry: KycQuarantine, *, actor: Any = None,
           scanner: VirusScanner | None = None) -> QuarantineState:
    """Scan quarantined bytes again; on a verdict the entry leaves quarantine.

    A submission that is no longer a draft cannot take the file any more, so
    its entry is closed as superseded."""
    if entry.state != QuarantineState.PENDING or entry.storage_key is None:
        return QuarantineState(entry.state)
    submission = entry.submission
    if submission.state != KycState.DRAFT:
        _close_quarantine(entry, QuarantineState.SUPERSEDED)
        return QuarantineState.SUPERSEDED
    data = get_file_store().get(entry.storage_key)
    doc_type = lookup(entry.document_type)
    where = {"category": entry.category, "type": entry.document_type, "slot": entry.slot,
             "quarantine_id": str(entry.id)}
    try:
        checked = recheck(entry.original_name, data, upload_policy(max(len(data), 1)),
                          scanner=scanner or default_scanner(),
                          audit_to=AuditTo(actor, submission, submission.company_id, where))
    except ScannerUnavailable as unavailable:
        entry.attempts += 1
        entry.last_reason = str(unavailable.reason)
        return QuarantineState.PENDING
    except Infected:
        _close_quarantine(entry, QuarantineState.INFECTED)
        return QuarantineState.INFECTED
    except UploadRejected:
        _close_quarantine(entry, QuarantineState.REFUSED)
        return QuarantineState.REFUSED
    key, entry.storage_key = entry.storage_key, None  # the blob moves to the stored file
    stored = _store(submission, doc_type, entry.slot, checked, key)
    audit.record("kyc.file.released", actor=actor, target=stored,
                 company_id=submission.company_id,
                 detail={**where, "size": checked.size, "sha256": checked.sha256})
    _close_quarantine(entry, QuarantineState.RELEASED)
    return QuarantineState.RELEASED


def retry_pending(user: CustomerUser, submission: KycSubmission, entry_id: int, *,
                  scanner: VirusScanner | None = None) -> QuarantineState:
    entry = db.session.get(KycQuarantine, entry_id)
    if entry is None or entry.submission_id != submission.id:
        raise NotFound()
    _editable(submission)
    return rescan(entry, actor=user, scanner=scanner)


def rescan_all(*, scanner: VirusScanner | None = None) -> dict[str, int]:
    """The background path (``flask kyc rescan``): one commit per entry."""
    counts: dict[str, int] = {}
    ids = db.session.execute(
        select(KycQuarantine.id).where(KycQuarantine.state == QuarantineState.PENDING)
        .order_by(KycQuarantine.id)
    ).scalars().all()
    for entry_id in ids:
        entry = db.session.get(KycQuarantine, entry_id)
        if entry is None:
            continue
        result = rescan(entry, scanner=scanner)
        db.session.commit()
        counts[result.value] = counts.get(result.value, 0) + 1
    return counts


# --- submit (送信) ------------------------------------------------------------------------

def missing_slots(submission: KycSubmission) -> list[str]:
    """Labels of the files still needed, in page order."""
    missing: list[str] = []
    have = {(f.category, f.slot) for f in submission.files}
    for category in required_categories(submission.company.kind):
        doc_type = chosen_type(submission, category)
        if doc_type is None:
            missing.append(category.label)
            continue
        missing += [s.label for s in doc_type.slots if (str(category), s.key) not in have]
    return missing


def submit(user: CustomerUser, submission: KycSubmission) -> None:
    _editable(submission)
    if _pending(submission):
        raise DomainError(MSG_SCAN_OUTSTANDING)
    if missing_slots(submission):
        raise DomainError(MSG_INCOMPLETE)
    KYC_LIFECYCLE.move(submission, KycState.SUBMITTED, actor=user,
                       detail={"identity": submission.identity_type or "",
                               "employment": submission.employment_type or ""})
    submission.submitted_at = now()


# --- review (KYC-6) ---------------------------------------------------------------------

def submissions_for_branch(staff: StaffUser, *, state: KycState | None) -> list[KycSubmission]:
    if staff.branch_id is None:
        return []
    query = (
        select(KycSubmission).join(Company, Company.id == KycSubmission.company_id)
        .where((Company.application_branch_id == staff.branch_id)
               | (Company.deposit_branch_id == staff.branch_id))
        .where(KycSubmission.state != KycState.DRAFT)
        .order_by(KycSubmission.submitted_at.desc(), KycSubmission.id.desc())
    )
    if state is not None:
        query = query.where(KycSubmission.state == state)
    return list(db.session.execute(query).scalars())


def _hold(submission: KycSubmission) -> None:
    """Fresh state under the submission's row lock (PostgreSQL; SQLite's BEGIN
    IMMEDIATE already serializes): two reviewers clicking at once make one
    decision, the other gets the state-transition refusal."""
    db.session.refresh(submission, with_for_update=True)


def approve(staff: StaffUser, submission: KycSubmission) -> None:
    _hold(submission)
    KYC_LIFECYCLE.move(submission, KycState.APPROVED, actor=staff)
    submission.reviewed_at = now()
    submission.reviewed_by = staff.id
    user = submission.user
    queue_mail("kyc_initial_pin_request", user.email, name=user.display_name)
    notify(user_id=user.id, company_id=user.company_id, link=_pin_link(),
           text="本人確認書類の確認が完了しました。初期PINの登録をお願いします。")


def _pin_link() -> str | None:
    """HOME-2: the notice opens 初期PIN登録, which leads on to 発行 (#13 item 2)."""
    try:
        link = url_for_safe("certs.register_pin")
    except RuntimeError:  # no request context (a CLI job)
        return None
    return None if link == "#" else link


def reject(staff: StaffUser, submission: KycSubmission, reason: str) -> None:
    reason = reason.strip()
    if not reason:
        raise DomainError(MSG_REASON_REQUIRED, field="reason")
    _hold(submission)
    KYC_LIFECYCLE.move(submission, KycState.REJECTED, actor=staff, detail={"reason": reason})
    submission.reviewed_at = now()
    submission.reviewed_by = staff.id
    submission.reject_reason = reason
    user = submission.user
    queue_mail("kyc_rejected", user.email, name=user.display_name, reason=reason)
    notify(user_id=user.id, company_id=user.company_id,
           text="本人確認書類を差戻しました。理由をご確認のうえ、再度アップロードをお願いします。")


# --- downloads (KYC-5) ------------------------------------------------------------------

@dataclass(frozen=True)
class Download:
    data: bytes
    filename: str
    content_type: str
    inline_ok: bool


def read_file(actor: Any, stored: KycFile, *, purpose: str) -> Download:
    data = get_file_store().get(stored.storage_key)
    audit.record(f"kyc.file.{purpose}", actor=actor, target=stored,
                 company_id=stored.submission.company_id, detail={"slot": stored.slot})
    return Download(data=data, filename=stored.original_name,
                    content_type=CONTENT_TYPES[stored.format],
                    inline_ok=stored.format in PREVIEWABLE_IMAGES)


# --- status line (CERT-6) ---------------------------------------------------------------

STATUS_TEXT = {
    KycState.DRAFT: "本人確認書類アップロード待ち",
    KycState.SUBMITTED: "本人確認書類確認中",
    KycState.REJECTED: "本人確認書類差戻し",
    KycState.APPROVED: "PIN登録待ち",
}


def kyc_status(user: CustomerUser) -> str:
    """The KYC part of the user-card status. The card itself shows
    ``portal.certs`` 's CERT-6 line, which reads ``latest_submission`` too."""
    latest = latest_submission(user)
    if latest is None:
        return "本人確認書類アップロード待ち"
    return STATUS_TEXT[KycState(latest.state)]


def kyc_approved(user: CustomerUser) -> bool:
    return db.session.execute(
        select(KycSubmission.id).where(KycSubmission.user_id == user.id,
                                       KycSubmission.state == KycState.APPROVED).limit(1)
    ).first() is not None


