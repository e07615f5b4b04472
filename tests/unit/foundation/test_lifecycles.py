"""#15 item 2: every life cycle is a table run by ``portal.states.Lifecycle``.

The life cycles are found in the source of ``portal`` and ``kyc`` (every
module-level ``NAME = Lifecycle(...)``), so a new one is walked here without
being listed. For each: every state has a row, the end states (declared below)
have no exit and every other state has one, every state can be reached from
the first, an illegal move raises ``IllegalTransition`` and writes nothing to
the operation log, a legal move writes exactly one entry the operation log can
name (AUD-2).
"""

from __future__ import annotations

import ast
import importlib
import json
import re
from enum import StrEnum
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from portal.console.labels import ACTIONS
from portal.errors import IllegalTransition
from portal.extensions import Base, db
from portal.models import AuditEntry
from portal.states import Lifecycle

ROOT = Path(__file__).resolve().parents[3]


def _lifecycle_names() -> list[str]:
    """``module.NAME`` of every module-level ``NAME = Lifecycle(...)`` (read from
    the source, so collecting imports nothing before the app exists)."""
    names = []
    for package in ("portal", "kyc"):
        for path in sorted((ROOT / package).rglob("*.py")):
            module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            for node in ast.parse(path.read_text(encoding="utf-8")).body:
                if isinstance(node, ast.AnnAssign | ast.Assign) and _calls_lifecycle(node.value):
                    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                    names += [f"{module}.{t.id}" for t in targets if isinstance(t, ast.Name)]
    return names


def _calls_lifecycle(value: ast.expr | None) -> bool:
    if not isinstance(value, ast.Call):
        return False
    func = value.func
    return (isinstance(func, ast.Name) and func.id == "Lifecycle") or (
        isinstance(func, ast.Attribute) and func.attr == "Lifecycle")


LIFECYCLE_NAMES = _lifecycle_names()

# The end states of each life cycle, by its enum: nothing leaves them.
END_STATES: dict[str, set[str]] = {
    "ApplicationState": {"approved", "rejected"},  # APP-5
    "KycState": {"approved", "rejected"},  # KYC-6
    "CertState": {"revoked"},  # CERT-4: a revoked certificate never signs again
    "CertRequestState": {"issued", "cancelled"},  # CERT-2
    "PackageState": {"repaid", "cancelled", "void", "withdrawn"},  # CON-2
    "PartyState": {"signed", "rejected"},  # CON-2
    "AlertState": {"acknowledged"},  # SIGN-6
}

# What a user is told when a move is refused (unchanged by #15).
SEE_AGAIN = "画面を開き直してご確認ください。"
REFUSALS = {
    ("ApplicationState", "approved", "rejected"): "この申込みは既に承認済です。",
    ("KycState", "approved", "rejected"):
        "この本人確認書類は「承認済み」のため、この操作はできません。",
    ("CertState", "revoked", "active"): "この電子証明書の状態では操作できません。",
    ("PackageState", "draft", "concluded"):
        "この操作はできません（現在の状態：作成中、操作後の状態：契約締結済）。" + SEE_AGAIN,
    ("PartyState", "signed", "rejected"):
        "この操作はできません（現在の状態：署名済、操作後の状態：否認）。" + SEE_AGAIN,
    ("AlertState", "acknowledged", "acknowledged"): "このアラートは確認済みです。",
}


def _model_of(lifecycle: Lifecycle[Any]) -> type[Any]:
    """The mapped class whose state column is typed with the life cycle's enum."""
    annotation = re.compile(rf"Mapped\[{lifecycle.states.__name__}\]")
    models = {mapper.class_ for mapper in Base.registry.mappers
              if annotation.fullmatch(str(mapper.class_.__annotations__.get(lifecycle.attribute)))}
    assert len(models) == 1, f"{lifecycle.states.__name__}: {models}"
    return models.pop()


def _row_in(lifecycle: Lifecycle[Any], state: StrEnum) -> Any:
    """A row of the life cycle's own model in ``state`` (not stored: the move and
    its audit entry are what is checked)."""
    row = _model_of(lifecycle)()
    setattr(row, lifecycle.attribute, state)
    row.id = 4242
    return row


def _audit_count() -> int:
    return int(db.session.scalar(select(func.count(AuditEntry.id))) or 0)


def _pairs(lifecycle: Lifecycle[Any], *, legal: bool) -> list[tuple[Any, Any]]:
    return [(a, b) for a in lifecycle.states for b in lifecycle.states
            if lifecycle.allowed(a, b) is legal]


def _load(name: str) -> Lifecycle[Any]:
    module, attribute = name.rsplit(".", 1)
    found = getattr(importlib.import_module(module), attribute)
    assert isinstance(found, Lifecycle)
    return found


@pytest.fixture(params=LIFECYCLE_NAMES, ids=lambda name: name.split(".", 1)[1])
def lifecycle(request: pytest.FixtureRequest, app: Any) -> Lifecycle[Any]:
    return _load(request.param)


def test_the_life_cycles_of_issue_15_are_all_found(app: Any) -> None:
    enums = {_load(name).states.__name__ for name in LIFECYCLE_NAMES}
    assert enums >= {"ApplicationState", "KycState", "CertState", "PackageState", "PartyState",
                     "AlertState"}
    assert set(END_STATES) >= enums, f"declare the end states of {enums - set(END_STATES)}"


def test_every_state_has_a_row_and_moves_only_to_its_own_states(
        lifecycle: Lifecycle[Any]) -> None:
    assert set(lifecycle.table) == set(lifecycle.states)
    for state, targets in lifecycle.table.items():
        assert targets <= set(lifecycle.states) and state not in targets


def test_end_states_have_no_exit_and_every_other_state_has_one(
        lifecycle: Lifecycle[Any]) -> None:
    ends = END_STATES[lifecycle.states.__name__]
    assert {s.value for s in lifecycle.states if not lifecycle.table[s]} == ends


def test_every_state_is_reached_from_the_first(lifecycle: Lifecycle[Any]) -> None:
    first = next(iter(lifecycle.states))
    reached, frontier = {first}, [first]
    while frontier:
        for target in lifecycle.table[frontier.pop()]:
            if target not in reached:
                reached.add(target)
                frontier.append(target)
    assert reached == set(lifecycle.states)


def test_every_action_a_life_cycle_records_has_an_operation_log_label(
        lifecycle: Lifecycle[Any]) -> None:
    actions = {lifecycle.audit_action.format(to=target.value)
               for targets in lifecycle.table.values() for target in targets}
    assert sorted(actions - ACTIONS.keys()) == []


def test_an_illegal_move_is_refused_and_writes_no_audit_entry(
        lifecycle: Lifecycle[Any], factories: Any) -> None:
    staff = factories.staff()
    before = _audit_count()
    for current, target in _pairs(lifecycle, legal=False):
        row = _row_in(lifecycle, current)
        with pytest.raises(IllegalTransition) as refused:
            lifecycle.move(row, target, actor=staff)
        assert refused.value.status_code == 409
        assert getattr(row, lifecycle.attribute) == current
        expected = REFUSALS.get((lifecycle.states.__name__, current.value, target.value))
        assert expected is None or refused.value.message == expected
    assert _audit_count() == before


def test_a_legal_move_assigns_and_writes_one_audit_entry(
        lifecycle: Lifecycle[Any], factories: Any) -> None:
    staff = factories.staff()
    for current, target in _pairs(lifecycle, legal=True):
        row = _row_in(lifecycle, current)
        before = _audit_count()
        assert lifecycle.move(row, target, actor=staff, detail={"case": "walk"}) == current
        assert getattr(row, lifecycle.attribute) == target
        assert _audit_count() == before + 1
        entry = db.session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc())).first()
        assert entry is not None
        assert entry.action == lifecycle.audit_action.format(to=target.value)
        assert (entry.actor_type, entry.actor_id) == ("staff", staff.id)
        assert (entry.target_type, entry.target_id) == (type(row).__name__, "4242")
        detail = json.loads(entry.detail)
        assert (detail["from"], detail["to"], detail["case"]) == (current, target, "walk")
        db.session.rollback()
