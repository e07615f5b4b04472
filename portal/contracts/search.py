"""Lists and search (CON-7, CON-8).

The lists are queries, not Python filters, so they stay fast with a million
packages: the date+amount index narrows the packages, the party index
(company_id, package_id) the customer's rows. A counterparty text is first
resolved to the (few) companies, branches and people signing personally whose
names contain it; in MyPage the customer's own company is no counterparty and
the bank's name (BANK_NAME) matches every package (#13 item 14). Paging
fetches one row more than a page instead of counting every match.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from functools import cache
from typing import Any

from flask import current_app
from sqlalchemy import (
    Select,
    String,
    and_,
    bindparam,
    exists,
    false,
    func,
    literal,
    or_,
    select,
    true,
    union_all,
)

from portal.extensions import db
from portal.models import Branch, Company, CustomerRole, CustomerUser, StaffUser

from .models import ContractPackage, ContractParty, SigningPosition, SummaryType
from .states import PackageState, PartyState

PAGE_SIZE = 20


class ListKind(StrEnum):
    TO_SIGN = "to_sign"  # 署名が必要な契約
    ACTIVE = "active"  # 現在有効な契約
    FINISHED = "finished"  # 終了した契約
    ALL = "all"  # console: every state

    @property
    def heading(self) -> str:
        """The list's page title (``title`` would shadow ``str.title``)."""
        return {"to_sign": "署名が必要な契約", "active": "現在有効な契約",
                "finished": "終了した契約", "all": "契約案件"}[self.value]


@dataclass(frozen=True)
class Criteria:
    date_from: date | None = None
    date_to: date | None = None
    amount_min: int | None = None
    amount_max: int | None = None
    counterparty: str | None = None
    page: int = 1

    @classmethod
    def from_form(cls, data: dict[str, Any]) -> Criteria:
        return cls(**{k: data.get(k) for k in ("date_from", "date_to", "amount_min",
                                                "amount_max", "counterparty")},
                   page=data.get("page") or 1)

    @property
    def any(self) -> bool:
        return any(v not in (None, "") for v in (self.date_from, self.date_to, self.amount_min,
                                                  self.amount_max, self.counterparty))


@dataclass
class Page:
    rows: list[Any]
    page: int
    has_next: bool
    criteria: Criteria = field(default_factory=Criteria)

    @property
    def has_prev(self) -> bool:
        return self.page > 1


P = ContractPackage


def _list_condition(kind: ListKind) -> Any:
    if kind is ListKind.TO_SIGN:
        return P.state.in_([PackageState.UNSIGNED, PackageState.ALL_SIGNED])
    if kind is ListKind.ACTIVE:
        return or_(P.state == PackageState.CONCLUDED,
                   and_(P.state == PackageState.REPAID, P.summary_type == SummaryType.OVERDRAFT))
    if kind is ListKind.FINISHED:
        return or_(P.state.in_([PackageState.CANCELLED, PackageState.VOID]),
                   and_(P.state == PackageState.REPAID, P.summary_type != SummaryType.OVERDRAFT),
                   and_(P.state == PackageState.WITHDRAWN, P.sent_at.is_not(None)))
    return True


def _name_pattern(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


# One round trip for both lookups: (0, company id) and (1, branch id). Built once:
# building the union (and its subquery's column collection) on every search cost
# more than running it.
_NAME = bindparam("name_pattern", type_=String())
_PERSON = bindparam("person_pattern", type_=String())  # the text without spaces
_U = CustomerUser
_LOOKUP = union_all(
    select(literal(0).label("k"), Company.id.label("id"))
    .where(or_(Company.name.like(_NAME, escape="\\"),
               Company.name_kana.like(_NAME, escape="\\"))).limit(1000).subquery().select(),
    select(literal(1).label("k"), Branch.id.label("id")).where(
        Branch.name.like(_NAME, escape="\\")),
    # a person signing personally (個人として署名, CON-8 #13 item 14): 姓名 or セイメイ
    select(literal(2).label("k"), _U.id.label("id"))
    .where(or_((_U.last_name + _U.first_name).like(_PERSON, escape="\\"),
               (_U.last_name_kana + _U.first_name_kana).like(_PERSON, escape="\\")))
    .limit(1000).subquery().select(),
)


_CP = ContractParty.__table__.alias("cp_search")


@dataclass(frozen=True)
class Viewpoint:
    """Whose counterparties a search finds. A customer's counterparties are the other
    parties and the bank (its name, its branches), never the customer's own company."""

    own_company_id: int | None = None
    bank_name: str = ""


def _counterparty_condition(text: str, viewpoint: Viewpoint = Viewpoint()) -> Any:
    if viewpoint.bank_name and text in viewpoint.bank_name:
        return true()  # the bank is the counterparty of every package a customer sees
    person = "".join(text.split())
    found = db.session.connection().execute(
        _LOOKUP, {"name_pattern": _name_pattern(text),
                  "person_pattern": _name_pattern(person or text)}).all()
    company_ids = [row[1] for row in found
                   if row[0] == 0 and row[1] != viewpoint.own_company_id]
    branch_ids = [row[1] for row in found if row[0] == 1]
    person_ids = [row[1] for row in found if row[0] == 2]
    # The resolved ids are rendered into the statement (they are integers from our
    # own tables): with bound parameters the driver prepares the statement after a
    # few runs and PostgreSQL may switch to one generic plan, which is much slower
    # for a customer with many packages than the plan made for these ids.
    conditions: list[Any] = []
    if company_ids:
        ids: Any = bindparam("cp_company_ids", company_ids, expanding=True, literal_execute=True)
        conditions.append(exists().where(_CP.c.package_id == P.id, _CP.c.company_id.in_(ids)))
    if branch_ids:
        conditions.append(P.branch_id.in_(
            bindparam("cp_branch_ids", branch_ids, expanding=True, literal_execute=True)))
    if person_ids:
        users: Any = bindparam("cp_user_ids", person_ids, expanding=True, literal_execute=True)
        conditions.append(exists().where(_CP.c.package_id == P.id, _CP.c.user_id.in_(users)))
    return or_(*conditions) if conditions else false()


def _apply_criteria(query: Select[Any], criteria: Criteria,
                    viewpoint: Viewpoint = Viewpoint()) -> Select[Any]:
    if criteria.date_from:
        query = query.where(P.application_date >= criteria.date_from)
    if criteria.date_to:
        query = query.where(P.application_date <= criteria.date_to)
    if criteria.amount_min is not None:
        query = query.where(P.loan_amount >= criteria.amount_min)
    if criteria.amount_max is not None:
        query = query.where(P.loan_amount <= criteria.amount_max)
    if criteria.counterparty:
        query = query.where(_counterparty_condition(criteria.counterparty, viewpoint))
    return query


def _page(query: Select[Any], criteria: Criteria, page_size: int) -> Page:
    offset = (criteria.page - 1) * page_size
    rows = list(db.session.execute(query.offset(offset).limit(page_size + 1)).all())
    return Page(rows[:page_size], criteria.page, len(rows) > page_size, criteria)


# --- the customer's lists (MyPage, CON-7) ---------------------------------------------------
#
# A list row is plain data: the columns the row shows and its labels, read as one
# Core row (no ORM identity map, no entity per party and package). The statement of
# each (list, viewer or not) is built once with bound user and company; a request
# only adds its search criteria.

_PARTY = ContractParty.__table__.c
_PACKAGE = P.__table__.c


@dataclass(frozen=True, slots=True)
class ListParty:
    """The signing party's columns of a list row (署名立場, 署名状況)."""

    signing_position: str
    user_id: int | None
    state: str

    @property
    def position_label(self) -> str:
        return _POSITION_LABELS[self.signing_position]

    @property
    def state_label(self) -> str:
        return _PARTY_STATE_LABELS[self.state]


@dataclass(frozen=True, slots=True)
class ListPackage:
    """The package's columns of a list row (申込日, 申込概要, 融資金額, …, 本件担当)."""

    id: int
    application_date: date | None
    summary_type: str
    loan_amount: int | None
    planned_loan_date: date | None
    state: str
    staff_label: str

    @property
    def summary_label(self) -> str:
        return _SUMMARY_LABELS[self.summary_type]

    @property
    def state_label(self) -> str:
        return _PACKAGE_STATE_LABELS[self.state]


_POSITION_LABELS = {p.value: p.label for p in SigningPosition}
_PARTY_STATE_LABELS = {s.value: s.label for s in PartyState}
_SUMMARY_LABELS = {s.value: s.label for s in SummaryType}
_PACKAGE_STATE_LABELS = {s.value: s.label for s in PackageState}


@cache
def _customer_query(kind: ListKind, viewer: bool) -> Select[Any]:
    # A personal party always belongs to the signer's own company (services checks
    # it), so one indexable company condition covers both kinds of party.
    member = and_(_PARTY.company_id == bindparam("list_company_id"),
                  or_(_PARTY.user_id.is_(None), _PARTY.user_id == bindparam("list_user_id")))
    query = (select(_PARTY.signing_position, _PARTY.user_id, _PARTY.state,
                    _PACKAGE.id, _PACKAGE.application_date, _PACKAGE.summary_type,
                    _PACKAGE.loan_amount, _PACKAGE.planned_loan_date, _PACKAGE.state,
                    _PACKAGE.staff_label)
             .select_from(ContractParty.__table__.join(P.__table__,
                                                       _PACKAGE.id == _PARTY.package_id))
             .where(member, P.state != PackageState.DRAFT, _list_condition(kind)))
    if viewer:
        query = query.where(_PARTY.state == PartyState.SIGNED)
    return query


def customer_rows(user: CustomerUser, kind: ListKind, criteria: Criteria = Criteria(),
                  page_size: int = PAGE_SIZE) -> Page:
    """One row per (package, party of the user): columns of CON-7, as
    ``(ListParty, ListPackage)`` pairs."""
    bank = str(current_app.config.get("BANK_NAME", "株式会社サンプル銀行"))  # as on the PoA
    viewpoint = Viewpoint(own_company_id=user.company_id, bank_name=bank)
    query = _apply_criteria(_customer_query(kind, user.role == CustomerRole.VIEWER), criteria,
                            viewpoint)
    # One customer's rows are few next to the table: read them through the party
    # index and sort them. Ordering by the bare column would let PostgreSQL walk
    # the date index of every package looking for this customer's (seen: 400 ms
    # instead of 5 ms for a customer with 1,000 packages among a million).
    newest_first = func.coalesce(P.application_date, P.application_date).desc()
    query = query.order_by(newest_first, P.id.desc(), _PARTY.position_order)
    offset = (criteria.page - 1) * page_size
    found = db.session.connection().execute(
        query.offset(offset).limit(page_size + 1),
        {"list_company_id": user.company_id, "list_user_id": user.id}).all()
    rows = [(ListParty(*r[:3]), ListPackage(*r[3:])) for r in found[:page_size]]
    return Page(rows, criteria.page, len(found) > page_size, criteria)


def staff_rows(staff: StaffUser, kind: ListKind = ListKind.ALL, criteria: Criteria = Criteria(),
               page_size: int = PAGE_SIZE, state: PackageState | None = None) -> Page:
    """The branch's packages (AUD-4: only the staff member's branch)."""
    query = select(P).where(P.branch_id == staff.branch_id, _list_condition(kind))
    if state is not None:
        query = query.where(P.state == state)
    query = _apply_criteria(query, criteria).order_by(P.application_date.desc(), P.id.desc())
    return _page(query, criteria, page_size)
