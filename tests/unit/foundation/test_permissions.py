"""USR-2 and AUD-4 as a table: the policy without a database."""

from __future__ import annotations

import pytest

from portal.models import Company, CustomerRole, CustomerUser, StaffRole, StaffUser, UserState
from portal.permissions import Permission as P
from portal.permissions import can

REP, ADM, SIG, VIE = (CustomerRole.REPRESENTATIVE, CustomerRole.ADMINISTRATOR,
                      CustomerRole.SIGNER, CustomerRole.VIEWER)
_ids = iter(range(1, 10_000))


def company(branch_id=1, deposit_branch_id=None):
    return Company(id=next(_ids), application_branch_id=branch_id,
                   deposit_branch_id=deposit_branch_id)


def user(role, of_company):
    return CustomerUser(id=next(_ids), company_id=of_company.id, company=of_company, role=role,
                        state=UserState.ACTIVE)


def staff(role=StaffRole.BRANCH_STAFF, branch_id=1):
    return StaffUser(id=next(_ids), role=role, branch_id=branch_id, active=True)


# (permission, {role: allowed on another user of the same company})
ROLE_TABLE = [
    (P.CONTRACTS_SIGN, {REP: True, ADM: True, SIG: True, VIE: False}),
    (P.CONTRACTS_VIEW, {REP: True, ADM: True, SIG: True, VIE: True}),
    (P.CONTRACTS_VIEW_UNSIGNED, {REP: True, ADM: True, SIG: True, VIE: False}),
    (P.USERS_CREATE, {REP: True, ADM: True, SIG: False, VIE: False}),
    (P.USERS_EDIT, {REP: True, ADM: True, SIG: False, VIE: False}),
    (P.USERS_DELETE, {REP: True, ADM: True, SIG: False, VIE: False}),
    (P.CERTS_REQUEST, {REP: True, ADM: True, SIG: False, VIE: False}),
    (P.PIN_LOCK, {REP: True, ADM: True, SIG: False, VIE: False}),
    (P.COMPANY_EDIT, {REP: True, ADM: True, SIG: False, VIE: False}),
]


@pytest.mark.parametrize("permission, table", ROLE_TABLE, ids=[p for p, _ in ROLE_TABLE])
@pytest.mark.parametrize("role", [REP, ADM, SIG, VIE])
def test_role_table_on_another_user_of_the_same_company(permission, table, role):
    c = company()
    actor, other = user(role, c), user(SIG, c)
    assert can(actor, permission, other) is table[role]


@pytest.mark.parametrize("permission, expected", [
    (P.USERS_EDIT, {REP: True, ADM: True, SIG: True, VIE: True}),     # everyone edits themselves
    (P.CERTS_REQUEST, {REP: True, ADM: True, SIG: True, VIE: False}),  # signer only for self
    (P.USERS_DELETE, {REP: False, ADM: False, SIG: False, VIE: False}),  # never oneself
    (P.PIN_LOCK, {REP: False, ADM: False, SIG: False, VIE: False}),
])
@pytest.mark.parametrize("role", [REP, ADM, SIG, VIE])
def test_actions_on_oneself(permission, expected, role):
    me = user(role, company())
    assert can(me, permission, me) is expected[role]


@pytest.mark.parametrize("permission", [p for p, _ in ROLE_TABLE])
def test_nothing_reaches_another_company(permission):
    actor = user(REP, company())
    stranger = user(SIG, company())
    assert can(actor, permission, stranger) is False
    assert can(actor, permission, stranger.company) is False


def test_deleted_or_anonymous_actors_can_do_nothing():
    c = company()
    gone = user(REP, c)
    gone.state = UserState.DELETED
    assert can(gone, P.CONTRACTS_VIEW, c) is False
    assert can(None, P.CONTRACTS_VIEW, c) is False


def test_branch_staff_reach_only_their_branch_customers():
    ours, theirs = company(branch_id=1), company(branch_id=2)
    deposit_here = company(branch_id=2, deposit_branch_id=1)
    clerk = staff(branch_id=1)
    assert can(clerk, P.CONSOLE_CONTRACTS_PREPARE, ours)
    assert not can(clerk, P.CONSOLE_CONTRACTS_PREPARE, theirs)
    assert can(clerk, P.CONSOLE_KYC_REVIEW, user(REP, ours))
    assert not can(clerk, P.CONSOLE_KYC_REVIEW, user(REP, theirs))
    assert can(clerk, P.CONSOLE_CUSTOMERS_VIEW, deposit_here)


def test_customers_and_staff_hold_disjoint_permissions():
    c = company()
    assert not can(user(REP, c), P.CONSOLE_CONTRACTS_PREPARE, c)
    assert not can(staff(), P.CONTRACTS_SIGN, c)
    admin = staff(role=StaffRole.BANK_ADMIN, branch_id=None)
    assert can(admin, P.CONSOLE_AUDIT_READ)
    assert not can(admin, P.CONSOLE_CONTRACTS_PREPARE, c)
    assert not can(staff(), P.CONSOLE_AUDIT_READ)
