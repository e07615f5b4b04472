"""The portal's record of each user's signing credential (the key and the
certificate live in the signing service; this row is its portal-side mirror),
and the certificate issuance requests (電子証明書発行依頼, CERT-2)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Boolean, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.clock import now
from portal.extensions import Base, str_enum
from portal.models import CustomerUser, TZDateTime


class CertState(StrEnum):
    PIN_REGISTERED = "pin_registered"  # 初期PIN登録済み、発行前
    ACTIVE = "active"  # 発行済み
    REVOKED = "revoked"  # 失効

    @property
    def label(self) -> str:
        return {"pin_registered": "発行待ち", "active": "有効", "revoked": "失効"}[self.value]


# The only allowed moves; ``services.CERT_LIFECYCLE`` is the only writer of ``state``.
TRANSITIONS: dict[CertState, frozenset[CertState]] = {
    CertState.PIN_REGISTERED: frozenset({CertState.ACTIVE, CertState.REVOKED}),
    CertState.ACTIVE: frozenset({CertState.REVOKED}),
    CertState.REVOKED: frozenset(),
}


class SigningCertificate(Base):
    __tablename__ = "signing_certificates"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("customer_users.id"), index=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id"), index=True)
    credential_id: Mapped[str] = mapped_column(String(64), unique=True)
    state: Mapped[CertState] = mapped_column(str_enum(CertState))
    # PIN-4 / PIN-5 lock as last seen by the portal (the service holds the truth).
    pin_locked: Mapped[bool] = mapped_column(Boolean, default=False)
    serial_hex: Mapped[str] = mapped_column(String(64), default="")
    subject: Mapped[str] = mapped_column(String(500), default="")
    valid_from: Mapped[datetime | None] = mapped_column(TZDateTime, nullable=True)
    valid_to: Mapped[datetime | None] = mapped_column(TZDateTime, nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(TZDateTime, nullable=True)
    revocation_reason: Mapped[str] = mapped_column(String(32), default="")
    # CERT-5: the 30-day notice goes out once per certificate.
    expiry_notice_sent_at: Mapped[datetime | None] = mapped_column(TZDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(TZDateTime, default=now)

    user: Mapped[CustomerUser] = relationship()


class CertReason(StrEnum):
    """発行理由 (CERT-2)."""

    DETAILS_CHANGED = "details_changed"  # 記載事項変更
    PIN_FORGOTTEN = "pin_forgotten"  # PIN失念
    EXTEND_VALIDITY = "extend_validity"  # 有効期限延長

    @property
    def label(self) -> str:
        return {"details_changed": "記載事項変更", "pin_forgotten": "PIN失念",
                "extend_validity": "有効期限延長"}[self.value]


class PoaKind(StrEnum):
    """How a power of attorney is registered (委任状登録方法): what the CERT-3 rule
    asks of a certificate request; a new user's PoA (USR-3) uses the same kinds."""

    NONE = "none"  # 委任状不要
    SYSTEM = "system"  # システム作成 (signed electronically, SIGN-4)
    UPLOAD = "upload"  # ファイルアップロード (scanned paper PoA)

    @property
    def label(self) -> str:
        return {"none": "委任状不要", "system": "システム作成",
                "upload": "ファイルアップロード"}[self.value]


class CertRequestState(StrEnum):
    REQUESTED = "requested"  # 証明書発行依頼中 (KYC upload, review, PIN registration)
    ISSUED = "issued"  # the new certificate was issued
    CANCELLED = "cancelled"  # the user was deleted by the bank meanwhile

    @property
    def label(self) -> str:
        return {"requested": "証明書発行依頼中", "issued": "発行済",
                "cancelled": "取消"}[self.value]


# The only allowed moves; ``portal.certs.requests.LIFECYCLE`` is the only writer of ``state``.
CERT_REQUEST_TRANSITIONS: dict[CertRequestState, frozenset[CertRequestState]] = {
    CertRequestState.REQUESTED: frozenset({CertRequestState.ISSUED, CertRequestState.CANCELLED}),
    CertRequestState.ISSUED: frozenset(),
    CertRequestState.CANCELLED: frozenset(),
}


class CertificateRequest(Base):
    """電子証明書発行依頼 (CERT-2); the PoA it needed (CERT-3) is a
    ``portal.users.models.PowerOfAttorney`` (the users area keeps the PoAs)."""

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
