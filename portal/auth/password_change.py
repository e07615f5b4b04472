"""Password change screens, one flow for both (reused, not duplicated):
新パスワード登録 at first login (AUTH-3, guide §2.3 手順3; 現在のパスワード is the
temporary one) and ログインパスワード変更 of a logged-in user (AUTH-10, guide
§2.4/§3.5). Called by ``auth.first_login`` and ``mypage.password_change``; the
rules live in ``portal.mypage.account``. After either change every other
session of the user ends."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user
from marshmallow import ValidationError

from portal.auth import sessions
from portal.errors import DomainError
from portal.extensions import db
from portal.mypage import account
from portal.mypage.schemas import FirstLoginPasswordSchema
from portal.ratelimit import RateLimited


def change_password_view(*, first_login: bool) -> Any:
    user = current_user._get_current_object()
    if first_login and not user.password_is_temporary:
        return redirect(url_for("mypage.home"))
    template = "mypage/first_login.html" if first_login else "mypage/password_change.html"
    errors: dict[str, Any] = {}
    if request.method == "POST":
        form = {k: v for k, v in request.form.items() if k != "csrf_token"}
        try:
            data = FirstLoginPasswordSchema().load(form)
            if first_login:
                account.change_first_password(user, data["current_password"],
                                              data["new_password"])
            else:
                account.change_password(user, data["current_password"], data["new_password"],
                                        ip=request.remote_addr or "")
        except ValidationError as exc:
            errors = exc.messages  # type: ignore[assignment]
        except account.PolicyError as exc:
            errors = {"new_password": exc.messages}
        except RateLimited as exc:
            sessions.end_session()  # locked: this browser is logged out as well
            db.session.commit()
            flash(exc.message, "error")
            return redirect(url_for("auth.login"))
        except DomainError as exc:
            db.session.commit()  # the audit entry (and count) of a wrong current password
            errors = {exc.field or "current_password": [exc.message]}
        else:
            sessions.end_other_sessions_of(user)
            db.session.commit()
            if first_login:
                flash("パスワードを登録しました。", "info")
                return redirect(url_for("mypage.home"))
            flash("ログインパスワードを変更しました。", "info")
            return redirect(url_for("mypage.settings"))
    return render_template(template, errors=errors, values={}), 400 if errors else 200
