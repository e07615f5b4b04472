"""KYC-5 with failures: the store follows the database transaction, so a
failed commit neither loses the previous document nor leaves an orphan."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from kyc import devtools, services
from kyc.document_types import DocumentCategory
from kyc.models import KycFile
from kyc.scanner import ClamdScanner
from portal.extensions import db
from portal.filestore import FileMissing, get_file_store

IDENTITY = DocumentCategory.IDENTITY


def draft_with_passport(factories: Any) -> tuple[Any, Any]:
    user = factories.customer()
    submission = services.agree(user, understood=True)
    services.choose_type(user, submission, IDENTITY, "passport")
    db.session.commit()
    return user, submission


def readable(key: str) -> bool:
    try:
        get_file_store().get(key)
    except FileMissing:
        return False
    return True


def test_replacement_rolled_back_keeps_the_old_file_and_drops_the_new(
        factories: Any, scanner: ClamdScanner) -> None:
    user, submission = draft_with_passport(factories)
    first = services.upload_file(user, submission, IDENTITY, "photo", "first.pdf",
                                 devtools.sample_pdf("first"), scanner=scanner)
    db.session.commit()
    old_key = first.file.storage_key  # type: ignore[union-attr]

    second = services.upload_file(user, submission, IDENTITY, "photo", "second.pdf",
                                  devtools.sample_pdf("second"), scanner=scanner)
    new_key = second.file.storage_key  # type: ignore[union-attr]
    assert readable(old_key) and readable(new_key)  # nothing deleted before the commit
    db.session.rollback()  # e.g. the commit failed

    assert readable(old_key) and not readable(new_key)
    row = db.session.execute(select(KycFile)).scalar_one()
    assert row.storage_key == old_key and row.original_name == "first.pdf"


def test_replacement_committed_deletes_the_old_file(factories: Any,
                                                    scanner: ClamdScanner) -> None:
    user, submission = draft_with_passport(factories)
    first = services.upload_file(user, submission, IDENTITY, "photo", "first.pdf",
                                 devtools.sample_pdf("first"), scanner=scanner)
    db.session.commit()
    old_key = first.file.storage_key  # type: ignore[union-attr]
    services.upload_file(user, submission, IDENTITY, "photo", "second.jpg",
                         devtools.sample_image("JPEG"), scanner=scanner)
    db.session.commit()
    assert not readable(old_key)
    row = db.session.execute(select(KycFile)).scalar_one()
    assert row.original_name == "second.jpg" and readable(row.storage_key)
