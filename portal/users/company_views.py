"""契約者情報変更 in MyPage (CO-1, CO-2): edit → 入力内容確認 → 登録."""

from __future__ import annotations

from typing import Any

from flask import abort, render_template, request
from flask.typing import ResponseReturnValue
from marshmallow import ValidationError

from portal.auth.decorators import customer_required
from portal.errors import DomainError
from portal.extensions import db
from portal.models import Company, CompanyKind, CustomerUser, StaffUser
from portal.users.blueprint import bp, field_errors, signed_in_customer
from portal.users.company import (
    MSG_COMPANY_BY_BANK,
    MSG_STALE,
    CompanyEditChannel,
    company_edit_channel,
    customer_may_edit_company,
    update_company,
)
from portal.users.schemas import COMPANY_LABELS, BusinessCompanySchema, IndividualCompanySchema


def company_schema(company: Company) -> type[BusinessCompanySchema | IndividualCompanySchema]:
    if CompanyKind(company.kind) is CompanyKind.INDIVIDUAL:
        return IndividualCompanySchema
    return BusinessCompanySchema


def company_values(company: Company) -> dict[str, Any]:
    return {
        "company_name": company.name, "company_name_kana": company.name_kana,
        "company_name_en": company.name_en, "postal_code": company.postal_code,
        "address": company.address, "phone": company.phone,
        "established_on": company.established_on.strftime("%Y%m%d")
        if company.established_on else "",
        "version": str(company.version),
    }


def form_version(raw: str | None) -> int | None:
    """The hidden ``version`` the form was rendered with; a tampered one is stale."""
    if not raw:
        return None
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 18):
        raise DomainError(MSG_STALE)
    return int(raw)


def edit_company_flow(actor: CustomerUser | StaffUser, company: Company, *, template_prefix: str,
                      base: str) -> ResponseReturnValue:
    """Shared by MyPage and the console: the same steps and schema."""
    schema = company_schema(company)
    fields = [k for k in COMPANY_LABELS if k in {f.data_key or n for n, f in
                                                 schema().fields.items()}]
    values = company_values(company)
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        values = {k: v for k, v in request.form.items() if k != "csrf_token"}
        step = values.pop("step", "confirm")
        version = values.pop("version", None)
        if step == "back":
            values["version"] = version or ""
            return render_template("users/company_edit.html", values=values, errors={},
                                   fields=fields, labels=COMPANY_LABELS, company=company,
                                   base=base, action=request.path)
        try:
            data = schema().load(values)
            if step == "register":
                result = update_company(actor, company, data,
                                                 version=form_version(version))
                db.session.commit()
                return render_template("users/company_done.html", result=result, base=base)
        except ValidationError as exc:
            errors = field_errors(exc)
        except DomainError as exc:
            db.session.rollback()
            errors = {exc.field or "_": [exc.message]}
        else:
            values["version"] = version or ""
            return render_template("users/company_confirm.html", values=values, fields=fields,
                                   labels=COMPANY_LABELS, company=company, base=base,
                                   action=request.path)
    values.setdefault("version", str(company.version))
    return render_template("users/company_edit.html", values=values, errors=errors,
                           fields=fields, labels=COMPANY_LABELS, company=company, base=base,
                           action=request.path), 400 if errors else 200


@bp.route("/company/edit", methods=["GET", "POST"])
@customer_required
def company_edit() -> ResponseReturnValue:
    me = signed_in_customer()
    company = me.company
    if company.id != me.company_id:
        abort(404)
    if not customer_may_edit_company(me, company):
        if company_edit_channel(company) is CompanyEditChannel.BANK:
            return render_template("error.html", code=403,
                                   message=MSG_COMPANY_BY_BANK), 403
        abort(403)
    return edit_company_flow(me, company, template_prefix="users", base="base.html")
