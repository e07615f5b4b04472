"""Tombstones, legal holds, deletion notices and customer terminations (CON-9).

Package and company references are plain ids, not foreign keys: every row here
outlives the package (or the personal data) it is about, like the audit log.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, Date, Integer, String, Text, UniqueConstraint, event, or_, select
from sqlalchemy.orm import Mapped, mapped_column

from portal.clock import now
from portal.contracts.models import ContractPackage, ContractParty
from portal.errors import DomainError
from portal.extensions import Base, UTCDateTime


class Tombstone(Base):
    """What is left of a package deleted after its retention period."""

    __tablename__ = "retention_tombstones"

    id: Mapped[int] = mapped_column(primary_key=True)
    package_id: Mapped[int] = mapped_column(Integer, unique=True)
    summary_type: Mapped[str] = mapped_column(String(32))
    final_state: Mapped[str] = mapped_column(String(20))
    branch_id: Mapped[int] = mapped_column(Integer, index=True)
    branch_name: Mapped[str] = mapped_column(String(100), default="")
    company_ids: Mapped[str] = mapped_column(String(255), default="")  # "3,7": the parties
    application_date: Mapped[date] = mapped_column(Date)
    concluded_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    deleted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now, index=True)
    policy: Mapped[str] = mapped_column(String(64))  # e.g. "finished:10y"
    # JSON list of {"ref": "original:12", "sha256": "…"} for every deleted file.
    file_hashes: Mapped[str] = mapped_column(Text, default="[]")
    # File-store keys still to destroy after the deleting transaction committed
    # (space separated; emptied once the blobs are gone, also by the next run).
    pending_keys: Mapped[str] = mapped_column(Text, default="")

    @property
    def files(self) -> list[dict[str, str]]:
        return list(json.loads(self.file_hashes))


class LegalHold(Base):
    """訴訟ホールド: a package or a whole customer is kept until the hold is lifted."""

    __tablename__ = "retention_legal_holds"

    id: Mapped[int] = mapped_column(primary_key=True)
    package_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    company_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    reason: Mapped[str] = mapped_column(String(500))
    placed_by_id: Mapped[int] = mapped_column(Integer)
    placed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    lifted_by_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    lifted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True, index=True)
    lift_reason: Mapped[str] = mapped_column(String(500), default="")

    @property
    def active(self) -> bool:
        return self.lifted_at is None


class DeletionNotice(Base):
    """One advance notice (90 or 30 days) sent for one package: sent once."""

    __tablename__ = "retention_notices"
    __table_args__ = (UniqueConstraint("package_id", "days_before"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    package_id: Mapped[int] = mapped_column(Integer, index=True)
    days_before: Mapped[int] = mapped_column(Integer)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)


class CompanyTermination(Base):
    """解約: the customer's use of the service ended; the identity-document and
    personal-data retention clock runs from ``terminated_at``."""

    __tablename__ = "retention_terminations"

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(Integer, unique=True)
    terminated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    recorded_by_id: Mapped[int] = mapped_column(Integer)
    note: Mapped[str] = mapped_column(String(500), default="")
    personal_data_deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # KYC/PoA blobs still to destroy after the purge committed (as Tombstone).
    pending_keys: Mapped[str] = mapped_column(Text, default="")


@event.listens_for(ContractPackage, "before_delete")
def _refuse_held_package(_mapper: Any, connection: Connection, target: ContractPackage) -> None:
    """A held package is never deleted, whatever the path (#14 item 4)."""
    companies = select(ContractParty.company_id).where(ContractParty.package_id == target.id)
    held = connection.execute(
        select(LegalHold.id).where(
            LegalHold.lifted_at.is_(None),
            or_(LegalHold.package_id == target.id, LegalHold.company_id.in_(companies)))
        .limit(1)).first()
    if held is not None:
        raise DomainError("訴訟ホールド中のため削除できません。")
