"""The portal's record of each user's signing credential (the key and the
certificate live in the signing service; this row is its portal-side mirror)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Boolean, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.clock import now
from portal.extensions import db, str_enum
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


class SigningCertificate(db.Model):
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
