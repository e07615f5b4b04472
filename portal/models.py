"""Core models: branches, staff, customer companies and users, notices (also the bank's),
audit log, mail outbox, sessions, rate-limit counters, maintenance windows.

Areas keep their own models in their ``models.py``; ``portal.model_registry``
imports them all for Alembic.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import (
    Boolean,
    Date,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.clock import now
from portal.extensions import Base, UTCDateTime, str_enum

TZDateTime = UTCDateTime()


class StaffRole(StrEnum):
    BRANCH_STAFF = "branch_staff"  # 支店担当者
    BANK_ADMIN = "bank_admin"  # 銀行管理者


class CompanyKind(StrEnum):
    CORPORATION = "corporation"  # 法人
    SOLE_PROPRIETOR = "sole_proprietor"  # 個人事業主
    INDIVIDUAL = "individual"  # 個人

    @property
    def label(self) -> str:
        labels = {"corporation": "法人", "sole_proprietor": "個人事業主", "individual": "個人"}
        return labels[self.value]


class CustomerRole(StrEnum):
    REPRESENTATIVE = "representative"  # 代表者
    ADMINISTRATOR = "administrator"  # 管理者
    SIGNER = "signer"  # 署名者
    VIEWER = "viewer"  # 参照者

    @property
    def label(self) -> str:
        return ROLE_LABELS[self]

    @property
    def can_sign(self) -> bool:
        return self is not CustomerRole.VIEWER

    @property
    def manages_users(self) -> bool:
        return self in (CustomerRole.REPRESENTATIVE, CustomerRole.ADMINISTRATOR)


ROLE_LABELS = {
    CustomerRole.REPRESENTATIVE: "代表者",
    CustomerRole.ADMINISTRATOR: "管理者",
    CustomerRole.SIGNER: "署名者",
    CustomerRole.VIEWER: "参照者",
}


class UserState(StrEnum):
    ACTIVE = "active"
    DELETED = "deleted"


class OutboxStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"  # gave up after MAIL_MAX_ATTEMPTS; visible to the bank admin


class Branch(Base):
    __tablename__ = "branches"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(8), unique=True)
    name: Mapped[str] = mapped_column(String(100))


class LoginSecurityMixin:
    """Password hash and last login; the lockout (AUTH-4) is the
    ``login.account`` policy of ``portal.ratelimit``."""

    password_hash: Mapped[str] = mapped_column(String(255))
    last_login_at: Mapped[datetime | None] = mapped_column(TZDateTime, nullable=True)


class StaffUser(LoginSecurityMixin, Base):
    __tablename__ = "staff_users"

    id: Mapped[int] = mapped_column(primary_key=True)
    login_id: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    email: Mapped[str] = mapped_column(String(255))
    role: Mapped[StaffRole] = mapped_column(str_enum(StaffRole))
    branch_id: Mapped[int | None] = mapped_column(ForeignKey("branches.id"), nullable=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # AUTH-3: set when the bank administrator creates or resets the account;
    # the console then opens only the first-login change until it is replaced
    password_is_temporary: Mapped[bool] = mapped_column(Boolean, default=False,
                                                        server_default=false())

    branch: Mapped[Branch | None] = relationship()

    kind = "staff"

    def get_id(self) -> str:
        return f"s:{self.id}"

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_anonymous(self) -> bool:
        return False

    @property
    def display_name(self) -> str:
        return self.name


class Company(Base):
    __tablename__ = "companies"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[CompanyKind] = mapped_column(str_enum(CompanyKind))
    name: Mapped[str] = mapped_column(String(255))
    name_kana: Mapped[str] = mapped_column(String(255), default="")
    name_en: Mapped[str] = mapped_column(String(255), default="")
    postal_code: Mapped[str] = mapped_column(String(7), default="")
    address: Mapped[str] = mapped_column(String(255), default="")
    established_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    phone: Mapped[str] = mapped_column(String(20), default="")
    application_branch_id: Mapped[int] = mapped_column(ForeignKey("branches.id"))
    # CO-1: the deposit-account branch (None: no deposit account) and debtor flag
    deposit_branch_id: Mapped[int | None] = mapped_column(ForeignKey("branches.id"), nullable=True)
    is_debtor: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(TZDateTime, default=now)
    version: Mapped[int] = mapped_column(Integer, default=1)

    application_branch: Mapped[Branch] = relationship(foreign_keys=[application_branch_id])
    deposit_branch: Mapped[Branch | None] = relationship(foreign_keys=[deposit_branch_id])
    users: Mapped[list[CustomerUser]] = relationship(back_populates="company")

    __mapper_args__ = {"version_id_col": version}


class CustomerUser(LoginSecurityMixin, Base):
    __tablename__ = "customer_users"

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id"), index=True)
    mypage_id: Mapped[str] = mapped_column(String(16), unique=True)
    email: Mapped[str] = mapped_column(String(255), unique=True)
    role: Mapped[CustomerRole] = mapped_column(str_enum(CustomerRole))
    last_name: Mapped[str] = mapped_column(String(100))
    first_name: Mapped[str] = mapped_column(String(100))
    last_name_kana: Mapped[str] = mapped_column(String(100), default="")
    first_name_kana: Mapped[str] = mapped_column(String(100), default="")
    last_name_en: Mapped[str] = mapped_column(String(100), default="")
    first_name_en: Mapped[str] = mapped_column(String(100), default="")
    birth_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    mobile: Mapped[str] = mapped_column(String(20), default="")
    department: Mapped[str] = mapped_column(String(100), default="")
    title: Mapped[str] = mapped_column(String(100), default="")
    personal_signing: Mapped[bool] = mapped_column(Boolean, default=False)
    state: Mapped[UserState] = mapped_column(str_enum(UserState), default=UserState.ACTIVE)
    # AUTH-3: a temporary password must be changed at first login
    password_is_temporary: Mapped[bool] = mapped_column(Boolean, default=True)
    temp_password_expires_at: Mapped[datetime | None] = mapped_column(TZDateTime, nullable=True)
    first_login_done: Mapped[bool] = mapped_column(Boolean, default=False)
    # AUTH-6: a changed address waits here until verified
    pending_email: Mapped[str | None] = mapped_column(String(255), nullable=True)
    created_at: Mapped[datetime] = mapped_column(TZDateTime, default=now)

    company: Mapped[Company] = relationship(back_populates="users")

    kind = "customer"

    def get_id(self) -> str:
        return f"c:{self.id}"

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return self.state == UserState.ACTIVE

    @property
    def is_anonymous(self) -> bool:
        return False

    @property
    def display_name(self) -> str:
        return f"{self.last_name} {self.first_name}"


class Notice(Base):
    """お知らせ (HOME-1/2). Both targets empty: a notice for everyone."""

    __tablename__ = "notices"

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int | None] = mapped_column(ForeignKey("companies.id"), nullable=True,
                                                   index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("customer_users.id"), nullable=True,
                                                index=True)
    text: Mapped[str] = mapped_column(String(500))
    link: Mapped[str | None] = mapped_column(String(500), nullable=True)
    created_at: Mapped[datetime] = mapped_column(TZDateTime, default=now, index=True)


class SystemNotice(Base):
    """お知らせ from the bank to every MyPage user, shown on HOME during
    ``[starts_at, ends_at)`` (typed in 日本時間, stored UTC); bank administrators
    write them in the console (ADM-1, HOME-1)."""

    __tablename__ = "system_notices"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(100))
    body: Mapped[str] = mapped_column(Text, default="")
    starts_at: Mapped[datetime] = mapped_column(TZDateTime, index=True)
    ends_at: Mapped[datetime] = mapped_column(TZDateTime, index=True)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(TZDateTime, default=now)
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"), nullable=True)
    updated_at: Mapped[datetime | None] = mapped_column(TZDateTime, nullable=True)


class AuditEntry(Base):
    """Append-only, hash-chained operation log (AUD-1). Database triggers
    refuse UPDATE and DELETE; the chain detects what slips past them."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(TZDateTime, index=True)
    actor_type: Mapped[str] = mapped_column(String(20))
    actor_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    actor_label: Mapped[str] = mapped_column(String(255), default="")
    company_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    ip: Mapped[str] = mapped_column(String(64), default="")
    action: Mapped[str] = mapped_column(String(64), index=True)
    target_type: Mapped[str] = mapped_column(String(64), default="")
    target_id: Mapped[str] = mapped_column(String(64), default="")
    detail: Mapped[str] = mapped_column(Text, default="{}")
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)


class AuditChainHead(Base):
    """One row, locked while an entry is appended so concurrent writers on
    several hosts still form a single chain."""

    __tablename__ = "audit_chain_head"

    id: Mapped[int] = mapped_column(primary_key=True)
    last_id: Mapped[int] = mapped_column(Integer, default=0)
    last_hash: Mapped[str] = mapped_column(String(64))


class MailOutbox(Base):
    __tablename__ = "mail_outbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    template: Mapped[str] = mapped_column(String(64))
    to_addr: Mapped[str] = mapped_column(String(255))
    subject: Mapped[str] = mapped_column(String(255))
    # Body encrypted with the master key (it may hold codes); wiped once sent.
    body_encrypted: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    message_id: Mapped[str] = mapped_column(String(255), unique=True)
    status: Mapped[OutboxStatus] = mapped_column(str_enum(OutboxStatus),
                                                 default=OutboxStatus.PENDING, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(TZDateTime, default=now)
    claimed_at: Mapped[datetime | None] = mapped_column(TZDateTime, nullable=True)
    last_error: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(TZDateTime, default=now)
    sent_at: Mapped[datetime | None] = mapped_column(TZDateTime, nullable=True)


class UserSession(Base):
    """Server-side session record: logout and timeouts end it here (AUTH-7)."""

    __tablename__ = "user_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 of the token
    principal: Mapped[str] = mapped_column(String(32), index=True)  # "c:12" / "s:3"
    created_at: Mapped[datetime] = mapped_column(TZDateTime, default=now)
    last_seen_at: Mapped[datetime] = mapped_column(TZDateTime, default=now)
    ip: Mapped[str] = mapped_column(String(64), default="")


class RateLimitCounter(Base):
    """One key's count under one rate-limit policy (AUTH-4, AUTH-9): the
    account lockout, the per-address login throttle and the code limits all
    live here (``portal.ratelimit`` holds the policy table). ``key`` is a keyed
    digest, never the address or identifier itself."""

    __tablename__ = "rate_limits"

    policy: Mapped[str] = mapped_column(String(32), primary_key=True)
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    window_start: Mapped[datetime] = mapped_column(TZDateTime, index=True)
    hits: Mapped[int] = mapped_column(Integer, default=0)
    blocked_until: Mapped[datetime | None] = mapped_column(TZDateTime, nullable=True)


class MaintenanceWindow(Base):
    """Ad-hoc maintenance (AUTH-8); the recurring window is configuration."""

    __tablename__ = "maintenance_windows"

    id: Mapped[int] = mapped_column(primary_key=True)
    starts_at: Mapped[datetime] = mapped_column(TZDateTime)
    ends_at: Mapped[datetime] = mapped_column(TZDateTime, index=True)
    message: Mapped[str] = mapped_column(String(500), default="")
    created_by: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"), nullable=True)
    created_at: Mapped[datetime | None] = mapped_column(TZDateTime, nullable=True, default=now)
    updated_at: Mapped[datetime | None] = mapped_column(TZDateTime, nullable=True)
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"), nullable=True)
    # Cancelled windows keep their row (shown as 取消済) for the audit trail.
    cancelled_at: Mapped[datetime | None] = mapped_column(TZDateTime, nullable=True)
    cancelled_by: Mapped[int | None] = mapped_column(
        ForeignKey("staff_users.id"), nullable=True
    )
