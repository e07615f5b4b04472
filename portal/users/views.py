"""ユーザ情報の管理 (USR-3…USR-7), 電子証明書発行依頼 (CERT-2/3) and the
委任状 signing steps (SIGN-4). Thin: parse with a schema, call one service."""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from marshmallow import ValidationError

from portal.auth.decorators import customer_required
from portal.certs import dialog
from portal.certs.messages import CertError
from portal.errors import DomainError
from portal.extensions import db
from portal.models import CustomerRole, CustomerUser
from portal.permissions import Permission, can
from portal.users import services
from portal.users.cards import user_cards
from portal.users.models import CertReason, DraftKind, PoaKind, UserDraft
from portal.users.schemas import (
    POA_CHOICES,
    REASON_CHOICES,
    ROLE_CHOICES,
    ROLE_HINTS,
    USER_LABELS,
    CertRequestSchema,
    EditUserSchema,
    NewUserSchema,
)
from portal.validation import first_errors

bp = Blueprint("users", __name__, url_prefix="/users")

PIN_MAX_LENGTH = 64  # the signing service checks the PIN itself (PIN-1 rules at registration)
MSG_PIN_REQUIRED = "署名用PINを入力してください。"
MSG_CODE_REQUIRED = "認証コードを入力してください。"
MSG_TOO_LONG = "入力が長すぎます。"
MSG_START_AGAIN = "署名用PINの入力からやり直してください。"


def _me() -> CustomerUser:
    return current_user._get_current_object()  # type: ignore[no-any-return]


def _form() -> dict[str, Any]:
    return {k: v for k, v in request.form.items() if k != "csrf_token"}


def _errors(exc: ValidationError) -> dict[str, list[str]]:
    return {k: [v] for k, v in first_errors(exc.messages).items()}  # type: ignore[arg-type]


def _back_to_list() -> str:
    return url_for("users.index")


# --- list ------------------------------------------------------------------------------

@bp.route("/")
@customer_required
def index():  # type: ignore[no-untyped-def]
    """ユーザ情報の管理: one card per user with the buttons the actor may use."""
    me = _me()
    return render_template("users/index.html", cards=user_cards(me), me=me, company=me.company,
                           can_create=services.may_create_user(me),
                           can_edit_company=services.customer_may_edit_company(me, me.company),
                           channel=services.company_edit_channel(me.company))


# --- new user (USR-3) --------------------------------------------------------------------

@bp.route("/new", methods=["GET", "POST"])
@customer_required
def create():  # type: ignore[no-untyped-def]
    me = _me()
    if not can(me, Permission.USERS_CREATE):
        abort(403)
    full = services.no_room_reason(me.company)
    if full is not None:  # USR-1 told before the form is filled (#13 item 6)
        return render_template("users/form.html", full=full), 409
    values: dict[str, Any] = {"poa_method": "system", "identity_method": "documents"}
    errors: dict[str, list[str]] = {}
    handle = request.args.get("draft")
    if request.method == "GET" and handle:
        values = _draft_values(me, handle, DraftKind.NEW_USER) or values
    if request.method == "POST":
        values = _form()
        try:
            data = NewUserSchema().load(values)
            draft = services.start_new_user(me, data)
        except ValidationError as exc:
            errors = _errors(exc)
        except DomainError as exc:
            errors = {exc.field or "_": [exc.message]}
        else:
            upload_error = _take_upload(me, draft)
            db.session.commit()
            if upload_error is None or draft.upload_key:
                if upload_error:  # KYC-4: kept in quarantine; 登録 retries the scan
                    flash(upload_error, "error")
                return redirect(url_for("users.confirm", handle=draft.handle))
            errors = {"file": [upload_error]}
    return render_template("users/form.html", values=values, errors=errors,
                           roles=ROLE_CHOICES, role_hints=ROLE_HINTS, poa_choices=POA_CHOICES,
                           labels=USER_LABELS), 400 if errors else 200


def _draft_values(me: CustomerUser, handle: str, kind: DraftKind) -> dict[str, Any] | None:
    try:
        draft = services.get_draft(me, handle, kind)
    except DomainError:
        return None
    return services.draft_data(draft)


def _take_upload(me: CustomerUser, draft: UserDraft) -> str | None:
    """The paper PoA, when that method was chosen; the error message or None."""
    if draft.poa_kind != PoaKind.UPLOAD:
        return None
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return services.MSG_POA_FILE
    try:
        services.attach_upload(me, draft, upload.filename, upload.read())
    except DomainError as exc:
        return exc.message
    return None


@bp.route("/drafts/<handle>/confirm")
@customer_required
def confirm(handle: str):  # type: ignore[no-untyped-def]
    """入力内容確認 of a new user or of a certificate request."""
    me = _me()
    draft = _draft_any(me, handle)
    data = services.draft_data(draft)
    subject = db.session.get(CustomerUser, draft.subject_user_id) if draft.subject_user_id else None
    return render_template("users/confirm.html", draft=draft, data=data, subject=subject,
                           labels=USER_LABELS, roles=ROLE_CHOICES, reasons=REASON_CHOICES,
                           poa_kind=PoaKind(draft.poa_kind))


def _draft_any(me: CustomerUser, handle: str) -> UserDraft:
    for kind in DraftKind:
        try:
            return services.get_draft(me, handle, kind)
        except DomainError:
            continue
    flash(services.MSG_DRAFT, "error")
    abort(404)


@bp.route("/drafts/<handle>/upload", methods=["POST"])
@customer_required
def upload(handle: str):  # type: ignore[no-untyped-def]
    """アップロード again (a refused file, or a retry after 'ウイルススキャン中')."""
    me = _me()
    draft = _draft_any(me, handle)
    upload_file = request.files.get("file")
    try:
        if upload_file is not None and upload_file.filename:
            services.attach_upload(me, draft, upload_file.filename, upload_file.read())
        else:
            services.retry_quarantined_upload(me, draft)
    except DomainError as exc:
        flash(exc.message, "error")
    db.session.commit()
    return redirect(url_for("users.confirm", handle=handle))


@bp.route("/drafts/<handle>/register", methods=["POST"])
@customer_required
def register(handle: str):  # type: ignore[no-untyped-def]
    """登録 without a signature (no PoA, or an uploaded one)."""
    me = _me()
    draft = _draft_any(me, handle)
    if draft.poa_kind == PoaKind.SYSTEM:
        return redirect(url_for("users.sign", handle=handle))
    try:
        services.retry_quarantined_upload(me, draft)
    except DomainError as exc:
        db.session.commit()  # the scan result stays in the log
        flash(exc.message, "error")
        return redirect(url_for("users.confirm", handle=handle))
    try:
        return _finish(me, draft, signed=None)
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return redirect(url_for("users.confirm", handle=handle))


def _finish(me: CustomerUser, draft: UserDraft, *, signed: bytes | None) -> Any:
    if draft.kind == DraftKind.NEW_USER:
        user = services.create_user(me, draft, signed_poa=signed)
        db.session.commit()
        return redirect(url_for("users.created", user_id=user.id))
    cert_request = services.register_cert_request(me, draft, signed_poa=signed)
    db.session.commit()
    return redirect(url_for("users.cert_requested", user_id=cert_request.subject_user_id))


@bp.route("/created/<int:user_id>")
@customer_required
def created(user_id: int):  # type: ignore[no-untyped-def]
    me = _me()
    user = services.get_user_for(me, Permission.USERS_EDIT, user_id)
    return render_template("users/created.html", user=user)


# --- the PoA and its signature (SIGN-4) -------------------------------------------------

@bp.route("/drafts/<handle>/poa.pdf")
@customer_required
def poa_pdf(handle: str):  # type: ignore[no-untyped-def]
    me = _me()
    draft = _draft_any(me, handle)
    pdf = services.poa_pdf(draft, me)
    return Response(pdf, mimetype="application/pdf", headers={
        "Content-Disposition": "inline; filename*=UTF-8''%E5%A7%94%E4%BB%BB%E7%8A%B6.pdf",
        "Cache-Control": "no-store"})


def _purpose(handle: str) -> str:
    """What the signing dialog's PIN proof is bound to (with the user)."""
    return f"poa:{handle}"


@bp.route("/drafts/<handle>/sign", methods=["GET", "POST"])
@customer_required
def sign(handle: str):  # type: ignore[no-untyped-def]
    """電子署名 step 1 (SIGN-4): 署名用PIN → 送信. The signing service checks the PIN
    (a wrong one is refused here with the attempts left, PIN-5, and no code is
    mailed) and mails the code; only its PIN proof waits, sealed in the session."""
    me = _me()
    draft = _draft_any(me, handle)
    if draft.poa_kind != PoaKind.SYSTEM:
        abort(404)
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        pin = request.form.get("pin", "")
        if not pin:
            errors = {"pin": [MSG_PIN_REQUIRED]}
        elif len(pin) > PIN_MAX_LENGTH:
            errors = {"pin": [MSG_TOO_LONG]}
        else:
            dialog.drop_proof(_purpose(handle))  # a new 送信 replaces an earlier proof
            try:
                sent = services.send_signing_code(me, draft, pin)
            except DomainError as exc:
                db.session.rollback()
                errors = {exc.field or "pin": [exc.shown()]}
            else:
                db.session.commit()
                dialog.keep_proof(me, _purpose(handle), sent)
                return redirect(url_for("users.sign_code", handle=handle))
    return render_template("users/sign_pin.html", draft=draft, errors=errors,
                           credential_id=dialog.kept_credential_id(_purpose(handle))), \
        400 if errors else 200


@bp.route("/drafts/<handle>/code", methods=["GET", "POST"])
@customer_required
def sign_code(handle: str):  # type: ignore[no-untyped-def]
    """電子署名 step 2: 認証コード → 認証 with the PIN proof of step 1 (the code is
    checked here; a wrong one may be typed again, with the attempts left); any
    other refusal starts again from the PIN. 電子署名 is offered only after."""
    me = _me()
    draft = _system_poa_draft(me, handle)
    purpose = _purpose(handle)
    proof = dialog.kept_proof(me, purpose)
    if proof is None:
        if dialog.authenticated(me, purpose):
            return redirect(url_for("users.sign_execute", handle=handle))
        return _start_again(handle, MSG_START_AGAIN)
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        code = request.form.get("code", "").strip()
        if not code:
            errors = {"code": [MSG_CODE_REQUIRED]}
        else:
            try:
                services.authenticate_poa(me, draft, proof=proof, code=code, purpose=purpose)
            except CertError as exc:
                db.session.rollback()
                if not dialog.keeps_proof_after(exc):
                    return _back_to_pin(handle, exc)
                errors = {"code": [exc.shown()]}  # the same code mail, another try
            except DomainError as exc:
                db.session.rollback()
                return _back_to_pin(handle, exc)
            else:
                db.session.commit()
                return redirect(url_for("users.sign_execute", handle=handle))
    return render_template("users/sign_code.html", draft=draft, errors=errors,
                           credential_id=dialog.kept_credential_id(purpose)), \
        400 if errors else 200


@bp.route("/drafts/<handle>/execute", methods=["GET", "POST"])
@customer_required
def sign_execute(handle: str):  # type: ignore[no-untyped-def]
    """電子署名 step 3 (認証完了): the authorized PoA is signed and the user or the
    certificate request is registered. A refusal creates nothing."""
    me = _me()
    draft = _system_poa_draft(me, handle)
    purpose = _purpose(handle)
    if not dialog.authenticated(me, purpose):
        if dialog.kept_proof(me, purpose) is not None:
            return redirect(url_for("users.sign_code", handle=handle))
        return _start_again(handle, MSG_START_AGAIN)
    if request.method == "GET":
        return render_template("users/sign_execute.html", draft=draft,
                               credential_id=dialog.kept_credential_id(purpose))
    try:
        signed = services.sign_poa(me, draft, purpose=purpose)
    except DomainError as exc:
        db.session.rollback()
        return _back_to_pin(handle, exc)
    dialog.drop_proof(purpose)  # sign_authenticated spent it; nothing of the dialog waits
    try:
        return _finish(me, draft, signed=signed)
    except DomainError as exc:
        db.session.rollback()
        return _back_to_pin(handle, exc)


def _system_poa_draft(me: CustomerUser, handle: str) -> UserDraft:
    draft = _draft_any(me, handle)
    if draft.poa_kind != PoaKind.SYSTEM:
        abort(404)
    return draft


def _start_again(handle: str, message: str) -> Any:
    dialog.drop_proof(_purpose(handle))
    flash(message, "error")
    return redirect(url_for("users.sign", handle=handle))


def _back_to_pin(handle: str, exc: DomainError) -> Any:
    return _start_again(handle, exc.shown())


# --- edit (USR-5) ------------------------------------------------------------------------

@bp.route("/<int:user_id>/edit", methods=["GET", "POST"])
@customer_required
def edit(user_id: int):  # type: ignore[no-untyped-def]
    """ユーザ情報変更 → 入力内容確認 → 登録."""
    me = _me()
    target = services.get_user_for(me, Permission.USERS_EDIT, user_id)
    errors: dict[str, list[str]] = {}
    values: dict[str, Any] = _user_values(target)
    if request.method == "POST":
        values = _form()
        requested_role = values.pop("role", None)
        step = values.pop("step", "confirm")
        if step == "back":
            return render_template("users/edit.html", target=target, values=values, errors={},
                                   labels=USER_LABELS, role_label=CustomerRole(target.role).label)
        try:
            data = EditUserSchema().load(values)
            if step == "register":
                result = services.update_user(me, target, data, requested_role=requested_role)
                db.session.commit()
                return render_template("users/edit_done.html", target=target, result=result)
            if requested_role is not None and requested_role != target.role:
                raise DomainError(services.MSG_ROLE_CHANGE, field="role")
        except ValidationError as exc:
            errors = _errors(exc)
        except DomainError as exc:
            db.session.rollback()
            errors = {exc.field or "_": [exc.message]}
        else:
            return render_template("users/edit_confirm.html", target=target, values=values,
                                   labels=USER_LABELS)
    return render_template("users/edit.html", target=target, values=values, errors=errors,
                           labels=USER_LABELS, role_label=CustomerRole(target.role).label), \
        400 if errors else 200


def _user_values(user: CustomerUser) -> dict[str, Any]:
    values: dict[str, Any] = {name: getattr(user, name) or "" for name in (
        "last_name", "first_name", "last_name_kana", "first_name_kana", "last_name_en",
        "first_name_en", "mobile", "department", "title")}
    values["birth_date"] = user.birth_date.strftime("%Y/%m/%d") if user.birth_date else ""
    values["email"] = values["email_confirm"] = user.pending_email or user.email
    values["personal_signing"] = "on" if user.personal_signing else ""
    return values


# --- delete (USR-6) ----------------------------------------------------------------------

@bp.route("/<int:user_id>/delete", methods=["GET", "POST"])
@customer_required
def delete(user_id: int):  # type: ignore[no-untyped-def]
    me = _me()
    target = db.session.get(CustomerUser, user_id)
    if target is None or target.company_id != me.company_id or target.state != "active":
        abort(404)
    if request.method == "POST":
        try:
            services.delete_user(me, target)
        except DomainError as exc:
            db.session.rollback()
            return render_template("error.html", code=exc.status_code,
                                   message=exc.message), exc.status_code
        db.session.commit()
        return render_template("users/delete_done.html", name=target.display_name)
    if not services.can_delete(me, target):
        if target.id == me.id:
            message = services.MSG_DELETE_SELF
        elif services.open_cert_request(target) is not None:
            message = services.MSG_DELETE_CERT_PENDING
        elif not can(me, Permission.USERS_DELETE, target):
            abort(403)
        else:
            message = services.MSG_DELETE_LAST_REP
        return render_template("error.html", code=400, message=message), 400
    return render_template("users/delete_confirm.html", target=target)


# --- certificate issuance request (CERT-2, CERT-3) ----------------------------------------

@bp.route("/<int:user_id>/certificate-request", methods=["GET", "POST"])
@customer_required
def cert_request(user_id: int):  # type: ignore[no-untyped-def]
    me = _me()
    subject = db.session.get(CustomerUser, user_id)
    if subject is None or subject.company_id != me.company_id or subject.state != "active":
        abort(404)
    poa = services.cert_request_poa(me, subject)
    if poa is None:
        abort(404)
    errors: dict[str, list[str]] = {}
    values: dict[str, Any] = {"identity_method": "documents"}
    if request.method == "POST":
        values = _form()
        try:
            data = CertRequestSchema().load(values)
            draft = services.start_cert_request(me, subject, CertReason(data["reason"]))
        except ValidationError as exc:
            errors = _errors(exc)
        except DomainError as exc:
            db.session.rollback()
            errors = {exc.field or "_": [exc.message]}
        else:
            upload_error = _take_upload(me, draft)
            db.session.commit()
            if upload_error is None or draft.upload_key:
                if upload_error:  # KYC-4: kept in quarantine; 登録 retries the scan
                    flash(upload_error, "error")
                return redirect(url_for("users.confirm", handle=draft.handle))
            errors = {"file": [upload_error]}
    return render_template("users/cert_request.html", subject=subject, poa_kind=poa,
                           values=values, errors=errors, reasons=REASON_CHOICES), \
        400 if errors else 200


@bp.route("/<int:user_id>/certificate-request/done")
@customer_required
def cert_requested(user_id: int):  # type: ignore[no-untyped-def]
    me = _me()
    subject = db.session.get(CustomerUser, user_id)
    if subject is None or subject.company_id != me.company_id:
        abort(404)
    return render_template("users/cert_request_done.html", subject=subject)


from portal.users import company_views, console_views  # noqa: E402,F401
from portal.users import status as _status_provider  # noqa: E402

_status_provider.register()
