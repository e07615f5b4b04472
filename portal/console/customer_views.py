"""Customer search and the customer page (ADM-1, CO-1, #13 item 8)."""

from __future__ import annotations

from functools import partial
from typing import Any

from flask import current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from werkzeug.exceptions import HTTPException

from portal.auth.decorators import staff_required
from portal.blueprints import console_bp as bp
from portal.console import admin, customers
from portal.console import schemas as forms
from portal.console.admin_views import Errors, load_form
from portal.errors import DomainError
from portal.extensions import db
from portal.permissions import Permission, can, require

TERMINATE_PATH = "/console/companies/{id}/terminate"  # 利用終了（解約）, built by #14


def _me() -> Any:
    return current_user._get_current_object()


def _terminate_url(company_id: int) -> str | None:
    """The 解約 page once the retention work registers it (GET or POST)."""
    path = TERMINATE_PATH.format(id=company_id)
    adapter = current_app.url_map.bind("localhost")
    for method in ("GET", "POST"):
        try:
            adapter.match(path, method=method)
        except HTTPException:
            continue
        return path
    return None


@bp.route("/customers", endpoint="customers")
@staff_required
@require(Permission.CONSOLE_CUSTOMERS_VIEW)
def customers_list() -> ResponseReturnValue:
    criteria, errors = load_form(forms.CustomerSearchSchema(), request.args)
    rows, more = ([], False) if errors else customers.search(_me(), criteria.get("q"))
    return render_template("console/customers.html", rows=rows, more=more, errors=errors,
                           values=request.args, limit=customers.SEARCH_LIMIT), \
        400 if errors else 200


def _customer_page(company_id: int, errors: Errors | None = None,
                   values: Any = None) -> tuple[str, int]:
    me = _me()
    company = customers.company_for(me, company_id)
    view = customers.overview(company)
    if values is None:
        values = {"deposit_branch_id": str(company.deposit_branch_id or ""),
                  "is_debtor": "on" if company.is_debtor else ""}
    page = render_template(
        "console/customer.html", view=view, errors=errors or {}, values=values,
        branches=admin.branches(), terminate_url=_terminate_url(company.id),
        may_edit=can(me, Permission.CONSOLE_CUSTOMERS_EDIT, company), label=customers.label,
        package_visible=partial(customers.package_visible, me))
    return page, 400 if errors else 200


@bp.route("/companies/<int:company_id>")
@staff_required
@require(Permission.CONSOLE_CUSTOMERS_VIEW)
def customer(company_id: int) -> ResponseReturnValue:
    return _customer_page(company_id)


@bp.route("/companies/<int:company_id>/bank", methods=["POST"])
@staff_required
@require(Permission.CONSOLE_CUSTOMERS_EDIT)
def customer_bank_fields(company_id: int) -> ResponseReturnValue:
    data, errors = load_form(forms.BankFieldsSchema(), request.form)
    if not errors:
        try:
            customers.set_bank_fields(_me(), company_id, **data)
        except DomainError as exc:
            db.session.rollback()
            if exc.status_code == 404:
                raise
            errors = {exc.field or "_form": [exc.msgid]}
        else:
            db.session.commit()
            flash("お取引情報を登録しました。", "info")
            return redirect(url_for("console.customer", company_id=company_id))
    return _customer_page(company_id, errors, request.form)
