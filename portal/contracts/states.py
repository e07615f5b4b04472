"""The contract state machines as data (CON-2).

One table of allowed transitions per lifecycle and ONE function,
``transition()``, that checks the current state, writes the audit entry and
assigns the status. The models refuse any other assignment of ``state``
(see ``models._guard_state``), so no code path can skip the table.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from enum import StrEnum
from typing import Any

from portal import audit
from portal.clock import now
from portal.errors import IllegalTransition
from portal.i18n import gettext


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

# Audit action per lifecycle (the object type is part of the entry's target).
_MACHINES: dict[type[StrEnum], tuple[dict[Any, frozenset[Any]], str]] = {
    PackageState: (PACKAGE_TRANSITIONS, "contract.package.state"),
    PartyState: (PARTY_TRANSITIONS, "contract.party.state"),
}

_assigning: ContextVar[bool] = ContextVar("contract_state_assigning", default=False)


def allowed(current: StrEnum, target: StrEnum) -> bool:
    table, _ = _MACHINES[type(target)]
    return target in table[type(target)(current)]


def assignment_permitted() -> bool:
    return _assigning.get()


@contextmanager
def _assigning_state() -> Iterator[None]:
    token = _assigning.set(True)
    try:
        yield
    finally:
        _assigning.reset(token)


def transition(obj: Any, target: StrEnum, *, actor: Any = None, company_id: int | None = None,
               detail: dict[str, Any] | None = None) -> None:
    """Move ``obj.state`` to ``target`` or raise ``IllegalTransition``.

    Records actor and time in the audit log and stamps ``obj.state_changed_at``.
    """
    state_type = type(target)
    current = state_type(obj.state)
    if not allowed(current, target):
        raise IllegalTransition(gettext(
            "この操作はできません（現在の状態：%(current)s、操作後の状態：%(target)s）。"
            "画面を開き直してご確認ください。",
            current=gettext(current.label), target=gettext(target.label)))
    _, action = _MACHINES[state_type]
    with _assigning_state():
        obj.state = target
    obj.state_changed_at = now()
    audit.record(action, actor=actor, company_id=company_id, target=obj,
                 detail={"from": current.value, "to": target.value, **(detail or {})})
