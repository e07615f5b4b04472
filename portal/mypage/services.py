"""MyPage application rules (APP-1…APP-6): invitations, the emailed code,
storing the verified application, and the bank's review.

Functions take explicit arguments and work in the caller's transaction; the
views commit. Every step is audited and every mail goes through the outbox.
"""

from __future__ import annotations

import json
import secrets
from datetime import date, timedelta
from typing import Any

from sqlalchemy import func, select

from portal import audit
from portal.auth.services import new_mypage_id, set_password
from portal.clock import as_utc, now
from portal.crypto import generate_temporary_password
from portal.errors import DomainError, NotFound
from portal.extensions import db
from portal.mail import public_base_url, queue_mail
from portal.models import (
    Branch,
    Company,
    CompanyKind,
    CustomerRole,
    CustomerUser,
    StaffUser,
    UserState,
)
from portal.mypage import verification
from portal.mypage.models import (
    APPLICATION_TRANSITIONS,
    Application,
    ApplicationState,
    EmailVerification,
    Invitation,
    VerificationPurpose,
)
from portal.notices import notify
from portal.states import Lifecycle
from portal.web import served_url

MSG_INVITATION_UNKNOWN = ("ご案内のURLが正しくありません。"
                          "お手数ですが、お申込み支店を選択してお手続きください。")
MSG_INVITATION_EXPIRED = ("ご案内のURLの有効期限が切れています。"
                          "お申込み支店を選択してお手続きいただくか、当金庫担当者にお問い合わせください。")
MSG_EMAIL_IN_USE = ("このメールアドレスは既に登録されています。"
                    "メールアドレスの共有はできませんので、別のメールアドレスを入力してください。")
MSG_EMAIL_PENDING = ("このメールアドレスでのお申込みは審査中です。"
                     "お手続きの状況はお申込み支店にお問い合わせください。")
MSG_BRANCH = "お申込み支店を選択してください。"


class FieldError(DomainError):
    """A rule about one form field that needs the database (e.g. email in use)."""


# --- invitations (APP-1) -------------------------------------------------------

def create_invitation(staff: StaffUser, *, customer_name: str | None,
                      valid_days: int) -> Invitation:
    if staff.branch_id is None:
        raise DomainError("支店に所属する担当者のみ発行できます。")
    invitation = Invitation(
        token=secrets.token_urlsafe(24),
        branch_id=staff.branch_id,
        created_by=staff.id,
        customer_name=customer_name or "",
        expires_at=now() + timedelta(days=valid_days),
    )
    db.session.add(invitation)
    db.session.flush()
    audit.record("invitation.created", actor=staff, target=invitation,
                 detail={"branch_id": staff.branch_id, "valid_days": valid_days})
    return invitation


def invitation_url(invitation: Invitation) -> str:
    return f"{public_base_url()}/apply?inv={invitation.token}"


def resolve_invitation(token: str) -> Invitation:
    found = db.session.execute(
        select(Invitation).where(Invitation.token == token)).scalar_one_or_none()
    if found is None:
        raise DomainError(MSG_INVITATION_UNKNOWN)
    if now() >= as_utc(found.expires_at):
        raise DomainError(MSG_INVITATION_EXPIRED)
    return found


def invitations_of_branch(branch_id: int, limit: int = 50) -> list[Invitation]:
    return list(db.session.execute(
        select(Invitation).where(Invitation.branch_id == branch_id)
        .order_by(Invitation.id.desc()).limit(limit)).scalars())


def branches() -> list[Branch]:
    return list(db.session.execute(select(Branch).order_by(Branch.code)).scalars())


# --- e-mail uniqueness (APP-2, APP-6) ------------------------------------------

def email_taken(email: str, *, except_user_id: int | None = None) -> bool:
    """An address belongs to one user: current or pending (AUTH-6) address."""
    lowered = email.lower()
    query = select(CustomerUser.id).where(
        (func.lower(CustomerUser.email) == lowered)
        | (func.lower(CustomerUser.pending_email) == lowered),
        CustomerUser.state != UserState.DELETED,
    )
    if except_user_id is not None:
        query = query.where(CustomerUser.id != except_user_id)
    return db.session.execute(query.limit(1)).first() is not None


def email_under_review(email: str) -> bool:
    return db.session.execute(
        select(Application.id).where(func.lower(Application.email) == email.lower(),
                                     Application.state == ApplicationState.PENDING).limit(1)
    ).first() is not None


def check_application_email(email: str) -> None:
    if email_taken(email):
        raise FieldError(MSG_EMAIL_IN_USE, field="email")
    if email_under_review(email):
        raise FieldError(MSG_EMAIL_PENDING, field="email")


# --- the application (APP-2…APP-4, APP-6) ----------------------------------------

def _jsonable(data: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.isoformat() if isinstance(v, date) else v) for k, v in data.items()}


def send_application_code(data: dict[str, Any], *, invitation_id: int | None,
                          client: str | None = None) -> EmailVerification:
    """認証コード送信: nothing is stored as an application yet; the form data
    waits, sealed, in the verification row. A registered (or pending) address
    gets its code like any other and hears so only after entering it, so the
    form never tells a stranger which addresses are customers (AUTH-9).
    Limited per address and per ``client`` address (RateLimited)."""
    if db.session.get(Branch, data["branch_id"]) is None:
        raise FieldError(MSG_BRANCH, field="branch_id")
    payload = _jsonable(data) | {"invitation_id": invitation_id}
    row, code = verification.issue(VerificationPurpose.APPLICATION, data["email"],
                                   payload=payload, client=client)
    queue_mail("application_code", data["email"], code=code,
               minutes=verification.ttl_minutes())
    audit.record("application.code_sent", target=row,
                 detail={"kind": data["kind"], "branch_id": data["branch_id"]})
    return row


def resend_application_code(row: EmailVerification, *, client: str | None = None) -> None:
    code = verification.resend(row, client=client)
    queue_mail("application_code", row.email, code=code,
               minutes=verification.ttl_minutes())
    audit.record("application.code_resent", target=row)


def application_for(row: EmailVerification) -> Application | None:
    return db.session.execute(
        select(Application).where(Application.verification_id == row.id)
    ).scalar_one_or_none()


def complete_application(row: EmailVerification, code: str) -> Application:
    """申込み: the correct code stores the application, exactly once (APP-6).
    A repeated submit of an already used code returns the stored application.
    Parallel submits wait for the first on the verification row (PostgreSQL row
    lock; SQLite's BEGIN IMMEDIATE) and then find its application."""
    db.session.execute(select(EmailVerification.id).where(EmailVerification.id == row.id)
                       .with_for_update())
    db.session.refresh(row)
    existing = application_for(row)
    if existing is not None:
        return existing
    verification.check(row, code)
    data = verification.payload_of(row)
    check_application_email(data["email"])
    if not verification.consume(row):
        existing = application_for(row)
        if existing is None:
            raise verification.CodeRejected(verification.MSG_USED)
        return existing
    application = Application(
        kind=data["kind"],
        state=ApplicationState.PENDING,
        branch_id=data["branch_id"],
        invitation_id=data.get("invitation_id"),
        verification_id=row.id,
        email=data["email"],
        applicant_name=f"{data['last_name']}\u3000{data['first_name']}",
        company_name=data.get("company_name") or "",
        payload=json.dumps(data, ensure_ascii=False),
        submitted_at=now(),
    )
    row.payload_sealed = None  # the form now lives in the application only
    db.session.add(application)
    db.session.flush()
    audit.record("application.submitted", target=application,
                 detail={"kind": data["kind"], "branch_id": data["branch_id"]})
    return application


def application_data(application: Application) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(application.payload)
    return result


# --- review in the bank console (APP-5) -------------------------------------------

def _stamp_review(application: Application, actor: StaffUser) -> None:
    application.reviewed_by = actor.id
    application.reviewed_at = now()


APPLICATION_LIFECYCLE: Lifecycle[ApplicationState] = Lifecycle(
    ApplicationState, APPLICATION_TRANSITIONS, "application.{to}",
    refusal="この申込みは既に%(current)sです。", on_move=_stamp_review)


def pending_applications(staff: StaffUser) -> list[Application]:
    """The staff member's branch only (AUD-4)."""
    if staff.branch_id is None:
        return []
    return list(db.session.execute(
        select(Application).where(Application.branch_id == staff.branch_id,
                                  Application.state == ApplicationState.PENDING)
        .order_by(Application.submitted_at)).scalars())


def recent_reviewed(staff: StaffUser, limit: int = 20) -> list[Application]:
    if staff.branch_id is None:
        return []
    return list(db.session.execute(
        select(Application).where(Application.branch_id == staff.branch_id,
                                  Application.state != ApplicationState.PENDING)
        .order_by(Application.reviewed_at.desc()).limit(limit)).scalars())


def _company_from(data: dict[str, Any], kind: CompanyKind, branch_id: int) -> Company:
    if kind == CompanyKind.INDIVIDUAL:
        return Company(
            kind=kind,
            name=f"{data['last_name']}\u3000{data['first_name']}",
            name_kana=f"{data['last_name_kana']}\u3000{data['first_name_kana']}",
            name_en=f"{data['first_name_en']} {data['last_name_en']}",
            postal_code=data["postal_code"],
            address=data["address"],
            phone=data.get("phone") or "",
            application_branch_id=branch_id,
        )
    return Company(
        kind=kind,
        name=data["company_name"],
        name_kana=data["company_name_kana"],
        name_en=data["company_name_en"],
        postal_code=data["postal_code"],
        address=data["address"],
        established_on=date.fromisoformat(data["established_on"]),
        phone=data["phone"],
        application_branch_id=branch_id,
    )


def _first_user(data: dict[str, Any], company: Company) -> CustomerUser:
    return CustomerUser(
        company=company,
        mypage_id=new_mypage_id(),
        email=data["email"],
        role=CustomerRole.REPRESENTATIVE,
        last_name=data["last_name"],
        first_name=data["first_name"],
        last_name_kana=data["last_name_kana"],
        first_name_kana=data["first_name_kana"],
        last_name_en=data["last_name_en"],
        first_name_en=data["first_name_en"],
        birth_date=date.fromisoformat(data["birth_date"]),
        mobile=data["mobile"],
        department=data.get("department") or "",
        title=data.get("title") or "",
        personal_signing=bool(data.get("personal_signing")),
        state=UserState.ACTIVE,
        first_login_done=False,
    )


def send_account_mails(user: CustomerUser, temporary_password: str) -> None:
    """MyPageIDのお知らせ, 仮パスワードのお知らせ, 本人確認書類等アップロードのお願い:
    three separate messages (APP-5, USR-4), so one intercepted mail never
    holds both halves of the login."""
    expires = user.temp_password_expires_at
    name = user.display_name
    queue_mail("mypage_id_notice", user.email, name=name, mypage_id=user.mypage_id)
    queue_mail("temporary_password", user.email, name=name, password=temporary_password,
               expires_at=expires)
    if user.role != CustomerRole.VIEWER:  # a viewer never gets a certificate (#13 item 4)
        queue_mail("kyc_upload_request", user.email, name=name)


def approve(application: Application, *, actor: StaffUser) -> CustomerUser:
    """Creates the company and its first user (the representative, or the
    individual) with a MyPageID and a temporary password."""
    APPLICATION_LIFECYCLE.require(application, ApplicationState.APPROVED)
    data = application_data(application)
    if email_taken(data["email"]):
        raise DomainError(MSG_EMAIL_IN_USE)
    company = _company_from(data, CompanyKind(application.kind), application.branch_id)
    db.session.add(company)
    user = _first_user(data, company)
    temporary = generate_temporary_password()
    set_password(user, temporary, temporary=True)
    db.session.add(user)
    db.session.flush()
    application.company_id = company.id
    APPLICATION_LIFECYCLE.move(application, ApplicationState.APPROVED, actor=actor,
                               detail={"company_id": company.id, "user_id": user.id})
    audit.record("company.created", actor=actor, company_id=company.id, target=company,
                 detail={"kind": company.kind, "from_application": application.id})
    audit.record("user.created", actor=actor, company_id=company.id, target=user,
                 detail={"role": user.role, "mypage_id": user.mypage_id})
    send_account_mails(user, temporary)
    notify(company_id=company.id, user_id=user.id, link=served_url("kyc.start"),
           text="本人確認書類等のアップロードをお願いします。電子証明書の発行に必要です。")
    return user


def reject(application: Application, *, actor: StaffUser, reason: str) -> None:
    application.reject_reason = reason
    APPLICATION_LIFECYCLE.move(application, ApplicationState.REJECTED, actor=actor)
    queue_mail("application_rejected", application.email, name=application.applicant_name,
               reason=reason, branch=application.branch.name)


def get_for_review(staff: StaffUser, application_id: int) -> Application:
    """Applications of another branch look like "not found" (AUD-4)."""
    found = db.session.get(Application, application_id)
    if found is None or staff.branch_id is None or found.branch_id != staff.branch_id:
        raise NotFound()
    return found
