"""CON-1, CON-2, CON-3: preparation in the bank console, sending, withdrawing."""

from __future__ import annotations

import io
import subprocess

import pytest

from portal.contracts.models import ContractPackage, DocumentKind
from portal.contracts.states import PackageState
from portal.extensions import db
from portal.mail import deliver_pending
from portal.models import AuditEntry, Notice
from tests.functional.contracts.conftest import (
    create_package,
    package_form,
    staff_client,
    with_files,
)


def _post_new(app, world, form):
    client = staff_client(app, world.staff)
    return client.post_form("/console/contracts/new", form, token_page="/console/contracts/new",
                            content_type="multipart/form-data")


def test_staff_prepares_a_draft_package_with_encrypted_documents(app, world, contract_pdf):
    package_id = create_package(app, world, contract_pdf)
    package = db.session.get(ContractPackage, package_id)
    assert package.state == PackageState.DRAFT and package.loan_amount == 10_000_000
    assert [d.kind for d in package.documents].count(DocumentKind.CONTRACT) == 2
    assert package.important_matters is not None
    assert [(p.company_id, p.signing_position) for p in package.parties] == [
        (world.company.id, "debtor"), (world.guarantor_company.id, "guarantor")]
    assert package.staff_label == f"東京支店 {world.staff.name}"
    # AUD-3: the stored file is not the PDF in clear
    from pathlib import Path
    key = package.documents[0].current_key
    raw = (Path(app.config["FILESTORE_PATH"]) / key[:2] / key).read_bytes()
    assert b"%PDF" not in raw
    assert db.session.query(AuditEntry).filter_by(action="contract.package.created").count() == 1


@pytest.mark.parametrize("field,value,message", [
    ("loan_amount", "-1000", "負の値"),
    ("loan_amount", "9999999999999999", "大きすぎます"),
    ("loan_amount", "１０万", "数字"),
    ("loan_amount", "", "入力してください"),
    ("application_date", "2026-02-30", "存在しない日付"),
    ("planned_loan_date", "2026-13-01", "存在しない日付"),
    ("planned_loan_date", "2026-03-01", "申込日以降"),
    ("application_date", "1890-01-01", None),
    ("summary_type", "bogus", None),
])
def test_bad_fields_get_japanese_field_errors(app, world, contract_pdf, field, value, message):
    form = with_files(package_form(world, **{field: value}), contract_pdf)
    response = _post_new(app, world, form)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert f'id="{field}-error"' in html
    if message:
        assert message in html
    assert db.session.query(ContractPackage).count() == 0


def test_cancellation_agreement_must_name_an_active_package(app, world, contract_pdf):
    response = _post_new(app, world, with_files(
        package_form(world, summary_type="cancellation", loan_amount="100"), contract_pdf))
    assert response.status_code == 400
    assert "取消対象の契約を選択してください" in response.get_data(as_text=True)


def _encrypted(pdf: bytes, tmp_path) -> bytes:
    src, dst = tmp_path / "in.pdf", tmp_path / "out.pdf"
    src.write_bytes(pdf)
    subprocess.run(["qpdf", "--encrypt", "user", "owner", "256", "--", str(src), str(dst)],
                   check=True)
    return dst.read_bytes()


@pytest.mark.parametrize("kind", ["corrupt", "encrypted", "not_pdf", "empty", "wrong_ext"])
def test_broken_encrypted_or_non_pdf_documents_are_refused(app, world, contract_pdf, tmp_path,
                                                           kind):
    bad = {
        "corrupt": (contract_pdf[:400] + b"\x00garbage", "契約書.pdf"),
        "encrypted": (_encrypted(contract_pdf, tmp_path) if kind == "encrypted" else b"",
                      "契約書.pdf"),
        "not_pdf": (b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "契約書.pdf"),
        "empty": (b"", "契約書.pdf"),
        "wrong_ext": (contract_pdf, "契約書.docx"),
    }[kind]
    form = package_form(world)
    form["contract_files"] = [(io.BytesIO(bad[0]), bad[1])]
    form["important_file"] = (io.BytesIO(contract_pdf), "重要事項説明書.pdf")
    response = _post_new(app, world, form)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert 'id="contract_files-error"' in html
    expected = {"corrupt": "壊れている", "encrypted": "暗号化", "not_pdf": "一致しません",
                "empty": "選択してください", "wrong_ext": "PDFファイル"}[kind]
    assert expected in html
    assert db.session.query(ContractPackage).count() == 0


def test_a_virus_in_a_contract_pdf_is_refused(app, world, contract_pdf):
    eicar = (b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*")
    infected = contract_pdf + b"%" + eicar + b"\n"
    form = package_form(world)
    form["contract_files"] = [(io.BytesIO(infected), "契約書.pdf")]
    form["important_file"] = (io.BytesIO(contract_pdf), "重要事項説明書.pdf")
    response = _post_new(app, world, form)
    assert response.status_code == 400
    assert "ウイルス" in response.get_data(as_text=True)


def test_parties_must_be_customers_of_the_staff_branch(app, world, contract_pdf):
    form = package_form(world, **{"party-1-company": str(world.other_company.id)})
    response = _post_new(app, world, with_files(form, contract_pdf))
    assert response.status_code == 400
    assert "選択できないお客さま" in response.get_data(as_text=True)


def test_staff_of_another_branch_cannot_see_or_act_on_the_package(app, world, contract_pdf):
    package_id = create_package(app, world, contract_pdf)
    other = staff_client(app, world.other_staff)
    assert other.get(f"/console/contracts/{package_id}").status_code == 404
    token = other.csrf_token("/console/contracts/new")
    assert other.post(f"/console/contracts/{package_id}/send",
                      data={"csrf_token": token}).status_code == 404
    assert other.post(f"/console/contracts/{package_id}/conclude",
                      data={"csrf_token": token, "password": "x"}).status_code == 404
    listing = other.get("/console/contracts").get_data(as_text=True)
    assert f"/console/contracts/{package_id}\"" not in listing
    assert db.session.get(ContractPackage, package_id).state == PackageState.DRAFT


def test_edit_while_draft_then_editing_a_sent_package_is_refused(app, world, contract_pdf):
    package_id = create_package(app, world, contract_pdf)
    client = staff_client(app, world.staff)
    page = f"/console/contracts/{package_id}/edit"
    form = package_form(world, loan_amount="20000000")
    form.pop("party-1-company")
    form.pop("party-1-position")
    assert client.post_form(page, form, token_page=page,
                            content_type="multipart/form-data").status_code == 302
    package = db.session.get(ContractPackage, package_id)
    assert package.loan_amount == 20_000_000 and len(package.parties) == 1
    assert len(package.contract_documents) == 2  # no new files: documents kept
    client.post_form(f"/console/contracts/{package_id}/send",
                     token_page=f"/console/contracts/{package_id}")
    assert client.get(page).status_code == 400
    token = client.csrf_token(f"/console/contracts/{package_id}")
    refused = client.post(page, data={**form, "csrf_token": token})
    assert refused.status_code == 400 and "編集できません" in refused.get_data(as_text=True)


def test_sending_mails_and_notifies_every_signing_user_but_not_viewers(app, world, contract_pdf,
                                                                      smtp_sink):
    package_id = create_package(app, world, contract_pdf, send=True)
    assert db.session.get(ContractPackage, package_id).state == PackageState.UNSIGNED
    deliver_pending()
    for user in (world.rep, world.signer, world.guarantor):
        mail = smtp_sink.last_to(user.email, "署名のお願い")
        assert f"/contracts/{package_id}" in smtp_sink.body(mail)
        notice = db.session.query(Notice).filter_by(user_id=user.id).one()
        assert notice.text.startswith("契約書への署名準備が整いました")
        assert notice.link == f"/contracts/{package_id}"
    assert smtp_sink.to(world.viewer.email) == []
    assert db.session.query(Notice).filter_by(user_id=world.viewer.id).count() == 0


def test_withdraw_while_unsigned_then_nothing_more_is_allowed(app, world, contract_pdf,
                                                            smtp_sink):
    package_id = create_package(app, world, contract_pdf, send=True)
    client = staff_client(app, world.staff)
    detail = f"/console/contracts/{package_id}"
    assert client.post_form(f"{detail}/withdraw", token_page=detail).status_code == 302
    assert db.session.get(ContractPackage, package_id).state == PackageState.WITHDRAWN
    again = client.post_form(f"{detail}/send", token_page="/console/contracts/new")
    assert again.status_code == 409 and "この操作はできません" in again.get_data(as_text=True)
    deliver_pending()
    assert smtp_sink.last_to(world.rep.email, "取下げ")
