"""Password change screens, one flow for both (reused, not duplicated):
新パスワード登録 at first login (AUTH-3, guide §2.3 手順3; 現在のパスワード is the
temporary one) and ログインパスワード変更 of a logged-in user (AUTH-10, guide
§2.4/§3.5). Called by ``auth.first_login``, ``mypage.password_change`` and the
console's ``console.first_login`` (a staff member's temporary password); the
rules live in ``portal.mypage.account`` and ``portal.console.admin``. After
any change every other session of the user ends."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from marshmallow import ValidationError

from portal.auth import sessions
from portal.console import admin as staff_accounts
from portal.errors import DomainError
from portal.extensions import db
from portal.mypage import account
from portal.mypage.schemas import FirstLoginPasswordSchema
from portal.ratelimit import RateLimited


def _template(first_login: bool, console: bool) -> str:
    if console:
        return "console/first_login.html"
    return "mypage/first_login.html" if first_login else "mypage/password_change.html"


def _change(user: Any, data: dict[str, str], *, first_login: bool, console: bool) -> None:
    current, new = data["current_password"], data["new_password"]
    if console:
        staff_accounts.change_temporary_password(user, current, new)
    elif first_login:
        account.change_first_password(user, current, new)
    else:
        account.change_password(user, current, new, ip=request.remote_addr or "")


def change_password_view(*, first_login: bool, console: bool = False) -> ResponseReturnValue:
    """``console``: a staff member's first-login change (console layout)."""
    user = current_user._get_current_object()
    home = "console.home" if console else "mypage.home"
    if first_login and not user.password_is_temporary:
        return redirect(url_for(home))
    template = _template(first_login, console)
    errors: dict[str, Any] = {}
    if request.method == "POST":
        form = {k: v for k, v in request.form.items() if k != "csrf_token"}
        try:
            data = FirstLoginPasswordSchema().load(form)
            _change(user, data, first_login=first_login, console=console)
        except ValidationError as exc:
            errors = exc.messages_dict
        except account.PolicyError as exc:
            errors = {"new_password": exc.messages}
        except RateLimited as exc:
            sessions.end_session()  # locked: this browser is logged out as well
            db.session.commit()
            flash(exc.message, "error")
            return redirect(url_for("console.login" if console else "auth.login"))
        except DomainError as exc:
            db.session.commit()  # the audit entry (and count) of a wrong current password
            errors = {exc.field or "current_password": [exc.message]}
        else:
            sessions.end_other_sessions_of(user)
            db.session.commit()
            if first_login:
                flash("パスワードを登録しました。", "info")
                return redirect(url_for(home))
            flash("ログインパスワードを変更しました。", "info")
            return redirect(url_for("mypage.settings"))
    return render_template(template, errors=errors, values={}), 400 if errors else 200
