"""The retention policy as data (CON-9): which rule applies to a package and when
it is due. The periods come from configuration (portal.config defaults)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import current_app

from portal.contracts.models import SummaryType
from portal.contracts.states import PackageState

FINISHED = "finished"  # 完済, 取消合意済: RETENTION_FINISHED_YEARS after the end
OVERDRAFT = "overdraft"  # 当座貸越（専用当貸）極度内実行: RETENTION_OVERDRAFT_DAYS after repayment
UNCONCLUDED = "unconcluded"  # 不成立, 取下げ: RETENTION_UNCONCLUDED_DAYS after the end
IDENTITY = "identity"  # KYC files, PoAs, users' personal data after 解約
APPLICATION = "application"  # unapproved MyPage applications

POLICY_LABELS = {
    FINISHED: "終了した契約（完済・取消合意済）",
    OVERDRAFT: "当座貸越（専用当貸）極度内実行（返済後）",
    UNCONCLUDED: "不成立・取下げの案件",
    IDENTITY: "本人確認書類・個人情報（解約後）",
    APPLICATION: "承認されなかった利用申込",
}

# Policies whose deletion is announced to the customer beforehand (CON-9).
ANNOUNCED = frozenset({FINISHED, OVERDRAFT})


@dataclass(frozen=True)
class Due:
    policy: str
    period: str  # as configured, e.g. "10y", "365d"
    due_at: datetime

    @property
    def label(self) -> str:
        return f"{self.policy}:{self.period}"


def add_years(moment: datetime, years: int) -> datetime:
    """Same calendar day ``years`` later (29 February becomes 28 February)."""
    try:
        return moment.replace(year=moment.year + years)
    except ValueError:
        return moment.replace(year=moment.year + years, day=28)


def _config(key: str) -> int:
    return int(current_app.config[key])


def due_for(package: Any) -> Due | None:
    """The rule for a package (a ContractPackage or a row with the same
    fields), or None while it is still live (no end date)."""
    ended_at = package.ended_at
    if ended_at is None:
        return None
    state = PackageState(package.state)
    if state == PackageState.REPAID and package.summary_type == SummaryType.OVERDRAFT:
        days = _config("RETENTION_OVERDRAFT_DAYS")
        return Due(OVERDRAFT, f"{days}d", ended_at + timedelta(days=days))
    if state in (PackageState.REPAID, PackageState.CANCELLED):
        years = _config("RETENTION_FINISHED_YEARS")
        return Due(FINISHED, f"{years}y", add_years(ended_at, years))
    if state in (PackageState.VOID, PackageState.WITHDRAWN):
        days = _config("RETENTION_UNCONCLUDED_DAYS")
        return Due(UNCONCLUDED, f"{days}d", ended_at + timedelta(days=days))
    return None


def shortest_period(*, announced_only: bool = False) -> timedelta:
    """No package ended less than this ago is due: the run's database filter."""
    days = [_config("RETENTION_OVERDRAFT_DAYS"), _config("RETENTION_FINISHED_YEARS") * 365]
    if not announced_only:
        days.append(_config("RETENTION_UNCONCLUDED_DAYS"))
    return timedelta(days=max(0, min(days) - 1))  # -1: a leap day in a span of years


def ended_states() -> tuple[str, ...]:
    return tuple(s.value for s in (PackageState.REPAID, PackageState.CANCELLED,
                                   PackageState.VOID, PackageState.WITHDRAWN))


def notice_days() -> list[int]:
    """Days before deletion when users are told, largest first (90, 30)."""
    raw = current_app.config["RETENTION_NOTICE_DAYS"]
    values = raw if isinstance(raw, list | tuple) else str(raw).split(",")
    return sorted({int(v) for v in values}, reverse=True)


def identity_due(terminated_at: datetime) -> datetime:
    return add_years(terminated_at, _config("RETENTION_IDENTITY_YEARS"))


def application_due(submitted_at: datetime) -> datetime:
    return submitted_at + timedelta(days=_config("RETENTION_APPLICATION_DAYS"))

