"""Long-term validation of stored signed contracts (SIGN-6).

``revalidate`` is the periodic audit behind ``flask --app wsgi contracts
revalidate``: for every contract document of a concluded package it checks
that the stored file decrypts, that its SHA-256 is the one recorded, and that
every signature and document timestamp still validates with pyHanko against
the signing service's root. Signatures are checked the long-term way
(``ades_lta_validation`` from the validation data embedded in the file, at the
times the document timestamps prove), so a signer certificate that expired or
was revoked after signing does not turn a good contract into a finding.

When the newest document timestamp's TSA certificate expires within
``LONGTERM_RENEW_DAYS``, an archive timestamp is added (PAdES-LTA renewal:
validation data of the last timestamp, then a new document timestamp from the
first of ``SIGNING_TSA_URLS`` that gives a valid one; with none, the renewal
fails and nothing is stored). The new revision is stored first; the document row switches to
it in one transaction; the previous file is deleted only after the commit (the
new revision contains it byte for byte, as an incremental update).

A finding raises a ``LongtermAlert`` for the bank administrators (console page
and mail). Every run, finding and renewal is written to the audit log.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from io import BytesIO
from typing import Any

from asn1crypto import x509 as ax509
from flask import current_app
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.signers.pdf_signer import PdfTimeStamper, TimestampDSSContentSettings
from pyhanko.sign.validation import (
    DocumentSecurityStore,
    async_validate_pdf_timestamp,
)
from sqlalchemy import func, or_, select, update

from portal import audit
from portal.clock import now
from portal.errors import DomainError, Forbidden, NotFound
from portal.extensions import db
from portal.filestore import get_file_store
from portal.mail import queue_mail
from portal.models import StaffRole, StaffUser
from portal.permissions import Permission, can
from portal.states import Lifecycle
from remote_signing import client as rs
from remote_signing.pdf import ServiceTimeStamper, Trust

from . import integrity
from .models import (
    AlertState,
    ContractDocument,
    ContractPackage,
    ContractSignature,
    DocumentKind,
    LongtermAlert,
    SignatureKind,
)
from .pdfcheck import PdfCheck, check_pdf, renewal_decision
from .services import lock_package

log = logging.getLogger(__name__)

ARCHIVE_FIELD = "ArchiveTimestamp"


class Outcome(StrEnum):
    OK = "ok"
    RENEWED = "renewed"
    RENEWAL_DUE = "renewal_due"  # dry run: a renewal would have been made
    RENEWAL_FAILED = "renewal_failed"  # the file is fine; the TSA could not renew it
    MISMATCH = "mismatch"


class ServiceUnreachable(DomainError):
    """Without the signing service's root nothing can be validated."""


@dataclass
class DocumentResult:
    package_id: int
    document_id: int
    title: str
    outcome: Outcome = Outcome.OK
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    new_sha256: str | None = None
    file_ref: str = ""  # integrity.SIGNED for the signed document, else the other file
    recorded_sha256: str = ""


@dataclass
class RunSummary:
    dry_run: bool
    results: list[DocumentResult] = field(default_factory=list)
    alerts_raised: int = 0
    skipped_recent: int = 0  # found sound within ``unchecked_for``: not opened this run
    files: list[DocumentResult] = field(default_factory=list)  # every other stored file

    def count(self, *outcomes: Outcome) -> int:
        return sum(1 for r in self.results if r.outcome in outcomes)

    @property
    def checked(self) -> int:
        return len(self.results)

    @property
    def mismatches(self) -> int:
        return self.count(Outcome.MISMATCH)

    @property
    def ok(self) -> int:
        return self.checked - self.mismatches

    @property
    def renewed(self) -> int:
        return self.count(Outcome.RENEWED)

    @property
    def renewal_due(self) -> int:
        return self.count(Outcome.RENEWAL_DUE)

    @property
    def renewal_failed(self) -> int:
        return self.count(Outcome.RENEWAL_FAILED)

    @property
    def files_mismatched(self) -> int:
        return sum(1 for r in self.files if r.outcome is Outcome.MISMATCH)

    def totals(self) -> dict[str, Any]:
        return {"dry_run": self.dry_run, "checked": self.checked, "ok": self.ok,
                "renewed": self.renewed, "renewal_due": self.renewal_due,
                "renewal_failed": self.renewal_failed, "mismatches": self.mismatches,
                "skipped_recent": self.skipped_recent, "files_checked": len(self.files),
                "files_mismatched": self.files_mismatched}


# --- renewal -----------------------------------------------------------------------------

def _archive_field(existing: list[str]) -> str:
    n = 1
    while f"{ARCHIVE_FIELD}{n}" in existing:
        n += 1
    return f"{ARCHIVE_FIELD}{n}"


async def _add_archive_timestamp(data: bytes, client: rs.SigningClient,
                                 root: ax509.Certificate, field_name: str) -> bytes:
    """PAdES-LTA renewal: validation data for the last document timestamp, then a new
    document timestamp. Unlike pyHanko's ``update_archival_timestamp_chain`` the new
    timestamp's own validation data goes in before it (``update_before_ts``), so the
    new timestamp is the last revision and covers the entire file, as at conclusion."""
    reader = PdfFileReader(BytesIO(data), strict=False)
    context = Trust(root).context()
    last = await async_validate_pdf_timestamp(reader.embedded_timestamp_signatures[-1],
                                              validation_context=context)
    writer = IncrementalPdfFileWriter(BytesIO(data), strict=False)
    DocumentSecurityStore.supply_dss_in_writer(writer, None, paths=(last.validation_path,),
                                               validation_context=context)
    stamper = PdfTimeStamper(ServiceTimeStamper(client), field_name=field_name)
    out = await stamper.async_timestamp_pdf(
        writer, last.md_algorithm, validation_context=context, output=BytesIO(),
        dss_settings=TimestampDSSContentSettings(update_before_ts=True, include_vri=False))
    return bytes(out.getvalue())


def _renew(document_id: int, data: bytes, old_sha256: str, check: PdfCheck,
           expected: list[str], client: rs.SigningClient, root: ax509.Certificate,
           result: DocumentResult) -> None:
    field_name = _archive_field(check.timestamp_names + expected)
    try:
        renewed = asyncio.run(_add_archive_timestamp(data, client, root, field_name))
    except Exception as exc:  # noqa: BLE001  one failed renewal must not stop the audit of the rest
        log.warning("archive timestamp failed: %s", type(exc).__name__)
        result.outcome = Outcome.RENEWAL_FAILED
        result.notes.append(f"アーカイブタイムスタンプを付与できませんでした（{type(exc).__name__}）。")
        return
    recheck = check_pdf(renewed, root, expected + [field_name])
    if recheck.problems:  # never replace a good file by one that does not validate
        result.outcome = Outcome.RENEWAL_FAILED
        result.notes += ["更新後の文書が検証に失敗したため保存しませんでした。", *recheck.problems]
        return
    _switch_revision(document_id, renewed, old_sha256, field_name, recheck, result)


def _switch_revision(document_id: int, renewed: bytes, old_sha256: str, field_name: str,
                     recheck: PdfCheck, result: DocumentResult) -> None:
    store = get_file_store()
    new_key = store.put(renewed, kind="contract")
    new_sha256 = hashlib.sha256(renewed).hexdigest()
    try:
        lock_package(result.package_id)
        document = db.session.get(ContractDocument, document_id, populate_existing=True)
        if document is None or document.current_sha256 != old_sha256:
            db.session.rollback()
            store.delete(new_key)
            result.outcome = Outcome.RENEWAL_FAILED
            result.notes.append("検証中に文書が更新されたため、今回は更新しませんでした。")
            return
        old_key = document.current_key
        document.current_key, document.current_sha256 = new_key, new_sha256
        document.size = len(renewed)
        document.revisions += 1
        tsa = recheck.newest_timestamp.signer_cert
        db.session.add(ContractSignature(
            package_id=document.package_id, document_id=document.id,
            kind=SignatureKind.ARCHIVE_TIMESTAMP, field_name=field_name,
            certificate_subject=tsa.subject.human_friendly[:500],
            certificate_serial=format(tsa.serial_number, "x"), result_sha256=new_sha256))
        audit.record("contract.longterm.renewed", target=document,
                     detail={"package": document.package_id, "field": field_name,
                             "from_sha256": old_sha256, "to_sha256": new_sha256,
                             "tsa_serial": format(tsa.serial_number, "x")})
        db.session.commit()
    except BaseException:
        db.session.rollback()
        store.delete(new_key)
        raise
    store.delete(old_key)
    result.outcome = Outcome.RENEWED
    result.new_sha256 = new_sha256


# --- the run -----------------------------------------------------------------------------

def _document_ids(checked_before: datetime | None) -> tuple[list[int], int]:
    """The concluded contract documents to open, and how many are skipped because
    they were found sound after ``checked_before`` (None: open every one)."""
    base = (select(ContractDocument.id).join(ContractPackage)
            .where(ContractPackage.concluded_at.is_not(None),
                   ContractDocument.kind == DocumentKind.CONTRACT))
    due = base
    if checked_before is not None:
        due = base.where(or_(ContractDocument.longterm_checked_at.is_(None),
                             ContractDocument.longterm_checked_at < checked_before))
    ids = list(db.session.execute(
        due.order_by(ContractDocument.package_id, ContractDocument.position, ContractDocument.id)
    ).scalars())
    total = db.session.scalar(select(func.count()).select_from(base.subquery())) or 0
    return ids, total - len(ids)


MARK_EVERY = 100  # sound documents marked per commit (a killed run re-checks at most these)


def _mark_checked(document_ids: list[int], at: datetime) -> None:
    if document_ids:
        db.session.execute(update(ContractDocument).where(ContractDocument.id.in_(document_ids))
                           .values(longterm_checked_at=at))
        db.session.commit()
        document_ids.clear()


def _expected_fields(document_id: int) -> list[str]:
    return list(db.session.execute(
        select(ContractSignature.field_name).where(ContractSignature.document_id == document_id)
        .order_by(ContractSignature.id)).scalars())


def _process(document_id: int, root: ax509.Certificate, client: rs.SigningClient,
             window: timedelta, dry_run: bool) -> DocumentResult:
    document = db.session.get(ContractDocument, document_id)
    assert document is not None
    result = DocumentResult(document.package_id, document.id, document.title)
    expected = _expected_fields(document_id)
    data = integrity.read_checked(get_file_store(), document.current_key,
                                  document.current_sha256, result.problems)
    check = check_pdf(data, root, expected) if data is not None else None
    if check is not None:
        result.problems += check.problems
    if data is None or check is None or result.problems:
        result.outcome = Outcome.MISMATCH
        return result
    due, note = renewal_decision(data, check, window)
    if note:
        result.notes.append(note)
    if due and dry_run:
        result.outcome = Outcome.RENEWAL_DUE
    elif due:
        _renew(document_id, data, document.current_sha256, check, expected, client, root, result)
    return result


def _raise_alert(result: DocumentResult, recorded_sha256: str) -> LongtermAlert | None:
    """A new open alert, or None when the document already has one (counted on it)."""
    text = "\n".join(result.problems)
    existing = db.session.execute(
        select(LongtermAlert).where(LongtermAlert.document_id == result.document_id,
                                    LongtermAlert.file_ref == result.file_ref,
                                    LongtermAlert.state == AlertState.OPEN)
    ).scalars().first()
    if existing is not None:
        existing.last_detected_at = now()
        existing.detections += 1
        existing.problems = text
        return None
    alert = LongtermAlert(package_id=result.package_id, document_id=result.document_id,
                          document_title=result.title[:255], recorded_sha256=recorded_sha256,
                          problems=text, state=AlertState.OPEN, file_ref=result.file_ref)
    db.session.add(alert)
    db.session.flush()
    return alert


def _record_mismatch(result: DocumentResult) -> LongtermAlert | None:
    recorded = result.recorded_sha256
    if result.file_ref == integrity.SIGNED:
        document = db.session.get(ContractDocument, result.document_id)
        recorded = document.current_sha256 if document else ""
    alert = _raise_alert(result, recorded)
    audit.record("contract.longterm.mismatch", target=_audit_target(result),
                 detail={"package": result.package_id, "recorded_sha256": recorded,
                         "file": result.file_ref or None, "problems": result.problems[:20],
                         "alert": alert.id if alert else None})
    db.session.commit()
    return alert


_REF_TARGETS = {"original": "ContractDocument", "current": "ContractDocument",
                "revision": "ContractSignature", "evidence": "ContractPackage",
                "kyc_file": "KycFile", "poa": "PowerOfAttorney"}


def _audit_target(result: DocumentResult) -> tuple[str, int]:
    if result.file_ref == integrity.SIGNED:
        return "ContractDocument", result.document_id
    kind, _, ident = result.file_ref.partition(":")
    return _REF_TARGETS.get(kind, kind), int(ident)


def _record_renewal_failure(result: DocumentResult) -> None:
    audit.record("contract.longterm.renewal_failed",
                 target=("ContractDocument", result.document_id),
                 detail={"package": result.package_id, "notes": result.notes[:20]})
    db.session.commit()


def bank_administrators() -> list[StaffUser]:
    return list(db.session.execute(
        select(StaffUser).where(StaffUser.role == StaffRole.BANK_ADMIN,
                                StaffUser.active.is_(True)).order_by(StaffUser.id)
    ).scalars())


def _mail_administrators(alerts: list[LongtermAlert], checked_at: datetime) -> None:
    for admin in bank_administrators():
        queue_mail("longterm_alert", admin.email, name=admin.name, alerts=alerts,
                   checked_at=checked_at)


def _root(client: rs.SigningClient) -> ax509.Certificate:
    try:
        return ax509.Certificate.load(client.root_certificate())
    except rs.SigningError as exc:
        raise ServiceUnreachable(
            "署名サービスに接続できないため、長期検証を実行できません。") from exc


def revalidate(*, dry_run: bool = False,
               on_result: Callable[[DocumentResult], None] | None = None,
               unchecked_for: timedelta | None = None,
               workers: int | None = None) -> RunSummary:
    """Check every stored file; re-validate, renew and alert unless ``dry_run``.

    Signed contract documents of concluded packages are re-validated with
    pyHanko (``summary.results``); every other stored file is decrypted and its
    SHA-256 compared (``summary.files``, see ``integrity``). The files are opened
    by ``workers`` processes (default ``INTEGRITY_WORKERS``; 0: this process).

    ``on_result`` (optional) is called with each ``DocumentResult`` as it is done.
    ``unchecked_for`` (optional) opens only signed documents not found sound within
    that time, so a daily run can spread a large archive over a cycle; a document
    with a mismatch is never marked sound and is opened by every run.
    """
    started = now()
    window = timedelta(days=int(current_app.config["LONGTERM_RENEW_DAYS"]))
    summary = RunSummary(dry_run=dry_run)
    new_alerts: list[LongtermAlert] = []
    checked_before = started - unchecked_for if unchecked_for is not None else None
    document_ids, summary.skipped_recent = _document_ids(checked_before)
    jobs = integrity.signed_document_jobs(document_ids) + list(integrity.other_file_jobs())
    db.session.rollback()  # no transaction (SQLite: no write lock) while the files are read
    client = rs.SigningClient.from_config(current_app.config)
    sound: list[int] = []
    try:
        root = _root(client)
        for result in _each_result(jobs, _check_context(root, window, started), workers,
                                   root, client, window, dry_run):
            if result.outcome is Outcome.MISMATCH and not dry_run:
                alert = _record_mismatch(result)
                if alert is not None:
                    new_alerts.append(alert)
            elif result.outcome is Outcome.RENEWAL_FAILED:
                _record_renewal_failure(result)
            elif not dry_run and result.file_ref == integrity.SIGNED:
                sound.append(result.document_id)
                if len(sound) >= MARK_EVERY:
                    _mark_checked(sound, started)
            (summary.results if result.file_ref == integrity.SIGNED else summary.files).append(
                result)
            if on_result is not None:
                on_result(result)
        _mark_checked(sound, started)
    except ServiceUnreachable:
        db.session.rollback()
        audit.record("contract.longterm.run", detail={**summary.totals(), "error": "unreachable"})
        db.session.commit()
        raise
    finally:
        client.close()
    _finish(summary, new_alerts, started)
    return summary


def _check_context(root: ax509.Certificate, window: timedelta,
                   started: datetime) -> integrity.CheckContext:
    config = current_app.config
    return integrity.CheckContext(
        store_backend=config["FILESTORE_BACKEND"], store_path=str(config["FILESTORE_PATH"]),
        master_key=config["MASTER_KEY"], root_der=root.dump(), window=window, at=started)


def _each_result(jobs: list[integrity.FileJob], ctx: integrity.CheckContext,
                 workers: int | None, root: ax509.Certificate, client: rs.SigningClient,
                 window: timedelta, dry_run: bool) -> Iterator[DocumentResult]:
    config = current_app.config
    count = int(config["INTEGRITY_WORKERS"]) if workers is None else workers
    for verdict in integrity.check_all(jobs, ctx, workers=count,
                                       batch=int(config["INTEGRITY_BATCH"])):
        if verdict.renewal_due and not dry_run:
            # Renewal needs the signing service and the database: done here, after
            # reading and checking the file again under the package lock's rules.
            result = _process(verdict.job.document_id, root, client, window, dry_run)
            db.session.rollback()
            yield result
            continue
        yield _result_of(verdict)


def _result_of(verdict: integrity.FileVerdict) -> DocumentResult:
    job = verdict.job
    result = DocumentResult(job.package_id, job.document_id, job.title,
                            problems=list(verdict.problems), file_ref=job.ref,
                            recorded_sha256=job.sha256)
    if verdict.note:
        result.notes.append(verdict.note)
    if verdict.problems:
        result.outcome = Outcome.MISMATCH
    elif verdict.renewal_due:
        result.outcome = Outcome.RENEWAL_DUE
    return result


def _finish(summary: RunSummary, new_alerts: list[LongtermAlert], started: datetime) -> None:
    summary.alerts_raised = len(new_alerts)
    if new_alerts:
        alerts = [db.session.get(LongtermAlert, a.id) for a in new_alerts]
        _mail_administrators([a for a in alerts if a is not None], started)
    mismatched = [r.document_id for r in summary.results if r.outcome is Outcome.MISMATCH]
    files = [r.file_ref for r in summary.files if r.outcome is Outcome.MISMATCH]
    audit.record("contract.longterm.run",
                 detail={**summary.totals(), "alerts_raised": len(new_alerts),
                         "mismatched_documents": mismatched[:100],
                         "mismatched_files": files[:100]})
    db.session.commit()


# --- alerts in the console ---------------------------------------------------------------

def alerts(*, include_acknowledged: bool = False, limit: int = 200) -> list[LongtermAlert]:
    query = select(LongtermAlert).order_by(LongtermAlert.id.desc()).limit(limit)
    if not include_acknowledged:
        query = query.where(LongtermAlert.state == AlertState.OPEN)
    return list(db.session.execute(query).scalars())


def open_alert_count() -> int:
    return db.session.execute(select(func.count(LongtermAlert.id))
                              .where(LongtermAlert.state == AlertState.OPEN)).scalar_one()


def _stamp_acknowledged(alert: LongtermAlert, staff: StaffUser) -> None:
    alert.acknowledged_by_id = staff.id
    alert.acknowledged_at = now()


def _alert_detail(alert: LongtermAlert) -> dict[str, Any]:
    return {"package": alert.package_id, "document": alert.document_id}


ALERT_TRANSITIONS: dict[AlertState, frozenset[AlertState]] = {
    AlertState.OPEN: frozenset({AlertState.ACKNOWLEDGED}),
    AlertState.ACKNOWLEDGED: frozenset(),
}
ALERT_LIFECYCLE: Lifecycle[AlertState] = Lifecycle(
    AlertState, ALERT_TRANSITIONS, "contract.longterm.alert_acknowledged",
    refusal="このアラートは確認済みです。", on_move=_stamp_acknowledged, detail_of=_alert_detail)


def acknowledge(staff: StaffUser, alert_id: int) -> LongtermAlert:
    if not can(staff, Permission.CONSOLE_AUDIT_READ):
        raise Forbidden()
    alert = db.session.get(LongtermAlert, alert_id)
    if alert is None:
        raise NotFound()
    ALERT_LIFECYCLE.move(alert, AlertState.ACKNOWLEDGED, actor=staff)
    return alert
