"""MyPage home (HOME-1, HOME-2)."""

from __future__ import annotations

from flask import render_template
from flask.typing import ResponseReturnValue
from flask_login import current_user

from portal.auth.decorators import customer_required
from portal.mypage import account_views
from portal.mypage.blueprint import bp
from portal.notices import notices_for, system_notices_now

# Imported for the routes it adds to ``bp``: 登録情報の照会・変更, 仮パスワード再発行, email change.
ROUTE_MODULES = (account_views,)


@bp.route("/")
@customer_required
def home() -> ResponseReturnValue:
    return render_template("mypage/home.html", notices=notices_for(current_user),
                           bank_notices=system_notices_now())


@bp.route("/faq")
@customer_required
def faq() -> ResponseReturnValue:
    return render_template("mypage/faq.html")

