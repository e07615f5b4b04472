"""Issue #12: hostile input to the contract screens is refused on the form
(CON-1, CON-4, CON-8), never answered with a server error."""

from __future__ import annotations

from portal.contracts.models import PartyConfirmation
from portal.extensions import db
from tests.functional.contracts.conftest import (
    create_package,
    customer_client,
    package_form,
    staff_client,
)


def test_con4_non_boolean_checkbox_is_a_field_error(app, world, contract_pdf):
    package_id = create_package(app, world, contract_pdf, send=True)
    client = customer_client(app, world.rep)
    page = f"/contracts/{package_id}/confirm"
    response = client.post_form(page, {"important_confirmed": "maybe",
                                       "documents_confirmed": "\x00"}, token_page=page)
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "入力内容が正しくありません。" in html
    assert db.session.query(PartyConfirmation).count() == 0


def test_con1_party_user_beyond_a_database_id_is_a_field_error(app, world, contract_pdf):
    package_id = create_package(app, world, contract_pdf)
    client = staff_client(app, world.staff)
    page = f"/console/contracts/{package_id}/edit"
    for hostile in (str(2**63), str(2**64 + 5), "-1", "1e3"):
        form = package_form(world, **{"party-0-user": hostile, "cancels_package_id": hostile})
        response = client.post_form(page, form, token_page=page)
        assert response.status_code == 400, hostile
        assert "選択してください。" in response.get_data(as_text=True)


def test_con1_amount_with_thousands_of_digits_is_too_large(app, world):
    client = staff_client(app, world.staff)
    page = "/console/contracts/new"
    response = client.post_form(page, package_form(world, loan_amount="9" * 5000),
                                token_page=page)
    assert response.status_code == 400
    assert "融資金額が大きすぎます。" in response.get_data(as_text=True)


def test_con8_search_text_is_limited_on_the_form_and_on_the_server(app, world):
    client = customer_client(app, world.rep)
    form = client.get("/contracts/active").get_data(as_text=True)
    assert 'name="counterparty" maxlength="100"' in form
    long_text = "あ" * 101
    response = client.get("/contracts/active", query_string={"counterparty": long_text,
                                                             "amount_min": "9" * 30})
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "100文字以内で入力してください。" in html
    assert "融資金額が大きすぎます。" in html
