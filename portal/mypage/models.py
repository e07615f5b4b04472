"""MyPage application models: invitations (APP-1), applications (APP-5) and
emailed verification codes (APP-4, AUTH-5, AUTH-6)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.clock import now
from portal.extensions import Base, str_enum
from portal.models import Branch, CompanyKind, TZDateTime


class Invitation(Base):
    """利用登録お手続きのご案内: a link (and QR code) with the branch preset."""

    __tablename__ = "invitations"

    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(String(64), unique=True)
    branch_id: Mapped[int] = mapped_column(ForeignKey("branches.id"), index=True)
    created_by: Mapped[int] = mapped_column(ForeignKey("staff_users.id"))
    customer_name: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime] = mapped_column(TZDateTime, default=now)
    expires_at: Mapped[datetime] = mapped_column(TZDateTime)

    branch: Mapped[Branch] = relationship()


class ApplicationState(StrEnum):
    PENDING = "pending"  # 審査待ち
    APPROVED = "approved"  # 承認済
    REJECTED = "rejected"  # 否認

    @property
    def label(self) -> str:
        return {"pending": "審査待ち", "approved": "承認済", "rejected": "否認"}[self.value]


# The application life cycle as data (STYLE 3): only services.APPLICATION_LIFECYCLE moves it.
APPLICATION_TRANSITIONS: dict[ApplicationState, frozenset[ApplicationState]] = {
    ApplicationState.PENDING: frozenset({ApplicationState.APPROVED, ApplicationState.REJECTED}),
    ApplicationState.APPROVED: frozenset(),
    ApplicationState.REJECTED: frozenset(),
}


class Application(Base):
    """A verified MyPage application (申込み完了). Created only after the
    emailed code was entered; ``verification_id`` is unique so a double submit
    can never store two (APP-6)."""

    __tablename__ = "applications"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[CompanyKind] = mapped_column(str_enum(CompanyKind))
    state: Mapped[ApplicationState] = mapped_column(
        str_enum(ApplicationState), default=ApplicationState.PENDING, index=True)
    branch_id: Mapped[int] = mapped_column(ForeignKey("branches.id"), index=True)
    invitation_id: Mapped[int | None] = mapped_column(
        ForeignKey("invitations.id"), nullable=True)
    verification_id: Mapped[int] = mapped_column(
        ForeignKey("email_verifications.id"), unique=True)
    email: Mapped[str] = mapped_column(String(255), index=True)
    applicant_name: Mapped[str] = mapped_column(String(100))
    company_name: Mapped[str] = mapped_column(String(255), default="")
    # Every field of the form as JSON (dates ISO formatted), shown to the reviewer.
    payload: Mapped[str] = mapped_column(Text)
    submitted_at: Mapped[datetime] = mapped_column(TZDateTime, default=now)
    reviewed_by: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"), nullable=True)
    reviewed_at: Mapped[datetime | None] = mapped_column(TZDateTime, nullable=True)
    reject_reason: Mapped[str] = mapped_column(String(500), default="")
    company_id: Mapped[int | None] = mapped_column(ForeignKey("companies.id"), nullable=True)
    version: Mapped[int] = mapped_column(Integer, default=1)

    branch: Mapped[Branch] = relationship()

    __mapper_args__ = {"version_id_col": version}


class VerificationPurpose(StrEnum):
    APPLICATION = "application"  # APP-4
    PASSWORD_RESET = "password_reset"  # AUTH-5
    EMAIL_CHANGE = "email_change"  # AUTH-6


class EmailVerification(Base):
    """One emailed 認証コード. The code is kept only as a keyed HMAC; the data
    waiting for it (the application form) is sealed with the master key."""

    __tablename__ = "email_verifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    # The browser holds this random handle (in its session), never the id alone.
    handle: Mapped[str] = mapped_column(String(64), unique=True)
    purpose: Mapped[VerificationPurpose] = mapped_column(str_enum(VerificationPurpose))
    email: Mapped[str] = mapped_column(String(255))
    # AUTH-5/6: the account concerned; None for an unknown login id (AUTH-5
    # answers alike whether or not the account exists, and such a row never matches).
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("customer_users.id"), nullable=True, index=True)
    code_hmac: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime] = mapped_column(TZDateTime)
    failed_attempts: Mapped[int] = mapped_column(Integer, default=0)
    sent_at: Mapped[datetime] = mapped_column(TZDateTime, default=now)
    send_count: Mapped[int] = mapped_column(Integer, default=1)
    consumed_at: Mapped[datetime | None] = mapped_column(TZDateTime, nullable=True)
    payload_sealed: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    created_at: Mapped[datetime] = mapped_column(TZDateTime, default=now)
