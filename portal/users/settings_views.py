"""登録情報の照会・変更 (MyPage ``/settings``, endpoint ``mypage.settings``): the
company card and one card per user, with the same partial and buttons as
ユーザ情報の管理 (``portal.users.cards``). The page sits on MyPage's blueprint,
where the guide puts it; its content is the users area's, so the view is here
and ``portal.users.views`` imports it before MyPage's blueprint is registered."""

from __future__ import annotations

from flask import render_template
from flask.typing import ResponseReturnValue

from portal.auth.decorators import customer_required
from portal.models import CompanyKind
from portal.mypage.blueprint import bp
from portal.users.blueprint import signed_in_customer
from portal.users.cards import user_cards
from portal.users.company import company_edit_channel, customer_may_edit_company
from portal.users.services import may_create_user


@bp.route("/settings")
@customer_required
def settings() -> ResponseReturnValue:
    user = signed_in_customer()
    company = user.company
    return render_template("mypage/settings.html", company=company, cards=user_cards(user),
                           kind_label=CompanyKind(company.kind).label, me=user,
                           can_edit_company=customer_may_edit_company(user, company),
                           channel=company_edit_channel(company),
                           can_create_user=may_create_user(user))
