"""KYC screens: MyPage (source guide §2.4) and the bank console review.

Two blueprints on purpose: ``kyc`` is customer-side and closes during MyPage
maintenance; ``kyc_console`` belongs to the console, which stays up.
"""

from __future__ import annotations

import io
from typing import Any

import click
from flask import (
    Blueprint,
    Response,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_login import current_user
from marshmallow import ValidationError

from kyc import services
from kyc.consent_document import DOWNLOAD_NAME, PDF_PATH
from kyc.document_step import on_document_step
from kyc.document_types import DocumentCategory, lookup, required_categories, types_in
from kyc.models import STATE_LABELS, KycFile, KycState, KycSubmission, QuarantineState
from kyc.schemas import ChooseTypeSchema, ConsentSchema, RejectSchema, UploadSchema
from portal.auth.decorators import customer_required, staff_required
from portal.errors import DomainError, NotFound
from portal.extensions import db
from portal.models import CustomerRole
from portal.permissions import Permission, get_or_404_for, require
from portal.uploads import PREVIEWABLE_IMAGES, SCAN_PENDING_MESSAGE
from portal.web import uploads_in_memory, url_for_safe

bp = Blueprint("kyc", __name__, url_prefix="/mypage/kyc", cli_group="kyc")
console_bp = Blueprint("kyc_console", __name__, url_prefix="/console/kyc")

Errors = dict[str, list[str]]


def _me() -> Any:
    return current_user._get_current_object()


def _ip() -> str:
    return request.remote_addr or ""


# --- MyPage -----------------------------------------------------------------------------

# Pages that start or fill a submission; the status page and the consent PDF stay open.
SUBMISSION_ENDPOINTS = {"kyc.consent", "kyc.upload", "kyc.choose_type", "kyc.upload_file",
                        "kyc.retry", "kyc.delete_file", "kyc.submit"}
MSG_NOT_NEEDED_VIEWER = "参照者は電子証明書を利用しないため、本人確認書類のアップロードは不要です。"
MSG_NOT_NEEDED = "現在、本人確認書類のアップロードは必要ありません。"


@bp.before_request
def _only_when_documents_are_needed() -> Any:
    """#13 item 4 (KYC-1): a viewer or a user who can already sign cannot start
    or fill a submission, whatever URL is typed."""
    if request.endpoint not in SUBMISSION_ENDPOINTS or not current_user.is_authenticated:
        return None
    me = _me()
    if on_document_step(me):
        return None
    flash(MSG_NOT_NEEDED_VIEWER if me.role == CustomerRole.VIEWER else MSG_NOT_NEEDED, "error")
    return redirect(url_for("kyc.start_or_settings"))


@bp.route("")
@customer_required
def start() -> ResponseReturnValue:
    draft = services.open_draft(_me())
    if draft is not None:
        return redirect(url_for("kyc.upload", submission_id=draft.id))
    latest = services.latest_submission(_me())
    if latest is None:
        return redirect(url_for("kyc.consent"))
    return render_template("kyc/start.html", submission=latest)


@bp.route("/consent.pdf")
@customer_required
def consent_pdf() -> ResponseReturnValue:
    return send_file(PDF_PATH, mimetype="application/pdf", download_name=DOWNLOAD_NAME,
                     max_age=0)


@bp.route("/consent", methods=["GET", "POST"])
@customer_required
def consent() -> ResponseReturnValue:
    errors: Errors = {}
    if request.method == "POST":
        try:
            form = ConsentSchema().load(request.form.to_dict())
            if form["decision"] == "decline":
                services.decline(_me())
                db.session.commit()
                flash("個人情報の第三者提供に同意いただけない場合、本人確認書類をアップロードできません。",
                      "error")
                return redirect(url_for("kyc.start_or_settings"))
            draft = services.agree(_me(), understood=form["understood"], ip=_ip())
            db.session.commit()
            return redirect(url_for("kyc.upload", submission_id=draft.id))
        except ValidationError as exc:
            errors = exc.messages_dict
        except DomainError as exc:
            db.session.rollback()
            errors = {exc.field or "form": [exc.message]}
    return render_template("kyc/consent.html", errors=errors), 400 if errors else 200


@bp.route("/back")
@customer_required
def start_or_settings() -> ResponseReturnValue:
    target = url_for_safe("mypage.settings")
    return redirect(target if target != "#" else url_for("mypage.home"))


def _flat(exc: ValidationError) -> Errors:
    messages = exc.messages if isinstance(exc.messages, dict) else {"form": exc.messages}
    return {str(k): [str(m) for m in (v if isinstance(v, list) else [v])]
            for k, v in messages.items()}


def _upload_page(submission: KycSubmission, errors: Errors | None = None,
                 status: int = 200, notice: str | None = None) -> tuple[str, int]:
    categories = required_categories(submission.company.kind)
    sections = []
    files = {(f.category, f.slot): f for f in submission.files}
    pending = {(p.category, p.slot): p for p in services.pending_entries(submission)}
    for category in categories:
        chosen = services.chosen_type(submission, category)
        slots = []
        if chosen is not None:
            for number, slot in enumerate(chosen.slots, start=1):
                key = (str(category), slot.key)
                slots.append({"number": number, "slot": slot, "file": files.get(key),
                              "pending": pending.get(key),
                              "error_key": f"{category.value}:{slot.key}"})
        sections.append({"category": category, "choices": types_in(category),
                         "chosen": chosen, "slots": slots})
    return render_template("kyc/upload.html", submission=submission, sections=sections,
                           errors=errors or {}, notice=notice,
                           scan_message=SCAN_PENDING_MESSAGE), status


@bp.route("/<int:submission_id>")
@customer_required
def upload(submission_id: int) -> ResponseReturnValue:
    submission = services.draft_for_owner(_me(), submission_id)
    if submission.state != KycState.DRAFT:
        return redirect(url_for("kyc.start"))
    return _upload_page(submission)


@bp.route("/<int:submission_id>/type", methods=["POST"])
@customer_required
def choose_type(submission_id: int) -> ResponseReturnValue:
    submission = services.draft_for_owner(_me(), submission_id)
    try:
        form = ChooseTypeSchema().load(request.form.to_dict())
        services.choose_type(_me(), submission, DocumentCategory(form["category"]),
                             form["document_type"])
    except ValidationError as exc:
        return _upload_page(submission, _flat(exc), 400)
    except NotFound:
        raise
    except DomainError as exc:
        db.session.rollback()
        return _upload_page(submission, {exc.field or "form": [exc.message]}, 400)
    db.session.commit()
    return redirect(url_for("kyc.upload", submission_id=submission.id))


@bp.route("/<int:submission_id>/files", methods=["POST"])
@uploads_in_memory  # the plaintext of an identity document never lands on disk
@customer_required
def upload_file(submission_id: int) -> ResponseReturnValue:
    submission = services.draft_for_owner(_me(), submission_id)
    try:
        form = UploadSchema().load(request.form.to_dict())
    except ValidationError as exc:
        return _upload_page(submission, {"form": sum(_flat(exc).values(), [])}, 400)
    error_key = f"{form['category']}:{form['slot']}"
    upload = request.files.get("file")
    limit = services.upload_limit()
    filename = upload.filename if upload is not None else None
    data = upload.stream.read(limit + 1) if upload is not None else b""
    try:
        result = services.upload_file(_me(), submission, DocumentCategory(form["category"]),
                                      form["slot"], filename, data, limit=limit)
    except NotFound:
        raise
    except DomainError as exc:
        db.session.commit()  # keeps the audit entry of the refusal
        # A refusal of the file shows at its slot; one of the slot or type itself
        # (no such slot on the page) shows above the sections.
        key = error_key if exc.field == "file" else "form"
        return _upload_page(submission, {key: [exc.message]}, 400)
    db.session.commit()
    if result.outcome is services.UploadOutcome.PENDING:
        return _upload_page(submission, {error_key: [SCAN_PENDING_MESSAGE]}, 202)
    flash("アップロードしました。", "info")
    return redirect(url_for("kyc.upload", submission_id=submission.id))


@bp.route("/<int:submission_id>/pending/<int:entry_id>/retry", methods=["POST"])
@customer_required
def retry(submission_id: int, entry_id: int) -> ResponseReturnValue:
    submission = services.draft_for_owner(_me(), submission_id)
    state = services.retry_pending(_me(), submission, entry_id)
    db.session.commit()
    messages = {
        QuarantineState.PENDING: SCAN_PENDING_MESSAGE,
        QuarantineState.INFECTED: "ファイルからウイルスが検出されたため、アップロードできません。"
                                  "ファイルを確認のうえ、別のファイルを選択してください。",
        QuarantineState.REFUSED: "ファイルを受け付けられませんでした。"
                                 "別のファイルを選択してください。",
        QuarantineState.SUPERSEDED: "このファイルは別のファイルに置き換えられました。",
    }
    if state is QuarantineState.RELEASED:
        flash("ウイルススキャンが完了し、アップロードしました。", "info")
        return redirect(url_for("kyc.upload", submission_id=submission.id))
    return _upload_page(submission, {"form": [messages[state]]},
                        202 if state is QuarantineState.PENDING else 400)


@bp.route("/<int:submission_id>/files/<int:file_id>/delete", methods=["POST"])
@customer_required
def delete_file(submission_id: int, file_id: int) -> ResponseReturnValue:
    submission = services.draft_for_owner(_me(), submission_id)
    services.delete_file(_me(), submission, file_id)
    db.session.commit()
    flash("ファイルを削除しました。", "info")
    return redirect(url_for("kyc.upload", submission_id=submission.id))


@bp.route("/<int:submission_id>/files/<int:file_id>")
@customer_required
def download(submission_id: int, file_id: int) -> ResponseReturnValue:
    submission = services.draft_for_owner(_me(), submission_id)
    stored = services.file_of(submission, file_id)
    return _file_response(services.read_file(_me(), stored, purpose="downloaded"))


@bp.route("/<int:submission_id>/submit", methods=["POST"])
@customer_required
def submit(submission_id: int) -> ResponseReturnValue:
    submission = services.draft_for_owner(_me(), submission_id)
    try:
        services.submit(_me(), submission)
    except NotFound:
        raise
    except DomainError as exc:
        db.session.rollback()
        return _upload_page(submission, {"form": [exc.message]}, 400)
    db.session.commit()
    return redirect(url_for("kyc.done", submission_id=submission.id))


@bp.route("/<int:submission_id>/done")
@customer_required
def done(submission_id: int) -> ResponseReturnValue:
    submission = services.draft_for_owner(_me(), submission_id)
    return render_template("kyc/done.html", submission=submission)


def _file_response(download: services.Download, *, inline: bool = False) -> Response:
    response = send_file(io.BytesIO(download.data), mimetype=download.content_type,
                         as_attachment=not inline, download_name=download.filename,
                         max_age=0, conditional=False, etag=False)
    db.session.commit()  # the audit entry of the download
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "no-store"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


# --- Bank console (KYC-6) ---------------------------------------------------------------

STATE_FILTERS = {"submitted": KycState.SUBMITTED, "approved": KycState.APPROVED,
                 "rejected": KycState.REJECTED, "all": None}


@console_bp.route("")
@staff_required
@require(Permission.CONSOLE_KYC_REVIEW)
def submissions() -> ResponseReturnValue:
    key = request.args.get("state", "submitted")
    if key not in STATE_FILTERS:
        key = "submitted"
    rows = services.submissions_for_branch(_me(), state=STATE_FILTERS[key])
    return render_template("kyc/console_list.html", rows=rows, state=key,
                           state_labels=STATE_LABELS)


def _reviewable(submission_id: int) -> KycSubmission:
    submission = get_or_404_for(_me(), Permission.CONSOLE_KYC_REVIEW, KycSubmission,
                                submission_id)
    if submission.state == KycState.DRAFT:  # not sent yet: the bank does not see drafts
        raise NotFound()
    return submission


def _review_page(submission: KycSubmission, errors: Errors | None = None,
                 status: int = 200) -> tuple[str, int]:
    labels = {}
    for f in submission.files:
        labels[f.id] = lookup(f.document_type).slot(f.slot).label
    return render_template("kyc/console_detail.html", submission=submission, labels=labels,
                           previewable=PREVIEWABLE_IMAGES, errors=errors or {},
                           values=request.form, state_labels=STATE_LABELS), status


@console_bp.route("/<int:submission_id>")
@staff_required
@require(Permission.CONSOLE_KYC_REVIEW)
def submission(submission_id: int) -> ResponseReturnValue:
    return _review_page(_reviewable(submission_id))


def _console_file(submission_id: int, file_id: int) -> KycFile:
    found = services.file_of(_reviewable(submission_id), file_id)
    return found


@console_bp.route("/<int:submission_id>/files/<int:file_id>")
@staff_required
@require(Permission.CONSOLE_KYC_REVIEW)
def file_download(submission_id: int, file_id: int) -> ResponseReturnValue:
    stored = _console_file(submission_id, file_id)
    return _file_response(services.read_file(_me(), stored, purpose="downloaded"))


@console_bp.route("/<int:submission_id>/files/<int:file_id>/preview")
@staff_required
@require(Permission.CONSOLE_KYC_REVIEW)
def file_preview(submission_id: int, file_id: int) -> ResponseReturnValue:
    stored = _console_file(submission_id, file_id)
    download = services.read_file(_me(), stored, purpose="previewed")
    return _file_response(download, inline=download.inline_ok)


@console_bp.route("/<int:submission_id>/approve", methods=["POST"])
@staff_required
@require(Permission.CONSOLE_KYC_REVIEW)
def approve(submission_id: int) -> ResponseReturnValue:
    submission = _reviewable(submission_id)
    try:
        services.approve(_me(), submission)
    except DomainError as exc:
        db.session.rollback()
        return _review_page(submission, {"form": [exc.message]}, exc.status_code)
    db.session.commit()
    flash("本人確認書類を承認し、「初期PIN登録のお願い」メールを送信しました。", "info")
    return redirect(url_for("kyc_console.submission", submission_id=submission.id))


@console_bp.route("/<int:submission_id>/reject", methods=["POST"])
@staff_required
@require(Permission.CONSOLE_KYC_REVIEW)
def reject(submission_id: int) -> ResponseReturnValue:
    submission = _reviewable(submission_id)
    try:
        form = RejectSchema().load(request.form.to_dict())
        services.reject(_me(), submission, form["reason"])
    except ValidationError as exc:
        return _review_page(submission, _flat(exc), 400)
    except DomainError as exc:
        db.session.rollback()
        return _review_page(submission, {exc.field or "form": [exc.message]}, exc.status_code)
    db.session.commit()
    flash("本人確認書類を差戻しました。", "info")
    return redirect(url_for("kyc_console.submission", submission_id=submission.id))


# --- CLI --------------------------------------------------------------------------------

@bp.cli.command("rescan")
def rescan_command() -> None:
    """Scan the quarantined uploads again (KYC-4)."""
    counts = services.rescan_all()
    click.echo("kyc rescan: " + (", ".join(f"{k}={v}" for k, v in sorted(counts.items()))
                                 or "nothing pending"))

