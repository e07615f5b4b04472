"""Company information (契約者情報, CO-1, CO-2): who edits it (the customer in
MyPage or the bank in the console) and 登録 of a change. A name change revokes
every signing user's certificate (CERT-4). Works in the caller's transaction."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from portal import audit
from portal.certs.services import revoke_user_certificate
from portal.errors import DomainError, Forbidden, NotFound
from portal.extensions import db
from portal.models import Company, CompanyKind, CustomerRole, CustomerUser, StaffUser
from portal.permissions import SIGNING_ROLES, Permission, can
from portal.users.services import active_users

MSG_COMPANY_BY_BANK = ("お客さまの企業情報の変更は、当金庫へ届出事項変更届を提出いただき、"
                       "当金庫で変更いたします。お取引店担当者までご連絡ください。")
MSG_COMPANY_BY_CUSTOMER = ("この契約者の企業情報は、お客さまご自身がMyPageで変更します"
                           "（預金口座取引店とお申込店が異なる、または預金口座のないお客さまです）。")
MSG_STALE = "他の操作で内容が更新されました。画面を開き直してから再度操作してください。"

COMPANY_FIELDS = ("name", "name_kana", "name_en", "postal_code", "address", "established_on",
                  "phone")
COMPANY_NAME_FIELDS = ("name", "name_en")


class CompanyEditChannel(StrEnum):
    BANK = "bank"  # 当金庫へ届出事項変更届: staff edit in the console
    MYPAGE = "mypage"  # the customer edits in MyPage


def company_edit_channel(company: Company) -> CompanyEditChannel:
    """CO-1 (guide §3.3): individuals always edit their own; a debtor, or a
    customer whose deposit branch is the application branch, asks the bank."""
    if CompanyKind(company.kind) is CompanyKind.INDIVIDUAL:
        return CompanyEditChannel.MYPAGE
    if company.is_debtor:
        return CompanyEditChannel.BANK
    if company.deposit_branch_id is not None \
            and company.deposit_branch_id == company.application_branch_id:
        return CompanyEditChannel.BANK
    return CompanyEditChannel.MYPAGE


def customer_may_edit_company(actor: CustomerUser, company: Company) -> bool:
    return (can(actor, Permission.COMPANY_EDIT, company)
            and company_edit_channel(company) is CompanyEditChannel.MYPAGE)


@dataclass
class CompanyEditResult:
    changed: list[str] = field(default_factory=list)
    name_changed: bool = False
    certificates_revoked: int = 0


def update_company(actor: CustomerUser | StaffUser, company: Company, data: dict[str, Any], *,
                   version: int | None = None) -> CompanyEditResult:
    """登録 of 契約者情報変更. A name change revokes every user's certificate."""
    if isinstance(actor, StaffUser):
        if not can(actor, Permission.CONSOLE_CUSTOMERS_EDIT, company):
            raise NotFound()
        if company_edit_channel(company) is not CompanyEditChannel.BANK:
            raise DomainError(MSG_COMPANY_BY_CUSTOMER)
    else:
        if company.id != actor.company_id:
            raise NotFound()
        if not can(actor, Permission.COMPANY_EDIT, company):
            raise Forbidden()
        if company_edit_channel(company) is not CompanyEditChannel.MYPAGE:
            raise DomainError(MSG_COMPANY_BY_BANK)
    if version is not None and version != company.version:
        raise DomainError(MSG_STALE)
    result = CompanyEditResult()
    for name in COMPANY_FIELDS:
        if name in data:
            value = data[name] if data[name] is not None else ("" if name != "established_on"
                                                               else None)
            if getattr(company, name) != value:
                setattr(company, name, value)
                result.changed.append(name)
    if not result.changed:
        return result
    result.name_changed = any(n in result.changed for n in COMPANY_NAME_FIELDS)
    audit.record("company.updated", actor=actor, target=company, company_id=company.id,
                 detail={"fields": result.changed})
    db.session.flush()
    if result.name_changed:
        for user in active_users(company.id):
            if CustomerRole(user.role) in SIGNING_ROLES:
                result.certificates_revoked += revoke_user_certificate(
                    user, "company_name_changed", actor=actor)
        audit.record("certificate.revoked_by_change", actor=actor, target=company,
                     company_id=company.id,
                     detail={"cause": "company_name_changed",
                             "count": result.certificates_revoked})
    return result
