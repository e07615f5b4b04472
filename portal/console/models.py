"""Console-owned tables: the bank's system notices (ADM-1, HOME-1)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from portal.clock import now
from portal.extensions import Base, UTCDateTime

TZDateTime = UTCDateTime()


class SystemNotice(Base):
    """お知らせ from the bank to every MyPage user, shown on HOME during
    ``[starts_at, ends_at)`` (typed in 日本時間, stored UTC)."""

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
