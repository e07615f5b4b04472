"""MyPage home (HOME-1, HOME-2)."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, url_for
from flask_login import current_user

from portal.auth.decorators import customer_required
from portal.notices import notices_for

bp = Blueprint("mypage", __name__)


@bp.before_request
def force_first_password_change():  # type: ignore[no-untyped-def]
    """AUTH-3: nothing else opens until the temporary password is replaced."""
    user = current_user._get_current_object()
    if getattr(user, "kind", None) == "customer" and user.password_is_temporary:
        return redirect(url_for("auth.first_login"))
    return None


@bp.route("/")
@customer_required
def home():  # type: ignore[no-untyped-def]
    return render_template("mypage/home.html", notices=notices_for(current_user))


@bp.route("/faq")
@customer_required
def faq():  # type: ignore[no-untyped-def]
    return render_template("mypage/faq.html")


# Issue 3's pages on this blueprint and on the console's (they add routes when imported).
from portal.console import applications, invitations  # noqa: E402,F401
from portal.mypage import account_views  # noqa: E402,F401
