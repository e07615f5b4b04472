"""MyPage account pages on the ``mypage`` blueprint: 登録情報の照会・変更
(company card and user cards), 仮パスワード再発行 (AUTH-3, §3.4.4) and the
email change with メール認証 (AUTH-6)."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user
from marshmallow import ValidationError
from sqlalchemy import select

from portal import ratelimit
from portal.auth.decorators import customer_required, email_verification_page
from portal.errors import DomainError
from portal.extensions import db
from portal.models import CompanyKind, CustomerRole, CustomerUser, UserState
from portal.mypage import account, verification
from portal.mypage.schemas import EmailChangeSchema, VerificationCodeSchema
from portal.mypage.status import status_line
from portal.mypage.views import bp
from portal.permissions import Permission, can, get_or_404_for
from portal.ratelimit import RateLimited

ROLE_ORDER = {CustomerRole.REPRESENTATIVE: 0, CustomerRole.ADMINISTRATOR: 1,
              CustomerRole.SIGNER: 2, CustomerRole.VIEWER: 3}


def _company_users(user: CustomerUser) -> list[CustomerUser]:
    users = db.session.execute(
        select(CustomerUser).where(CustomerUser.company_id == user.company_id,
                                   CustomerUser.state == UserState.ACTIVE)
    ).scalars().all()
    return sorted(users, key=lambda u: (ROLE_ORDER.get(CustomerRole(u.role), 9), u.id))


@bp.route("/settings")
@customer_required
def settings():  # type: ignore[no-untyped-def]
    """登録情報の照会・変更: the company card and one card per user with its status."""
    user = current_user._get_current_object()
    users = _company_users(user)
    cards = [{
        "user": u,
        "status": status_line(u),
        "role_label": CustomerRole(u.role).label,
        "can_reissue": account.can_reissue(user, u),
        "can_edit": can(user, Permission.USERS_EDIT, u),
        **_user_actions(user, u),
    } for u in users]
    return render_template("mypage/settings.html", company=user.company, cards=cards,
                           kind_label=CompanyKind(user.company.kind).label,
                           me=user, can_edit_company=can(user, Permission.COMPANY_EDIT),
                           can_create_user=can(user, Permission.USERS_CREATE))


def _user_actions(actor: CustomerUser, user: CustomerUser) -> dict[str, bool]:
    """ユーザ削除 (USR-6) and 電子証明書発行依頼 (CERT-3) as on ユーザ情報の管理."""
    try:
        from portal.users import services as users
    except ImportError:  # the users area is not installed
        return {"can_delete": False, "can_request_cert": False}
    return {"can_delete": users.can_delete(actor, user),
            "can_request_cert": users.can_request_cert(actor, user)}


@bp.route("/settings/users/<int:user_id>/temporary-password", methods=["GET", "POST"])
@customer_required
def reissue_temp_password(user_id: int):  # type: ignore[no-untyped-def]
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
def email_change():  # type: ignore[no-untyped-def]
    """メールアドレス変更 (own address)."""
    user = current_user._get_current_object()
    errors: dict[str, Any] = {}
    values = {k: v for k, v in request.form.items() if k != "csrf_token"}
    if request.method == "POST":
        try:
            data = EmailChangeSchema().load(values)
            account.request_email_change(user, user, data["email"])
        except ValidationError as exc:
            errors = exc.messages  # type: ignore[assignment]
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
def email_verify():  # type: ignore[no-untyped-def]
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
            errors = exc.messages  # type: ignore[assignment]
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
def email_resend():  # type: ignore[no-untyped-def]
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
def email_cancel():  # type: ignore[no-untyped-def]
    user = current_user._get_current_object()
    account.cancel_email_change(user)
    db.session.commit()
    flash("メールアドレスの変更を取り消しました。", "info")
    return redirect(url_for("mypage.settings"))
