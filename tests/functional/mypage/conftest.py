"""Helpers for the MyPage application and account flows (issue 3)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from portal.extensions import db
from portal.mail import deliver_pending

CORPORATION_FORM: dict[str, str] = {
    "kind": "corporation",
    "company_name": "株式会社法人１",
    "company_name_kana": "ホウジンイチ",
    "company_name_en": "Houjin1",
    "postal_code": "1040028",
    "address": "東京都中央区仮1-1-1",
    "established_on": "19991103",
    "phone": "0308955034",
    "last_name": "法人",
    "first_name": "太郎",
    "last_name_kana": "ホウジン",
    "first_name_kana": "タロウ",
    "last_name_en": "Houjin",
    "first_name_en": "Taro",
    "birth_date": "1975-03-14",
    "mobile": "08032842680",
    "email": "houjin.taro@example.jp",
    "email_confirm": "houjin.taro@example.jp",
    "department": "",
    "title": "代表取締役社長",
    "personal_signing": "on",
    "identity_method": "documents",
}

INDIVIDUAL_FORM: dict[str, str] = {
    "kind": "individual",
    "last_name": "個人",
    "first_name": "花子",
    "last_name_kana": "コジン",
    "first_name_kana": "ハナコ",
    "last_name_en": "Kojin",
    "first_name_en": "Hanako",
    "postal_code": "1040028",
    "address": "東京都中央区仮2-2-2",
    "birth_date": "19800101",
    "mobile": "09012345678",
    "email": "kojin.hanako@example.jp",
    "email_confirm": "kojin.hanako@example.jp",
    "phone": "",
    "identity_method": "documents",
}


def count(model: Any) -> int:
    return db.session.execute(select(func.count()).select_from(model)).scalar_one()


class ApplyFlow:
    def __init__(self, client: Any, smtp_sink: Any) -> None:
        self.client = client
        self.sink = smtp_sink

    def post(self, url: str, data: dict[str, Any]) -> Any:
        return self.client.post_form(url, data, token_page="/apply?kind=individual")

    def send_code(self, form: dict[str, str], branch_id: int) -> Any:
        return self.post("/apply/send-code", dict(form, branch_id=str(branch_id)))

    def code(self, email: str) -> str:
        deliver_pending()
        return self.sink.code_in_last(email, "認証コード")

    def verify(self, code: str) -> Any:
        return self.post("/apply/verify", {"code": code})

    def apply(self, form: dict[str, str], branch_id: int) -> Any:
        response = self.send_code(form, branch_id)
        assert response.status_code == 302, response.get_data(as_text=True)
        return self.verify(self.code(form["email"]))


@pytest.fixture
def flow(client: Any, smtp_sink: Any) -> ApplyFlow:
    return ApplyFlow(client, smtp_sink)
