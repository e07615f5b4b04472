"""A terminated customer's identity documents and personal data (KYC-5, AUD-3),
deleted RETENTION_IDENTITY_YEARS after 解約 (the record-keeping period of the
Act on Prevention of Transfer of Criminal Proceeds).

Rows that other records still point to (users signed contracts kept under their
own rule, the audit log holds their ids) stay as anonymous shells; the files
and rows that only hold documents go. The caller commits, then deletes the
returned blob keys.
"""

from __future__ import annotations

from sqlalchemy import delete, select

from kyc.models import KycFile, KycQuarantine, KycSubmission
from portal.extensions import db
from portal.models import Company, CompanyKind, CustomerUser, UserState
from portal.users.models import PowerOfAttorney, UserDraft

ERASED = "（削除済み）"


def purge_company(company_id: int) -> list[str]:
    keys: list[str] = []
    submissions = select(KycSubmission.id).where(KycSubmission.company_id == company_id)
    keys += [k for k in db.session.execute(
        select(KycFile.storage_key).where(KycFile.submission_id.in_(submissions))).scalars()]
    keys += [k for k in db.session.execute(
        select(KycQuarantine.storage_key).where(KycQuarantine.submission_id.in_(submissions))
    ).scalars() if k]
    keys += list(db.session.execute(
        select(PowerOfAttorney.file_key).where(PowerOfAttorney.company_id == company_id)
    ).scalars())
    keys += [k for k in db.session.execute(
        select(UserDraft.upload_key).where(UserDraft.company_id == company_id)).scalars() if k]
    db.session.execute(delete(KycFile).where(KycFile.submission_id.in_(submissions)))
    db.session.execute(delete(KycQuarantine).where(KycQuarantine.submission_id.in_(submissions)))
    db.session.execute(delete(PowerOfAttorney).where(PowerOfAttorney.company_id == company_id))
    db.session.execute(delete(UserDraft).where(UserDraft.company_id == company_id))
    for user in db.session.execute(
            select(CustomerUser).where(CustomerUser.company_id == company_id)).scalars():
        _erase_user(user)
    company = db.session.get(Company, company_id)
    if company is not None:
        _erase_company(company)
    return keys


def _erase_user(user: CustomerUser) -> None:
    user.state = UserState.DELETED
    user.email = f"erased-{user.id}@invalid.example"
    user.pending_email = None
    user.last_name, user.first_name = ERASED, ""
    user.last_name_kana = user.first_name_kana = ""
    user.last_name_en = user.first_name_en = ""
    user.birth_date = None
    user.mobile = user.department = user.title = ""


def _erase_company(company: Company) -> None:
    company.postal_code = company.address = company.phone = ""
    company.established_on = None
    if company.kind != CompanyKind.CORPORATION:  # a person's name is personal data
        company.name, company.name_kana, company.name_en = ERASED, "", ""
