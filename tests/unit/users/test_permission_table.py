"""USR-2 and CERT-3 as one table over every role pair: actor role × subject
role × (self | another user of the same company | a user of another company).

The expectations are written here from the SPEC's tables, independently of
``portal.permissions``; the test checks ``can`` and the PoA decision against them.
"""

from __future__ import annotations

import itertools

import pytest

from portal.certs.models import PoaKind
from portal.certs.reissue import poa_for_cert_request
from portal.models import Company, CompanyKind, CustomerRole, CustomerUser, UserState
from portal.permissions import Permission as P
from portal.permissions import can
from portal.users.poa import poa_options_for_new_user

REP, ADM, SIG, VIE = (CustomerRole.REPRESENTATIVE, CustomerRole.ADMINISTRATOR,
                      CustomerRole.SIGNER, CustomerRole.VIEWER)
ROLES = (REP, ADM, SIG, VIE)
MANAGERS = {REP, ADM}
SIGNERS = {REP, ADM, SIG}
SELF, SAME, OTHER_COMPANY = "self", "same-company", "other-company"

_ids = itertools.count(1)


def _company() -> Company:
    return Company(id=next(_ids), kind=CompanyKind.CORPORATION, application_branch_id=1)


def _user(role: CustomerRole, company: Company) -> CustomerUser:
    return CustomerUser(id=next(_ids), company_id=company.id, company=company, role=role,
                        state=UserState.ACTIVE)


def expected(permission: P, actor: CustomerRole, subject: CustomerRole, relation: str) -> bool:
    """The SPEC (USR-2, USR-6, CERT-1, CERT-3, PIN-4), case by case."""
    if relation == OTHER_COMPANY:
        return False  # AUD-4: another company's users are never reached
    is_self = relation == SELF
    if permission is P.USERS_EDIT:  # everyone edits themselves; managers edit others
        return is_self or actor in MANAGERS
    if permission is P.USERS_DELETE:  # managers, never oneself
        return not is_self and actor in MANAGERS
    if permission is P.CERTS_REQUEST:  # rep/admin for anyone, signer only self; viewers have none
        if subject not in SIGNERS:
            return False
        return actor in MANAGERS or (is_self and actor == SIG)
    if permission is P.PIN_LOCK:  # managers lock another signing user's PIN
        return not is_self and actor in MANAGERS and subject in SIGNERS
    if permission is P.USERS_REISSUE_TEMP_PASSWORD:
        return not is_self and actor in MANAGERS
    raise AssertionError(permission)


def expected_poa(actor: CustomerRole, subject: CustomerRole, relation: str) -> PoaKind | None:
    """CERT-3's PoA table (guide §3.5.1): None where no request is allowed."""
    if not expected(P.CERTS_REQUEST, actor, subject, relation):
        return None
    if subject == REP:
        return PoaKind.NONE  # 委任状不要
    if relation == SELF:
        return PoaKind.UPLOAD  # 管理者・署名者が自分自身: 紙の委任状
    return PoaKind.SYSTEM  # 自分以外の管理者・署名者: システム作成


CASES = [(a, s, rel) for a in ROLES for s in ROLES for rel in (SELF, SAME, OTHER_COMPANY)
         if rel != SELF or a == s]
OBJECT_PERMISSIONS = (P.USERS_EDIT, P.USERS_DELETE, P.CERTS_REQUEST, P.PIN_LOCK,
                      P.USERS_REISSUE_TEMP_PASSWORD)


def _pair(actor_role: CustomerRole, subject_role: CustomerRole, relation: str):
    home = _company()
    actor = _user(actor_role, home)
    if relation == SELF:
        return actor, actor
    return actor, _user(subject_role, home if relation == SAME else _company())


@pytest.mark.parametrize("permission", OBJECT_PERMISSIONS, ids=str)
@pytest.mark.parametrize("actor_role, subject_role, relation", CASES,
                         ids=[f"{a.value}->{s.value}-{r}" for a, s, r in CASES])
def test_usr2_cert3_permission_table(actor_role, subject_role, relation, permission):
    actor, subject = _pair(actor_role, subject_role, relation)
    assert can(actor, permission, subject) is expected(permission, actor_role, subject_role,
                                                       relation)
    poa = poa_for_cert_request(actor_role, subject_role, is_self=relation == SELF,
                               same_company=relation != OTHER_COMPANY)
    assert poa == expected_poa(actor_role, subject_role, relation)


@pytest.mark.parametrize("actor_role", ROLES)
@pytest.mark.parametrize("own_company", [True, False])
def test_create_users_and_edit_company_are_managers_only(actor_role, own_company):
    home = _company()
    actor = _user(actor_role, home)
    target = home if own_company else _company()
    allowed = actor_role in MANAGERS and own_company
    assert can(actor, P.USERS_CREATE, target) is allowed
    assert can(actor, P.COMPANY_EDIT, target) is allowed


@pytest.mark.parametrize("role, options", [
    (REP, (PoaKind.NONE,)),
    (VIE, (PoaKind.NONE,)),
    (ADM, (PoaKind.SYSTEM, PoaKind.UPLOAD)),
    (SIG, (PoaKind.SYSTEM, PoaKind.UPLOAD)),
])
def test_usr3_poa_for_a_new_user(role, options):
    """No PoA for a representative or viewer; system-created (default) or
    uploaded for an administrator or signer."""
    assert poa_options_for_new_user(role) == options


@pytest.mark.parametrize("kind, debtor, deposit, application, channel", [
    (CompanyKind.CORPORATION, True, None, 1, "bank"),  # 債務者: 届出事項変更届
    (CompanyKind.CORPORATION, False, 1, 1, "bank"),  # 預金口座取引店 = 申込店
    (CompanyKind.SOLE_PROPRIETOR, False, 1, 1, "bank"),
    (CompanyKind.CORPORATION, False, 2, 1, "mypage"),  # 取引店と申込店が異なる
    (CompanyKind.CORPORATION, False, None, 1, "mypage"),  # 預金口座なし
    (CompanyKind.INDIVIDUAL, True, 1, 1, "mypage"),  # 個人は常にご自身で
])
def test_co1_who_edits_company_info(kind, debtor, deposit, application, channel):
    from portal.users.company import company_edit_channel

    company = Company(id=1, kind=kind, is_debtor=debtor, deposit_branch_id=deposit,
                      application_branch_id=application)
    assert company_edit_channel(company).value == channel
