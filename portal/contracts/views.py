"""MyPage contract screens (CON-4, CON-5, CON-7, CON-8): lists, the package
page, the confirmation steps, the signing dialog, rejection, downloads."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from flask import (
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_login import current_user
from marshmallow import ValidationError

from portal import notices
from portal.auth.decorators import customer_required
from portal.certs import dialog
from portal.certs.dialog import Outcome, Step
from portal.errors import DomainError, NotFound
from portal.extensions import db
from portal.i18n import get_locale, translator
from portal.validation import first_errors
from portal.web import date_jst, yen

from . import (
    console_views,
    services,
)
from .archive import archive_name, start_download, stream_zip
from .blueprint import bp, pdf_response
from .cli import register as register_cli
from .evidence import certificate_pdf
from .report import report_pdf
from .schemas import ConfirmSchema, OtpSchema, PinSchema, RejectSchema, load_search
from .search import Criteria, ListKind, ListPackage, ListParty, customer_rows
from .signing_flow import ContractSigning

# Imported for the routes it adds to the console's blueprint (registered after this one).
ROUTE_MODULES = (console_views,)

@bp.app_context_processor
def _notice_subjects() -> dict[str, Any]:
    """HOME names each contract notice's package (#13 item 12, ``notices.subjects``)."""
    return {"notice_subjects": notices.subjects}
register_cli(bp)


def _me() -> Any:
    return current_user._get_current_object()


def _list(kind: ListKind) -> ResponseReturnValue:
    errors: dict[str, str] = {}
    try:
        criteria = Criteria.from_form(load_search(request.args))
    except ValidationError as exc:
        errors = first_errors(exc.messages_dict)
        criteria = Criteria()
    page = customer_rows(_me(), kind, criteria)
    return render_template("contracts/list.html", kind=kind, page=page, errors=errors,
                           values=request.args, rows=_shown_rows(page.rows)), \
        400 if errors else 200


@dataclass(frozen=True, slots=True)
class ShownRow:
    """One row of a contract list (CON-7) as the page shows it, in the visitor's
    language: formatted here once, not through a template call per cell."""

    package_id: int
    href: str
    application_date: str
    summary: str
    loan_amount: str
    planned_loan_date: str
    position: str
    party_state: str
    progress: str
    staff: Any


def _shown_rows(rows: list[tuple[ListParty, ListPackage]]) -> list[ShownRow]:
    _ = translator(get_locale())
    # The link of each row (/contracts/<id>): the route is built once per page,
    # not once per row (werkzeug's URL building is a good part of the list's time).
    prefix = url_for("contracts.package", package_id=0).removesuffix("0")
    personal = _("（個人）")
    return [
        ShownRow(package.id, f"{prefix}{int(package.id)}", date_jst(package.application_date),
                 _(package.summary_label), yen(package.loan_amount),
                 date_jst(package.planned_loan_date),
                 _(party.position_label) + (personal if party.user_id else ""),
                 _(party.state_label), _(package.state_label), package.staff_label)
        for party, package in rows
    ]


@bp.route("/to-sign")
@customer_required
def to_sign() -> ResponseReturnValue:
    return _list(ListKind.TO_SIGN)


@bp.route("/active")
@customer_required
def active() -> ResponseReturnValue:
    return _list(ListKind.ACTIVE)


@bp.route("/finished")
@customer_required
def finished() -> ResponseReturnValue:
    return _list(ListKind.FINISHED)


@bp.route("/archive.zip")
@customer_required
def archive() -> ResponseReturnValue:
    """契約書を一括ダウンロード (#14 item 6): every concluded and finished package's
    signed PDFs and verification report, streamed as one ZIP."""
    packages = start_download(_me())
    if not packages:
        db.session.rollback()
        flash("ダウンロードできる契約書がありません。", "info")
        return redirect(request.referrer if _same_site(request.referrer) else
                        url_for("contracts.active"))
    db.session.commit()  # the audit entry; nothing stays open while the archive streams
    response = Response(stream_with_context(stream_zip(packages)), mimetype="application/zip")
    response.headers["Content-Disposition"] = (
        f"attachment; filename=\"contracts.zip\"; filename*=UTF-8''{quote(archive_name())}")
    response.headers["Cache-Control"] = "no-store"
    return response


def _same_site(url: str | None) -> bool:
    return bool(url and url.startswith(request.host_url))


@bp.route("/<int:package_id>")
@customer_required
def package(package_id: int) -> ResponseReturnValue:
    pkg, parties = services.customer_package(_me(), package_id)
    return render_template("contracts/package.html", package=pkg, my_parties=parties,
                           to_sign=services.party_to_sign(_me(), pkg),
                           opened=services.opened_document_ids(_me(), pkg))


@bp.route("/<int:package_id>/documents/<int:document_id>")
@customer_required
def document(package_id: int, document_id: int) -> ResponseReturnValue:
    pkg, _ = services.customer_package(_me(), package_id)
    download = request.args.get("download") == "1"
    doc, data = services.open_document(_me(), pkg, document_id, download=download)
    db.session.commit()
    return pdf_response(data, f"{doc.title}.pdf", download=download)


@bp.route("/<int:package_id>/confirm", methods=["GET", "POST"])
@customer_required
def confirm(package_id: int) -> ResponseReturnValue:
    pkg, _ = services.customer_package(_me(), package_id)
    errors: dict[str, str] = {}
    if request.method == "POST":
        try:
            data = ConfirmSchema().load(request.form)
            services.confirm(_me(), pkg, important=data["important_confirmed"],
                             documents=data["documents_confirmed"])
        except ValidationError as exc:
            errors = first_errors(exc.messages_dict)
        except DomainError as exc:
            if exc.field is None:
                raise
            db.session.rollback()
            errors = {exc.field: exc.message}
        else:
            db.session.commit()
            return redirect(url_for("contracts.sign_pin", package_id=pkg.id))
    party = services._require_signable(_me(), pkg)  # noqa: SLF001  (refuses when not signable)
    return render_template("contracts/confirm.html", package=pkg, party=party, errors=errors,
                           opened=services.opened_document_ids(_me(), pkg),
                           values=request.form, reject_errors={}), 400 if errors else 200


@bp.route("/<int:package_id>/reject", methods=["POST"])
@customer_required
def reject(package_id: int) -> ResponseReturnValue:
    pkg, _ = services.customer_package(_me(), package_id)
    try:
        data = RejectSchema().load(request.form)
        services.reject(_me(), pkg, data["comment"])
    except ValidationError as exc:
        party = services._require_signable(_me(), pkg)  # noqa: SLF001
        return render_template("contracts/confirm.html", package=pkg, party=party, errors={},
                               opened=services.opened_document_ids(_me(), pkg), values={},
                               reject_errors=first_errors(exc.messages_dict)), 400
    db.session.commit()
    flash("契約を否認しました。今回の契約は不成立となりました。", "info")
    return redirect(url_for("contracts.finished"))


# --- the signing dialog (PIN → code → 電子署名; portal.certs.dialog, SIGN-2) ----------------

_DIALOG_PAGES = {Step.PIN: "contracts/sign_pin.html", Step.CODE: "contracts/sign_code.html",
                 Step.SIGN: "contracts/sign_execute.html"}
_DIALOG_ROUTES = {Step.PIN: "contracts.sign_pin", Step.CODE: "contracts.sign_code",
                  Step.SIGN: "contracts.sign_execute", Step.DONE: "contracts.sign_done"}


def _subject(package_id: int, *, lock: bool = False) -> ContractSigning:
    """The package loaded and checked once for this request, with the client's
    address and browser for the 締結証明書 (#16 item 4)."""
    return ContractSigning.open(_me(), package_id, lock=lock, ip=request.remote_addr or "",
                                user_agent=request.user_agent.string)


def _dialog_page(subject: ContractSigning, step: Step,
                 errors: dict[str, str] | None = None) -> ResponseReturnValue:
    return render_template(_DIALOG_PAGES[step], package=subject.package, errors=errors or {},
                           error=None), 400 if errors else 200


def _go(step: Step, package_id: int) -> ResponseReturnValue:
    return redirect(url_for(_DIALOG_ROUTES[step], package_id=package_id))


def _answer(subject: ContractSigning, outcome: Outcome[Any]) -> ResponseReturnValue:
    """A step done goes to the next page; a refusal shows the page of the step the
    dialog sends the user back to, with the message on its field."""
    if outcome.error is None:
        return _go(outcome.step, subject.package.id)
    field = "otp" if outcome.step is Step.CODE else "pin"
    return _dialog_page(subject, outcome.step, {field: outcome.error.shown()})


@bp.route("/<int:package_id>/sign/pin", methods=["GET", "POST"])
@customer_required
def sign_pin(package_id: int) -> ResponseReturnValue:
    subject = _subject(package_id)
    if request.method == "GET":
        return _dialog_page(subject, Step.PIN)
    try:
        data = PinSchema().load(request.form)
    except ValidationError as exc:
        return _dialog_page(subject, Step.PIN, first_errors(exc.messages_dict))
    return _answer(subject, dialog.send(_me(), subject, data["pin"]))


@bp.route("/<int:package_id>/sign/code", methods=["GET", "POST"])
@customer_required
def sign_code(package_id: int) -> ResponseReturnValue:
    subject = _subject(package_id)
    at = dialog.step_of(_me(), subject.purpose)
    if at is not Step.CODE:
        return _go(at, package_id)
    if request.method == "GET":
        return _dialog_page(subject, Step.CODE)
    try:
        data = OtpSchema().load(request.form)
    except ValidationError as exc:
        return _dialog_page(subject, Step.CODE, first_errors(exc.messages_dict))
    return _answer(subject, dialog.check_code(_me(), subject, data["otp"]))


@bp.route("/<int:package_id>/sign/execute", methods=["GET", "POST"])
@customer_required
def sign_execute(package_id: int) -> ResponseReturnValue:
    subject = _subject(package_id, lock=request.method == "POST")
    at = dialog.step_of(_me(), subject.purpose)
    if at is not Step.SIGN:
        return _go(at, package_id)
    if request.method == "GET":
        return _dialog_page(subject, Step.SIGN)
    return _answer(subject, dialog.sign(_me(), subject))


@bp.route("/<int:package_id>/sign/done")
@customer_required
def sign_done(package_id: int) -> ResponseReturnValue:
    pkg, _ = services.customer_package(_me(), package_id)
    return render_template("contracts/sign_done.html", package=pkg)


@bp.route("/<int:package_id>/report.pdf")
@customer_required
def report(package_id: int) -> ResponseReturnValue:
    pkg, _ = services.customer_package(_me(), package_id)
    try:
        data = report_pdf(pkg, actor=_me())
    except NotFound:
        abort(404)
    db.session.commit()
    return pdf_response(data, f"署名検証レポート_{pkg.id}.pdf", download=True)


@bp.route("/<int:package_id>/evidence.pdf")
@customer_required
def evidence_certificate(package_id: int) -> ResponseReturnValue:
    """締結証明書 (#16 item 4): the same permission as the report."""
    pkg, _ = services.customer_package(_me(), package_id)
    data = certificate_pdf(pkg, actor=_me())
    db.session.commit()
    return pdf_response(data, f"締結証明書_{pkg.id}.pdf", download=True)
