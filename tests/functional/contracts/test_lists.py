"""CON-7, CON-8: MyPage lists, the package page, who sees what, search."""

from __future__ import annotations

from datetime import date

from portal.clock import now
from portal.contracts import search, services
from portal.contracts.models import ContractPackage, ContractParty, SummaryType
from portal.contracts.states import PARTY_LIFECYCLE, PackageState, PartyState
from portal.extensions import db
from tests.functional.contracts.conftest import create_package, customer_client


def _set_party_signed(package_id: int, company_id: int, user) -> None:
    package = db.session.get(ContractPackage, package_id)
    party = next(p for p in package.parties if p.company_id == company_id)
    PARTY_LIFECYCLE.move(party, PartyState.SIGNED, actor=user)
    db.session.commit()


def test_to_sign_list_shows_the_columns_of_con7_and_opens_the_package(app, world, contract_pdf):
    package_id = create_package(app, world, contract_pdf, send=True)
    client = customer_client(app, world.rep)
    html = client.get("/contracts/to-sign").get_data(as_text=True)
    for column in ("申込日", "申込概要", "融資金額", "融資予定日", "署名立場", "署名状況",
                   "契約進捗", "本件担当"):
        assert f"<th>{column}</th>" in html
    assert "2026/04/01" in html and "貸出契約（保証契約含む）" in html and "10,000,000 円" in html
    assert "2026/04/15" in html and "債務者" in html and "未署名" in html
    assert f"/contracts/{package_id}" in html
    page = client.get(f"/contracts/{package_id}").get_data(as_text=True)
    assert "進む" in page and "金銭消費貸借契約書1" in page and "重要事項説明" in page
    # the guarantor sees its own row with its own position
    g_html = customer_client(app, world.guarantor).get("/contracts/to-sign").get_data(as_text=True)
    assert "保証人" in g_html and "債務者" not in g_html


def test_drafts_are_invisible_to_customers(app, world, contract_pdf):
    package_id = create_package(app, world, contract_pdf)
    client = customer_client(app, world.rep)
    assert f"/contracts/{package_id}" not in client.get("/contracts/to-sign").get_data(as_text=True)
    assert client.get(f"/contracts/{package_id}").status_code == 404


def test_another_company_gets_not_found_for_the_package_and_its_documents(app, world,
                                                                           contract_pdf):
    package_id = create_package(app, world, contract_pdf, send=True)
    package = db.session.get(ContractPackage, package_id)
    doc_id = package.documents[0].id
    client = customer_client(app, world.other_rep)
    assert client.get(f"/contracts/{package_id}").status_code == 404
    assert client.get(f"/contracts/{package_id}/documents/{doc_id}").status_code == 404
    assert client.get(f"/contracts/{package_id}/confirm").status_code == 404
    assert f"/contracts/{package_id}" not in client.get("/contracts/to-sign").get_data(as_text=True)


def test_viewers_see_signed_packages_only(app, world, contract_pdf):
    package_id = create_package(app, world, contract_pdf, send=True)
    viewer = customer_client(app, world.viewer)
    assert viewer.get(f"/contracts/{package_id}").status_code == 404
    assert f"/contracts/{package_id}" not in viewer.get("/contracts/to-sign").get_data(as_text=True)
    _set_party_signed(package_id, world.company.id, world.rep)
    html = viewer.get("/contracts/to-sign").get_data(as_text=True)
    assert f"/contracts/{package_id}" in html and "署名済" in html
    page = viewer.get(f"/contracts/{package_id}").get_data(as_text=True)
    assert "進む" not in page  # nothing to sign for a viewer


def _package(world, *, day: date, amount: int | None, state: PackageState,
             summary: SummaryType = SummaryType.LOAN_ONLY, company=None) -> ContractPackage:
    company = company or world.company
    package = ContractPackage(branch_id=world.branch.id, application_date=day,
                              summary_type=summary, loan_amount=amount, planned_loan_date=day,
                              staff_in_charge_id=world.staff.id, staff_label="東京支店 担当",
                              created_by_id=world.staff.id, state=state, sent_at=now())
    package.parties.append(ContractParty(company_id=company.id, signing_position="debtor",
                                         state=PartyState.SIGNED if state != PackageState.UNSIGNED
                                         else PartyState.UNSIGNED))
    db.session.add(package)
    db.session.commit()
    return package


def test_lists_split_by_state_and_an_overdraft_stays_active_after_repayment(app, world):
    concluded = _package(world, day=date(2026, 1, 5), amount=5_000_000,
                         state=PackageState.CONCLUDED)
    repaid = _package(world, day=date(2026, 1, 6), amount=6_000_000, state=PackageState.REPAID)
    overdraft = _package(world, day=date(2026, 1, 7), amount=7_000_000, state=PackageState.REPAID,
                         summary=SummaryType.OVERDRAFT)
    cancelled = _package(world, day=date(2026, 1, 8), amount=100, state=PackageState.CANCELLED,
                         summary=SummaryType.CANCELLATION)
    client = customer_client(app, world.rep)
    active = client.get("/contracts/active").get_data(as_text=True)
    finished = client.get("/contracts/finished").get_data(as_text=True)
    assert f"/contracts/{concluded.id}\"" in active and f"/contracts/{overdraft.id}\"" in active
    assert f"/contracts/{repaid.id}\"" in finished and f"/contracts/{cancelled.id}\"" in finished
    assert f"/contracts/{repaid.id}\"" not in active
    assert f"/contracts/{overdraft.id}\"" not in finished
    assert "完済" in finished and "取消合意済" in finished


def test_search_by_date_amount_and_counterparty_combined_and_paged(app, world, factories):
    partner = factories.company(world.branch, name="株式会社みらい工業")
    partner_user = factories.customer(partner, role="representative")
    for n in range(30):
        _package(world, day=date(2026, 2, 1 + n % 28), amount=1_000_000 * (n + 1),
                 state=PackageState.CONCLUDED, company=partner if n % 2 else world.company)
    assert partner_user
    staff_criteria = search.Criteria(date_from=date(2026, 2, 5), date_to=date(2026, 2, 20),
                                     amount_min=3_000_000, amount_max=25_000_000,
                                     counterparty="みらい")
    rows = search.staff_rows(world.staff, search.ListKind.ALL, staff_criteria, page_size=100).rows
    expected = {n for n in range(30) if n % 2 and 5 <= 1 + n % 28 <= 20
                and 3 <= n + 1 <= 25}
    got = {row[0].loan_amount // 1_000_000 - 1 for row in rows}
    assert got == expected and expected
    # paging: 20 per page, the rest on page 2
    client = customer_client(app, world.rep)
    first = client.get("/contracts/active").get_data(as_text=True)
    second = client.get("/contracts/active?page=2").get_data(as_text=True)
    assert first.count('class="clickable"') == 15 and "次へ" not in first
    page = search.customer_rows(world.rep, search.ListKind.ACTIVE, search.Criteria(),
                                page_size=10)
    assert len(page.rows) == 10 and page.has_next
    assert second.count('class="clickable"') == 0
    # through the MyPage form, combined
    html = client.get("/contracts/active?date_from=2026-02-01&date_to=2026-02-10"
                      "&amount_min=1000000&amount_max=9000000").get_data(as_text=True)
    amounts = {f"{(n + 1) * 1_000_000:,} 円" for n in range(30)
               if n % 2 == 0 and 1 + n % 28 <= 10 and n + 1 <= 9}
    assert all(a in html for a in amounts) and html.count('class="clickable"') == len(amounts)


def test_bad_search_input_gets_field_errors_not_a_500(app, world):
    client = customer_client(app, world.rep)
    response = client.get("/contracts/active?date_from=2026-02-31&amount_min=-5"
                          "&amount_max=abc")
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "存在しない日付" in html and "負の値" in html
    reversed_range = client.get("/contracts/active?amount_min=500&amount_max=100")
    assert "上限金額は下限金額以上" in reversed_range.get_data(as_text=True)


def test_services_visibility_rules(app, world, contract_pdf):
    package_id = create_package(app, world, contract_pdf, send=True)
    package = db.session.get(ContractPackage, package_id)
    mine = services.visible_parties(world.rep, package)
    assert [p.company_id for p in mine] == [world.company.id]
    assert services.visible_parties(world.viewer, package) == []
    assert services.visible_parties(world.other_rep, package) == []
