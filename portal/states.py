"""One state-machine mechanism for every life cycle (#15 item 2).

A life cycle is data: its ``StrEnum`` of states, a table of allowed moves and
how a move is audited. ``Lifecycle.move`` is the one function that checks a
move, assigns the state and writes the audit entry; an illegal move raises
``IllegalTransition`` (409, a Japanese message naming the current state).
Models that want to refuse any other assignment of their state column call
``assignment_permitted()`` from a ``@validates`` hook.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Generic, TypeVar

from portal import audit
from portal.errors import IllegalTransition
from portal.i18n import gettext

S = TypeVar("S", bound=StrEnum)

DEFAULT_REFUSAL = ("この操作はできません（現在の状態：%(current)s、操作後の状態：%(target)s）。"
                   "画面を開き直してご確認ください。")

_assigning: ContextVar[bool] = ContextVar("lifecycle_assigning", default=False)


def assignment_permitted() -> bool:
    """True only inside ``Lifecycle.move`` (for models that guard their state column)."""
    return _assigning.get()


@contextmanager
def _assigning_state() -> Iterator[None]:
    token = _assigning.set(True)
    try:
        yield
    finally:
        _assigning.reset(token)


def _label(state: StrEnum) -> str:
    return str(getattr(state, "label", state.value))


@dataclass(frozen=True)
class Lifecycle(Generic[S]):
    """A life cycle: ``table[current]`` is the set of states it may move to.

    ``audit_action`` is either a fixed action (``"contract.package.state"``) or a
    template with ``{to}`` (``"application.{to}"``). ``refusal`` is the Japanese
    message of an illegal move, with ``%(current)s`` / ``%(target)s`` filled with
    the translated labels. ``on_move(obj, actor)`` stamps what a move stamps
    besides the state (e.g. ``state_changed_at``, ``reviewed_by``).
    """

    states: type[S]
    table: Mapping[S, frozenset[S]]
    audit_action: str
    refusal: str = DEFAULT_REFUSAL
    attribute: str = "state"
    on_move: Callable[[Any, Any], None] | None = None
    detail_of: Callable[[Any], dict[str, Any]] = field(default=lambda _obj: {})

    def __post_init__(self) -> None:
        missing = set(self.states) - set(self.table)
        if missing:
            raise ValueError(f"transition table lacks {sorted(missing)}")

    def current(self, obj: Any) -> S:
        return self.states(getattr(obj, self.attribute))

    def allowed(self, current: S, target: S) -> bool:
        return target in self.table[self.states(current)]

    def require(self, obj: Any, target: S) -> S:
        """The current state, or ``IllegalTransition`` when ``target`` is not allowed."""
        current = self.current(obj)
        if not self.allowed(current, target):
            raise IllegalTransition(gettext(
                self.refusal, current=gettext(_label(current)), target=gettext(_label(target))))
        return current

    def move(self, obj: Any, target: S, *, actor: Any = None, company_id: int | None = None,
             detail: dict[str, Any] | None = None) -> S:
        """Check, assign and audit one move; returns the state it left."""
        current = self.require(obj, target)
        with _assigning_state():
            setattr(obj, self.attribute, target)
        if self.on_move is not None:
            self.on_move(obj, actor)
        audit.record(
            self.audit_action.format(to=target.value), actor=actor,
            company_id=company_id if company_id is not None else getattr(obj, "company_id", None),
            target=obj,
            detail={"from": current.value, "to": target.value, **self.detail_of(obj),
                    **(detail or {})})
        return current
