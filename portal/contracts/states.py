"""The contract state machines as data (CON-2).

One table of allowed moves per life cycle, each run by one
``portal.states.Lifecycle`` that checks the move, assigns the state, stamps
``state_changed_at`` and writes the audit entry. The models refuse any other
assignment of ``state`` (see ``models._guard_state``), so no code path can skip
the table.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from portal.clock import now
from portal.states import Lifecycle


class PackageState(StrEnum):
    DRAFT = "draft"  # 作成中 (staff only)
    UNSIGNED = "unsigned"  # 署名受付中 — 署名が必要な契約
    ALL_SIGNED = "all_signed"  # 全員署名済、締結待ち
    CONCLUDED = "concluded"  # 契約締結済 — 現在有効な契約
    REPAID = "repaid"  # 完済
    CANCELLED = "cancelled"  # 取消合意済
    VOID = "void"  # 不成立 (a party rejected)
    WITHDRAWN = "withdrawn"  # 取下げ (staff)

    @property
    def label(self) -> str:
        return PACKAGE_LABELS[self]


PACKAGE_LABELS = {
    PackageState.DRAFT: "作成中",
    PackageState.UNSIGNED: "署名受付中",
    PackageState.ALL_SIGNED: "締結手続中",
    PackageState.CONCLUDED: "契約締結済",
    PackageState.REPAID: "完済",
    PackageState.CANCELLED: "取消合意済",
    PackageState.VOID: "不成立",
    PackageState.WITHDRAWN: "取下げ",
}


class PartyState(StrEnum):
    UNSIGNED = "unsigned"  # 未署名
    SIGNED = "signed"  # 署名済
    REJECTED = "rejected"  # 否認

    @property
    def label(self) -> str:
        return {"unsigned": "未署名", "signed": "署名済", "rejected": "否認"}[self.value]


P = PackageState
PACKAGE_TRANSITIONS: dict[PackageState, frozenset[PackageState]] = {
    P.DRAFT: frozenset({P.UNSIGNED, P.WITHDRAWN}),
    P.UNSIGNED: frozenset({P.ALL_SIGNED, P.VOID, P.WITHDRAWN}),
    P.ALL_SIGNED: frozenset({P.CONCLUDED}),
    P.CONCLUDED: frozenset({P.REPAID, P.CANCELLED}),
    P.REPAID: frozenset(),
    P.CANCELLED: frozenset(),
    P.VOID: frozenset(),
    P.WITHDRAWN: frozenset(),
}

S = PartyState
PARTY_TRANSITIONS: dict[PartyState, frozenset[PartyState]] = {
    S.UNSIGNED: frozenset({S.SIGNED, S.REJECTED}),
    S.SIGNED: frozenset(),
    S.REJECTED: frozenset(),
}


def _stamp_state_changed(obj: Any, _actor: Any) -> None:
    obj.state_changed_at = now()


PACKAGE_LIFECYCLE: Lifecycle[PackageState] = Lifecycle(
    PackageState, PACKAGE_TRANSITIONS, "contract.package.state", on_move=_stamp_state_changed)
PARTY_LIFECYCLE: Lifecycle[PartyState] = Lifecycle(
    PartyState, PARTY_TRANSITIONS, "contract.party.state", on_move=_stamp_state_changed)
