"""Helpers for the MyPage application and account flows (issue 3)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from portal.extensions import db
from portal.mail import deliver_pending
from tests.application_forms import CORPORATION_FORM, INDIVIDUAL_FORM  # noqa: F401


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
