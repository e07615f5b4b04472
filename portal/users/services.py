"""User management rules (USR-1…USR-7), powers of attorney (USR-3, CERT-3,
SIGN-4), certificate issuance requests (CERT-2) and company info (CO-1, CO-2).

Functions take explicit arguments and work in the caller's transaction; the
views commit. Every change is audited; every certificate effect goes through
``portal.users.signing`` (the remote-signing adapter) and the PoA is signed
with the certificates area's signing dialog (``portal.certs.dialog``).
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum
from typing import Any

from flask import current_app
from sqlalchemy import func, select

from portal import audit
from portal.auth import sessions
from portal.auth.services import new_mypage_id, set_password
from portal.certs import dialog
from portal.certs import messages as cert_messages
from portal.clock import as_utc, now, to_jst
from portal.crypto import generate_temporary_password, seal, unseal
from portal.errors import DomainError, Forbidden, IllegalTransition, NotFound
from portal.extensions import db
from portal.filestore import get_file_store
from portal.i18n import gettext
from portal.mail import queue_mail
from portal.models import (
    Company,
    CompanyKind,
    CustomerRole,
    CustomerUser,
    StaffUser,
    UserState,
)
from portal.notices import notify
from portal.permissions import MANAGERS, SIGNING_ROLES, Permission, can
from portal.users import poa_document, signing
from portal.users.models import (
    CERT_REQUEST_TRANSITIONS,
    CertificateRequest,
    CertReason,
    CertRequestState,
    DraftKind,
    PoaKind,
    PoaPurpose,
    PowerOfAttorney,
    UserDraft,
)
from remote_signing.client import PinProof
from remote_signing.pdf import SignatureOptions

MAX_USERS = 10  # USR-1, including the representative
POA_SIGNING_REASON = "委任状への電子署名"
DRAFT_TTL = timedelta(minutes=30)
R = CustomerRole

MSG_ONLY_CORPORATION = "ユーザの追加は法人のお客さまのみご利用いただけます。"
MSG_TOO_MANY = (f"登録できるユーザは代表者を含めて最大{MAX_USERS}名までです。"
                "不要なユーザを削除してから登録してください。")
MSG_HANDOVER = ("代表者は1名のみ登録できます（代表者交代の手続き中は2名まで）。"
                "旧代表者を削除してから新しい代表者を登録してください。")
MSG_EMAIL_IN_USE = ("このメールアドレスは既に登録されています。"
                    "メールアドレスの共有はできませんので、別のメールアドレスを入力してください。")
MSG_ROLE_CHANGE = ("登録情報の変更では権限の変更はできません。権限を変更する場合は、"
                   "ユーザを削除してから新しいユーザとして登録してください。")
MSG_DELETE_SELF = "ご自身のユーザは削除できません。"
MSG_DELETE_LAST_REP = ("代表者を削除すると代表者がいなくなるため削除できません。"
                       "代表者交代の場合は、新しい代表者を登録してから旧代表者を削除してください。")
MSG_DELETE_CERT_PENDING = ("電子証明書発行依頼中のユーザは削除できません。"
                           "削除が必要な場合は、お取引店担当者までご連絡ください。")
MSG_DRAFT = "入力内容の有効期限が切れました。お手数ですが、最初から入力してください。"
MSG_POA_METHOD = "委任状登録方法を選択してください。"
MSG_POA_FILE = "委任状ファイルをアップロードしてください。"
MSG_POA_FORMAT = ("委任状はPDFまたは画像ファイル（jpg, jpeg, png, gif, bmp, tif, tiff）で"
                  "アップロードしてください。")
MSG_CERT_OPEN = "このユーザは既に電子証明書発行依頼中です。"
MSG_COMPANY_BY_BANK = ("お客さまの企業情報の変更は、当金庫へ届出事項変更届を提出いただき、"
                       "当金庫で変更いたします。お取引店担当者までご連絡ください。")
MSG_COMPANY_BY_CUSTOMER = ("この契約者の企業情報は、お客さまご自身がMyPageで変更します"
                           "（預金口座取引店とお申込店が異なる、または預金口座のないお客さまです）。")
MSG_STALE = "他の操作で内容が更新されました。画面を開き直してから再度操作してください。"

PERSON_FIELDS = ("last_name", "first_name", "last_name_kana", "first_name_kana",
                 "last_name_en", "first_name_en", "birth_date", "mobile", "department", "title",
                 "personal_signing")
# The names a certificate carries (kana is not in the certificate subject).
NAME_FIELDS = ("last_name", "first_name", "last_name_en", "first_name_en")
COMPANY_NAME_FIELDS = ("name", "name_en")
UPLOAD_FORMATS = frozenset({"pdf", "jpeg", "png", "gif", "bmp", "tiff"})


class FieldError(DomainError):
    """A rule about one form field that needs the database (e.g. email in use)."""


# --- pure decisions (USR-3, CERT-3, CO-1) -------------------------------------------

def poa_options_for_new_user(role: CustomerRole) -> tuple[PoaKind, ...]:
    """USR-3: none for a representative or viewer; for an administrator or
    signer the system-created PoA (default, first) or an uploaded paper one."""
    if role in (R.REPRESENTATIVE, R.VIEWER):
        return (PoaKind.NONE,)
    return (PoaKind.SYSTEM, PoaKind.UPLOAD)


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


class CompanyEditChannel(StrEnum):
    BANK = "bank"  # 当金庫へ届出事項変更届: staff edit in the console
    MYPAGE = "mypage"  # the customer edits in MyPage


def company_edit_channel(company: Company) -> CompanyEditChannel:
    """CO-1 (guide §3.3): individuals always edit their own; a debtor, or a
    customer whose deposit branch is the application branch, asks the bank."""
    if CompanyKind(company.kind) is CompanyKind.INDIVIDUAL:
        return CompanyEditChannel.MYPAGE
    if company.is_debtor:
        return CompanyEditChannel.BANK
    if company.deposit_branch_id is not None \
            and company.deposit_branch_id == company.application_branch_id:
        return CompanyEditChannel.BANK
    return CompanyEditChannel.MYPAGE


def customer_may_edit_company(actor: CustomerUser, company: Company) -> bool:
    return (can(actor, Permission.COMPANY_EDIT, company)
            and company_edit_channel(company) is CompanyEditChannel.MYPAGE)


# --- queries ------------------------------------------------------------------------

def active_users(company_id: int) -> list[CustomerUser]:
    return list(db.session.execute(
        select(CustomerUser).where(CustomerUser.company_id == company_id,
                                   CustomerUser.state == UserState.ACTIVE)
        .order_by(CustomerUser.id)).scalars())


def _count(company_id: int, role: CustomerRole | None = None) -> int:
    query = select(func.count(CustomerUser.id)).where(
        CustomerUser.company_id == company_id, CustomerUser.state == UserState.ACTIVE)
    if role is not None:
        query = query.where(CustomerUser.role == role)
    return int(db.session.execute(query).scalar_one())


def email_taken(email: str, *, except_user_id: int | None = None) -> bool:
    lowered = email.lower()
    query = select(CustomerUser.id).where(
        (func.lower(CustomerUser.email) == lowered)
        | (func.lower(CustomerUser.pending_email) == lowered),
        CustomerUser.state != UserState.DELETED)
    if except_user_id is not None:
        query = query.where(CustomerUser.id != except_user_id)
    return db.session.execute(query.limit(1)).first() is not None


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
    issued_at = signing.certificate_issued_at(user)
    if issued_at is not None and as_utc(issued_at) > as_utc(request.created_at):
        transition_cert_request(request, CertRequestState.ISSUED)
        return None
    return request


def can_delete(actor: CustomerUser, target: CustomerUser) -> bool:
    """Whether the 削除 button shows (USR-6); delete_user enforces the same."""
    return (can(actor, Permission.USERS_DELETE, target) and open_cert_request(target) is None
            and not _is_last_representative(target))


def can_request_cert(actor: CustomerUser, subject: CustomerUser) -> bool:
    """Whether the 電子証明書発行依頼 button shows (CERT-3); start_cert_request
    enforces the same."""
    return (cert_request_poa(actor, subject) is not None
            and can(actor, Permission.CERTS_REQUEST, subject)
            and open_cert_request(subject) is None)


def _is_last_representative(user: CustomerUser) -> bool:
    return user.role == R.REPRESENTATIVE and _count(user.company_id, R.REPRESENTATIVE) <= 1


# --- drafts (entered data waiting for confirm / PoA) ---------------------------------

def _jsonable(data: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.isoformat() if isinstance(v, date) else v) for k, v in data.items()}


def _new_draft(kind: DraftKind, actor: CustomerUser, data: dict[str, Any], poa: PoaKind,
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


def _consume(draft: UserDraft) -> None:
    if draft.consumed_at is not None:
        raise DomainError(MSG_DRAFT)
    draft.consumed_at = now()


# --- paper PoA upload (USR-3, CERT-3; checked and scanned as KYC-3/4) ----------------

def _scanner() -> Any:
    from kyc.scanner import ClamdScanner

    return ClamdScanner.from_config(current_app.config)


def attach_upload(actor: CustomerUser, draft: UserDraft, filename: str | None,
                  data: bytes) -> None:
    """Checks (name, size, content, PDF/image only) and scans; keeps the clean
    file encrypted on the draft. A busy or unreachable scanner keeps it in
    quarantine (encrypted, unscanned) and says so (KYC-4)."""
    from kyc.checks import check_content
    from kyc.errors import ContentMismatch, ScanPending
    from kyc.inspection import check_before_scan, scan_or_raise
    from kyc.interfaces import ScannerUnavailable

    if draft.poa_kind != PoaKind.UPLOAD:
        raise DomainError(MSG_POA_METHOD, field="poa_method")
    try:
        limit = int(current_app.config["UPLOAD_MAX_BYTES"])
        checked = check_before_scan(filename, len(data), limit)
        try:
            fmt = check_content(data, checked)
        except ContentMismatch:
            _scan_for_the_log(data)  # malware in disguise shows up as malware
            raise
        if fmt not in UPLOAD_FORMATS:
            raise DomainError(MSG_POA_FORMAT, field="file")
        try:
            scan_or_raise(data, _scanner())
        except ScannerUnavailable:
            _keep_upload(draft, checked.original, data, scanned=False, fmt=fmt)
            audit.record("poa.upload_quarantined", actor=actor, target=draft,
                         detail={"format": fmt, "size": len(data)})
            raise ScanPending() from None
    except DomainError as exc:
        if not isinstance(exc, ScanPending):
            audit.record("poa.upload_refused", actor=actor, target=draft,
                         detail={"reason": getattr(exc, "code", "rejected"),
                                 "signature": getattr(exc, "signature", None)})
        raise
    _keep_upload(draft, checked.original, data, scanned=True, fmt=fmt)
    audit.record("poa.uploaded", actor=actor, target=draft,
                 detail={"format": fmt, "size": len(data),
                         "sha256": hashlib.sha256(data).hexdigest()})


def _scan_for_the_log(data: bytes) -> None:
    from kyc.inspection import scan_or_raise
    from kyc.interfaces import ScannerUnavailable

    try:
        scan_or_raise(data, _scanner())
    except ScannerUnavailable:
        pass


def _keep_upload(draft: UserDraft, name: str, data: bytes, *, scanned: bool,
                 fmt: str | None) -> None:
    """The caller commits right after (a replaced file is deleted here)."""
    store = get_file_store()
    if draft.upload_key:
        store.delete(draft.upload_key)
    draft.upload_key = store.put(data, kind="poa" if scanned else "quarantine")
    draft.upload_name = name[:255]
    draft.upload_format = fmt
    draft.upload_scanned = scanned


def retry_quarantined_upload(actor: CustomerUser, draft: UserDraft) -> None:
    """Retrying later completes a quarantined upload (KYC-4). Changes nothing
    while the scanner is still unavailable; the caller commits."""
    from kyc.errors import Infected, ScanPending
    from kyc.inspection import scan_or_raise
    from kyc.interfaces import ScannerUnavailable

    if not draft.upload_key or draft.upload_scanned:
        return
    try:
        scan_or_raise(get_file_store().get(draft.upload_key), _scanner())
    except ScannerUnavailable:
        raise ScanPending() from None
    except Infected as exc:
        audit.record("poa.upload_refused", actor=actor, target=draft,
                     detail={"reason": exc.code, "signature": exc.signature})
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
        from kyc.errors import ScanPending

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


def _poa_from_draft(draft: UserDraft, *, purpose: PoaPurpose, agent: CustomerUser,
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


def send_signing_code(actor: CustomerUser, draft: UserDraft, pin: str) -> dialog.CodeSent:
    """送信 on the PIN screen (SIGN-4 with the SIGN-2 dialog): the signing service
    checks the PIN (a wrong one is refused here, counted toward the PIN-5 lock and
    no code is mailed) and mails the code. Only the returned proof may wait for
    the code; the PIN is not kept."""
    if draft.poa_kind != PoaKind.SYSTEM:
        raise NotFound()
    try:
        sent = dialog.send_code(actor, pin)
    except DomainError as exc:
        _signing_failed(actor, draft, exc, step="pin")
        raise
    audit.record("poa.signing_code_sent", actor=actor, target=draft)
    return sent


def authenticate_poa(actor: CustomerUser, draft: UserDraft, *, proof: PinProof, code: str,
                     purpose: str) -> None:
    """認証 (SIGN-2, issue #13 item 10): the code and the PIN proof of 送信 authorize
    the PoA's prepared signature now; a wrong code is refused here with the
    attempts left (CertError on ``code``). The authorization waits under
    ``purpose`` for ``sign_poa``."""
    pdf = poa_pdf(draft, actor)
    try:
        dialog.authenticate(
            actor, purpose, [pdf], proof=proof, code=code,
            options=SignatureOptions(field_name="PoASignature", reason=POA_SIGNING_REASON,
                                     name=actor.display_name),
            description=POA_SIGNING_REASON)
    except DomainError as exc:
        _signing_failed(actor, draft, exc, step="code")
        raise
    audit.record("poa.authenticated", actor=actor, target=draft)


def sign_poa(actor: CustomerUser, draft: UserDraft, *, purpose: str) -> bytes:
    """電子署名 after 認証: the authorized PoA is signed (PAdES B-T); on any failure
    nothing is created (the caller starts again from the PIN)."""
    if draft.poa_kind != PoaKind.SYSTEM:
        raise NotFound()
    try:
        # None: the PoA was rendered for the occasion at 認証 (like the sample)
        [signed] = dialog.sign_authenticated(actor, purpose, None)
    except DomainError as exc:
        _signing_failed(actor, draft, exc, step="sign")
        raise
    audit.record("poa.signed", actor=actor, target=draft)
    return signed


def _signing_failed(actor: CustomerUser, draft: UserDraft, exc: DomainError, *,
                    step: str) -> None:
    audit.record("poa.signing_failed", actor=actor, target=draft,
                 detail={"step": step, "reason": exc.message})
    db.session.commit()  # the failure stays in the log even though nothing is created


# --- new user (USR-1, USR-3, USR-4, USR-7) -------------------------------------------

def _lock_company(company_id: int) -> None:
    """Serialises user changes of one company (PostgreSQL row lock), so two
    concurrent requests cannot make an 11th user or delete both representatives."""
    db.session.execute(select(Company.id).where(Company.id == company_id).with_for_update())


def check_room_for(company: Company, role: CustomerRole) -> None:
    if CompanyKind(company.kind) is not CompanyKind.CORPORATION:
        raise DomainError(MSG_ONLY_CORPORATION)
    if _count(company.id) >= MAX_USERS:
        raise DomainError(MSG_TOO_MANY)
    if R(role) is R.REPRESENTATIVE and _count(company.id, R.REPRESENTATIVE) >= 2:
        raise FieldError(MSG_HANDOVER, field="role")


def may_create_user(actor: CustomerUser) -> bool:
    """Whether ユーザ新規登録 shows: the right role in a corporation (USR-2, USR-3)."""
    return (can(actor, Permission.USERS_CREATE)
            and CompanyKind(actor.company.kind) is CompanyKind.CORPORATION)


def no_room_reason(company: Company) -> str | None:
    """USR-1 told when the form opens (#13 item 6), not after it is filled."""
    return MSG_TOO_MANY if _count(company.id) >= MAX_USERS else None


def _require_create(actor: CustomerUser) -> None:
    if not can(actor, Permission.USERS_CREATE):
        raise Forbidden()


def start_new_user(actor: CustomerUser, data: dict[str, Any]) -> UserDraft:
    """入力内容確認: checks the rules that need the database, keeps the input."""
    _require_create(actor)
    role = R(data["role"])
    check_room_for(actor.company, role)
    if email_taken(data["email"]):
        raise FieldError(MSG_EMAIL_IN_USE, field="email")
    options = poa_options_for_new_user(role)
    chosen = PoaKind(data.get("poa_method") or options[0])
    if chosen not in options:
        chosen = options[0] if len(options) == 1 else chosen
        if chosen not in options:
            raise FieldError(MSG_POA_METHOD, field="poa_method")
    data = dict(data, poa_method=chosen.value)
    return _new_draft(DraftKind.NEW_USER, actor, data, chosen)


def create_user(actor: CustomerUser, draft: UserDraft, *,
                signed_poa: bytes | None = None) -> CustomerUser:
    """登録: creates the user with a MyPageID and a temporary password, stores
    the PoA, and queues the three account mails (USR-4)."""
    _require_create(actor)
    if draft.actor_id != actor.id or draft.kind != DraftKind.NEW_USER:
        raise NotFound()
    data = draft_data(draft)
    role = R(data["role"])
    _lock_company(actor.company_id)
    check_room_for(actor.company, role)
    if email_taken(data["email"]):
        raise FieldError(MSG_EMAIL_IN_USE, field="email")
    if PoaKind(draft.poa_kind) is PoaKind.SYSTEM and signed_poa is None:
        raise DomainError("委任状への電子署名が必要です。")
    _consume(draft)
    user = CustomerUser(
        company_id=actor.company_id, mypage_id=new_mypage_id(), email=data["email"], role=role,
        **{k: data.get(k) for k in ("last_name", "first_name")},
        **{k: data.get(k) or "" for k in ("last_name_kana", "first_name_kana", "last_name_en",
                                          "first_name_en", "mobile", "department", "title")},
        birth_date=date.fromisoformat(data["birth_date"]) if data.get("birth_date") else None,
        personal_signing=bool(data.get("personal_signing")), state=UserState.ACTIVE,
        first_login_done=False)
    temporary = generate_temporary_password()
    set_password(user, temporary, temporary=True)
    db.session.add(user)
    db.session.flush()
    poa = _poa_from_draft(draft, purpose=PoaPurpose.USER_CREATION, agent=user, actor=actor,
                          signed_pdf=signed_poa)
    audit.record("user.created", actor=actor, target=user,
                 detail={"role": role.value, "mypage_id": user.mypage_id,
                         "poa": draft.poa_kind, "poa_id": poa.id if poa else None})
    _send_account_mails(user, temporary)
    if role is not R.VIEWER:  # HOME-2: the way to the certificate starts with documents
        notify(user_id=user.id, company_id=user.company_id, link=_kyc_link(),
               text="本人確認書類等のアップロードをお願いします。電子証明書の発行に必要です。")
    return user


def _send_account_mails(user: CustomerUser, temporary: str) -> None:
    from portal.mypage.services import send_account_mails

    send_account_mails(user, temporary)


# --- edit (USR-5) ------------------------------------------------------------------------

@dataclass
class EditResult:
    changed: list[str] = field(default_factory=list)
    name_changed: bool = False
    certificates_revoked: int = 0
    email_change_requested: bool = False


def get_user_for(actor: CustomerUser, permission: Permission, user_id: int) -> CustomerUser:
    """Another company's user, a deleted one, or one the actor may not touch: not found."""
    user = db.session.get(CustomerUser, user_id)
    if user is None or user.state != UserState.ACTIVE or user.company_id != actor.company_id:
        raise NotFound()
    if not can(actor, permission, user):
        raise NotFound() if permission is Permission.USERS_EDIT else Forbidden()
    return user


def update_user(actor: CustomerUser, target: CustomerUser, data: dict[str, Any], *,
                requested_role: str | None = None) -> EditResult:
    """ユーザ情報変更. A role in the request is refused (delete and re-create)."""
    if not can(actor, Permission.USERS_EDIT, target) or target.state != UserState.ACTIVE:
        raise NotFound()
    if requested_role is not None and requested_role != R(target.role).value:
        audit.record("user.role_change_refused", actor=actor, target=target,
                     detail={"requested": requested_role[:32]})
        db.session.commit()
        raise DomainError(MSG_ROLE_CHANGE, field="role")
    result = EditResult()
    for name in PERSON_FIELDS:
        if name not in data:
            continue
        value = data[name] if data[name] is not None else ("" if name != "birth_date" else None)
        if name == "personal_signing":
            value = bool(value)
        if getattr(target, name) != value:
            setattr(target, name, value)
            result.changed.append(name)
    result.name_changed = any(n in result.changed for n in NAME_FIELDS)
    new_email = data.get("email")
    if new_email and new_email.lower() != target.email.lower() \
            and new_email.lower() != (target.pending_email or "").lower():
        from portal.mypage.account import request_email_change

        request_email_change(actor, target, new_email)  # AUTH-6
        result.email_change_requested = True
    if result.changed:
        audit.record("user.updated", actor=actor, target=target,
                     detail={"fields": result.changed})
    if result.name_changed:
        db.session.flush()
        result.certificates_revoked = signing.revoke_certificate(
            target, reason="name_changed", actor=actor)
        audit.record("certificate.revoked_by_change", actor=actor, target=target,
                     detail={"cause": "name_changed", "count": result.certificates_revoked})
    return result


# --- delete (USR-6, USR-7) ---------------------------------------------------------------

def delete_user(actor: CustomerUser | StaffUser, target: CustomerUser) -> None:
    """Irreversible: the account is closed and anonymised, its certificate
    revoked and its sessions ended. Staff may delete during a certificate request."""
    is_staff = isinstance(actor, StaffUser)
    if target.state != UserState.ACTIVE:
        raise NotFound()
    if is_staff:
        if not can(actor, Permission.CONSOLE_CUSTOMERS_EDIT, target):
            raise NotFound()
    else:
        if target.company_id != actor.company_id:
            raise NotFound()
        if target.id == actor.id:
            raise DomainError(MSG_DELETE_SELF)
        if not can(actor, Permission.USERS_DELETE, target):
            raise Forbidden()
        if open_cert_request(target) is not None:
            raise DomainError(MSG_DELETE_CERT_PENDING)
    _lock_company(target.company_id)
    if _is_last_representative(target):
        raise DomainError(MSG_DELETE_LAST_REP)
    pending = open_cert_request(target)
    if pending is not None:
        transition_cert_request(pending, CertRequestState.CANCELLED, actor=actor)
    revoked = signing.revoke_certificate(target, reason="user_deleted", actor=actor)
    _close_account(target)
    sessions.end_all_sessions_of(target)
    audit.record("user.deleted", actor=actor, target=target, company_id=target.company_id,
                 detail={"role": R(target.role).value, "certificates_revoked": revoked})


def _close_account(user: CustomerUser) -> None:
    """Frees the email address for a new user (delete and re-create, USR-5)."""
    user.state = UserState.DELETED
    user.email = f"deleted-{user.id}-{secrets.token_hex(4)}@deleted.invalid"
    user.pending_email = None
    user.password_hash = "!"  # never verifies
    user.temp_password_expires_at = None


# --- certificate issuance request (CERT-2, CERT-3) --------------------------------------

def start_cert_request(actor: CustomerUser, subject: CustomerUser,
                       reason: CertReason) -> UserDraft:
    poa = cert_request_poa(actor, subject)
    if poa is None or not can(actor, Permission.CERTS_REQUEST, subject):
        raise NotFound()
    if open_cert_request(subject) is not None:
        raise DomainError(MSG_CERT_OPEN)
    return _new_draft(DraftKind.CERT_REQUEST, actor, {"reason": reason.value}, poa,
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
    if open_cert_request(subject) is not None:
        raise DomainError(MSG_CERT_OPEN)
    if PoaKind(draft.poa_kind) is PoaKind.SYSTEM and signed_poa is None:
        raise DomainError("委任状への電子署名が必要です。")
    reason = CertReason(draft_data(draft)["reason"])
    _consume(draft)
    poa = _poa_from_draft(draft, purpose=PoaPurpose.CERT_REQUEST, agent=subject, actor=actor,
                          signed_pdf=signed_poa)
    request = CertificateRequest(company_id=subject.company_id, subject_user_id=subject.id,
                                 requested_by=actor.id, reason=reason,
                                 poa_id=poa.id if poa else None,
                                 state=CertRequestState.REQUESTED)
    db.session.add(request)
    db.session.flush()
    audit.record("cert_request.created", actor=actor, target=request,
                 detail={"subject": subject.id, "reason": reason.value,
                         "poa": draft.poa_kind})
    count = 0
    if reason is CertReason.PIN_FORGOTTEN:  # CERT-2: at once for PIN失念
        count = signing.revoke_certificate(subject, reason="pin_forgotten", actor=actor)
        audit.record("certificate.revoked_by_change", actor=actor, target=subject,
                     detail={"cause": "pin_forgotten", "count": count})
    queue_mail("cert_request_received", subject.email, name=subject.display_name,
               reason=reason.label, revoked=count > 0)
    notify(user_id=subject.id, company_id=subject.company_id, link=_kyc_link(),
           text="電子証明書発行依頼を受け付けました。本人確認書類のアップロードをお願いします。")
    return request


def _kyc_link() -> str | None:
    from portal.web import url_for_safe

    link = url_for_safe("kyc.start")
    return None if link == "#" else link


def transition_cert_request(request: CertificateRequest, new: CertRequestState, *,
                            actor: Any = None) -> None:
    current = CertRequestState(request.state)
    if new not in CERT_REQUEST_TRANSITIONS[current]:
        raise IllegalTransition(gettext("この電子証明書発行依頼は既に%(state)sです。",
                                        state=gettext(current.label)))
    request.state = new
    request.completed_at = now()
    audit.record(f"cert_request.{new.value}", actor=actor, target=request,
                 company_id=request.company_id, detail={"from": current.value, "to": new.value})


def certificate_issued(user: CustomerUser, new_credential_id: str) -> int:
    """Called by the certificates area when a new certificate is issued: the
    open request is done and older certificates are revoked (CERT-2)."""
    request = open_cert_request(user)
    if request is None:
        return 0
    api = signing.client()
    revoked = 0
    try:
        for cred_id in signing.credential_ids_of(user, api):
            if cred_id != new_credential_id and api.credential_info(cred_id).status != "revoked":
                api.revoke(cred_id, "superseded")
                revoked += 1
    except signing.rs.SigningError as exc:
        raise cert_messages.from_signing_error(exc) from exc
    finally:
        api.close()
    transition_cert_request(request, CertRequestState.ISSUED)
    audit.record("certificate.superseded", target=user, company_id=user.company_id,
                 detail={"count": revoked, "new": new_credential_id})
    return revoked


# --- company info (CO-1, CO-2) -----------------------------------------------------------

COMPANY_FIELDS = ("name", "name_kana", "name_en", "postal_code", "address", "established_on",
                  "phone")


@dataclass
class CompanyEditResult:
    changed: list[str] = field(default_factory=list)
    name_changed: bool = False
    certificates_revoked: int = 0


def update_company(actor: CustomerUser | StaffUser, company: Company, data: dict[str, Any], *,
                   version: int | None = None) -> CompanyEditResult:
    """登録 of 契約者情報変更. A name change revokes every user's certificate."""
    if isinstance(actor, StaffUser):
        if not can(actor, Permission.CONSOLE_CUSTOMERS_EDIT, company):
            raise NotFound()
        if company_edit_channel(company) is not CompanyEditChannel.BANK:
            raise DomainError(MSG_COMPANY_BY_CUSTOMER)
    else:
        if company.id != actor.company_id:
            raise NotFound()
        if not can(actor, Permission.COMPANY_EDIT, company):
            raise Forbidden()
        if company_edit_channel(company) is not CompanyEditChannel.MYPAGE:
            raise DomainError(MSG_COMPANY_BY_BANK)
    if version is not None and version != company.version:
        raise DomainError(MSG_STALE)
    result = CompanyEditResult()
    for name in COMPANY_FIELDS:
        if name in data:
            value = data[name] if data[name] is not None else ("" if name != "established_on"
                                                               else None)
            if getattr(company, name) != value:
                setattr(company, name, value)
                result.changed.append(name)
    if not result.changed:
        return result
    result.name_changed = any(n in result.changed for n in COMPANY_NAME_FIELDS)
    audit.record("company.updated", actor=actor, target=company, company_id=company.id,
                 detail={"fields": result.changed})
    db.session.flush()
    if result.name_changed:
        for user in active_users(company.id):
            if R(user.role) in SIGNING_ROLES:
                result.certificates_revoked += signing.revoke_certificate(
                    user, reason="company_name_changed", actor=actor)
        audit.record("certificate.revoked_by_change", actor=actor, target=company,
                     company_id=company.id,
                     detail={"cause": "company_name_changed",
                             "count": result.certificates_revoked})
    return result
