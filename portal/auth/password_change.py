"""新パスワード登録 at first login (AUTH-3, guide §2.3 手順3): 現在のパスワード
(the temporary one), 新しいパスワード, 新しいパスワード(確認用). Called by the
``auth.first_login`` route; the rules live in ``portal.mypage.account``."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user
from marshmallow import ValidationError

from portal.errors import DomainError
from portal.extensions import db
from portal.mypage import account
from portal.mypage.schemas import FirstLoginPasswordSchema


def change_password_view(*, first_login: bool) -> Any:
    user = current_user._get_current_object()
    if first_login and not user.password_is_temporary:
        return redirect(url_for("mypage.home"))
    errors: dict[str, Any] = {}
    if request.method == "POST":
        form = {k: v for k, v in request.form.items() if k != "csrf_token"}
        try:
            data = FirstLoginPasswordSchema().load(form)
            account.change_first_password(user, data["current_password"], data["new_password"])
        except ValidationError as exc:
            errors = exc.messages  # type: ignore[assignment]
        except account.PolicyError as exc:
            errors = {"new_password": exc.messages}
        except DomainError as exc:
            db.session.commit()  # the audit entry of a wrong current password
            errors = {exc.field or "current_password": [exc.message]}
        else:
            db.session.commit()
            flash("パスワードを登録しました。", "info")
            return redirect(url_for("mypage.home"))
    return render_template("mypage/first_login.html", errors=errors, values={}), \
        400 if errors else 200
