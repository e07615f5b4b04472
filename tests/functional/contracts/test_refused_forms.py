"""#13 item 15: what a user typed or chose survives a refused submit (CON-4 confirm
boxes; CON-2 files, which a browser cannot refill: the form names the files to
choose again); 締結 on a concluded package says so (CON-6); the maintenance page
(AUTH-8) offers no menu that cannot be used and shows the bank's text on its own."""

from __future__ import annotations

from datetime import timedelta

from portal.clock import now
from portal.contracts.models import ContractPackage
from portal.contracts.states import PACKAGE_LIFECYCLE, PackageState
from portal.extensions import db
from portal.models import MaintenanceWindow
from tests.conftest import DEFAULT_PASSWORD
from tests.functional.contracts.conftest import (
    create_package,
    customer_client,
    package_form,
    staff_client,
    with_files,
)


def _open_all(client, package_id: int) -> None:  # type: ignore[no-untyped-def]
    package = db.session.get(ContractPackage, package_id)
    for doc in package.documents:
        assert client.get(f"/contracts/{package_id}/documents/{doc.id}").status_code == 200


def test_a_ticked_box_stays_ticked_when_the_other_is_missing(app, world, contract_pdf):
    package_id = create_package(app, world, contract_pdf, send=True)
    rep = customer_client(app, world.rep)
    _open_all(rep, package_id)
    page = f"/contracts/{package_id}/confirm"
    refused = rep.post_form(page, {"important_confirmed": "1"}, token_page=page)
    html = refused.get_data(as_text=True)
    assert refused.status_code == 400
    assert 'id="important_confirmed" value="1" checked>' in html
    assert 'id="documents_confirmed" value="1" >' in html  # not ticked, still enabled
    other = rep.post_form(page, {"documents_confirmed": "1"}, token_page=page)
    html = other.get_data(as_text=True)
    assert other.status_code == 400
    assert 'id="important_confirmed" value="1">' in html
    assert 'id="documents_confirmed" value="1" checked>' in html
    assert rep.get(page).get_data(as_text=True).count(" checked") == 0  # a fresh page


def test_a_refused_package_form_names_the_files_to_choose_again(app, world, contract_pdf):
    staff = staff_client(app, world.staff)
    form = with_files(package_form(world, loan_amount="abc"), contract_pdf)
    refused = staff.post_form("/console/contracts/new", form, token_page="/console/contracts/new",
                              content_type="multipart/form-data")
    html = refused.get_data(as_text=True)
    assert refused.status_code == 400
    assert ("選択されていたファイル（金銭消費貸借契約書1.pdf、金銭消費貸借契約書2.pdf）は保存されて"
            "いません。お手数ですが、もう一度選択してください。") in html
    assert "選択されていたファイル（重要事項説明書.pdf）は保存されていません。" in html
    assert 'value="2026-04-01"' in html  # typed values come back as before
    assert db.session.query(ContractPackage).count() == 0
    # nothing chosen, nothing said about files
    bare = staff.post_form("/console/contracts/new", package_form(world, loan_amount="abc"),
                           token_page="/console/contracts/new")
    assert "選択されていたファイル" not in bare.get_data(as_text=True)


def test_conclusion_of_a_concluded_package_says_it_is_concluded(app, world, contract_pdf):
    package_id = create_package(app, world, contract_pdf, send=True)
    package = db.session.get(ContractPackage, package_id)
    # as after the first 締結 (the seal itself is tested in test_signing.py)
    PACKAGE_LIFECYCLE.move(package, PackageState.ALL_SIGNED, actor=world.rep)
    PACKAGE_LIFECYCLE.move(package, PackageState.CONCLUDED, actor=world.staff)
    db.session.commit()
    staff = staff_client(app, world.staff)
    detail = f"/console/contracts/{package_id}"
    again = staff.post_form(f"{detail}/conclude", {"password": DEFAULT_PASSWORD},
                            token_page="/console/contracts/new")
    html = again.get_data(as_text=True)
    assert again.status_code == 400 and "この契約は既に締結されています。" in html
    assert "署名が完了していない" not in html


def test_the_maintenance_page_has_no_menus_and_the_banks_text_apart(app, world):
    rep = customer_client(app, world.rep)
    db.session.add(MaintenanceWindow(starts_at=now() - timedelta(minutes=5),
                                     ends_at=now() + timedelta(hours=1),
                                     message="システム更改のため、ご利用いただけません"))
    db.session.commit()
    page = rep.get("/contracts/to-sign")
    html = page.get_data(as_text=True)
    assert page.status_code == 503
    assert 'class="global-menu"' not in html and "署名が必要な契約" not in html
    assert 'class="user-menu"' not in html
    assert '<p class="maintenance-message">システム更改のため、ご利用いただけません</p>' in html
