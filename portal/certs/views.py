"""MyPage screens: 初期PIN登録 → 発行 (PIN-1), 署名用PIN変更 (PIN-3), 署名用PINロック /
ロック解除 (PIN-4), and the 送信 step of the signing dialog (SIGN-2)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from marshmallow import ValidationError

from portal.auth.decorators import customer_required
from portal.errors import DomainError
from portal.extensions import db
from portal.i18n import gettext
from portal.models import CustomerUser
from portal.mypage.status import register_status
from portal.permissions import Permission, can, get_or_404_for

from . import dialog, services
from .models import CertState
from .schemas import ChangePinSchema, InitialPinSchema, SendCodeSchema, SignDialogSchema

bp = Blueprint("certs", __name__, url_prefix="/certs")


def _me() -> CustomerUser:
    # customer_required lets only a signed-in CustomerUser reach these views.
    me: CustomerUser = current_user._get_current_object()
    return me


def _form() -> dict[str, str]:
    return {k: v for k, v in request.form.items() if k != "csrf_token"}


def _errors_of(exc: DomainError, default_field: str) -> dict[str, list[str]]:
    return {exc.field or default_field: [exc.shown()]}


@bp.get("/")
@customer_required
def index() -> ResponseReturnValue:
    me = _me()
    return render_template(
        "certs/index.html",
        me=me,
        cert=services.current_certificate(me),
        status=services.signing_status_enum(me, live=True),
        can_register=services.can_register_pin(me),
        pending=services.pending_certificate(me) is not None,
    )


@bp.route("/pin/register", methods=["GET", "POST"])
@customer_required
def register_pin() -> ResponseReturnValue:
    """初期PIN(署名用パスワード)登録: PIN twice, then 登録."""
    me = _me()
    if services.pending_certificate(me) is not None:
        return redirect(url_for("certs.issue"))
    if not services.can_register_pin(me):
        return render_template("certs/not_ready.html", status=services.signing_status_enum(me))
    errors: dict[str, Any] = {}
    if request.method == "POST":
        try:
            data = InitialPinSchema().load(_form())
            services.register_pin(me, data["pin"])
        except ValidationError as exc:
            errors = exc.messages_dict
        except DomainError as exc:
            db.session.rollback()
            errors = _errors_of(exc, "form")
        else:
            return redirect(url_for("certs.issue"))
    return render_template("certs/register.html", errors=errors), 400 if errors else 200


@bp.route("/pin/issue", methods=["GET", "POST"])
@customer_required
def issue() -> ResponseReturnValue:
    """初期PIN登録完了 → 「発行」: the certificate is issued (status 署名可能)."""
    me = _me()
    cert = services.pending_certificate(me)
    if request.method == "POST":
        try:
            cert = services.issue_certificate(me)
        except DomainError as exc:
            db.session.rollback()
            return render_template(
                "certs/issue.html",
                cert=services.pending_certificate(me),
                errors=_errors_of(exc, "form"),
            ), exc.status_code
        return render_template("certs/issued.html", cert=cert)
    if cert is None:
        return redirect(url_for("certs.index"))
    return render_template("certs/issue.html", cert=cert, errors={})


@bp.route("/pin/change", methods=["GET", "POST"])
@customer_required
def change_pin() -> ResponseReturnValue:
    """署名用PIN変更: 現在のPIN, 変更後のPIN (twice), then 変更."""
    me = _me()
    cert = services.current_certificate(me)
    if cert is None or cert.state is not CertState.ACTIVE:
        return render_template("certs/not_ready.html", status=services.signing_status_enum(me))
    errors: dict[str, Any] = {}
    if request.method == "POST":
        try:
            data = ChangePinSchema().load(_form())
            services.change_pin(me, data["current_pin"], data["new_pin"])
        except ValidationError as exc:
            errors = exc.messages_dict
        except DomainError as exc:
            db.session.rollback()
            errors = _errors_of(exc, "form")
        else:
            return render_template("certs/change_done.html")
    return render_template("certs/change.html", errors=errors), 400 if errors else 200


def _lock_view(user_id: int, *, locked: bool) -> ResponseReturnValue:
    me = _me()
    target = get_or_404_for(me, Permission.PIN_LOCK, CustomerUser, user_id)
    cert = services.current_certificate(target)
    template = "certs/lock_confirm.html"
    if request.method == "POST":
        try:
            services.set_lock(me, target, locked=locked)
        except DomainError as exc:
            db.session.rollback()
            return render_template(
                template, target=target, cert=cert, locked=locked, errors=_errors_of(exc, "form")
            ), exc.status_code
        return render_template("certs/lock_done.html", target=target, locked=locked)
    if cert is None or cert.state is not CertState.ACTIVE:
        return render_template(
            template,
            target=target,
            cert=None,
            locked=locked,
            errors={"form": ["このユーザには有効な電子証明書がありません。"]},
        ), 409
    return render_template(template, target=target, cert=cert, locked=locked, errors={})


@bp.route("/users/<int:user_id>/lock", methods=["GET", "POST"])
@customer_required
def lock(user_id: int) -> ResponseReturnValue:
    """署名用PINロック: confirmation with the credential ID, then 実行."""
    return _lock_view(user_id, locked=True)


@bp.route("/users/<int:user_id>/unlock", methods=["GET", "POST"])
@customer_required
def unlock(user_id: int) -> ResponseReturnValue:
    """署名用PINロック解除."""
    return _lock_view(user_id, locked=False)


@bp.post("/dialog/send-code")
@customer_required
def send_code() -> ResponseReturnValue:
    """送信 in the signing dialog: the service checks the PIN and mails the code;
    the PIN proof waits sealed in the session for 電子署名."""
    me = _me()
    try:
        data = SendCodeSchema().load(_form())
    except ValidationError as exc:
        return _json_field_error(exc, "pin")
    outcome = dialog.send(me, dialog.SampleSigning(me), data["pin"])
    if outcome.error is not None:
        return jsonify(ok=False, message=outcome.error.shown(), field=outcome.error.field,
                       step=outcome.step.value), outcome.error.status_code
    return jsonify(
        ok=True,
        credential_id=outcome.credential_id,
        message=gettext("ご登録のメールアドレスに認証コードを送信しました。"),
    )


def _json_field_error(exc: ValidationError, field: str) -> ResponseReturnValue:
    message = exc.messages_dict.get(field, [""])[0]
    return jsonify(ok=False, message=gettext(message), field=field), 400


@bp.post("/sample/authenticate")
@customer_required
def authenticate_sample() -> ResponseReturnValue:
    """認証 in the sample's dialog (#13 item 10): the service checks the code now, by
    authorizing the prepared sample; a wrong one answers the attempts left and
    電子署名 stays disabled."""
    me = _me()
    try:
        data = SignDialogSchema().load(_form())
    except ValidationError as exc:
        return _json_field_error(exc, "code")
    outcome = dialog.check_code(me, dialog.SampleSigning(me), data["code"])
    if outcome.error is not None:
        return jsonify(ok=False, message=outcome.error.shown(), field=outcome.error.field,
                       step=outcome.step.value), 400
    return jsonify(ok=True, message=gettext("証明書の認証が完了しました。"))


@bp.route("/sample", methods=["GET", "POST"])
@customer_required
def sign_sample() -> ResponseReturnValue:
    """電子署名のお試し: signs the sample contract with the signing dialog and returns
    it as a download (nothing is stored). The dialog's first user; SIGN-2.
    電子署名 signs what 認証 prepared and authorized; without the dialog's script
    the form posts the code with 電子署名 (checked and signed at once)."""
    me = _me()
    subject = dialog.SampleSigning(me)
    errors: dict[str, Any] = {}
    if request.method == "POST":
        outcome: dialog.Outcome[bytes] | None = None
        if dialog.step_of(me, subject.purpose) is dialog.Step.SIGN:
            outcome = dialog.sign(me, subject)
        else:
            try:
                data = SignDialogSchema().load(_form())
            except ValidationError as exc:
                errors = exc.messages_dict
            else:
                outcome = dialog.sign_with_code(me, subject, data["code"])
        if outcome is not None and outcome.error is not None:
            errors = _errors_of(outcome.error, "form")
        elif outcome is not None and outcome.result is not None:
            return Response(
                outcome.result,
                mimetype="application/pdf",
                headers={"Content-Disposition": "attachment; filename=signed-sample.pdf"},
            )
    return render_template(
        "certs/sign_sample.html", dialog_errors=errors, status=services.signing_status_enum(me),
        dialog_credential=dialog.kept_credential_id(subject.purpose),
    ), 400 if errors else 200


def card(actor: CustomerUser, user: CustomerUser) -> dict[str, Any]:
    """What a user card shows about signing (CERT-6) and the PIN buttons it offers."""
    cert = services.current_certificate(user)
    active = cert is not None and cert.state is CertState.ACTIVE
    status = services.signing_status_enum(user)
    may_lock = active and can(actor, Permission.PIN_LOCK, user)
    return {
        "status": status.word,
        "note": status.note,
        "expiry": cert.valid_to if active and cert is not None else None,
        "credential_id": cert.credential_id if active and cert is not None else "",
        "change_pin_url": url_for("certs.change_pin") if active and actor.id == user.id else None,
        "sample_url": url_for("certs.sign_sample") if active and actor.id == user.id else None,
        "register_url": url_for("certs.register_pin")
        if actor.id == user.id and services.can_register_pin(user)
        else None,
        "issue_url": url_for("certs.issue")
        if actor.id == user.id and status is services.SigningStatus.ISSUE_PENDING
        else None,
        "lock_url": url_for("certs.lock", user_id=user.id)
        if may_lock and cert is not None and not cert.pin_locked
        else None,
        "unlock_url": url_for("certs.unlock", user_id=user.id)
        if may_lock and cert is not None and cert.pin_locked
        else None,
    }


def _card_status(user: CustomerUser) -> str | None:
    return services.signing_status(user)


@bp.app_context_processor
def _inject() -> dict[str, Any]:
    return {"certs_card": card}


register_status(_card_status, priority=30)
