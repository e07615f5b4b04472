"""What an auditor checks after a fault: the package, its parties and its
documents exactly as before (no half-signed revision, no stray blob), and an
intact audit chain."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from portal.audit import verify_chain
from portal.contracts.models import ContractPackage, ContractSignature
from portal.extensions import db


@dataclass(frozen=True)
class Snapshot:
    package: str
    parties: tuple[str, ...]
    documents: tuple[tuple[str, str, int], ...]  # storage key, sha256, revisions
    signatures: int
    blobs: int


def snapshot(app: Any, package_id: int) -> Snapshot:
    db.session.commit()
    db.session.expire_all()
    package = db.session.get(ContractPackage, package_id)
    assert package is not None
    signatures = db.session.scalar(select(func.count()).select_from(ContractSignature)
                                   .where(ContractSignature.package_id == package_id))
    store = Path(app.config["FILESTORE_PATH"])
    snap = Snapshot(
        package=str(package.state),
        parties=tuple(str(p.state) for p in package.parties),
        documents=tuple((d.current_key, d.current_sha256, d.revisions)
                        for d in package.contract_documents),
        signatures=int(signatures or 0),
        # the signing dialog's waiting authorization (signauth-*, between 認証 and
        # 電子署名) is no stored data: it goes when the dialog starts again
        blobs=sum(1 for p in store.rglob("*")
                  if p.is_file() and not p.name.startswith("signauth-")),
    )
    db.session.commit()
    return snap


def assert_audit_intact() -> None:
    report = verify_chain()
    db.session.commit()
    assert report.ok, report
