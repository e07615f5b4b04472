"""Models of the users area: powers of attorney (委任状) and the drafts that wait
for a PoA signature or upload. Certificate issuance requests and the PoA kinds
of the CERT-3 rule are the signing room's (``portal.certs.models``)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from portal.certs.models import PoaKind
from portal.clock import now
from portal.extensions import Base
from portal.models import TZDateTime


class PoaPurpose(StrEnum):
    USER_CREATION = "user_creation"  # USR-3
    CERT_REQUEST = "cert_request"  # CERT-3


class PowerOfAttorney(Base):
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


class UserDraft(Base):
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
