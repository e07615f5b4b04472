"""CON-2 (#13 item 13): a document is titled after the PDF's own /Title, else its file
name without the extension; staff can give it a title while the package is 作成中."""

from __future__ import annotations

import io

from portal.contracts.models import ContractDocument, ContractPackage
from portal.extensions import db
from portal.models import AuditEntry
from remote_signing.sample import sample_pdf
from tests.functional.contracts.conftest import (
    customer_client,
    package_form,
    staff_client,
    untitled,
)


def _create(client, world, contract: tuple[bytes, str], important: tuple[bytes, str]) -> int:  # type: ignore[no-untyped-def]
    data = dict(package_form(world))
    data["contract_files"] = [(io.BytesIO(contract[0]), contract[1])]
    data["important_file"] = (io.BytesIO(important[0]), important[1])
    response = client.post_form("/console/contracts/new", data,
                                token_page="/console/contracts/new",
                                content_type="multipart/form-data")
    assert response.status_code == 302, response.get_data(as_text=True)
    return int(response.headers["Location"].rstrip("/").rsplit("/", 1)[-1])


def _titles(package_id: int) -> list[str]:
    db.session.expire_all()
    return [d.title for d in db.session.get(ContractPackage, package_id).documents]


def test_the_pdfs_own_title_wins_over_its_file_name(app, world):
    staff = staff_client(app, world.staff)
    package_id = _create(staff, world, (sample_pdf(), "kinsen.pdf"),
                         (untitled(sample_pdf()), "juyo.pdf"))
    assert _titles(package_id) == ["金銭消費貸借契約書（サンプル）", "juyo"]


def test_staff_title_a_document_while_preparing_and_customers_see_it(app, world):
    staff = staff_client(app, world.staff)
    package_id = _create(staff, world, (untitled(sample_pdf()), "kinsen.pdf"),
                         (untitled(sample_pdf()), "juyo.pdf"))
    detail = f"/console/contracts/{package_id}"
    page = staff.get(detail).get_data(as_text=True)
    documents = db.session.get(ContractPackage, package_id).documents
    contract, important = documents[0].id, documents[1].id
    assert f'action="{detail}/documents/{contract}/title"' in page
    assert 'name="title" value="kinsen"' in page and 'maxlength="200"' in page
    empty = staff.post_form(f"{detail}/documents/{contract}/title", {"title": " "},
                            token_page=detail)
    assert empty.status_code == 400 and "書類名を入力してください。" in empty.get_data(as_text=True)
    for doc_id, title in ((contract, "金銭消費貸借契約書"), (important, "重要事項説明書")):
        renamed = staff.post_form(f"{detail}/documents/{doc_id}/title", {"title": title},
                                  token_page=detail)
        assert renamed.status_code == 302
    assert _titles(package_id) == ["金銭消費貸借契約書", "重要事項説明書"]
    entry = db.session.query(AuditEntry).filter_by(action="contract.document.renamed").first()
    assert entry is not None and "kinsen" in entry.detail
    sent = staff.post_form(f"{detail}/send", token_page=detail)
    assert sent.status_code == 302
    page = customer_client(app, world.rep).get(f"/contracts/{package_id}").get_data(as_text=True)
    assert "金銭消費貸借契約書" in page and "kinsen" not in page and "juyo" not in page
    # once sent, the titles are what the parties saw: no more changes
    late = staff.post_form(f"{detail}/documents/{contract}/title", {"title": "別名"},
                           token_page=detail)
    assert late.status_code == 400
    assert db.session.get(ContractDocument, contract).title == "金銭消費貸借契約書"
