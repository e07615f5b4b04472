"""CON-2: the package and party state machines, as a table."""

from __future__ import annotations

import itertools
import json
from datetime import date

import pytest

from portal.contracts.models import ContractPackage, SummaryType
from portal.contracts.states import (
    PACKAGE_LIFECYCLE,
    PACKAGE_TRANSITIONS,
    PARTY_LIFECYCLE,
    PARTY_TRANSITIONS,
    PackageState,
    PartyState,
)
from portal.errors import IllegalTransition
from portal.extensions import db
from portal.models import AuditEntry

P, S = PackageState, PartyState

# CON-2 read as data: every allowed move, everything else refused.
EXPECTED_PACKAGE = {
    (P.DRAFT, P.UNSIGNED), (P.DRAFT, P.WITHDRAWN),
    (P.UNSIGNED, P.ALL_SIGNED), (P.UNSIGNED, P.VOID), (P.UNSIGNED, P.WITHDRAWN),
    (P.ALL_SIGNED, P.CONCLUDED),
    (P.CONCLUDED, P.REPAID), (P.CONCLUDED, P.CANCELLED),
}
EXPECTED_PARTY = {(S.UNSIGNED, S.SIGNED), (S.UNSIGNED, S.REJECTED)}


@pytest.mark.parametrize("current,target", list(itertools.product(P, P)))
def test_package_transition_table(current, target):
    assert PACKAGE_LIFECYCLE.allowed(current, target) is ((current, target) in EXPECTED_PACKAGE)


@pytest.mark.parametrize("current,target", list(itertools.product(S, S)))
def test_party_transition_table(current, target):
    assert PARTY_LIFECYCLE.allowed(current, target) is ((current, target) in EXPECTED_PARTY)


def test_every_state_has_a_row_and_a_japanese_label():
    assert set(PACKAGE_TRANSITIONS) == set(P) and set(PARTY_TRANSITIONS) == set(S)
    assert {s.label for s in P} >= {"契約締結済", "完済", "取消合意済", "不成立"}
    assert [s.label for s in S] == ["未署名", "署名済", "否認"]


def _package(factories) -> ContractPackage:
    branch = factories.branch()
    staff = factories.staff(branch)
    package = ContractPackage(branch_id=branch.id, application_date=date(2026, 4, 1),
                              summary_type=SummaryType.LOAN_ONLY, loan_amount=1_000_000,
                              planned_loan_date=date(2026, 4, 10), staff_in_charge_id=staff.id,
                              staff_label="東京支店 担当", created_by_id=staff.id,
                              state=PackageState.DRAFT)
    db.session.add(package)
    db.session.commit()
    return package, staff


def test_transition_records_actor_time_and_states_in_the_audit_log(app, factories):
    package, staff = _package(factories)
    PACKAGE_LIFECYCLE.move(package, P.UNSIGNED, actor=staff)
    db.session.commit()
    entry = db.session.query(AuditEntry).filter_by(action="contract.package.state").one()
    assert entry.actor_type == "staff" and entry.actor_id == staff.id and entry.at is not None
    assert json.loads(entry.detail) == {"from": "draft", "to": "unsigned"}
    assert entry.target_type == "ContractPackage" and entry.target_id == str(package.id)
    assert package.state == P.UNSIGNED


def test_illegal_transition_is_refused_with_a_clear_message_and_nothing_changes(app, factories):
    package, staff = _package(factories)
    with pytest.raises(IllegalTransition) as refused:
        PACKAGE_LIFECYCLE.move(package, P.CONCLUDED, actor=staff)
    assert "作成中" in refused.value.message and "契約締結済" in refused.value.message
    assert package.state == P.DRAFT
    assert db.session.query(AuditEntry).filter_by(action="contract.package.state").count() == 0


def test_status_cannot_be_assigned_outside_the_lifecycle(app, factories):
    package, _ = _package(factories)
    with pytest.raises(RuntimeError):
        package.state = P.CONCLUDED
