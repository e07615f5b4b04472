"""MyPage account pages on the ``mypage`` blueprint: ログインパスワード変更,
仮パスワード再発行 (AUTH-3, §3.4.4) and the email change with メール認証 (AUTH-6).
登録情報の照会・変更 itself (company and user cards) is the users area's view
(``portal.users.settings_views``) on this blueprint."""

from __future__ import annotations

from functools import partial
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from marshmallow import ValidationError

from portal import ratelimit
from portal.auth.decorators import customer_required, email_verification_page
from portal.auth.password_change import change_password_view
from portal.errors import DomainError
from portal.extensions import db
from portal.models import CustomerUser
from portal.mypage import account, verification
from portal.mypage.blueprint import bp
from portal.mypage.schemas import EmailChangeSchema, VerificationCodeSchema
from portal.permissions import Permission, get_or_404_for
from portal.ratelimit import RateLimited


@bp.route("/settings/password", methods=["GET", "POST"])
@customer_required
def password_change() -> ResponseReturnValue:
    """ログインパスワード変更 (AUTH-10): the same flow as the first-login change."""
    change = partial(account.change_password, ip=request.remote_addr or "")
    return change_password_view(change, first_login=False)


@bp.route("/settings/users/<int:user_id>/temporary-password", methods=["GET", "POST"])
@customer_required
def reissue_temp_password(user_id: int) -> ResponseReturnValue:
    """仮パスワード再発行: confirm page, then 再発行."""
    actor = current_user._get_current_object()
    target = get_or_404_for(actor, Permission.USERS_REISSUE_TEMP_PASSWORD, CustomerUser, user_id)
    if request.method == "POST":
        try:
            account.reissue_temporary_password(actor, target)
        except DomainError as exc:
            flash(exc.message, "error")
            return redirect(url_for("mypage.settings"))
        db.session.commit()
        return render_template("mypage/reissue_done.html", target=target)
    if target.first_login_done:
        flash(account.MSG_ALREADY_LOGGED_IN, "error")
        return redirect(url_for("mypage.settings"))
    return render_template("mypage/reissue_confirm.html", target=target)


@bp.route("/settings/email", methods=["GET", "POST"])
@customer_required
def email_change() -> ResponseReturnValue:
    """メールアドレス変更 (own address)."""
    user = current_user._get_current_object()
    errors: dict[str, Any] = {}
    values = {k: v for k, v in request.form.items() if k != "csrf_token"}
    if request.method == "POST":
        try:
            data = EmailChangeSchema().load(values)
            account.request_email_change(user, user, data["email"])
        except ValidationError as exc:
            errors = exc.messages_dict
        except RateLimited as exc:
            db.session.rollback()  # nothing of the change stays; the refusal is audited
            ratelimit.audit_refusal(exc.policy, purpose="email_change", actor=user)
            db.session.commit()
            errors = {"email": [exc.message]}
        except DomainError as exc:
            errors = {exc.field or "email": [exc.message]}
        else:
            db.session.commit()
            return redirect(url_for("mypage.email_verify"))
    return render_template("mypage/email_change.html", values=values, errors=errors,
                           user=user), 400 if errors else 200


@bp.route("/settings/email/verify", methods=["GET", "POST"])
@email_verification_page
def email_verify() -> ResponseReturnValue:
    """メール認証: the code sent to the new address."""
    user = current_user._get_current_object()
    if not user.pending_email:
        return redirect(url_for("mypage.settings"))
    errors: dict[str, Any] = {}
    if request.method == "POST":
        try:
            code = VerificationCodeSchema().load(
                {k: v for k, v in request.form.items() if k != "csrf_token"})["code"]
            account.confirm_email_change(user, code)
        except ValidationError as exc:
            errors = exc.messages_dict
        except DomainError as exc:
            db.session.commit()  # keep the counted wrong entry
            errors = {"code": [exc.message]}
        else:
            db.session.commit()
            flash("メールアドレスを変更しました。", "info")
            return redirect(url_for("mypage.settings"))
    row = account.current_email_change(user)
    wait = verification.seconds_until_resend(row) if row else 0
    return render_template("mypage/email_verify.html", user=user, errors=errors, wait=wait,
                           values={}), 400 if errors else 200


@bp.route("/settings/email/resend", methods=["POST"])
@email_verification_page
def email_resend() -> ResponseReturnValue:
    user = current_user._get_current_object()
    try:
        account.resend_email_change(user)
    except DomainError as exc:
        db.session.commit()  # an audited refusal
        flash(exc.message, "error")
    else:
        db.session.commit()
        flash("認証コードを再送信しました。", "info")
    return redirect(url_for("mypage.email_verify"))


@bp.route("/settings/email/cancel", methods=["POST"])
@email_verification_page
def email_cancel() -> ResponseReturnValue:
    user = current_user._get_current_object()
    account.cancel_email_change(user)
    db.session.commit()
    flash("メールアドレスの変更を取り消しました。", "info")
    return redirect(url_for("mypage.settings"))
