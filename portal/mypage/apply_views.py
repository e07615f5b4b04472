"""Public pages without login, each declared ``@public`` (AUTH-11): the MyPage
application (APP-1…APP-4, guide §2.2) and 失念時パスワード変更 (AUTH-5, guide
§3.4.5). Thin: parse with a schema, call one service, render or redirect."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from marshmallow import ValidationError

from portal.auth.decorators import public
from portal.auth.password_policy import PolicyError
from portal.errors import DomainError
from portal.extensions import db
from portal.mypage import account, services, verification
from portal.mypage.models import EmailVerification, Invitation, VerificationPurpose
from portal.mypage.schemas import (
    IDENTITY_LABELS,
    KIND_LABELS,
    LABELS,
    LoginIdSchema,
    PasswordResetSchema,
    VerificationCodeSchema,
    load_application,
)
from portal.ratelimit import RateLimited
from portal.validation import first_errors

bp = Blueprint("apply", __name__)

HINTS = {
    "company_name": "法人：履歴事項証明書に記載の正式名称を入力ください。"
                    "個人事業主：フルネームを入力ください。姓と名の間は全角1文字空けてください。",
    "company_name_kana": "全角カタカナで入力してください。法人の方は法人格の入力は不要です。",
    "company_name_en": "半角英数字で入力してください。法人の方は法人格の入力は不要です。",
    "postal_code": "半角数字で数字のみ入力ください。(ハイフンなし)",
    "address": "履歴事項証明書に記載の本住所（個人の方は住所）を入力ください。",
    "established_on": "履歴事項証明書に記載の設立年月日を yyyymmdd で入力ください。",
    "phone": "当金庫にお届けの電話番号を半角数字で入力ください。(ハイフンなし)",
    "last_name": "全角で入力ください。",
    "first_name": "全角で入力ください。",
    "last_name_kana": "全角カタカナで入力ください。",
    "first_name_kana": "全角カタカナで入力ください。",
    "last_name_en": "半角英字で入力ください。",
    "first_name_en": "半角英字で入力ください。",
    "birth_date": "カレンダーから選択、もしくは yyyymmdd で入力ください。",
    "mobile": "半角数字で数字のみ入力ください。(ハイフン不要)",
    "email": "電子契約にかかるメールを受信するメールアドレスを入力ください。"
             "【注意】メールアドレスの共有はできません。",
    "email_confirm": "確認のため、もう一度入力ください。",
    "department": "任意で入力ください。",
    "title": "任意で入力ください。",
}
BUSINESS_SECTIONS = [
    ("法人情報", ["company_name", "company_name_kana", "company_name_en", "postal_code",
              "address", "established_on", "phone"]),
    ("代表者情報", ["last_name", "first_name", "last_name_kana", "first_name_kana",
               "last_name_en", "first_name_en", "birth_date", "mobile", "email",
               "email_confirm", "department", "title", "personal_signing",
               "identity_method"]),
    ("お申込み支店", ["branch_id"]),
]
INDIVIDUAL_SECTIONS = [
    ("ご契約者様情報", ["last_name", "first_name", "last_name_kana", "first_name_kana",
                 "last_name_en", "first_name_en", "postal_code", "address", "birth_date",
                 "mobile", "email", "email_confirm", "phone", "identity_method"]),
    ("お申込み支店", ["branch_id"]),
]
OPTIONAL = {"department", "title", "personal_signing"}


def sections_for(kind: str) -> list[tuple[str, list[str]]]:
    return INDIVIDUAL_SECTIONS if kind == "individual" else BUSINESS_SECTIONS


SESSION_INVITATION = "apply_invitation_id"
SESSION_HANDLE = "apply_handle"
SESSION_RESET = "reset_handle"


MSG_KIND_REQUIRED = "法人・個人区分を選択してください。"


def _form_values() -> dict[str, str]:
    return {k: v for k, v in request.form.items() if k != "csrf_token"}


def _render_form(values: dict[str, Any], errors: dict[str, list[str]], status: int = 200,
                 invitation_error: str | None = None) -> ResponseReturnValue:
    kind = values.get("kind") if values.get("kind") in KIND_LABELS else None
    return render_template(
        "apply/form.html", values=values, errors=errors, kind=kind, hints=HINTS,
        sections=sections_for(kind) if kind else [], kinds=KIND_LABELS,
        optional=OPTIONAL | ({"phone"} if kind == "individual" else set()),
        identity_labels=IDENTITY_LABELS, labels=LABELS, branches=services.branches(),
        invitation_error=invitation_error), status


def _messages(exc: ValidationError) -> dict[str, list[str]]:
    """Field -> its messages, one string per message (for field_errors)."""
    return {k: [v] for k, v in first_errors(exc.messages_dict).items()}


def _validate(values: dict[str, Any]) -> tuple[dict[str, Any] | None, dict[str, list[str]]]:
    """Shape and format only: whether the address is registered is said only
    after its code was entered (AUTH-9), never to whoever types it."""
    try:
        return load_application(values), {}
    except ValidationError as exc:
        return None, _messages(exc)


def _client() -> str:
    return request.remote_addr or ""


@bp.route("/apply", methods=["GET"])
@public
def form() -> ResponseReturnValue:
    """お申込みフォーム. ``?inv=`` (the invitation) presets the branch."""
    values: dict[str, Any] = {"kind": request.args.get("kind", "")}
    invitation_error = None
    token = request.args.get("inv")
    if token:
        try:
            invitation = services.resolve_invitation(token)
        except DomainError as exc:
            invitation_error = exc.message
            session.pop(SESSION_INVITATION, None)
        else:
            session[SESSION_INVITATION] = invitation.id
    invitation_id = session.get(SESSION_INVITATION)
    if invitation_id:
        preset = db.session.get(Invitation, invitation_id)
        if preset is not None:
            values["branch_id"] = str(preset.branch_id)
    if "show" in request.args and values["kind"] not in KIND_LABELS:  # 入力項目を表示 (#13 item 6)
        return _render_form(values, {"kind": [MSG_KIND_REQUIRED]}, 400,
                            invitation_error=invitation_error)
    return _render_form(values, {}, invitation_error=invitation_error)


@bp.route("/apply/confirm", methods=["POST"])
@public
def confirm() -> ResponseReturnValue:
    """入力内容確認 (APP-3)."""
    values = _form_values()
    data, errors = _validate(values)
    if data is None:
        return _render_form(values, errors, 400)
    branch = next((b for b in services.branches() if b.id == data["branch_id"]), None)
    return render_template("apply/confirm.html", values=values, data=data, labels=LABELS,
                           sections=sections_for(data["kind"]), kinds=KIND_LABELS,
                           identity_labels=IDENTITY_LABELS, branch=branch)


@bp.route("/apply/back", methods=["POST"])
@public
def back() -> ResponseReturnValue:
    """戻る: the form again with every value kept."""
    return _render_form(_form_values(), {})


@bp.route("/apply/send-code", methods=["POST"])
@public
def send_code() -> ResponseReturnValue:
    """認証コード送信 (APP-3/4): nothing is stored as an application yet."""
    values = _form_values()
    data, errors = _validate(values)
    if data is None:
        return _render_form(values, errors, 400)
    try:
        row = services.send_application_code(data, invitation_id=session.get(SESSION_INVITATION),
                                             client=_client())
    except RateLimited as exc:
        db.session.commit()  # the audited refusal
        return _render_form(values, {"email": [exc.message]}, 429)
    db.session.commit()
    session[SESSION_HANDLE] = row.handle
    return redirect(url_for("apply.verify"))


def _current_application_row() -> EmailVerification | None:
    return verification.find(session.get(SESSION_HANDLE), VerificationPurpose.APPLICATION)


@bp.route("/apply/verify", methods=["GET", "POST"])
@public
def verify() -> ResponseReturnValue:
    """メール認証: 認証コード + 申込み (APP-4). A repeated submit after success
    lands on the completion page and stores nothing more (APP-6)."""
    row = _current_application_row()
    if row is None:
        flash(verification.MSG_SESSION, "error")
        return redirect(url_for("apply.form"))
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        try:
            code = VerificationCodeSchema().load(_form_values())["code"]
            services.complete_application(row, code)
        except ValidationError as exc:
            errors = _messages(exc)
        except services.FieldError as exc:
            errors = {"code": [exc.message]}
        except DomainError as exc:
            db.session.commit()  # keep the counted wrong entry
            errors = {"code": [exc.message]}
        else:
            db.session.commit()
            return redirect(url_for("apply.done"))
    return render_template("apply/verify.html", row=row, errors=errors,
                           minutes=verification.ttl_minutes(),
                           wait=verification.seconds_until_resend(row)), 400 if errors else 200


@bp.route("/apply/resend", methods=["POST"])
@public
def resend() -> ResponseReturnValue:
    row = _current_application_row()
    if row is None:
        flash(verification.MSG_SESSION, "error")
        return redirect(url_for("apply.form"))
    try:
        services.resend_application_code(row, client=_client())
    except DomainError as exc:
        db.session.commit()  # an audited refusal
        flash(exc.message, "error")
    else:
        db.session.commit()
        flash("認証コードを再送信しました。", "info")
    return redirect(url_for("apply.verify"))


@bp.route("/apply/done", methods=["GET"])
@public
def done() -> ResponseReturnValue:
    """申込み完了. Reloading shows the same page and stores nothing."""
    row = _current_application_row()
    application = services.application_for(row) if row is not None else None
    if application is None:
        return redirect(url_for("apply.form"))
    session.pop(SESSION_INVITATION, None)
    return render_template("apply/done.html", application=application)


# --- 失念時パスワード変更 (AUTH-5) ---------------------------------------------------------

RESET_SENT = ("ご登録のメールアドレス宛に認証コードを送信しました。"
              "（入力されたメールアドレスまたはMyPageIDが登録されていない場合、メールは届きません）")


@bp.route("/password/forgot", methods=["GET", "POST"])
@public
def forgot_password() -> ResponseReturnValue:
    errors: dict[str, list[str]] = {}
    values = _form_values()
    if request.method == "POST":
        try:
            login_id = LoginIdSchema().load(values)["login_id"]
        except ValidationError as exc:
            errors = _messages(exc)
        else:
            try:
                row = account.begin_password_reset(login_id, client=_client())
            except RateLimited as exc:
                db.session.commit()  # the audited refusal
                return render_template("apply/forgot.html", values=values,
                                       errors={"login_id": [exc.message]}), 429
            db.session.commit()
            session[SESSION_RESET] = row.handle
            session["reset_login_id"] = login_id
            flash(RESET_SENT, "info")
            return redirect(url_for("apply.reset_password"))
    return render_template("apply/forgot.html", values=values, errors=errors), \
        400 if errors else 200


def _reset_row() -> EmailVerification | None:
    return verification.find(session.get(SESSION_RESET), VerificationPurpose.PASSWORD_RESET)


@bp.route("/password/reset", methods=["GET", "POST"])
@public
def reset_password() -> ResponseReturnValue:
    row = _reset_row()
    if row is None:
        flash(verification.MSG_SESSION, "error")
        return redirect(url_for("apply.forgot_password"))
    errors: dict[str, Any] = {}
    if request.method == "POST":
        try:
            data = PasswordResetSchema().load(_form_values())
            account.complete_password_reset(row, data["code"], data["new_password"])
        except ValidationError as exc:
            errors = exc.messages_dict
        except PolicyError as exc:
            errors = {"new_password": exc.messages}
        except DomainError as exc:
            db.session.commit()  # keep the counted wrong entry
            errors = {exc.field or "code": [exc.message]}
        else:
            db.session.commit()
            session.pop(SESSION_RESET, None)
            flash("パスワードを変更しました。新しいパスワードでログインしてください。", "info")
            return redirect(url_for("auth.login"))
    return render_template("apply/reset.html", login_id=session.get("reset_login_id", ""),
                           errors=errors, values={},
                           wait=verification.seconds_until_resend(row)), 400 if errors else 200


@bp.route("/password/resend", methods=["POST"])
@public
def reset_resend() -> ResponseReturnValue:
    row = _reset_row()
    if row is None:
        return redirect(url_for("apply.forgot_password"))
    try:
        account.resend_password_reset(row, client=_client())
    except DomainError as exc:
        db.session.commit()  # an audited refusal
        flash(exc.message, "error")
    else:
        db.session.commit()
        flash("認証コードを再送信しました。", "info")
    return redirect(url_for("apply.reset_password"))
