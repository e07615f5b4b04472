"""Retention run, tombstones, legal holds and 解約 (CON-9, AUD-1, AUD-3, KYC-5).

Deleting a package is one transaction: under the package's lock it checks the
rule and the holds again, writes the tombstone (with the file keys still to
destroy), deletes the rows and writes the audit entry. Only after that commit
are the blobs deleted (each blob carries its own wrapped key, so the ciphertext
can never be opened again), and the tombstone's pending keys are cleared. A run
killed in between leaves a whole package or a tombstone whose pending blobs
the next run deletes: never a package row without its files.
"""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import delete, or_, select, update

from portal import audit
from portal.certs.services import revoke_user_certificate
from portal.clock import now, to_jst
from portal.contracts.models import (
    ContractDocument,
    ContractPackage,
    ContractParty,
    ContractSignature,
    DocumentOpened,
    PartyConfirmation,
    SigningEvidence,
)
from portal.contracts.services import package_path
from portal.errors import DomainError
from portal.extensions import db
from portal.filestore import FileStore, get_file_store
from portal.mail import queue_mail
from portal.models import Branch, Company, CustomerUser, StaffUser, UserSession, UserState
from portal.mypage.models import Application, ApplicationState, EmailVerification
from portal.notices import notify

from . import policy
from .models import CompanyTermination, DeletionNotice, LegalHold, Tombstone
from .personal_data import purge_company
from .termination import is_terminated

HELD = "訴訟ホールド中のため削除できません。"
NOT_DUE = "保存期間が満了していないため削除できません。"
HOLD_REASON_REQUIRED = "ホールドの理由を入力してください。"
ALREADY_TERMINATED = "このお客さまは既に解約済みです。"
NOTICE_TEXT = ("契約書（申込日 %(date)s、%(summary)s）は保存期間の満了により"
               "%(due)sに削除されます。必要な場合は削除前にダウンロードしてください。")

# Tests stop a run after this many deletions with SIGKILL (a crash, not an exit).
KILL_AFTER_ENV = "PORTAL_RETENTION_KILL_AFTER"


class RetentionRefused(DomainError):
    pass


# --- what is due ---------------------------------------------------------------------------

@dataclass
class Candidate:
    package_id: int
    due: policy.Due
    held: bool


def _company_ids(package_id: int) -> list[int]:
    return sorted(set(db.session.execute(
        select(ContractParty.company_id).where(ContractParty.package_id == package_id)
    ).scalars()))


def active_holds() -> list[LegalHold]:
    return list(db.session.execute(
        select(LegalHold).where(LegalHold.lifted_at.is_(None)).order_by(LegalHold.id)
    ).scalars())


def is_held(package_id: int, company_ids: list[int] | None = None) -> bool:
    companies = company_ids if company_ids is not None else _company_ids(package_id)
    conditions = [LegalHold.package_id == package_id]
    if companies:
        conditions.append(LegalHold.company_id.in_(companies))
    return db.session.execute(
        select(LegalHold.id).where(LegalHold.lifted_at.is_(None), or_(*conditions)).limit(1)
    ).first() is not None


def _ended_packages(ended_before: datetime) -> Iterator[ContractPackage]:
    yield from db.session.execute(
        select(ContractPackage).where(ContractPackage.state.in_(policy.ended_states()),
                                      ContractPackage.ended_at <= ended_before)
        .order_by(ContractPackage.ended_at, ContractPackage.id)).scalars()


def candidates(at: datetime) -> list[Candidate]:
    """Packages whose retention period is over at ``at`` (held ones flagged)."""
    found = []
    for package in _ended_packages(at - policy.shortest_period()):
        due = policy.due_for(package)
        if due is not None and due.due_at <= at:
            found.append(Candidate(package.id, due, is_held(package.id)))
    return found


# --- deleting one package -------------------------------------------------------------------

def _stored_files(package: ContractPackage) -> list[dict[str, str]]:
    """Every file of the package in the file store, with its recorded SHA-256."""
    files: dict[str, dict[str, str]] = {}

    def add(ref: str, key: str | None, sha256: str | None) -> None:
        if key and key not in files:
            files[key] = {"ref": ref, "key": key, "sha256": sha256 or ""}

    for doc in package.documents:
        add(f"original:{doc.id}", doc.original_key, doc.original_sha256)
        add(f"current:{doc.id}", doc.current_key, doc.current_sha256)
    for sig in db.session.execute(
            select(ContractSignature).where(ContractSignature.package_id == package.id)).scalars():
        add(f"revision:{sig.id}", sig.result_key, sig.result_sha256)
    add(f"evidence:{package.id}", package.evidence_key, package.evidence_sha256)  # 締結証明書
    return list(files.values())


def _lock_package(package_id: int) -> ContractPackage | None:
    return db.session.execute(
        select(ContractPackage).where(ContractPackage.id == package_id).with_for_update()
    ).scalars().first()


def _delete_rows(package: ContractPackage) -> None:
    document_ids = [d.id for d in package.documents]
    party_ids = [p.id for p in package.parties]
    pid = package.id
    db.session.execute(delete(DocumentOpened).where(DocumentOpened.document_id.in_(document_ids)))
    db.session.execute(delete(PartyConfirmation).where(PartyConfirmation.party_id.in_(party_ids)))
    db.session.execute(delete(ContractSignature).where(ContractSignature.package_id == pid))
    db.session.execute(delete(SigningEvidence).where(SigningEvidence.package_id == pid))
    db.session.execute(delete(ContractDocument).where(ContractDocument.package_id == pid))
    db.session.execute(delete(ContractParty).where(ContractParty.package_id == pid))
    # A 取消合意契約 kept longer than the package it cancelled keeps its own rows.
    db.session.execute(update(ContractPackage).where(ContractPackage.cancels_package_id == pid)
                       .values(cancels_package_id=None).execution_options(
                           synchronize_session=False))
    db.session.expunge(package)
    db.session.execute(delete(ContractPackage).where(ContractPackage.id == pid))


def delete_package(package_id: int, *, at: datetime, actor: Any = None) -> Tombstone | None:
    """Delete one due, unheld package in the current transaction and return its
    tombstone (None: already gone). The caller commits, then calls
    ``destroy_pending_blobs``. Refuses a held package or one not yet due."""
    package = _lock_package(package_id)
    if package is None:
        return None
    due = policy.due_for(package)
    if due is None or due.due_at > at:
        raise RetentionRefused(NOT_DUE)
    companies = _company_ids(package_id)
    if is_held(package_id, companies):
        raise RetentionRefused(HELD)
    files = _stored_files(package)
    branch = db.session.get(Branch, package.branch_id)
    tombstone = Tombstone(
        package_id=package.id, summary_type=str(package.summary_type),
        final_state=str(package.state), branch_id=package.branch_id,
        branch_name=branch.name if branch else "", company_ids=",".join(map(str, companies)),
        application_date=package.application_date, concluded_at=package.concluded_at,
        ended_at=package.ended_at, deleted_at=at, policy=due.label,
        file_hashes=json.dumps([{"ref": f["ref"], "sha256": f["sha256"]} for f in files]),
        pending_keys=" ".join(f["key"] for f in files))
    db.session.add(tombstone)
    _delete_rows(package)
    audit.record("retention.package_deleted", actor=actor,
                 company_id=companies[0] if companies else None,
                 target=("ContractPackage", package_id),
                 detail={"policy": due.label, "files": len(files),
                         "due_at": due.due_at.isoformat()})
    db.session.flush()
    return tombstone


def destroy_pending_blobs() -> int:
    """Delete the blobs of committed deletions (also those a killed run left)."""
    store = get_file_store()
    return _destroy_pending(Tombstone, store) + _destroy_pending(CompanyTermination, store)


_Pending = TypeVar("_Pending", Tombstone, CompanyTermination)


def _destroy_pending(model: type[_Pending], store: FileStore) -> int:
    count = 0
    for row in db.session.execute(
            select(model).where(model.pending_keys != "")).scalars().all():
        for key in row.pending_keys.split():
            store.delete(key)
            count += 1
        row.pending_keys = ""
        db.session.commit()
    return count


# --- notices before deletion (CON-9) --------------------------------------------------------

def _users_of(company_ids: list[int]) -> list[CustomerUser]:
    if not company_ids:
        return []
    return list(db.session.execute(
        select(CustomerUser).where(CustomerUser.company_id.in_(company_ids),
                                   CustomerUser.state == UserState.ACTIVE)
        .order_by(CustomerUser.id)).scalars())


def _already_noticed(package_id: int) -> set[int]:
    return set(db.session.execute(
        select(DeletionNotice.days_before).where(DeletionNotice.package_id == package_id)
    ).scalars())


def send_notices(at: datetime) -> int:
    """Tell the users of each party 90 and 30 days before deletion, once each.
    A run that first sees a package inside the 30-day window sends one notice."""
    days = policy.notice_days()
    if not days:
        return 0
    sent = 0
    horizon = at - policy.shortest_period(announced_only=True) + timedelta(days=days[0])
    for package in list(_ended_packages(horizon)):
        due = policy.due_for(package)
        if due is None or due.policy not in policy.ANNOUNCED or due.due_at <= at:
            continue
        reached = [d for d in days if due.due_at - timedelta(days=d) <= at]
        if not reached or set(reached) <= _already_noticed(package.id):
            continue
        _notify_package(package, due, min(reached))
        for d in set(reached) - _already_noticed(package.id):
            db.session.add(DeletionNotice(package_id=package.id, days_before=d,
                                          due_at=due.due_at, sent_at=at))
        audit.record("retention.notice_sent", target=package,
                     detail={"days_before": min(reached), "due_at": due.due_at.isoformat()})
        db.session.commit()
        sent += 1
    return sent


def _notify_package(package: ContractPackage, due: policy.Due, days_before: int) -> None:
    values = {"date": package.application_date.strftime("%Y/%m/%d"),
              "summary": package.summary_label,
              "due": to_jst(due.due_at).strftime("%Y/%m/%d")}
    link = package_path(package.id)
    companies = _company_ids(package.id)
    for company_id in companies:
        notify(company_id=company_id, text=NOTICE_TEXT % values, link=link)
    for user in _users_of(companies):
        queue_mail("retention_notice", user.email, name=user.display_name, package=package,
                   due=values["due"], days_before=days_before, link=link)


# --- the run ----------------------------------------------------------------------------------

@dataclass
class RunReport:
    deleted: list[Tombstone] = field(default_factory=list)
    would_delete: list[Candidate] = field(default_factory=list)
    held: list[Candidate] = field(default_factory=list)
    notices: int = 0
    blobs: int = 0
    identity: list[int] = field(default_factory=list)
    applications: list[int] = field(default_factory=list)


def run(*, dry_run: bool = False, at: datetime | None = None) -> RunReport:
    at = at or now()
    report = RunReport()
    if not dry_run:
        report.blobs += destroy_pending_blobs()  # a killed run's leftovers first
    due = candidates(at)
    db.session.rollback()
    report.held = [c for c in due if c.held]
    ready = [c for c in due if not c.held]
    if dry_run:
        report.would_delete = ready
        report.identity = [t.company_id for t in identity_due(at)]
        report.applications = [a.id for a in applications_due(at)]
        db.session.rollback()
        return report
    kill_after = int(os.environ.get(KILL_AFTER_ENV, "0") or 0)
    for candidate in ready:
        tombstone = _delete_one(candidate.package_id, at)
        if tombstone is None:
            continue
        report.deleted.append(tombstone)
        if kill_after and len(report.deleted) >= kill_after:
            os.kill(os.getpid(), signal.SIGKILL)
        report.blobs += destroy_pending_blobs()
    report.notices = send_notices(at)
    report.identity = purge_identity(at)
    report.applications = purge_applications(at)
    return report


def _delete_one(package_id: int, at: datetime) -> Tombstone | None:
    try:
        tombstone = delete_package(package_id, at=at)
    except RetentionRefused:
        db.session.rollback()  # held or changed since the candidates were listed
        return None
    db.session.commit()
    return tombstone


# --- legal hold ------------------------------------------------------------------------------

def place_hold(staff: StaffUser, *, reason: str, package_id: int | None = None,
               company_id: int | None = None) -> LegalHold:
    reason = reason.strip()
    if not reason:
        raise DomainError(HOLD_REASON_REQUIRED, field="reason")
    if (package_id is None) == (company_id is None):
        raise DomainError("案件IDまたはお客さまIDのどちらか一方を入力してください。",
                          field="package_id")
    if package_id is not None and db.session.get(ContractPackage, package_id) is None:
        raise DomainError("該当する案件がありません。", field="package_id")
    if company_id is not None and db.session.get(Company, company_id) is None:
        raise DomainError("該当するお客さまがありません。", field="company_id")
    hold = LegalHold(package_id=package_id, company_id=company_id, reason=reason[:500],
                     placed_by_id=staff.id, placed_at=now())
    db.session.add(hold)
    db.session.flush()
    audit.record("retention.hold_placed", actor=staff, company_id=company_id, target=hold,
                 detail={"package_id": package_id, "company_id": company_id})
    return hold


def lift_hold(staff: StaffUser, hold_id: int, *, reason: str) -> LegalHold:
    hold = db.session.execute(select(LegalHold).where(LegalHold.id == hold_id)
                              .with_for_update()).scalars().first()
    if hold is None or hold.lifted_at is not None:
        raise DomainError("解除できるホールドがありません。")
    hold.lifted_at = now()
    hold.lifted_by_id = staff.id
    hold.lift_reason = reason.strip()[:500]
    audit.record("retention.hold_lifted", actor=staff, company_id=hold.company_id, target=hold,
                 detail={"package_id": hold.package_id, "company_id": hold.company_id})
    return hold


def holds(include_lifted: bool = False) -> list[LegalHold]:
    query = select(LegalHold).order_by(LegalHold.id.desc())
    if not include_lifted:
        query = query.where(LegalHold.lifted_at.is_(None))
    return list(db.session.execute(query).scalars())


# --- 解約 ---------------------------------------------------------------------------------------

def terminate(staff: StaffUser, company: Company, *, note: str = "") -> CompanyTermination:
    """MyPage access ends (sessions too), certificates are revoked and the
    identity-document clock starts. Contracts keep their own rules."""
    if is_terminated(company.id):
        raise DomainError(ALREADY_TERMINATED)
    users = list(db.session.execute(
        select(CustomerUser).where(CustomerUser.company_id == company.id)).scalars())
    for user in users:
        revoke_user_certificate(user, "cessation", actor=staff)
    db.session.execute(delete(UserSession).where(
        UserSession.principal.in_([f"c:{u.id}" for u in users])))
    termination = CompanyTermination(company_id=company.id, terminated_at=now(),
                                     recorded_by_id=staff.id, note=note.strip()[:500])
    db.session.add(termination)
    audit.record("retention.customer_terminated", actor=staff, company_id=company.id,
                 target=company, detail={"users": len(users),
                                         "identity_due_at": policy.identity_due(
                                             termination.terminated_at).isoformat()})
    return termination


def identity_due(at: datetime) -> list[CompanyTermination]:
    rows = db.session.execute(select(CompanyTermination).where(
        CompanyTermination.personal_data_deleted_at.is_(None))).scalars()
    return [t for t in rows if policy.identity_due(t.terminated_at) <= at
            and not _company_held(t.company_id)]


def _company_held(company_id: int) -> bool:
    return db.session.execute(select(LegalHold.id).where(
        LegalHold.lifted_at.is_(None), LegalHold.company_id == company_id).limit(1)
    ).first() is not None


def purge_identity(at: datetime) -> list[int]:
    """KYC files and PoAs (blobs and rows) and the users' personal data of
    customers whose relationship ended RETENTION_IDENTITY_YEARS ago."""
    done = []
    for termination in identity_due(at):
        keys = purge_company(termination.company_id)
        termination.personal_data_deleted_at = at
        termination.pending_keys = " ".join(keys)
        audit.record("retention.personal_data_deleted", company_id=termination.company_id,
                     target=("Company", termination.company_id),
                     detail={"policy": f"{policy.IDENTITY}:"
                             f"{policy._config('RETENTION_IDENTITY_YEARS')}y",
                             "files": len(keys)})
        db.session.commit()
        done.append(termination.company_id)
    destroy_pending_blobs()
    return done


def applications_due(at: datetime) -> list[Any]:
    rows = db.session.execute(select(Application).where(
        Application.state != ApplicationState.APPROVED)).scalars()
    return [a for a in rows if policy.application_due(a.submitted_at) <= at]


def purge_applications(at: datetime) -> list[int]:
    done = []
    for application in applications_due(at):
        app_id, verification_id = application.id, application.verification_id
        db.session.execute(delete(Application).where(Application.id == app_id))
        db.session.execute(delete(EmailVerification).where(
            EmailVerification.id == verification_id))
        audit.record("retention.application_deleted", target=("Application", app_id),
                     detail={"policy": f"{policy.APPLICATION}:"
                             f"{policy._config('RETENTION_APPLICATION_DAYS')}d"})
        db.session.commit()
        done.append(app_id)
    return done


def tombstones() -> list[Tombstone]:
    return list(db.session.execute(
        select(Tombstone).order_by(Tombstone.deleted_at.desc(), Tombstone.id.desc())).scalars())


def tombstone_of(package_id: int) -> Tombstone | None:
    return db.session.execute(select(Tombstone).where(
        Tombstone.package_id == package_id)).scalars().first()
