"""Retention fixtures: packages prepared through the console with real files in
the encrypted store, finished through the state machine (CON-9)."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from portal.contracts.models import ContractPackage
from portal.contracts.states import PACKAGE_LIFECYCLE, PARTY_LIFECYCLE, PackageState, PartyState
from portal.extensions import db
from portal.filestore import get_file_store
from tests.functional.contracts.conftest import (  # noqa: F401  (fixtures)
    World,
    contract_pdf,
    create_package,
    rs_mail,
    rs_service,
    signing_app,
    world,
)

ONE_PARTY = {"party-1-company": None, "party-1-position": None}


def finished_package(app: Any, world_: World, pdf: bytes, *, summary: str = "loan_only",
                     ended_at: datetime, state: PackageState = PackageState.REPAID) -> int:
    """A concluded package repaid (完済) at ``ended_at`` (signing is tested elsewhere)."""
    package_id = create_package(app, world_, pdf, send=True, summary_type=summary, **ONE_PARTY)
    package = db.session.get(ContractPackage, package_id)
    for party in package.parties:
        PARTY_LIFECYCLE.move(party, PartyState.SIGNED, actor=world_.rep)
    PACKAGE_LIFECYCLE.move(package, PackageState.ALL_SIGNED, actor=world_.rep)
    PACKAGE_LIFECYCLE.move(package, PackageState.CONCLUDED, actor=world_.staff)
    package.concluded_at = ended_at - timedelta(days=30)
    PACKAGE_LIFECYCLE.move(package, state, actor=world_.staff)
    package.ended_at = ended_at
    # The sealed 締結証明書 (#16) is one more stored file of a concluded package.
    evidence = b"%PDF-1.7 evidence certificate"
    package.evidence_key = get_file_store().put(evidence, kind="evidence")
    package.evidence_sha256 = hashlib.sha256(evidence).hexdigest()
    db.session.commit()
    return package_id


def blob_paths(app: Any, package_id: int) -> list[Path]:
    """The files of a package in the store (originals, current revisions, 締結証明書)."""
    store = get_file_store()
    package = db.session.get(ContractPackage, package_id)
    keys = {k for d in package.documents for k in (d.original_key, d.current_key)}
    keys.add(package.evidence_key)
    return [store._path(k) for k in sorted(keys)]  # type: ignore[attr-defined]


def run_cli(app: Any, *args: str) -> Any:
    db.session.commit()  # end the test's own transaction (SQLite write lock)
    result = app.test_cli_runner().invoke(args=["retention", *args])
    db.session.expire_all()
    return result
