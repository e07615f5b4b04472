"""The PoA step of a draft (new user, USR-3, or certificate request, CERT-3):
入力内容確認, the paper PoA upload, 登録, and the system PoA's signature in the
guide's steps (SIGN-4): 署名用PIN → 送信, 認証コード → 認証, 電子署名. Thin: each
view calls one service of ``portal.users.poa`` (or the registration of the
user / the certificate request) and commits."""

from __future__ import annotations

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from marshmallow import ValidationError

from portal.auth.decorators import customer_required
from portal.certs import dialog
from portal.certs.models import PoaKind
from portal.certs.schemas import REASON_CHOICES, SendCodeSchema, SignDialogSchema
from portal.errors import DomainError
from portal.extensions import db
from portal.models import CustomerUser
from portal.users import cert_requests, poa, services
from portal.users.blueprint import bp, field_errors, signed_in_customer
from portal.users.models import DraftKind, UserDraft
from portal.users.schemas import ROLE_CHOICES, USER_LABELS

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


def to_confirmation(me: CustomerUser, draft: UserDraft) -> ResponseReturnValue | str:
    """After a draft is started (new user, certificate request): take its paper PoA,
    commit, and go to the confirmation page; the file's error message when the
    upload was refused outright (a quarantined file goes on, KYC-4)."""
    upload_error = take_poa_upload(me, draft)
    db.session.commit()
    if upload_error is not None and not draft.upload_key:
        return upload_error
    if upload_error:  # KYC-4: kept in quarantine; 登録 retries the scan
        flash(upload_error, "error")
    return redirect(url_for("users.confirm", handle=draft.handle))


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
        url = _register(me, draft, signed=None)
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return redirect(url_for("users.confirm", handle=handle))
    db.session.commit()
    return redirect(url)


def _register(me: CustomerUser, draft: UserDraft, *, signed: bytes | None) -> str:
    """The new user or the certificate request with its PoA (the caller commits);
    answers the page that tells the user."""
    if draft.kind == DraftKind.NEW_USER:
        user = services.create_user(me, draft, signed_poa=signed)
        return url_for("users.created", user_id=user.id)
    cert_request = cert_requests.register_from_draft(me, draft, signed_poa=signed)
    return url_for("users.cert_requested", user_id=cert_request.subject_user_id)


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


def _subject(me: CustomerUser, handle: str) -> poa.PoaSigning[str]:
    """The draft's system PoA for the signing dialog, loaded and checked once."""
    draft = _system_poa_draft(me, handle)
    return poa.PoaSigning(me, draft, lambda signed: _register(me, draft, signed=signed))


def _page(template: str, subject: poa.PoaSigning[str],
          errors: dict[str, list[str]] | None = None) -> ResponseReturnValue:
    return render_template(template, draft=subject.draft, errors=errors or {},
                           credential_id=dialog.kept_credential_id(subject.purpose)), \
        400 if errors else 200


@bp.route("/drafts/<handle>/sign", methods=["GET", "POST"])
@customer_required
def sign(handle: str) -> ResponseReturnValue:
    """電子署名 step 1 (SIGN-4): 署名用PIN → 送信. The signing service checks the PIN
    (a wrong one is refused here with the attempts left, PIN-5, and no code is
    mailed) and mails the code; only its PIN proof waits, sealed in the session."""
    me = signed_in_customer()
    subject = _subject(me, handle)
    if request.method == "GET":
        return _page("users/sign_pin.html", subject)
    try:
        pin = SendCodeSchema().load(request.form)["pin"]
    except ValidationError as exc:
        return _page("users/sign_pin.html", subject, field_errors(exc))
    outcome = dialog.send(me, subject, pin)
    if outcome.error is not None:
        return _page("users/sign_pin.html", subject,
                     {outcome.error.field or "pin": [outcome.error.shown()]})
    return redirect(url_for("users.sign_code", handle=handle))


@bp.route("/drafts/<handle>/code", methods=["GET", "POST"])
@customer_required
def sign_code(handle: str) -> ResponseReturnValue:
    """電子署名 step 2: 認証コード → 認証 with the PIN proof of step 1 (the code is
    checked here; a wrong one may be typed again, with the attempts left); any
    other refusal starts again from the PIN. 電子署名 is offered only after."""
    me = signed_in_customer()
    subject = _subject(me, handle)
    at = dialog.step_of(me, subject.purpose)
    if at is not dialog.Step.CODE:
        return _go(at, handle)
    if request.method == "GET":
        return _page("users/sign_code.html", subject)
    try:
        code = SignDialogSchema().load(request.form)["code"]
    except ValidationError as exc:
        return _page("users/sign_code.html", subject, field_errors(exc))
    outcome = dialog.check_code(me, subject, code)
    if outcome.error is None:
        return redirect(url_for("users.sign_execute", handle=handle))
    if outcome.step is dialog.Step.CODE:  # the same code mail, another try
        return _page("users/sign_code.html", subject, {"code": [outcome.error.shown()]})
    return _back_to_pin(handle, outcome.error.shown())


@bp.route("/drafts/<handle>/execute", methods=["GET", "POST"])
@customer_required
def sign_execute(handle: str) -> ResponseReturnValue:
    """電子署名 step 3 (認証完了): the authorized PoA is signed and the user or the
    certificate request is registered. A refusal creates nothing."""
    me = signed_in_customer()
    subject = _subject(me, handle)
    at = dialog.step_of(me, subject.purpose)
    if at is not dialog.Step.SIGN:
        return _go(at, handle)
    if request.method == "GET":
        return render_template("users/sign_execute.html", draft=subject.draft,
                               credential_id=dialog.kept_credential_id(subject.purpose))
    outcome = dialog.sign(me, subject)
    if outcome.error is not None or outcome.result is None:
        return _back_to_pin(handle, outcome.error.shown() if outcome.error else MSG_START_AGAIN)
    return redirect(outcome.result)


def _go(at: dialog.Step, handle: str) -> ResponseReturnValue:
    """A dialog page opened out of turn: the step where the dialog stands."""
    if at is dialog.Step.SIGN:
        return redirect(url_for("users.sign_execute", handle=handle))
    if at is dialog.Step.CODE:
        return redirect(url_for("users.sign_code", handle=handle))
    return _back_to_pin(handle, MSG_START_AGAIN)


def _system_poa_draft(me: CustomerUser, handle: str) -> UserDraft:
    draft = draft_of(me, handle)
    if draft.poa_kind != PoaKind.SYSTEM:
        abort(404)
    return draft


def _back_to_pin(handle: str, message: str) -> ResponseReturnValue:
    """The PIN page with the message (nothing of the dialog waits any more)."""
    flash(message, "error")
    return redirect(url_for("users.sign", handle=handle))
