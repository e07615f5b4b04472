"""Bank console screens for contract packages (CON-1, CON-3, CON-6, CON-8, CON-9).

Registered on the console blueprint; only staff of the package's branch reach
a package (``get_or_404_for``: another branch's package looks like "not found").
"""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from marshmallow import ValidationError

from portal import audit
from portal.auth.decorators import staff_required
from portal.blueprints import console_bp
from portal.errors import DomainError
from portal.extensions import db
from portal.filestore import get_file_store
from portal.models import CustomerUser
from portal.permissions import Permission, can, get_or_404_for, require
from portal.validation import first_errors

from . import longterm, services, signing
from .blueprint import pdf_response
from .evidence import certificate_pdf
from .models import ContractPackage, SigningPosition, SummaryType
from .report import report_pdf
from .schemas import (
    MAX_PARTIES,
    ConcludeSchema,
    DocumentTitleSchema,
    load_package_form,
    load_search,
)
from .search import Criteria, ListKind, staff_rows
from .states import PackageState
from .uploads import InspectedPdf, PdfInfected, inspect_pdf


def _me() -> Any:
    return current_user._get_current_object()


def _package(package_id: int, permission: Permission = Permission.CONSOLE_CONTRACTS_PREPARE
             ) -> ContractPackage:
    return get_or_404_for(_me(), permission, ContractPackage, package_id)


@console_bp.route("/contracts")
@staff_required
@require(Permission.CONSOLE_CONTRACTS_PREPARE)
def contracts() -> ResponseReturnValue:
    errors: dict[str, str] = {}
    try:
        criteria = Criteria.from_form(load_search(request.args))
    except ValidationError as exc:
        errors = first_errors(exc.messages_dict)
        criteria = Criteria()
    state = request.args.get("state") or None
    state_filter = PackageState(state) if state in set(PackageState) else None
    page = staff_rows(_me(), ListKind.ALL, criteria, state=state_filter)
    return render_template("contracts/console_list.html", page=page, errors=errors,
                           values=request.args, states=list(PackageState)), 400 if errors else 200


def _files(required: bool, package: ContractPackage | None = None
           ) -> tuple[services.PackageFiles, dict[str, str]]:
    errors: dict[str, str] = {}
    contracts: list[InspectedPdf] = []
    for storage in request.files.getlist("contract_files"):
        if not storage or not storage.filename:
            continue
        try:
            contracts.append(inspect_pdf(storage.filename, storage.read(), label="契約書",
                                         field="contract_files", actor=_me(), package=package))
        except PdfInfected as exc:
            _keep_infected_audit()
            errors["contract_files"] = exc.message
        except DomainError as exc:
            errors["contract_files"] = exc.message
    important = None
    important_upload = request.files.get("important_file")
    if important_upload and important_upload.filename:
        try:
            important = inspect_pdf(important_upload.filename, important_upload.read(),
                                    label="重要事項説明",
                                    field="important_file", actor=_me(), package=package)
        except PdfInfected as exc:
            _keep_infected_audit()
            errors["important_file"] = exc.message
        except DomainError as exc:
            errors["important_file"] = exc.message
    if required and not contracts and "contract_files" not in errors:
        errors["contract_files"] = "契約書（PDF）を1件以上選択してください。"
    if required and important is None and "important_file" not in errors:
        errors["important_file"] = "重要事項説明（PDF）を選択してください。"
    return services.PackageFiles(contracts, important), errors


def _keep_infected_audit() -> None:
    """``contract.file.infected`` is kept even though the form is refused
    (nothing else is written yet)."""
    db.session.commit()


def _form_context(values: Any, errors: dict[str, str], package: ContractPackage | None = None
                  ) -> dict[str, Any]:
    me = _me()
    companies = services.branch_companies(me)
    signers = {c.id: [u for u in c.users if u.is_active and u.role.can_sign] for c in companies}
    return dict(values=values, errors=errors, package=package, companies=companies,
                signers=signers, staff_list=services.branch_staff(me),
                summary_types=list(SummaryType), positions=list(SigningPosition),
                cancellable=services.cancellable_packages(me), max_parties=MAX_PARTIES)


def _save_form(package: ContractPackage | None) -> ResponseReturnValue:
    errors: dict[str, str] = {}
    data: dict[str, Any] = {}
    try:
        data = load_package_form(request.form)
    except ValidationError as exc:
        errors = first_errors(exc.messages_dict)
    files, file_errors = _files(required=package is None, package=package)
    errors.update(file_errors)
    if not errors:
        try:
            if package is None:
                package = services.create_package(_me(), data, files)
            else:
                services.update_package(_me(), package, data, files)
        except DomainError as exc:
            db.session.rollback()
            if exc.field is None:
                raise
            errors[exc.field] = exc.message
        else:
            db.session.commit()
            flash("案件を保存しました（作成中）。内容を確認して「送付」してください。", "info")
            return redirect(url_for("console.contract_detail", package_id=package.id))
    return render_template("contracts/console_form.html",
                           **_form_context(request.form, errors, package),
                           chosen_files=_chosen_files()), 400


def _chosen_files() -> dict[str, str]:
    """The names of the files chosen for a refused submit: a browser cannot fill a
    file input again, so the form says which ones must be chosen again (#13 item 15)."""
    chosen: dict[str, str] = {}
    for field in ("contract_files", "important_file"):
        names = [f.filename[:100] for f in request.files.getlist(field) if f and f.filename]
        if names:
            chosen[field] = "、".join(names)
    return chosen


@console_bp.route("/contracts/new", methods=["GET", "POST"])
@staff_required
@require(Permission.CONSOLE_CONTRACTS_PREPARE)
def contract_new() -> ResponseReturnValue:
    if request.method == "POST":
        return _save_form(None)
    values = {"staff_in_charge_id": str(_me().id)}
    return render_template("contracts/console_form.html", **_form_context(values, {}))


def _values_of(package: ContractPackage) -> dict[str, Any]:
    values: dict[str, Any] = {
        "application_date": package.application_date.isoformat(),
        "summary_type": package.summary_type,
        "loan_amount": str(package.loan_amount or ""),
        "planned_loan_date": package.planned_loan_date.isoformat()
        if package.planned_loan_date else "",
        "staff_in_charge_id": str(package.staff_in_charge_id),
        "cancels_package_id": str(package.cancels_package_id or ""),
    }
    for n, party in enumerate(package.parties):
        values[f"party-{n}-company"] = str(party.company_id)
        values[f"party-{n}-position"] = party.signing_position
        values[f"party-{n}-user"] = str(party.user_id or "")
    return values


@console_bp.route("/contracts/<int:package_id>/edit", methods=["GET", "POST"])
@staff_required
@require(Permission.CONSOLE_CONTRACTS_PREPARE)
def contract_edit(package_id: int) -> ResponseReturnValue:
    package = _package(package_id)
    if package.state != PackageState.DRAFT:
        raise DomainError("送付済みの案件は編集できません。")
    if request.method == "POST":
        return _save_form(package)
    return render_template("contracts/console_form.html",
                           **_form_context(_values_of(package), {}, package))


@console_bp.route("/contracts/<int:package_id>")
@staff_required
@require(Permission.CONSOLE_CONTRACTS_PREPARE)
def contract_detail(package_id: int) -> ResponseReturnValue:
    package = _package(package_id)
    return render_template("contracts/console_detail.html", package=package, errors={},
                           active_listing=services.is_active_listing(package))


@console_bp.route("/contracts/<int:package_id>/documents/<int:document_id>/title",
                  methods=["POST"])
@staff_required
@require(Permission.CONSOLE_CONTRACTS_PREPARE)
def contract_document_title(package_id: int, document_id: int) -> ResponseReturnValue:
    """書類名 (#13 item 13): staff name a document of a package being prepared."""
    package = _package(package_id)
    try:
        data = DocumentTitleSchema().load(request.form)
    except ValidationError as exc:
        return render_template("contracts/console_detail.html", package=package,
                               errors={f"title-{document_id}": first_errors(
                                   exc.messages_dict)["title"]},
                               active_listing=services.is_active_listing(package)), 400
    services.rename_document(_me(), package, document_id, data["title"])
    db.session.commit()
    flash("書類名を変更しました。", "info")
    return redirect(url_for("console.contract_detail", package_id=package_id))


@console_bp.route("/contracts/<int:package_id>/send", methods=["POST"])
@staff_required
@require(Permission.CONSOLE_CONTRACTS_PREPARE)
def contract_send(package_id: int) -> ResponseReturnValue:
    services.send_package(_me(), _package(package_id))
    db.session.commit()
    flash("案件を送付しました。各当事者の署名ユーザにメールとお知らせを送信しました。", "info")
    return redirect(url_for("console.contract_detail", package_id=package_id))


@console_bp.route("/contracts/<int:package_id>/withdraw", methods=["POST"])
@staff_required
@require(Permission.CONSOLE_CONTRACTS_PREPARE)
def contract_withdraw(package_id: int) -> ResponseReturnValue:
    services.withdraw_package(_me(), _package(package_id))
    db.session.commit()
    flash("案件を取り下げました。", "info")
    return redirect(url_for("console.contract_detail", package_id=package_id))


@console_bp.route("/contracts/<int:package_id>/conclude", methods=["POST"])
@staff_required
@require(Permission.CONSOLE_CONTRACTS_CONCLUDE)
def contract_conclude(package_id: int) -> ResponseReturnValue:
    package = _package(package_id, Permission.CONSOLE_CONTRACTS_CONCLUDE)
    try:
        data = ConcludeSchema().load(request.form)
        signing.conclude(_me(), package.id, data["password"])
    except ValidationError as exc:
        return render_template("contracts/console_detail.html", package=package,
                               errors=first_errors(exc.messages_dict),
                               active_listing=False), 400
    except DomainError as exc:
        if exc.field is None:
            raise
        package = _package(package_id, Permission.CONSOLE_CONTRACTS_CONCLUDE)
        return render_template("contracts/console_detail.html", package=package,
                               errors={exc.field: exc.message}, active_listing=False), 400
    db.session.commit()
    flash("契約を締結しました。当事者に締結のお知らせとメールを送信しました。", "info")
    return redirect(url_for("console.contract_detail", package_id=package_id))


@console_bp.route("/contracts/<int:package_id>/repaid", methods=["POST"])
@staff_required
@require(Permission.CONSOLE_CONTRACTS_CONCLUDE)
def contract_repaid(package_id: int) -> ResponseReturnValue:
    services.record_repayment(_me(), _package(package_id, Permission.CONSOLE_CONTRACTS_CONCLUDE))
    db.session.commit()
    flash("完済を登録しました。", "info")
    return redirect(url_for("console.contract_detail", package_id=package_id))


@console_bp.route("/contracts/<int:package_id>/documents/<int:document_id>")
@staff_required
@require(Permission.CONSOLE_CONTRACTS_PREPARE)
def contract_document(package_id: int, document_id: int) -> ResponseReturnValue:
    package = _package(package_id)
    document = next((d for d in package.documents if d.id == document_id), None)
    if document is None:
        abort(404)
    data = get_file_store().get(document.current_key)
    audit.record("contract.document.viewed", actor=_me(), target=document,
                 detail={"package": package.id})
    db.session.commit()
    return pdf_response(data, f"{document.title}.pdf",
                        download=request.args.get("download") == "1")


@console_bp.route("/contracts/<int:package_id>/report.pdf")
@staff_required
@require(Permission.CONSOLE_CONTRACTS_PREPARE)
def contract_report(package_id: int) -> ResponseReturnValue:
    package = _package(package_id)
    data = report_pdf(package, actor=_me())
    db.session.commit()
    return pdf_response(data, f"署名検証レポート_{package.id}.pdf", download=True)


@console_bp.route("/contracts/<int:package_id>/evidence.pdf")
@staff_required
@require(Permission.CONSOLE_CONTRACTS_PREPARE)
def contract_evidence(package_id: int) -> ResponseReturnValue:
    """締結証明書 (#16 item 4): the same permission as the report."""
    package = _package(package_id)
    data = certificate_pdf(package, actor=_me())
    db.session.commit()
    return pdf_response(data, f"締結証明書_{package.id}.pdf", download=True)


def signer_label(user: CustomerUser) -> str:
    return f"{user.display_name}（{user.role.label}）"


# --- SIGN-6: alerts of the long-term validation (bank administrators) -------------------

@console_bp.context_processor
def _longterm_banner() -> dict[str, Any]:
    def open_alerts() -> int:
        if not can(_me(), Permission.CONSOLE_AUDIT_READ):
            return 0
        return longterm.open_alert_count()

    return {"longterm_open_alerts": open_alerts}


@console_bp.route("/contracts/longterm-alerts")
@staff_required
@require(Permission.CONSOLE_AUDIT_READ)
def longterm_alerts() -> ResponseReturnValue:
    show_all = request.args.get("all") == "1"
    return render_template("contracts/longterm_alerts.html", show_all=show_all,
                           alerts=longterm.alerts(include_acknowledged=show_all))


@console_bp.route("/contracts/longterm-alerts/<int:alert_id>/acknowledge", methods=["POST"])
@staff_required
@require(Permission.CONSOLE_AUDIT_READ)
def longterm_alert_acknowledge(alert_id: int) -> ResponseReturnValue:
    longterm.acknowledge(_me(), alert_id)
    db.session.commit()
    flash("アラートを確認済みにしました。", "info")
    return redirect(url_for("console.longterm_alerts"))
