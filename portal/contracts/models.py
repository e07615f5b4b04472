"""Contract packages (案件), their documents, parties, signatures and the
per-user records that let the server enforce the signing order (CON-4)."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from portal.clock import now
from portal.extensions import Base
from portal.models import Branch, Company, CustomerUser, StaffUser, TZDateTime
from portal.states import assignment_permitted

from .states import PackageState, PartyState


class SummaryType(StrEnum):
    """申込概要 (CON-1)."""

    LOAN_ONLY = "loan_only"
    LOAN_WITH_GUARANTEE = "loan_with_guarantee"
    AGREEMENT_ONLY = "agreement_only"
    OVERDRAFT = "overdraft"
    CANCELLATION = "cancellation"

    @property
    def label(self) -> str:
        return SUMMARY_LABELS[self]


SUMMARY_LABELS = {
    SummaryType.LOAN_ONLY: "貸出契約のみ",
    SummaryType.LOAN_WITH_GUARANTEE: "貸出契約（保証契約含む）",
    SummaryType.AGREEMENT_ONLY: "約定書関連契約のみ",
    SummaryType.OVERDRAFT: "当座貸越（専用当貸）極度内実行",
    SummaryType.CANCELLATION: "取消合意契約",
}


class SigningPosition(StrEnum):
    """署名立場."""

    DEBTOR = "debtor"
    GUARANTOR = "guarantor"
    COLLATERAL_PROVIDER = "collateral_provider"

    @property
    def label(self) -> str:
        return {"debtor": "債務者", "guarantor": "保証人",
                "collateral_provider": "担保提供者"}[self.value]


class DocumentKind(StrEnum):
    CONTRACT = "contract"  # 契約書等 (signed)
    IMPORTANT_MATTERS = "important_matters"  # 重要事項説明 (read, not signed)


class SignatureKind(StrEnum):
    PARTY = "party"
    BANK = "bank"
    ARCHIVE_TIMESTAMP = "timestamp"  # SIGN-6: a renewal document timestamp


class _GuardedState:
    """Only a ``Lifecycle.move`` may assign ``state`` after creation."""

    @validates("state")
    def _guard_state(self, _key: str, value: str) -> str:
        if getattr(self, "id", None) is not None and not assignment_permitted():
            raise RuntimeError("contract states change only through Lifecycle.move()")
        return value


class ContractPackage(_GuardedState, Base):
    __tablename__ = "contract_packages"
    __table_args__ = (
        # CON-8 search: date range + amount range, then the party/company filter.
        Index("ix_contract_packages_date_amount", "application_date", "loan_amount"),
        Index("ix_contract_packages_branch_state", "branch_id", "state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    branch_id: Mapped[int] = mapped_column(ForeignKey("branches.id"))
    application_date: Mapped[date] = mapped_column(Date)
    summary_type: Mapped[SummaryType] = mapped_column(String(32))
    loan_amount: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    planned_loan_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    staff_in_charge_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"))
    staff_label: Mapped[str] = mapped_column(String(255))  # 本件担当 as shown (branch + name)
    state: Mapped[PackageState] = mapped_column(String(20), default=PackageState.DRAFT, index=True)
    state_changed_at: Mapped[datetime] = mapped_column(TZDateTime, default=now)
    cancels_package_id: Mapped[int | None] = mapped_column(
        ForeignKey("contract_packages.id"), nullable=True)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"))
    created_at: Mapped[datetime] = mapped_column(TZDateTime, default=now)
    sent_at: Mapped[datetime | None] = mapped_column(TZDateTime, nullable=True)
    concluded_at: Mapped[datetime | None] = mapped_column(TZDateTime, nullable=True)
    ended_at: Mapped[datetime | None] = mapped_column(TZDateTime, nullable=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    # 締結証明書 (#16 item 4): the sealed evidence certificate in the file store.
    evidence_key: Mapped[str | None] = mapped_column(String(80), nullable=True)
    evidence_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)

    branch: Mapped[Branch] = relationship()
    staff_in_charge: Mapped[StaffUser] = relationship(foreign_keys=[staff_in_charge_id])
    documents: Mapped[list[ContractDocument]] = relationship(
        back_populates="package", order_by="ContractDocument.position",
        cascade="all, delete-orphan")
    parties: Mapped[list[ContractParty]] = relationship(
        back_populates="package", order_by="ContractParty.position_order",
        cascade="all, delete-orphan")
    cancels: Mapped[ContractPackage | None] = relationship(remote_side=[id])
    signing_evidence: Mapped[list[SigningEvidence]] = relationship(
        order_by="SigningEvidence.id", cascade="all, delete-orphan")

    __mapper_args__ = {"version_id_col": version}

    @property
    def contract_documents(self) -> list[ContractDocument]:
        return [d for d in self.documents if d.kind == DocumentKind.CONTRACT]

    @property
    def important_matters(self) -> ContractDocument | None:
        return next((d for d in self.documents if d.kind == DocumentKind.IMPORTANT_MATTERS), None)

    @property
    def summary_label(self) -> str:
        return SummaryType(self.summary_type).label

    @property
    def state_label(self) -> str:
        return PackageState(self.state).label


class ContractDocument(Base):
    __tablename__ = "contract_documents"

    id: Mapped[int] = mapped_column(primary_key=True)
    package_id: Mapped[int] = mapped_column(ForeignKey("contract_packages.id"), index=True)
    kind: Mapped[DocumentKind] = mapped_column(String(20))
    position: Mapped[int] = mapped_column(Integer, default=0)
    title: Mapped[str] = mapped_column(String(255))
    original_key: Mapped[str] = mapped_column(String(80))  # file store key, as uploaded
    original_sha256: Mapped[str] = mapped_column(String(64))
    current_key: Mapped[str] = mapped_column(String(80))  # latest signed revision
    current_sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    revisions: Mapped[int] = mapped_column(Integer, default=0)  # signatures added so far
    # SIGN-6: when the long-term check last found the file sound (None: never).
    longterm_checked_at: Mapped[datetime | None] = mapped_column(TZDateTime, nullable=True,
                                                                 index=True)

    package: Mapped[ContractPackage] = relationship(back_populates="documents")


class ContractParty(_GuardedState, Base):
    """A signing party: a customer company (any of its signing users signs) or,
    with ``user_id``, one person signing personally."""

    __tablename__ = "contract_parties"
    __table_args__ = (
        Index("ix_contract_parties_company_package", "company_id", "package_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    package_id: Mapped[int] = mapped_column(ForeignKey("contract_packages.id"), index=True)
    position_order: Mapped[int] = mapped_column(Integer, default=0)
    signing_position: Mapped[SigningPosition] = mapped_column(String(32))
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("customer_users.id"), nullable=True)
    state: Mapped[PartyState] = mapped_column(String(20), default=PartyState.UNSIGNED)
    state_changed_at: Mapped[datetime] = mapped_column(TZDateTime, default=now)
    signed_by_id: Mapped[int | None] = mapped_column(ForeignKey("customer_users.id"), nullable=True)
    signed_at: Mapped[datetime | None] = mapped_column(TZDateTime, nullable=True)
    reject_comment: Mapped[str] = mapped_column(Text, default="")

    package: Mapped[ContractPackage] = relationship(back_populates="parties")
    company: Mapped[Company] = relationship()
    user: Mapped[CustomerUser | None] = relationship(foreign_keys=[user_id])
    signed_by: Mapped[CustomerUser | None] = relationship(foreign_keys=[signed_by_id])

    @property
    def position_label(self) -> str:
        return SigningPosition(self.signing_position).label

    @property
    def state_label(self) -> str:
        return PartyState(self.state).label

    @property
    def display_name(self) -> str:
        if self.user is not None:
            return f"{self.user.display_name}（個人）"
        return self.company.name

    @property
    def signature_field(self) -> str:
        return f"Party{self.position_order + 1}"


class ContractSignature(Base):
    """One signature added to one document (a new incremental revision)."""

    __tablename__ = "contract_signatures"

    id: Mapped[int] = mapped_column(primary_key=True)
    package_id: Mapped[int] = mapped_column(ForeignKey("contract_packages.id"), index=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("contract_documents.id"))
    party_id: Mapped[int | None] = mapped_column(ForeignKey("contract_parties.id"), nullable=True)
    kind: Mapped[SignatureKind] = mapped_column(String(10))
    field_name: Mapped[str] = mapped_column(String(64))
    customer_user_id: Mapped[int | None] = mapped_column(ForeignKey("customer_users.id"),
                                                         nullable=True)
    staff_user_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"), nullable=True)
    certificate_subject: Mapped[str] = mapped_column(String(500), default="")
    certificate_serial: Mapped[str] = mapped_column(String(80), default="")
    result_sha256: Mapped[str] = mapped_column(String(64))
    # SIGN-6: the file-store key of the revision a party signature produced, so the
    # integrity check can open it after later signatures supersede it (None: before #14).
    result_key: Mapped[str | None] = mapped_column(String(80), nullable=True)
    signed_at: Mapped[datetime] = mapped_column(TZDateTime, default=now)


class DocumentOpened(Base):
    """CON-4: the server's record that this user opened this document."""

    __tablename__ = "contract_document_opened"
    __table_args__ = (UniqueConstraint("document_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("contract_documents.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("customer_users.id"))
    opened_at: Mapped[datetime] = mapped_column(TZDateTime, default=now)


class PartyConfirmation(Base):
    """CON-4: the two checkboxes a signing user ticked, for one party."""

    __tablename__ = "contract_party_confirmations"
    __table_args__ = (UniqueConstraint("party_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    party_id: Mapped[int] = mapped_column(ForeignKey("contract_parties.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("customer_users.id"))
    important_confirmed_at: Mapped[datetime | None] = mapped_column(TZDateTime, nullable=True)
    documents_confirmed_at: Mapped[datetime | None] = mapped_column(TZDateTime, nullable=True)


class SigningEvidence(Base):
    """How one user showed sole control when signing for a party (#16 item 4):
    送信 (the service checked the PIN and mailed the code to ``code_sent_to``,
    masked), 認証 (the service checked the code: ``code_checked_at``) and 電子署名,
    each with the client's address and browser and the operation-log entry that
    records it."""

    __tablename__ = "contract_signing_evidence"

    id: Mapped[int] = mapped_column(primary_key=True)
    package_id: Mapped[int] = mapped_column(ForeignKey("contract_packages.id"), index=True)
    party_id: Mapped[int] = mapped_column(Integer, index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("customer_users.id"))
    signer_role: Mapped[str] = mapped_column(String(32), default="")
    code_sent_audit_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    code_sent_at: Mapped[datetime | None] = mapped_column(TZDateTime, nullable=True)
    code_sent_to: Mapped[str] = mapped_column(String(254), default="")
    sent_ip: Mapped[str] = mapped_column(String(64), default="")
    sent_user_agent: Mapped[str] = mapped_column(String(512), default="")
    signed_audit_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    code_checked_at: Mapped[datetime | None] = mapped_column(TZDateTime, nullable=True)
    signed_ip: Mapped[str] = mapped_column(String(64), default="")
    signed_user_agent: Mapped[str] = mapped_column(String(512), default="")


class AlertState(StrEnum):
    OPEN = "open"  # 未確認
    ACKNOWLEDGED = "acknowledged"  # 確認済み

    @property
    def label(self) -> str:
        return {"open": "未確認", "acknowledged": "確認済み"}[self.value]


class LongtermAlert(Base):
    """SIGN-6: a stored signed file that failed the periodic re-validation.

    Package and document are plain ids, not foreign keys: like the audit log,
    an alert outlives a package deleted after its retention period (CON-9).
    One open alert per document; later runs that find it still broken count
    on it instead of raising (and mailing) it again.
    """

    __tablename__ = "contract_longterm_alerts"

    id: Mapped[int] = mapped_column(primary_key=True)
    package_id: Mapped[int] = mapped_column(Integer, index=True)
    document_id: Mapped[int] = mapped_column(Integer, index=True)
    document_title: Mapped[str] = mapped_column(String(255))
    # "" for the signed contract document itself; else which other stored file
    # (portal.contracts.integrity refs: "original:12", "kyc_file:3", "poa:7", …).
    file_ref: Mapped[str] = mapped_column(String(80), default="", server_default="")
    recorded_sha256: Mapped[str] = mapped_column(String(64))
    problems: Mapped[str] = mapped_column(Text)  # one Japanese finding per line
    state: Mapped[AlertState] = mapped_column(String(20), default=AlertState.OPEN, index=True)
    first_detected_at: Mapped[datetime] = mapped_column(TZDateTime, default=now)
    last_detected_at: Mapped[datetime] = mapped_column(TZDateTime, default=now)
    detections: Mapped[int] = mapped_column(Integer, default=1)
    acknowledged_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"),
                                                           nullable=True)
    acknowledged_at: Mapped[datetime | None] = mapped_column(TZDateTime, nullable=True)

    acknowledged_by: Mapped[StaffUser | None] = relationship()

    @property
    def problem_lines(self) -> list[str]:
        return self.problems.splitlines()

    @property
    def state_label(self) -> str:
        return AlertState(self.state).label
