"""SIGN-5 (#13 item 16): the verification report gives each signature's validity at
each validation time (its signing time, the conclusion, now), in Japanese words
(never pyHanko's raw values), and keeps every line inside the page margins."""

from __future__ import annotations

import re
import subprocess
from datetime import UTC, date, datetime
from types import SimpleNamespace

import pytest

from portal.contracts.models import ContractPackage
from portal.contracts.report import (
    MARGIN,
    PAGE_WIDTH,
    DocumentReport,
    SignatureLine,
    Validity,
    render,
)
from portal.extensions import db
from tests.functional.contracts.conftest import (
    conclude_as_staff,
    create_package,
    customer_client,
    issue_credential,
    open_and_confirm,
    sign_via_dialog,
)

RAW = re.compile(r"ENTIRE_|CONTIGUOUS|LTA_UPDATES|FORM_FILLING|ModificationLevel|Coverage")


def _text(data: bytes, tmp_path, *args: str) -> str:  # type: ignore[no-untyped-def]
    path = tmp_path / "report.pdf"
    path.write_bytes(data)
    return subprocess.run(["pdftotext", "-enc", "UTF-8", *args, str(path), "-"],
                          capture_output=True, text=True, check=True).stdout


def _words_outside_the_margins(data: bytes, tmp_path) -> list[str]:  # type: ignore[no-untyped-def]
    boxes = _text(data, tmp_path, "-bbox")
    outside = []
    for x_min, x_max, word in re.findall(
            r'<word xMin="([\d.]+)" yMin="[\d.]+" xMax="([\d.]+)" yMax="[\d.]+">([^<]*)</word>',
            boxes):
        if float(x_min) < MARGIN - 1 or float(x_max) > PAGE_WIDTH - MARGIN + 1:
            outside.append(word)
    return outside


def test_long_headings_and_lines_wrap_inside_the_margins(app, tmp_path):
    long_title = "金銭消費貸借契約書（" + "長い文書名" * 30 + "）"
    line = SignatureLine(
        field_name="Party1", kind="電子署名",
        signer="署名 太郎（" + "株式会社テスト商事" * 8 + "）",
        issuer="Portal Signing CA", serial="ab" * 20, cert_validity="2026/01/01 ～ 2027/01/01",
        signing_time="2026/04/01 10:00:00 JST", timestamp_time="2026/04/01 10:00:01 JST",
        result="有効",
        details=["完全性：OK", "署名範囲：署名時点の文書全体（署名後に追記あり）"] * 4,
        validity=[Validity("署名時", "2026/04/01 10:00:01 JST", "有効")])
    package = SimpleNamespace(id=7, summary_label="貸出契約のみ", application_date=date(2026, 4, 1),
                              staff_label="支店 担当")
    with app.app_context():
        data = render(package, [DocumentReport(long_title, "0" * 64, [line])],  # type: ignore[arg-type]
                      datetime(2026, 4, 2, 1, 0, tzinfo=UTC))
    assert _words_outside_the_margins(data, tmp_path) == []
    assert "長い文書名長い文書名" in _text(data, tmp_path)


@pytest.mark.slow
def test_a_concluded_package_reports_every_signature_at_each_validation_time(
        signing_app, world, contract_pdf, rs_mail, tmp_path):
    issue_credential(signing_app, world.rep)
    issue_credential(signing_app, world.guarantor)
    package_id = create_package(signing_app, world, contract_pdf, send=True)
    for user in (world.rep, world.guarantor):
        client = customer_client(signing_app, user)
        open_and_confirm(client, db.session.get(ContractPackage, package_id))
        assert sign_via_dialog(client, package_id, user, rs_mail).status_code == 302
    conclude_as_staff(signing_app, world, package_id)
    report = customer_client(signing_app, world.rep).get(f"/contracts/{package_id}/report.pdf")
    assert report.status_code == 200
    text = _text(report.data, tmp_path)
    assert not RAW.search(text), RAW.search(text)
    assert _words_outside_the_margins(report.data, tmp_path) == []
    flat = re.sub(r"\s+", "", text)
    # two documents x (Party1, Party2, BankSeal): each judged at 署名時, 締結時 and 現在
    for label in ("署名時", "締結時", "現在"):
        assert len(re.findall(rf"検証基準時刻{label}（[^）]+）：有効", flat)) >= 6, label
    assert "無効" not in flat
    assert "署名範囲：署名時点の文書全体（署名後に追記あり）" in flat
    words = ("なし", "検証情報・タイムスタンプの追加のみ", "フォーム入力", "注釈の追加",
             "その他の変更")
    after = [flat[m.end():] for m in re.finditer("署名後の変更：", flat)]
    assert len(after) >= 6 and all(rest.startswith(words) for rest in after)
