"""The PoA step of a draft (new user, USR-3, or certificate request, CERT-3):
入力内容確認, the paper PoA upload, 登録, and the system PoA's signature in the
guide's steps (SIGN-4): 署名用PIN → 送信, 認証コード → 認証, 電子署名. Thin: each
view calls one service of ``portal.users.poa`` (or the registration of the
user / the certificate request) and commits."""

from __future__ import annotations

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from portal.auth.decorators import customer_required
from portal.certs import dialog
from portal.certs.messages import CertError
from portal.certs.reissue import register_cert_request
from portal.certs.schemas import REASON_CHOICES
from portal.errors import DomainError
from portal.extensions import db
from portal.models import CustomerUser
from portal.users import poa, services
from portal.users.blueprint import bp, signed_in_customer
from portal.users.models import DraftKind, PoaKind, UserDraft
from portal.users.schemas import ROLE_CHOICES, USER_LABELS

PIN_MAX_LENGTH = 64  # the signing service checks the PIN itself (PIN-1 rules at registration)
MSG_PIN_REQUIRED = "署名用PINを入力してください。"
MSG_CODE_REQUIRED = "認証コードを入力してください。"
MSG_TOO_LONG = "入力が長すぎます。"
MSG_START_AGAIN = "署名用PINの入力からやり直してください。"


def take_poa_upload(me: CustomerUser, draft: UserDraft) -> str | None:
    """The paper PoA of the request's form, when that method was chosen; the
    error message or None."""
    if draft.poa_kind != PoaKind.UPLOAD:
        return None
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return poa.MSG_POA_FILE
    try:
        poa.attach_upload(me, draft, upload.filename, upload.read())
    except DomainError as exc:
        return exc.message
    return None


def draft_of(me: CustomerUser, handle: str) -> UserDraft:
    """The actor's live draft of either kind; anything else: expired (404)."""
    for kind in DraftKind:
        try:
            return poa.get_draft(me, handle, kind)
        except DomainError:
            continue
    flash(poa.MSG_DRAFT, "error")
    abort(404)


@bp.route("/drafts/<handle>/confirm")
@customer_required
def confirm(handle: str) -> ResponseReturnValue:
    """入力内容確認 of a new user or of a certificate request."""
    me = signed_in_customer()
    draft = draft_of(me, handle)
    data = poa.draft_data(draft)
    subject = db.session.get(CustomerUser, draft.subject_user_id) if draft.subject_user_id else None
    return render_template("users/confirm.html", draft=draft, data=data, subject=subject,
                           labels=USER_LABELS, roles=ROLE_CHOICES, reasons=REASON_CHOICES,
                           poa_kind=PoaKind(draft.poa_kind))


@bp.route("/drafts/<handle>/upload", methods=["POST"])
@customer_required
def upload(handle: str) -> ResponseReturnValue:
    """アップロード again (a refused file, or a retry after 'ウイルススキャン中')."""
    me = signed_in_customer()
    draft = draft_of(me, handle)
    upload_file = request.files.get("file")
    try:
        if upload_file is not None and upload_file.filename:
            poa.attach_upload(me, draft, upload_file.filename, upload_file.read())
        else:
            poa.retry_quarantined_upload(me, draft)
    except DomainError as exc:
        flash(exc.message, "error")
    db.session.commit()
    return redirect(url_for("users.confirm", handle=handle))


@bp.route("/drafts/<handle>/register", methods=["POST"])
@customer_required
def register(handle: str) -> ResponseReturnValue:
    """登録 without a signature (no PoA, or an uploaded one)."""
    me = signed_in_customer()
    draft = draft_of(me, handle)
    if draft.poa_kind == PoaKind.SYSTEM:
        return redirect(url_for("users.sign", handle=handle))
    try:
        poa.retry_quarantined_upload(me, draft)
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


def _finish(me: CustomerUser, draft: UserDraft, *, signed: bytes | None) -> ResponseReturnValue:
    if draft.kind == DraftKind.NEW_USER:
        user = services.create_user(me, draft, signed_poa=signed)
        db.session.commit()
        return redirect(url_for("users.created", user_id=user.id))
    cert_request = register_cert_request(me, draft, signed_poa=signed)
    db.session.commit()
    return redirect(url_for("users.cert_requested", user_id=cert_request.subject_user_id))


# --- the system PoA and its signature (SIGN-4) ------------------------------------------

@bp.route("/drafts/<handle>/poa.pdf")
@customer_required
def poa_pdf(handle: str) -> ResponseReturnValue:
    me = signed_in_customer()
    draft = draft_of(me, handle)
    pdf = poa.poa_pdf(draft, me)
    return Response(pdf, mimetype="application/pdf", headers={
        "Content-Disposition": "inline; filename*=UTF-8''%E5%A7%94%E4%BB%BB%E7%8A%B6.pdf",
        "Cache-Control": "no-store"})


def _purpose(handle: str) -> str:
    """What the signing dialog's PIN proof is bound to (with the user)."""
    return f"poa:{handle}"


@bp.route("/drafts/<handle>/sign", methods=["GET", "POST"])
@customer_required
def sign(handle: str) -> ResponseReturnValue:
    """電子署名 step 1 (SIGN-4): 署名用PIN → 送信. The signing service checks the PIN
    (a wrong one is refused here with the attempts left, PIN-5, and no code is
    mailed) and mails the code; only its PIN proof waits, sealed in the session."""
    me = signed_in_customer()
    draft = _system_poa_draft(me, handle)
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
                sent = poa.send_signing_code(me, draft, pin)
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
def sign_code(handle: str) -> ResponseReturnValue:
    """電子署名 step 2: 認証コード → 認証 with the PIN proof of step 1 (the code is
    checked here; a wrong one may be typed again, with the attempts left); any
    other refusal starts again from the PIN. 電子署名 is offered only after."""
    me = signed_in_customer()
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
                poa.authenticate_poa(me, draft, proof=proof, code=code, purpose=purpose)
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
def sign_execute(handle: str) -> ResponseReturnValue:
    """電子署名 step 3 (認証完了): the authorized PoA is signed and the user or the
    certificate request is registered. A refusal creates nothing."""
    me = signed_in_customer()
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
        signed = poa.sign_poa(me, draft, purpose=purpose)
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
    draft = draft_of(me, handle)
    if draft.poa_kind != PoaKind.SYSTEM:
        abort(404)
    return draft


def _start_again(handle: str, message: str) -> ResponseReturnValue:
    dialog.drop_proof(_purpose(handle))
    flash(message, "error")
    return redirect(url_for("users.sign", handle=handle))


def _back_to_pin(handle: str, exc: DomainError) -> ResponseReturnValue:
    return _start_again(handle, exc.shown())
