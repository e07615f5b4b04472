"""Models of the users area: powers of attorney (委任状), the drafts that wait
for a PoA signature or upload, and certificate issuance requests."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from portal.clock import now
from portal.extensions import db
from portal.models import TZDateTime


class PoaKind(StrEnum):
    """How a power of attorney was registered (委任状登録方法)."""

    NONE = "none"  # 委任状不要
    SYSTEM = "system"  # システム作成 (signed electronically, SIGN-4)
    UPLOAD = "upload"  # ファイルアップロード (scanned paper PoA)

    @property
    def label(self) -> str:
        return {"none": "委任状不要", "system": "システム作成",
                "upload": "ファイルアップロード"}[self.value]


class PoaPurpose(StrEnum):
    USER_CREATION = "user_creation"  # USR-3
    CERT_REQUEST = "cert_request"  # CERT-3


class PowerOfAttorney(db.Model):
    """A stored 委任状: the signed system PDF or the scanned paper one, kept
    encrypted in the file store and linked to the user it empowers."""

    __tablename__ = "powers_of_attorney"

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id"), index=True)
    kind: Mapped[PoaKind] = mapped_column(String(20))
    purpose: Mapped[PoaPurpose] = mapped_column(String(20))
    # The agent (代理人): the user created, or the subject of the certificate request.
    agent_user_id: Mapped[int] = mapped_column(ForeignKey("customer_users.id"), index=True)
    # Who signed (system PoA) or uploaded it.
    registered_by: Mapped[int] = mapped_column(ForeignKey("customer_users.id"))
    file_key: Mapped[str] = mapped_column(String(128))
    filename: Mapped[str] = mapped_column(String(255))
    content_format: Mapped[str] = mapped_column(String(20))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(TZDateTime, default=now)


class DraftKind(StrEnum):
    NEW_USER = "new_user"
    CERT_REQUEST = "cert_request"


class UserDraft(db.Model):
    """Entered data waiting for the PoA step (confirm → sign / upload → 登録).

    The form values are sealed with the master key (personal data never sits
    in the browser cookie or in clear in the database). ``handle`` is the
    random reference the browser holds.
    """

    __tablename__ = "user_drafts"

    id: Mapped[int] = mapped_column(primary_key=True)
    handle: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[DraftKind] = mapped_column(String(20))
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id"), index=True)
    actor_id: Mapped[int] = mapped_column(ForeignKey("customer_users.id"), index=True)
    subject_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("customer_users.id"), nullable=True)
    poa_kind: Mapped[PoaKind] = mapped_column(String(20), default=PoaKind.NONE)
    payload_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    # Uploaded paper PoA, once clean (or waiting in quarantine for a scan).
    upload_key: Mapped[str | None] = mapped_column(String(128), nullable=True)
    upload_name: Mapped[str | None] = mapped_column(String(255), nullable=True)
    upload_format: Mapped[str | None] = mapped_column(String(20), nullable=True)
    upload_scanned: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(TZDateTime, default=now)
    expires_at: Mapped[datetime] = mapped_column(TZDateTime)
    consumed_at: Mapped[datetime | None] = mapped_column(TZDateTime, nullable=True)


class CertReason(StrEnum):
    """発行理由 (CERT-2)."""

    DETAILS_CHANGED = "details_changed"  # 記載事項変更
    PIN_FORGOTTEN = "pin_forgotten"  # PIN失念
    EXTEND_VALIDITY = "extend_validity"  # 有効期限延長

    @property
    def label(self) -> str:
        return {"details_changed": "記載事項変更", "pin_forgotten": "PIN失念",
                "extend_validity": "有効期限延長"}[self.value]


class CertRequestState(StrEnum):
    REQUESTED = "requested"  # 証明書発行依頼中 (KYC upload, review, PIN registration)
    ISSUED = "issued"  # the new certificate was issued
    CANCELLED = "cancelled"  # the user was deleted by the bank meanwhile

    @property
    def label(self) -> str:
        return {"requested": "証明書発行依頼中", "issued": "発行済",
                "cancelled": "取消"}[self.value]


CERT_REQUEST_TRANSITIONS: dict[CertRequestState, frozenset[CertRequestState]] = {
    CertRequestState.REQUESTED: frozenset({CertRequestState.ISSUED, CertRequestState.CANCELLED}),
    CertRequestState.ISSUED: frozenset(),
    CertRequestState.CANCELLED: frozenset(),
}


class CertificateRequest(db.Model):
    """電子証明書発行依頼 (CERT-2)."""

    __tablename__ = "certificate_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id"), index=True)
    subject_user_id: Mapped[int] = mapped_column(ForeignKey("customer_users.id"), index=True)
    requested_by: Mapped[int] = mapped_column(ForeignKey("customer_users.id"))
    reason: Mapped[CertReason] = mapped_column(String(30))
    poa_id: Mapped[int | None] = mapped_column(
        ForeignKey("powers_of_attorney.id"), nullable=True)
    state: Mapped[CertRequestState] = mapped_column(
        String(20), default=CertRequestState.REQUESTED, index=True)
    created_at: Mapped[datetime] = mapped_column(TZDateTime, default=now)
    completed_at: Mapped[datetime | None] = mapped_column(TZDateTime, nullable=True)
