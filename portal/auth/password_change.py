"""Password change screens, one flow for both (reused, not duplicated):
新パスワード登録 at first login (AUTH-3, guide §2.3 手順3; 現在のパスワード is the
temporary one) and ログインパスワード変更 of a logged-in user (AUTH-10, guide
§2.4/§3.5). Each page passes its own rule: ``auth.first_login`` the customer's
``auth.services.change_first_password``, ``mypage.password_change``
``mypage.account.change_password`` and the console's ``console.first_login`` a
staff member's ``console.admin.change_temporary_password``. After any change
every other session of the user ends."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from marshmallow import ValidationError

from portal.auth import sessions
from portal.auth.password_policy import PolicyError
from portal.auth.schemas import PasswordChangeSchema
from portal.errors import DomainError
from portal.extensions import db
from portal.ratelimit import RateLimited

# (user, current password, new password): changes it or raises DomainError
# (PolicyError for AUTH-2, RateLimited when a wrong current password locks).
ChangePassword = Callable[[Any, str, str], None]


def _template(first_login: bool, console: bool) -> str:
    if console:
        return "console/first_login.html"
    return "mypage/first_login.html" if first_login else "mypage/password_change.html"


def change_password_view(change: ChangePassword, *, first_login: bool,
                         console: bool = False) -> ResponseReturnValue:
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
            data = PasswordChangeSchema().load(form)
            change(user, data["current_password"], data["new_password"])
        except ValidationError as exc:
            errors = exc.messages_dict
        except PolicyError as exc:
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
