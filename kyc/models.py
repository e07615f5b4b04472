"""KYC models: consent records, submissions with a state table, stored files
and the encrypted quarantine of files waiting for a virus scan."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.clock import now
from portal.extensions import Base
from portal.models import Company, CustomerUser, StaffUser, TZDateTime


class KycState(StrEnum):
    DRAFT = "draft"  # consent given, files being uploaded
    SUBMITTED = "submitted"  # 送信 pressed: the branch reviews it
    APPROVED = "approved"
    REJECTED = "rejected"

    @property
    def label(self) -> str:
        return STATE_LABELS[self]


STATE_LABELS = {
    KycState.DRAFT: "アップロード中",
    KycState.SUBMITTED: "確認待ち",
    KycState.APPROVED: "承認済み",
    KycState.REJECTED: "差戻し",
}

# The only allowed moves; ``kyc.services.KYC_LIFECYCLE`` is the only writer of state.
TRANSITIONS: dict[KycState, frozenset[KycState]] = {
    KycState.DRAFT: frozenset({KycState.SUBMITTED}),
    KycState.SUBMITTED: frozenset({KycState.APPROVED, KycState.REJECTED}),
    KycState.APPROVED: frozenset(),
    KycState.REJECTED: frozenset(),
}


class QuarantineState(StrEnum):
    PENDING = "pending"  # bytes wait (encrypted) for the scanner
    RELEASED = "released"  # scanned clean and stored as a KycFile
    INFECTED = "infected"  # scanned infected; bytes deleted
    REFUSED = "refused"  # failed a check on rescan; bytes deleted
    SUPERSEDED = "superseded"  # the user uploaded another file for the slot


class KycConsent(Base):
    """KYC-1: who agreed to which version of the third-party provision text, and when."""

    __tablename__ = "kyc_consents"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("customer_users.id"), index=True)
    document_version: Mapped[str] = mapped_column(String(20))
    agreed_at: Mapped[datetime] = mapped_column(TZDateTime, default=now)
    ip: Mapped[str] = mapped_column(String(64), default="")


class KycSubmission(Base):
    __tablename__ = "kyc_submissions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("customer_users.id"), index=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id"), index=True)
    consent_id: Mapped[int] = mapped_column(ForeignKey("kyc_consents.id"))
    state: Mapped[KycState] = mapped_column(String(20), default=KycState.DRAFT, index=True)
    identity_type: Mapped[str | None] = mapped_column(String(40), nullable=True)
    employment_type: Mapped[str | None] = mapped_column(String(40), nullable=True)
    created_at: Mapped[datetime] = mapped_column(TZDateTime, default=now)
    submitted_at: Mapped[datetime | None] = mapped_column(TZDateTime, nullable=True)
    reviewed_at: Mapped[datetime | None] = mapped_column(TZDateTime, nullable=True)
    reviewed_by: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"), nullable=True)
    reject_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    version: Mapped[int] = mapped_column(Integer, default=1)

    user: Mapped[CustomerUser] = relationship()
    company: Mapped[Company] = relationship()
    consent: Mapped[KycConsent] = relationship()
    reviewer: Mapped[StaffUser | None] = relationship()
    files: Mapped[list[KycFile]] = relationship(back_populates="submission",
                                                order_by="KycFile.id")

    __mapper_args__ = {"version_id_col": version}


class KycFile(Base):
    """A scanned, clean file in the encrypted store (KYC-5). The storage key is
    server-generated; the user's file name is metadata only."""

    __tablename__ = "kyc_files"
    __table_args__ = (UniqueConstraint("submission_id", "category", "slot"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("kyc_submissions.id"), index=True)
    category: Mapped[str] = mapped_column(String(20))
    document_type: Mapped[str] = mapped_column(String(40))
    slot: Mapped[str] = mapped_column(String(20))
    storage_key: Mapped[str] = mapped_column(String(80))
    original_name: Mapped[str] = mapped_column(String(300))
    format: Mapped[str] = mapped_column(String(10))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_at: Mapped[datetime] = mapped_column(TZDateTime, default=now)

    submission: Mapped[KycSubmission] = relationship(back_populates="files")


class KycQuarantine(Base):
    """An upload whose scan could not run (KYC-4): the bytes wait encrypted
    in the file store until a retry or ``flask kyc rescan`` scans them."""

    __tablename__ = "kyc_quarantine"

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("kyc_submissions.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("customer_users.id"))
    category: Mapped[str] = mapped_column(String(20))
    document_type: Mapped[str] = mapped_column(String(40))
    slot: Mapped[str] = mapped_column(String(20))
    storage_key: Mapped[str | None] = mapped_column(String(80), nullable=True)
    original_name: Mapped[str] = mapped_column(String(300))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    state: Mapped[QuarantineState] = mapped_column(String(20), default=QuarantineState.PENDING,
                                                   index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    last_reason: Mapped[str] = mapped_column(String(20), default="")
    created_at: Mapped[datetime] = mapped_column(TZDateTime, default=now)
    resolved_at: Mapped[datetime | None] = mapped_column(TZDateTime, nullable=True)

    submission: Mapped[KycSubmission] = relationship()
