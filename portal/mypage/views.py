"""MyPage home (HOME-1, HOME-2)."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask.typing import ResponseReturnValue
from flask_login import current_user

from portal.auth.decorators import customer_required
from portal.console.admin import system_notices_now
from portal.notices import notices_for

bp = Blueprint("mypage", __name__)


@bp.route("/")
@customer_required
def home() -> ResponseReturnValue:
    return render_template("mypage/home.html", notices=notices_for(current_user),
                           bank_notices=system_notices_now())


@bp.route("/faq")
@customer_required
def faq() -> ResponseReturnValue:
    return render_template("mypage/faq.html")


# Issue 3's pages on this blueprint and on the console's (they add routes when imported).
from portal.console import applications, invitations  # noqa: E402,F401
from portal.mypage import account_views  # noqa: E402,F401
