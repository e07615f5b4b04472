"""Issue #12, CO-1/CO-2: a tampered hidden ``version`` on the company edit
(MyPage and console) is refused as a stale form, never a server error, and
nothing is saved."""

from __future__ import annotations

import pytest

from portal.extensions import db
from tests.conftest import DEFAULT_PASSWORD, login_staff
from tests.functional.users.conftest import login
from tests.functional.users.test_company import FORM

TAMPERED = ["²", "٣", "1.0", "abc", "9" * 5000, "-1", "\x00"]
STALE = "他の操作で内容が更新されました。"


def _register(client, url, version):
    data = dict(FORM, step="register", address="東京都港区9-9-9", version=version)
    return client.post_form(url, data, token_page=url)


@pytest.mark.parametrize("version", TAMPERED)
def test_co2_mypage_tampered_version_is_refused(client, people, factories, version):
    company = factories.company()
    login(client, people.user(company, "administrator"))
    response = _register(client, "/users/company/edit", version)
    assert response.status_code == 400 and STALE in response.get_data(as_text=True)
    db.session.refresh(company)
    assert company.address != "東京都港区9-9-9"


def test_co1_console_tampered_version_is_refused(client, factories):
    branch = factories.branch()
    company = factories.company(branch, deposit_branch_id=branch.id)
    staff = factories.staff(branch)
    login_staff(client, staff.login_id, DEFAULT_PASSWORD)
    url = f"/console/companies/{company.id}/edit"
    for version in TAMPERED:
        response = _register(client, url, version)
        assert response.status_code == 400 and STALE in response.get_data(as_text=True), version
    db.session.refresh(company)
    assert company.address != "東京都港区9-9-9"
    done = _register(client, url, str(company.version))
    assert done.status_code == 200 and "変更が完了" in done.get_data(as_text=True)
