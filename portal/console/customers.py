"""The console's customer page (ADM-1, CO-1, #13 item 8): staff find a
customer of their branch and see its company, users, KYC submissions,
certificate requests and contract packages in one place, and record what the
bank knows about the relationship (deposit branch, debtor) that decides who
edits the company info (CO-1). Company edits and user deletion stay with the
users area (``portal.users``) and the signing room's certificate requests."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import Select, func, or_, select

from kyc.models import KycState, KycSubmission
from portal import audit
from portal.certs.models import CertificateRequest, CertReason, CertRequestState
from portal.certs.requests import open_cert_request
from portal.contracts.models import ContractPackage, ContractParty, SummaryType
from portal.contracts.states import PackageState
from portal.errors import DomainError, NotFound
from portal.extensions import db
from portal.models import Branch, Company, CustomerUser, StaffUser, UserState
from portal.permissions import Permission, can
from portal.users.company import CompanyEditChannel, company_edit_channel
from portal.users.services import active_users

SEARCH_LIMIT = 100


class Labelled(Protocol):
    """A stored state or kind with its Japanese label."""

    @property
    def label(self) -> str: ...


LABELLED: dict[str, Callable[[str], Labelled]] = {
    "kyc": KycState, "cert_request": CertRequestState, "cert_reason": CertReason,
    "package": PackageState, "summary": SummaryType}
MSG_NO_BRANCH = "選択した支店が見つかりません。"


def _branch_scope(staff: StaffUser) -> Any:
    """AUD-4: branch staff see the customers of their branch only."""
    return or_(Company.application_branch_id == staff.branch_id,
               Company.deposit_branch_id == staff.branch_id)


def _matching(text: str) -> Any:
    """Company name or kana (part), customer number (お客さま番号 = the id),
    a user's email address (part) or MyPageID."""
    users_matching = select(CustomerUser.company_id).where(
        CustomerUser.state == UserState.ACTIVE,
        or_(func.lower(CustomerUser.email).contains(text.lower(), autoescape=True),
            CustomerUser.mypage_id == text))
    conditions = [Company.name.contains(text, autoescape=True),
                  Company.name_kana.contains(text, autoescape=True),
                  Company.id.in_(users_matching)]
    number = text.lstrip("0")
    if text.isascii() and text.isdigit() and number and len(number) <= 9:
        conditions.append(Company.id == int(number))
    return or_(*conditions)


def search_query(staff: StaffUser, text: str | None) -> Select[Any]:
    query = select(Company).where(_branch_scope(staff))
    if text:
        query = query.where(_matching(text))
    return query.order_by(Company.id.desc())


def search(staff: StaffUser, text: str | None) -> tuple[list[Company], bool]:
    """At most SEARCH_LIMIT companies, and whether more matched."""
    rows = list(db.session.execute(search_query(staff, text).limit(SEARCH_LIMIT + 1)).scalars())
    return rows[:SEARCH_LIMIT], len(rows) > SEARCH_LIMIT


def company_for(staff: StaffUser, company_id: int,
                permission: Permission = Permission.CONSOLE_CUSTOMERS_VIEW) -> Company:
    company = db.session.get(Company, company_id)
    if company is None or not can(staff, permission, company):
        raise NotFound()
    return company


@dataclass(frozen=True)
class CustomerOverview:
    company: Company
    channel: CompanyEditChannel
    users: list[CustomerUser]
    open_requests: dict[int, CertificateRequest]
    kyc: list[KycSubmission]
    cert_requests: list[CertificateRequest]
    packages: list[ContractPackage]
    names: dict[int, str]  # every user of the company, deleted ones included


def overview(company: Company) -> CustomerOverview:
    active = active_users(company.id)
    open_requests = {u.id: r for u in active if (r := open_cert_request(u)) is not None}
    kyc = db.session.execute(
        select(KycSubmission).where(KycSubmission.company_id == company.id,
                                    KycSubmission.state != KycState.DRAFT)
        .order_by(KycSubmission.id.desc())).scalars().all()
    requests = db.session.execute(
        select(CertificateRequest).where(CertificateRequest.company_id == company.id)
        .order_by(CertificateRequest.id.desc())).scalars().all()
    package_ids = select(ContractParty.package_id).where(ContractParty.company_id == company.id)
    packages = db.session.execute(
        select(ContractPackage).where(ContractPackage.id.in_(package_ids))
        .order_by(ContractPackage.id.desc())).scalars().all()
    names = {u.id: u.display_name for u in db.session.execute(
        select(CustomerUser).where(CustomerUser.company_id == company.id)).scalars()}
    return CustomerOverview(company, company_edit_channel(company), active, open_requests,
                            list(kyc), list(requests), list(packages), names)


def set_bank_fields(actor: StaffUser, company_id: int, *, deposit_branch_id: int | None,
                    is_debtor: bool) -> Company:
    """CO-1: record the deposit branch (None: no deposit account) and whether
    the customer is a debtor; the company edit channel follows from them."""
    company = company_for(actor, company_id, Permission.CONSOLE_CUSTOMERS_EDIT)
    db.session.refresh(company, with_for_update=True)
    if deposit_branch_id is not None and db.session.get(Branch, deposit_branch_id) is None:
        raise DomainError(MSG_NO_BRANCH, field="deposit_branch_id")
    before = (company.deposit_branch_id, company.is_debtor,
              company_edit_channel(company).value)
    if before[:2] == (deposit_branch_id, is_debtor):
        return company
    company.deposit_branch_id, company.is_debtor = deposit_branch_id, is_debtor
    audit.record("company.bank_fields_updated", actor=actor, company_id=company.id,
                 target=company,
                 detail={"deposit_branch_id": [before[0], deposit_branch_id],
                         "is_debtor": [before[1], is_debtor],
                         "edit_channel": [before[2], company_edit_channel(company).value]})
    return company


def label(kind: str, value: str) -> str:
    """The Japanese label of a stored state or kind (translated where shown)."""
    try:
        return LABELLED[kind](value).label
    except (KeyError, ValueError):
        return value


def package_visible(staff: StaffUser, package: ContractPackage) -> bool:
    return can(staff, Permission.CONSOLE_CONTRACTS_PREPARE, package)
