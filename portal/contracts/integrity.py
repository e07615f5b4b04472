"""Integrity of every stored file (SIGN-6, #14 item 7).

``stored_files`` lists every file the portal keeps in the encrypted file store
with the SHA-256 recorded when it was stored: contract documents (the signed
file of a concluded package, which is also re-validated with pyHanko), their
originals as uploaded, the revisions each party signature produced, a package
in signing's current revision, the sealed 締結証明書, KYC files and powers of
attorney. Only existing rows are listed: a package deleted after its retention
period (CON-9) leaves no row here, so it is never opened nor reported.

``check_all`` opens them in a pool of worker processes. The parent hands each
worker batches of small ``FileJob``s (ids, keys, digests), never file bytes;
a worker opens, decrypts and hashes one file at a time, so memory stays flat
whatever the archive's size. At most two batches per worker are in flight.
"""

from __future__ import annotations

import hashlib
import multiprocessing
from collections.abc import Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from asn1crypto import x509 as ax509
from sqlalchemy import select

from kyc.models import KycFile
from portal.config import master_key_bytes
from portal.extensions import db
from portal.filestore import FileIntegrityError, FileMissing, FileStore
from portal.users.models import PowerOfAttorney

from .models import ContractDocument, ContractPackage, ContractSignature, SignatureKind
from .pdfcheck import check_pdf, renewal_decision

SIGNED = ""  # file_ref of a concluded package's signed contract document


@dataclass(frozen=True, slots=True)
class FileJob:
    """One stored file to check. ``expected_fields`` is set for a signed contract
    document: its signatures are re-validated as well (the names recorded)."""

    ref: str
    key: str
    sha256: str
    package_id: int
    document_id: int
    title: str
    expected_fields: tuple[str, ...] | None = None


@dataclass(slots=True)
class FileVerdict:
    job: FileJob
    problems: list[str] = field(default_factory=list)
    renewal_due: bool = False
    note: str = ""


# --- what is stored ----------------------------------------------------------------------

def signed_document_jobs(document_ids: list[int]) -> list[FileJob]:
    """The concluded contract documents given by id, with their expected signatures."""
    fields: dict[int, list[str]] = {}
    jobs = []
    for chunk in _chunks(document_ids, 500):
        for document_id, name in db.session.execute(
                select(ContractSignature.document_id, ContractSignature.field_name)
                .where(ContractSignature.document_id.in_(chunk))
                .order_by(ContractSignature.id)):
            fields.setdefault(document_id, []).append(name)
        rows = db.session.execute(
            select(ContractDocument.id, ContractDocument.package_id, ContractDocument.title,
                   ContractDocument.current_key, ContractDocument.current_sha256)
            .where(ContractDocument.id.in_(chunk))).all()
        by_id = {row.id: row for row in rows}
        for document_id in chunk:
            row = by_id.get(document_id)
            if row is not None:
                jobs.append(FileJob(SIGNED, row.current_key, row.current_sha256, row.package_id,
                                    row.id, row.title, tuple(fields.get(row.id, []))))
    return jobs


def other_file_jobs() -> Iterator[FileJob]:
    """Every other stored file: originals, revisions, 締結証明書, KYC files, PoAs."""
    yield from _contract_files()
    for package_id, key, sha in db.session.execute(
            select(ContractPackage.id, ContractPackage.evidence_key,
                   ContractPackage.evidence_sha256)
            .where(ContractPackage.evidence_key.is_not(None)).order_by(ContractPackage.id)):
        yield FileJob(f"evidence:{package_id}", key or "", sha or "", package_id, 0, "締結証明書")
    for kyc in db.session.execute(
            select(KycFile.id, KycFile.storage_key, KycFile.sha256, KycFile.document_type,
                   KycFile.slot).order_by(KycFile.id)):
        yield FileJob(f"kyc_file:{kyc.id}", kyc.storage_key, kyc.sha256, 0, 0,
                      f"本人確認書類（{kyc.document_type} {kyc.slot}、ファイルID {kyc.id}）")
    for poa in db.session.execute(
            select(PowerOfAttorney.id, PowerOfAttorney.file_key, PowerOfAttorney.sha256,
                   PowerOfAttorney.company_id).order_by(PowerOfAttorney.id)):
        yield FileJob(f"poa:{poa.id}", poa.file_key, poa.sha256, 0, 0,
                      f"委任状（ID {poa.id}、会社ID {poa.company_id}）")


def _contract_files() -> Iterator[FileJob]:
    documents = db.session.execute(
        select(ContractDocument.id, ContractDocument.package_id, ContractDocument.title,
               ContractDocument.original_key, ContractDocument.original_sha256,
               ContractDocument.current_key, ContractDocument.current_sha256,
               ContractPackage.concluded_at)
        .join(ContractPackage).order_by(ContractDocument.package_id, ContractDocument.id)).all()
    current = {d.id: d.current_key for d in documents}
    for d in documents:
        yield FileJob(f"original:{d.id}", d.original_key, d.original_sha256, d.package_id, d.id,
                      f"原本（登録時）：{d.title}")
        if d.concluded_at is None and d.current_key != d.original_key:
            yield FileJob(f"current:{d.id}", d.current_key, d.current_sha256, d.package_id,
                          d.id, f"署名途中の版：{d.title}")
    titles = {d.id: d.title for d in documents}
    for sig in db.session.execute(
            select(ContractSignature.id, ContractSignature.package_id,
                   ContractSignature.document_id, ContractSignature.result_key,
                   ContractSignature.result_sha256, ContractSignature.field_name)
            .where(ContractSignature.kind == SignatureKind.PARTY,
                   ContractSignature.result_key.is_not(None))
            .order_by(ContractSignature.id)):
        if sig.result_key != current.get(sig.document_id):  # else checked as the document
            yield FileJob(f"revision:{sig.id}", sig.result_key, sig.result_sha256,
                          sig.package_id, sig.document_id,
                          f"{sig.field_name}の署名後の版：{titles.get(sig.document_id, '')}")


def _chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


# --- checking one file (in a worker, or in-process) ----------------------------------------

@dataclass(frozen=True)
class CheckContext:
    """Everything a worker needs, picklable: no app, no database."""

    store_backend: str
    store_path: str
    master_key: str
    root_der: bytes
    window: timedelta
    at: datetime


_STATE: dict[str, Any] = {}


def _init_worker(ctx: CheckContext) -> None:
    import importlib

    module_name, _, class_name = ctx.store_backend.rpartition(".")
    cls = getattr(importlib.import_module(module_name), class_name)
    _STATE["store"] = cls(ctx.store_path, master_key_bytes(ctx.master_key))
    _STATE["root"] = ax509.Certificate.load(ctx.root_der)
    _STATE["ctx"] = ctx


def _check_batch(jobs: list[FileJob]) -> list[FileVerdict]:
    return [check_file(_STATE["store"], job, _STATE["root"], _STATE["ctx"]) for job in jobs]


def check_file(store: FileStore, job: FileJob, root: ax509.Certificate,
               ctx: CheckContext) -> FileVerdict:
    verdict = FileVerdict(job)
    data = read_checked(store, job.key, job.sha256, verdict.problems)
    if data is None or job.expected_fields is None:
        return verdict
    check = check_pdf(data, root, list(job.expected_fields))
    verdict.problems += check.problems
    if not verdict.problems:
        verdict.renewal_due, verdict.note = renewal_decision(data, check, ctx.window, at=ctx.at)
    return verdict


def read_checked(store: FileStore, key: str, sha256: str, problems: list[str]) -> bytes | None:
    """The stored file's bytes, with what is wrong with them added to ``problems``
    (undecryptable, missing, or not the recorded SHA-256); None when unreadable."""
    try:
        data = store.get(key)
    except FileIntegrityError:
        problems.append("保存ファイルの暗号化データの完全性検証に失敗しました（改ざんまたは破損）。")
        return None
    except FileMissing:
        problems.append("保存ファイルが見つかりません。")
        return None
    actual = hashlib.sha256(data).hexdigest()
    if actual != sha256:
        problems.append(f"SHA-256が記録値と一致しません（記録値 {sha256}、実際 {actual}）。")
    return data


# --- the pool ----------------------------------------------------------------------------

def check_all(jobs: Iterable[FileJob], ctx: CheckContext, *, workers: int,
              batch: int) -> Iterator[FileVerdict]:
    """Verdicts as they are done (not in job order). ``workers`` 0: in this process."""
    if workers <= 0:
        _init_worker(ctx)
        for job in jobs:
            yield check_file(_STATE["store"], job, _STATE["root"], ctx)
        return
    # spawn: a worker starts clean (no inherited database connections or threads).
    with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                             initializer=_init_worker, initargs=(ctx,)) as pool:
        pending: set[Future[list[FileVerdict]]] = set()
        for chunk in _batches(jobs, max(1, batch)):
            if len(pending) >= 2 * workers:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    yield from future.result()
            pending.add(pool.submit(_check_batch, chunk))
        for future in _as_done(pending):
            yield from future.result()


def _batches(jobs: Iterable[FileJob], size: int) -> Iterator[list[FileJob]]:
    chunk: list[FileJob] = []
    for job in jobs:
        chunk.append(job)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _as_done(pending: set[Future[list[FileVerdict]]]) -> Iterator[Future[list[FileVerdict]]]:
    while pending:
        done, pending = wait(pending, return_when=FIRST_COMPLETED)
        yield from done
