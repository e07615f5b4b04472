"""CON-8 (#13 item 14): the counterparty search finds a person signing personally; in
MyPage the customer's own company is no counterparty (it would match every row) but
the bank is; the field says what it matches."""

from __future__ import annotations

from datetime import date

from portal.clock import now
from portal.contracts import search
from portal.contracts.models import ContractPackage, ContractParty, SummaryType
from portal.contracts.states import PackageState, PartyState
from portal.extensions import db
from tests.functional.contracts.conftest import customer_client


def _package(world, amount: int, *parties: ContractParty) -> ContractPackage:  # type: ignore[no-untyped-def]
    package = ContractPackage(branch_id=world.branch.id, application_date=date(2026, 3, 2),
                              summary_type=SummaryType.LOAN_WITH_GUARANTEE, loan_amount=amount,
                              planned_loan_date=date(2026, 3, 9),
                              staff_in_charge_id=world.staff.id, staff_label="東京支店 担当",
                              created_by_id=world.staff.id, state=PackageState.CONCLUDED,
                              sent_at=now())
    package.parties.extend(parties)
    db.session.add(package)
    db.session.commit()
    return package


def _party(company_id: int, position: str, user_id: int | None = None) -> ContractParty:
    return ContractParty(company_id=company_id, signing_position=position, user_id=user_id,
                         state=PartyState.SIGNED)


def _amounts(user, text: str) -> set[int]:  # type: ignore[no-untyped-def]
    rows = search.customer_rows(user, search.ListKind.ACTIVE,
                                search.Criteria(counterparty=text), page_size=100).rows
    return {package.loan_amount for _party, package in rows}


def test_counterparty_search_from_mypage(app, world, factories):
    partner = factories.company(world.branch, name="株式会社みらい工業")
    hanako = factories.customer(partner, role="signer")
    hanako.last_name, hanako.first_name = "佐藤", "花子"
    hanako.last_name_kana, hanako.first_name_kana = "サトウ", "ハナコ"
    db.session.commit()
    _package(world, 1_000_000, _party(world.company.id, "debtor"),
             _party(partner.id, "guarantor", user_id=hanako.id))
    _package(world, 2_000_000, _party(world.company.id, "debtor"))
    with app.test_request_context():
        # a person signing personally, by 姓名 with or without a space, or by kana
        for text in ("佐藤花子", "佐藤 花子", "サトウ", "花子"):
            assert _amounts(world.rep, text) == {1_000_000}, text
        # the customer's own company is no counterparty; the bank and its branch are
        assert _amounts(world.rep, "テスト商事") == set()
        assert _amounts(world.rep, "サンプル銀行") == {1_000_000, 2_000_000}
        assert _amounts(world.rep, "東京支店") == {1_000_000, 2_000_000}
        assert _amounts(world.rep, "みらい") == {1_000_000}
        # staff see the customer's company as a counterparty, and the person too
        staff = search.staff_rows(world.staff, search.ListKind.ALL,
                                  search.Criteria(counterparty="佐藤花子")).rows
        assert [r[0].loan_amount for r in staff] == [1_000_000]
        staff = search.staff_rows(world.staff, search.ListKind.ALL,
                                  search.Criteria(counterparty="テスト商事")).rows
        assert {r[0].loan_amount for r in staff} == {1_000_000, 2_000_000}


def test_the_field_says_what_it_matches_and_inputs_are_bounded(app, world):
    html = customer_client(app, world.rep).get("/contracts/active").get_data(as_text=True)
    assert 'aria-describedby="counterparty-hint"' in html
    assert ("当事者の会社名・個人として署名する方の氏名（カナ可）、当金庫名・支店名の一部で検索"
            "できます。") in html
    for name, length in (("counterparty", 100), ("amount_min", 20), ("amount_max", 20)):
        assert f'name="{name}" inputmode' in html or f'name="{name}" maxlength="{length}"' in html
        assert f'maxlength="{length}"' in html
