"""Rules of the contract area: preparation, sending, signing order, rejection,
conclusion, endings (CON-1…CON-9). Explicit arguments, never ``request``.

Every status change goes through ``states.PACKAGE_LIFECYCLE`` or
``states.PARTY_LIFECYCLE``. Operations that add a revision to a package's PDFs
run under ``lock_package`` so two parties signing at the same moment are
serialized and no revision is lost.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from portal import audit, notices
from portal.auth import services as auth
from portal.auth.sessions import end_all_sessions_of
from portal.clock import now
from portal.crypto import verify_secret
from portal.errors import DomainError, Forbidden, NotFound, StaleWrite
from portal.extensions import db
from portal.filestore import get_file_store
from portal.i18n import gettext
from portal.mail import queue_mail
from portal.models import Company, CustomerRole, CustomerUser, StaffUser, UserState
from portal.notices import notify
from portal.permissions import Permission, can
from portal.web import date_jst, yen

from .models import (
    ContractDocument,
    ContractPackage,
    ContractParty,
    DocumentKind,
    DocumentOpened,
    PartyConfirmation,
    SigningPosition,
    SummaryType,
)
from .states import PACKAGE_LIFECYCLE, PARTY_LIFECYCLE, PackageState, PartyState
from .uploads import InspectedPdf

SIGN_REQUEST_NOTICE = "契約書への署名準備が整いました。こちらをクリックしてご署名をお願いします。"
CONCLUDED_NOTICE = "契約書の締結を行いました。確認される場合はこちらをクリックしてください。"
VOID_NOTICE = ("契約が否認されたため、不成立となりました。"
               "詳しくはお取引店担当者にお問い合わせください。")
WITHDRAWN_NOTICE = ("契約書への署名依頼が取り下げられました。"
                    "詳しくはお取引店担当者にお問い合わせください。")

CUSTOMER_VISIBLE = frozenset(PackageState) - {PackageState.DRAFT}


def package_path(package_id: int) -> str:
    return f"/contracts/{package_id}"


# --- preparation (CON-1) ----------------------------------------------------------

@dataclass(frozen=True)
class PackageFiles:
    contracts: Sequence[InspectedPdf]
    important: InspectedPdf | None


def branch_companies(staff: StaffUser) -> list[Company]:
    """Customers the staff member may prepare packages for (their branch's)."""
    rows = db.session.execute(
        select(Company).where((Company.application_branch_id == staff.branch_id)
                              | (Company.deposit_branch_id == staff.branch_id))
        .order_by(Company.name, Company.id)
    ).scalars()
    return list(rows)


def branch_staff(staff: StaffUser) -> list[StaffUser]:
    return list(db.session.execute(
        select(StaffUser).where(StaffUser.branch_id == staff.branch_id, StaffUser.active.is_(True))
        .order_by(StaffUser.name)
    ).scalars())


def cancellable_packages(staff: StaffUser) -> list[ContractPackage]:
    return list(db.session.execute(
        select(ContractPackage).where(ContractPackage.branch_id == staff.branch_id,
                                      ContractPackage.state == PackageState.CONCLUDED,
                                      ContractPackage.summary_type != SummaryType.CANCELLATION)
        .order_by(ContractPackage.application_date.desc()).limit(200)
    ).scalars())


def _field_error(message: str, field: str) -> DomainError:
    return DomainError(message, field=field)


def _resolve_parties(staff: StaffUser, rows: list[dict[str, Any]]) -> list[ContractParty]:
    parties: list[ContractParty] = []
    seen: set[tuple[int, int | None]] = set()
    for order, row in enumerate(rows):
        company = db.session.get(Company, row["company_id"])
        if company is None or not can(staff, Permission.CONSOLE_CONTRACTS_PREPARE, company):
            raise _field_error("当事者に選択できないお客さまが含まれています。", "parties")
        user_id = row.get("user_id")
        if user_id is not None:
            user = db.session.get(CustomerUser, user_id)
            if (user is None or user.company_id != company.id or user.state != UserState.ACTIVE
                    or not user.role.can_sign):
                raise _field_error("個人として署名するユーザは、当該お客さまの署名権限のある"
                                   "ユーザから選択してください。", "parties")
        key = (company.id, user_id)
        if key in seen:
            raise _field_error("同じ当事者が重複しています。", "parties")
        seen.add(key)
        parties.append(ContractParty(position_order=order, company_id=company.id, user_id=user_id,
                                     signing_position=SigningPosition(row["position"]),
                                     state=PartyState.UNSIGNED))
    if not any(p.signing_position == SigningPosition.DEBTOR for p in parties):
        raise _field_error("債務者の当事者を1件以上指定してください。", "parties")
    return parties


def _check_fields(staff: StaffUser, data: dict[str, Any]) -> StaffUser:
    in_charge = db.session.get(StaffUser, data["staff_in_charge_id"])
    if in_charge is None or in_charge.branch_id != staff.branch_id or not in_charge.active:
        raise _field_error("本件担当は自店の担当者から選択してください。", "staff_in_charge_id")
    cancels = data.get("cancels_package_id")
    if data["summary_type"] == SummaryType.CANCELLATION:
        target = db.session.get(ContractPackage, cancels)
        if (target is None or target.branch_id != staff.branch_id
                or target.state != PackageState.CONCLUDED
                or target.summary_type == SummaryType.CANCELLATION):
            raise _field_error("取消対象には自店の現在有効な契約を選択してください。",
                               "cancels_package_id")
    return in_charge


def _store(package: ContractPackage, pdf: InspectedPdf, kind: DocumentKind, position: int) -> None:
    key = get_file_store().put(pdf.data, kind="contract")
    package.documents.append(ContractDocument(
        kind=kind, position=position, title=pdf.title, original_key=key,
        original_sha256=pdf.sha256, current_key=key, current_sha256=pdf.sha256,
        size=len(pdf.data), revisions=0))


def rename_document(staff: StaffUser, package: ContractPackage, document_id: int,
                    title: str) -> ContractDocument:
    """書類名 given by staff while the package is 作成中 (#13 item 13)."""
    hold(package)
    if package.state != PackageState.DRAFT:
        raise DomainError("送付済みの案件は編集できません。")
    document = next((d for d in package.documents if d.id == document_id), None)
    if document is None:
        raise NotFound()
    before, document.title = document.title, title.strip()
    audit.record("contract.document.renamed", actor=staff, target=package,
                 detail={"document": document.id, "before": before, "after": document.title})
    return document


def _apply_fields(package: ContractPackage, data: dict[str, Any], in_charge: StaffUser) -> None:
    package.application_date = data["application_date"]
    package.summary_type = SummaryType(data["summary_type"])
    package.loan_amount = data.get("loan_amount")
    package.planned_loan_date = data["planned_loan_date"]
    package.staff_in_charge_id = in_charge.id
    branch = in_charge.branch.name if in_charge.branch else ""
    package.staff_label = f"{branch} {in_charge.name}".strip()
    package.cancels_package_id = (data.get("cancels_package_id")
                                  if data["summary_type"] == SummaryType.CANCELLATION else None)


def create_package(staff: StaffUser, data: dict[str, Any], files: PackageFiles) -> ContractPackage:
    if staff.branch_id is None:
        raise Forbidden()
    if not files.contracts:
        raise _field_error("契約書（PDF）を1件以上登録してください。", "contract_files")
    if files.important is None:
        raise _field_error("重要事項説明（PDF）を登録してください。", "important_file")
    in_charge = _check_fields(staff, data)
    parties = _resolve_parties(staff, data["parties"])
    package = ContractPackage(branch_id=staff.branch_id, created_by_id=staff.id,
                              state=PackageState.DRAFT)
    _apply_fields(package, data, in_charge)
    for n, pdf in enumerate(files.contracts):
        _store(package, pdf, DocumentKind.CONTRACT, n)
    _store(package, files.important, DocumentKind.IMPORTANT_MATTERS, 999)
    package.parties.extend(parties)
    db.session.add(package)
    db.session.flush()
    audit.record("contract.package.created", actor=staff, target=package,
                 company_id=_debtor_company_id(package),
                 detail={"documents": [d.original_sha256 for d in package.documents]})
    return package


def update_package(staff: StaffUser, package: ContractPackage, data: dict[str, Any],
                   files: PackageFiles, expected_version: int | None = None) -> ContractPackage:
    """Edit while draft; new files replace the old ones of the same kind."""
    if package.state != PackageState.DRAFT:
        raise DomainError("送付済みの案件は編集できません。")
    if expected_version is not None and expected_version != package.version:
        raise StaleWrite()
    in_charge = _check_fields(staff, data)
    parties = _resolve_parties(staff, data["parties"])
    _apply_fields(package, data, in_charge)
    if files.contracts:
        _drop_documents(package, DocumentKind.CONTRACT)
        for n, pdf in enumerate(files.contracts):
            _store(package, pdf, DocumentKind.CONTRACT, n)
    if files.important is not None:
        _drop_documents(package, DocumentKind.IMPORTANT_MATTERS)
        _store(package, files.important, DocumentKind.IMPORTANT_MATTERS, 999)
    package.parties.clear()
    db.session.flush()
    package.parties.extend(parties)
    db.session.flush()
    audit.record("contract.package.edited", actor=staff, target=package,
                 company_id=_debtor_company_id(package))
    return package


def _drop_documents(package: ContractPackage, kind: DocumentKind) -> None:
    for doc in [d for d in package.documents if d.kind == kind]:
        package.documents.remove(doc)
        get_file_store().delete(doc.original_key)


def _debtor_company_id(package: ContractPackage) -> int | None:
    debtor = next((p for p in package.parties if p.signing_position == SigningPosition.DEBTOR),
                  None)
    return debtor.company_id if debtor else None


# --- who signs for a party ---------------------------------------------------------

def signing_users(party: ContractParty) -> list[CustomerUser]:
    if party.user_id is not None:
        user = party.user
        return [user] if user and user.is_active and user.role.can_sign else []
    return [u for u in party.company.users if u.is_active and u.role.can_sign]


def party_users(party: ContractParty) -> list[CustomerUser]:
    """Everyone who sees the party's package (viewers included)."""
    if party.user_id is not None:
        return [party.user] if party.user and party.user.is_active else []
    return [u for u in party.company.users if u.is_active]


def is_party_member(user: CustomerUser, party: ContractParty) -> bool:
    if party.user_id is not None:
        return party.user_id == user.id
    return party.company_id == user.company_id


def may_sign_for(user: CustomerUser, party: ContractParty) -> bool:
    return is_party_member(user, party) and can(user, Permission.CONTRACTS_SIGN)


def visible_parties(user: CustomerUser, package: ContractPackage) -> list[ContractParty]:
    """The user's parties in the package; viewers see signed ones only (CON-7)."""
    if package.state not in CUSTOMER_VISIBLE:
        return []
    mine = [p for p in package.parties if is_party_member(user, p)]
    if user.role == CustomerRole.VIEWER:
        mine = [p for p in mine if p.state == PartyState.SIGNED]
    return mine


def customer_package(user: CustomerUser, package_id: int) -> tuple[ContractPackage,
                                                                   list[ContractParty]]:
    """The package if the user may see it; otherwise "not found" (AUD-4)."""
    package = db.session.get(ContractPackage, package_id)
    if package is None or not can(user, Permission.CONTRACTS_VIEW):
        raise NotFound()
    parties = visible_parties(user, package)
    if not parties:
        raise NotFound()
    return package, parties


def party_to_sign(user: CustomerUser, package: ContractPackage) -> ContractParty | None:
    """The first unsigned party this user may sign for, while the package takes signatures."""
    if package.state != PackageState.UNSIGNED:
        return None
    return next((p for p in package.parties
                 if p.state == PartyState.UNSIGNED and may_sign_for(user, p)), None)


# --- sending and withdrawing (CON-3) -------------------------------------------------

def hold(package: ContractPackage) -> None:
    """Re-read the package under its row lock before a transition decided from
    its state (PostgreSQL; on SQLite BEGIN IMMEDIATE already holds the write
    lock), so a transition racing a signature or another click sees the winner."""
    db.session.refresh(package, with_for_update=True)


def send_package(staff: StaffUser, package: ContractPackage) -> None:
    hold(package)
    for party in package.parties:
        if not signing_users(party):
            raise DomainError(gettext(
                "当事者「%(name)s」に署名できるユーザがいないため、送付できません。",
                name=party.display_name,
            ))
    PACKAGE_LIFECYCLE.move(package, PackageState.UNSIGNED, actor=staff,
                           company_id=_debtor_company_id(package))
    package.sent_at = now()
    link = package_path(package.id)
    notified: set[int] = set()
    for party in package.parties:
        for user in signing_users(party):
            if user.id in notified:
                continue
            notified.add(user.id)
            notify(company_id=user.company_id, user_id=user.id, text=SIGN_REQUEST_NOTICE, link=link)
            queue_mail("contract_sign_request", user.email, name=user.display_name,
                       package=package, link=link)
    audit.record("contract.package.sent", actor=staff, target=package,
                 company_id=_debtor_company_id(package), detail={"recipients": len(notified)})


def withdraw_package(staff: StaffUser, package: ContractPackage) -> None:
    hold(package)
    was_sent = package.state == PackageState.UNSIGNED
    PACKAGE_LIFECYCLE.move(package, PackageState.WITHDRAWN, actor=staff,
                           company_id=_debtor_company_id(package))
    package.ended_at = now()
    if was_sent:
        retire_sign_requests(package)
        _tell_parties(package, WITHDRAWN_NOTICE, mail_template="contract_withdrawn",
                      signing_only=True)


def _tell_parties(package: ContractPackage, text_ja: str, *, mail_template: str,
                  signing_only: bool, no_mail_to: int | None = None) -> None:
    """A notice to every user of every party (each once; HOME names the package
    from the link, ``notices.subjects``) and a mail to all but ``no_mail_to``."""
    link = package_path(package.id)
    done: set[int] = set()
    for party in package.parties:
        users = signing_users(party) if signing_only else party_users(party)
        for user in users:
            if user.id in done:
                continue
            done.add(user.id)
            notify(company_id=user.company_id, user_id=user.id, text=text_ja, link=link)
            if user.id != no_mail_to:
                queue_mail(mail_template, user.email, name=user.display_name, package=package,
                           link=link)


def retire_sign_requests(package: ContractPackage,
                         party: ContractParty | None = None) -> None:
    """「ご署名をお願いします」 goes once nobody it was sent to has to sign any more:
    for the users of ``party`` once it signed (unless they still sign for another
    party of the package), for everyone once the package leaves 未署名 (#13 item 12)."""
    link = package_path(package.id)
    if party is None:
        notices.retire(link=link, text=SIGN_REQUEST_NOTICE)
        return
    still_to_sign = {u.id for p in package.parties if p.state == PartyState.UNSIGNED
                     for u in signing_users(p)}
    done = [u.id for u in signing_users(party) if u.id not in still_to_sign]
    if done:
        notices.retire(link=link, text=SIGN_REQUEST_NOTICE, user_ids=done)


def package_subjects(package_ids: Collection[int]) -> dict[int, str]:
    """What a contract notice names (#13 item 12): 申込概要, 融資金額 and 申込日 of
    each package, in the visitor's language."""
    if not package_ids:
        return {}
    rows = db.session.execute(select(ContractPackage).where(
        ContractPackage.id.in_(list(package_ids)))).scalars()
    return {p.id: gettext("%(summary)s／%(amount)s／申込日 %(date)s",
                          summary=gettext(p.summary_label), amount=yen(p.loan_amount),
                          date=date_jst(p.application_date))
            for p in rows}


notices.name_subjects("/contracts/", package_subjects)


# --- the signing order (CON-4) ---------------------------------------------------------

def _require_signable(user: CustomerUser, package: ContractPackage,
                      party_id: int | None = None) -> ContractParty:
    if not can(user, Permission.CONTRACTS_SIGN):
        raise Forbidden("参照権限のため署名はできません。")
    if package.state != PackageState.UNSIGNED:
        raise DomainError("この契約は署名を受け付けていません。"
                          f"（契約進捗：{package.state_label}）")
    candidates = [p for p in package.parties if may_sign_for(user, p)]
    if party_id is not None:
        candidates = [p for p in candidates if p.id == party_id]
    if not candidates:
        raise NotFound()
    party = next((p for p in candidates if p.state == PartyState.UNSIGNED), None)
    if party is None:
        raise DomainError("この契約への署名は完了しています。")
    return party


def _confirmation(party: ContractParty, user: CustomerUser) -> PartyConfirmation:
    found = select(PartyConfirmation).where(PartyConfirmation.party_id == party.id,
                                            PartyConfirmation.user_id == user.id)
    row = db.session.execute(found).scalar_one_or_none()
    if row is None:
        _insert_once(PartyConfirmation, party_id=party.id, user_id=user.id)
        row = db.session.execute(found).scalar_one()
    return row


def _insert_once(model: Any, **values: Any) -> None:
    """Insert a row keyed by a unique constraint unless it exists: two tabs of
    one user doing the same at once insert it once (on PostgreSQL a check
    followed by an INSERT let both in and the second answered 500)."""
    dialect = db.engine.dialect.name
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    db.session.execute(insert(model).values(**values).on_conflict_do_nothing())


def open_document(user: CustomerUser, package: ContractPackage,
                  document_id: int, *, download: bool = False) -> tuple[ContractDocument, bytes]:
    """Return the document's current bytes; record the opening (CON-4, AUD-1)."""
    document = next((d for d in package.documents if d.id == document_id), None)
    if document is None:
        raise NotFound()
    data = get_file_store().get(document.current_key)
    _insert_once(DocumentOpened, document_id=document.id, user_id=user.id, opened_at=now())
    audit.record("contract.document.downloaded" if download else "contract.document.viewed",
                 actor=user, target=document, detail={"package": package.id,
                                                      "sha256": document.current_sha256})
    return document, data


def opened_document_ids(user: CustomerUser, package: ContractPackage) -> set[int]:
    ids = [d.id for d in package.documents]
    if not ids:
        return set()
    return set(db.session.execute(
        select(DocumentOpened.document_id).where(DocumentOpened.user_id == user.id,
                                                 DocumentOpened.document_id.in_(ids))
    ).scalars())


def confirm(user: CustomerUser, package: ContractPackage, *, important: bool,
            documents: bool) -> ContractParty:
    """Record the two boxes; refuse them out of order (CON-4)."""
    party = _require_signable(user, package)
    opened = opened_document_ids(user, package)
    matters = package.important_matters
    if not important:
        raise _field_error("重要事項説明の「内容について確認し、理解しました」に"
                           "チェックしてください。",
                           "important_confirmed")
    if matters is not None and matters.id not in opened:
        raise _field_error("重要事項説明を開いて内容をご確認ください。", "important_confirmed")
    unopened = [d.title for d in package.contract_documents if d.id not in opened]
    if unopened:
        raise _field_error(gettext("まだ開いていない契約書類があります：%(titles)s",
                                   titles=gettext("、").join(unopened)), "documents_confirmed")
    if not documents:
        raise _field_error("「すべての契約書等について確認し、理解しました」に"
                           "チェックしてください。",
                           "documents_confirmed")
    row = _confirmation(party, user)
    moment = now()
    row.important_confirmed_at = moment
    row.documents_confirmed_at = moment
    audit.record("contract.confirmed", actor=user, target=party, detail={"package": package.id})
    return party


def check_ready_to_sign(user: CustomerUser, package: ContractPackage) -> ContractParty:
    """The server-side gate before the signing dialog and before the signature."""
    party = _require_signable(user, package)
    opened = opened_document_ids(user, package)
    if any(d.id not in opened for d in package.documents):
        raise DomainError("すべての契約書類を開いて内容をご確認ください。")
    row = db.session.execute(
        select(PartyConfirmation).where(PartyConfirmation.party_id == party.id,
                                        PartyConfirmation.user_id == user.id)
    ).scalar_one_or_none()
    if row is None or row.important_confirmed_at is None or row.documents_confirmed_at is None:
        raise DomainError("確認事項のチェックが完了していません。"
                          "契約内容の確認からやり直してください。")
    return party


# --- rejecting (CON-5) ---------------------------------------------------------------

def reject(user: CustomerUser, package: ContractPackage, comment: str) -> None:
    if not comment or not comment.strip():
        raise _field_error("否認理由（署名コメント）を入力してください。", "comment")
    hold(package)
    party = _require_signable(user, package)
    party.reject_comment = comment.strip()
    PARTY_LIFECYCLE.move(party, PartyState.REJECTED, actor=user, detail={"package": package.id})
    PACKAGE_LIFECYCLE.move(package, PackageState.VOID, actor=user, company_id=user.company_id,
                           detail={"rejected_by_party": party.id})
    package.ended_at = now()
    retire_sign_requests(package)
    _tell_parties(package, VOID_NOTICE, mail_template="contract_rejected", signing_only=False,
                  no_mail_to=user.id)
    for staff in {package.staff_in_charge, db.session.get(StaffUser, package.created_by_id)}:
        if staff is not None:
            queue_mail("contract_rejected_staff", staff.email, name=staff.name, package=package,
                       party=party, comment=party.reject_comment)


# --- serializing revisions -------------------------------------------------------------

def lock_package(package_id: int) -> ContractPackage:
    """Start a fresh transaction holding the package's write lock.

    PostgreSQL: a row lock (other packages are not blocked). SQLite: the write
    lock is taken first, so the state read below cannot be stale.
    """
    db.session.rollback()
    if db.engine.dialect.name == "sqlite":
        db.session.execute(text("UPDATE contract_packages SET id = id WHERE id = :id"),
                           {"id": package_id})
    package = db.session.execute(
        select(ContractPackage).where(ContractPackage.id == package_id).with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()
    if package is None:
        raise NotFound()
    return package


def store_revision(document: ContractDocument, data: bytes) -> None:
    """Keep the new revision; the previous one stays until the transaction commits."""
    document.current_key = get_file_store().put(data, kind="contract")
    document.current_sha256 = hashlib.sha256(data).hexdigest()
    document.size = len(data)
    document.revisions += 1


# --- conclusion and endings (CON-6, CON-9) ----------------------------------------------

def check_staff_password(staff: StaffUser, password: str) -> None:
    """The password at 締結 is the staff login password: refused while the
    account is locked, and a wrong one counts toward the lockout (AUTH-4, AUTH-9)."""
    if auth.is_locked(staff, hold=True):
        audit.record("contract.conclude.refused_locked", actor=staff)
        db.session.commit()
        raise _field_error(auth.locked_message(), "password")
    if not verify_secret(staff.password_hash, password):
        locked_now = auth.count_wrong_password(staff, context="conclude")
        audit.record("contract.conclude.password_refused", actor=staff,
                     detail={"locked": locked_now})
        if locked_now:
            # Whoever is guessing at this keyboard is not the staff member:
            # a lock ends the console sessions too, not only future logins.
            end_all_sessions_of(staff)
        db.session.commit()
        raise _field_error(auth.locked_message() if locked_now
                           else "パスワードが正しくありません。", "password")


def after_conclusion(staff: StaffUser, package: ContractPackage) -> None:
    """State, notices and mail once the bank's signature is in the documents."""
    PACKAGE_LIFECYCLE.move(package, PackageState.CONCLUDED, actor=staff,
                           company_id=_debtor_company_id(package))
    package.concluded_at = now()
    if package.summary_type == SummaryType.CANCELLATION:
        PACKAGE_LIFECYCLE.move(package, PackageState.CANCELLED, actor=staff,
                               company_id=_debtor_company_id(package),
                               detail={"cancellation": True})
        package.ended_at = now()
        target = package.cancels
        if target is not None:
            PACKAGE_LIFECYCLE.move(target, PackageState.CANCELLED, actor=staff,
                                   company_id=_debtor_company_id(target),
                                   detail={"cancelled_by_package": package.id})
            target.ended_at = now()
    retire_sign_requests(package)
    _tell_parties(package, CONCLUDED_NOTICE, mail_template="contract_concluded",
                  signing_only=False)


def record_repayment(staff: StaffUser, package: ContractPackage) -> None:
    hold(package)
    if package.summary_type == SummaryType.CANCELLATION:
        raise DomainError("取消合意契約に完済は登録できません。")
    PACKAGE_LIFECYCLE.move(package, PackageState.REPAID, actor=staff,
                           company_id=_debtor_company_id(package))
    package.ended_at = now()


def is_active_listing(package: ContractPackage) -> bool:
    """CON-9: an overdraft drawdown stays in 現在有効な契約 after repayment."""
    return package.state == PackageState.CONCLUDED or (
        package.state == PackageState.REPAID and package.summary_type == SummaryType.OVERDRAFT)
