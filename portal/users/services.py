"""User management inside a company (USR-1…USR-7): the 10-user limit, new
users (with their PoA step, ``portal.users.poa``), edits and deletion.

Functions take explicit arguments and work in the caller's transaction; the
views commit. Every change is audited; a certificate effect (CERT-4) goes
through the signing room (``portal.certs``).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import func, select

from portal import audit
from portal.auth import sessions
from portal.auth.services import new_mypage_id, set_password
from portal.certs.models import PoaKind
from portal.certs.requests import cancel_open_request, open_cert_request
from portal.certs.services import revoke_user_certificate
from portal.crypto import generate_temporary_password
from portal.errors import DomainError, Forbidden, NotFound
from portal.extensions import db
from portal.models import (
    Company,
    CompanyKind,
    CustomerRole,
    CustomerUser,
    StaffUser,
    UserState,
)
from portal.mypage.account import request_email_change
from portal.mypage.services import send_account_mails
from portal.notices import notify
from portal.permissions import Permission, can
from portal.users import poa
from portal.users.models import DraftKind, PoaPurpose, UserDraft
from portal.web import served_url

MAX_USERS = 10  # USR-1, including the representative
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

PERSON_FIELDS = ("last_name", "first_name", "last_name_kana", "first_name_kana",
                 "last_name_en", "first_name_en", "birth_date", "mobile", "department", "title",
                 "personal_signing")
# The names a certificate carries (kana is not in the certificate subject).
NAME_FIELDS = ("last_name", "first_name", "last_name_en", "first_name_en")


class FieldError(DomainError):
    """A rule about one form field that needs the database (e.g. email in use)."""


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


def can_delete(actor: CustomerUser, target: CustomerUser) -> bool:
    """Whether the 削除 button shows (USR-6); delete_user enforces the same."""
    return (can(actor, Permission.USERS_DELETE, target) and open_cert_request(target) is None
            and not _is_last_representative(target))


def _is_last_representative(user: CustomerUser) -> bool:
    return user.role == R.REPRESENTATIVE and _count(user.company_id, R.REPRESENTATIVE) <= 1


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
    options = poa.poa_options_for_new_user(role)
    chosen = PoaKind(data.get("poa_method") or options[0])
    if chosen not in options:
        chosen = options[0] if len(options) == 1 else chosen
        if chosen not in options:
            raise FieldError(poa.MSG_POA_METHOD, field="poa_method")
    data = dict(data, poa_method=chosen.value)
    return poa.new_draft(DraftKind.NEW_USER, actor, data, chosen)


def create_user(actor: CustomerUser, draft: UserDraft, *,
                signed_poa: bytes | None = None) -> CustomerUser:
    """登録: creates the user with a MyPageID and a temporary password, stores
    the PoA, and queues the three account mails (USR-4)."""
    _require_create(actor)
    if draft.actor_id != actor.id or draft.kind != DraftKind.NEW_USER:
        raise NotFound()
    data = poa.draft_data(draft)
    role = R(data["role"])
    _lock_company(actor.company_id)
    check_room_for(actor.company, role)
    if email_taken(data["email"]):
        raise FieldError(MSG_EMAIL_IN_USE, field="email")
    if PoaKind(draft.poa_kind) is PoaKind.SYSTEM and signed_poa is None:
        raise DomainError(poa.MSG_SIGNATURE_NEEDED)
    poa.consume_draft(draft)
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
    stored = poa.poa_from_draft(draft, purpose=PoaPurpose.USER_CREATION, agent=user,
                                actor=actor, signed_pdf=signed_poa)
    audit.record("user.created", actor=actor, target=user,
                 detail={"role": role.value, "mypage_id": user.mypage_id,
                         "poa": draft.poa_kind, "poa_id": stored.id if stored else None})
    send_account_mails(user, temporary)
    if role is not R.VIEWER:  # HOME-2: the way to the certificate starts with documents
        notify(user_id=user.id, company_id=user.company_id, link=served_url("kyc.start"),
               text="本人確認書類等のアップロードをお願いします。電子証明書の発行に必要です。")
    return user


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
        request_email_change(actor, target, new_email)  # AUTH-6
        result.email_change_requested = True
    if result.changed:
        audit.record("user.updated", actor=actor, target=target,
                     detail={"fields": result.changed})
    if result.name_changed:
        db.session.flush()
        result.certificates_revoked = revoke_user_certificate(
            target, "name_changed", actor=actor)
        audit.record("certificate.revoked_by_change", actor=actor, target=target,
                     detail={"cause": "name_changed", "count": result.certificates_revoked})
    return result


# --- delete (USR-6, USR-7) ---------------------------------------------------------------

def delete_user(actor: CustomerUser | StaffUser, target: CustomerUser) -> None:
    """Irreversible: the account is closed and anonymised, its certificate
    revoked and its sessions ended. Staff may delete during a certificate request."""
    if target.state != UserState.ACTIVE:
        raise NotFound()
    if isinstance(actor, StaffUser):
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
    cancel_open_request(target, actor=actor)
    revoked = revoke_user_certificate(target, "user_deleted", actor=actor)
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


