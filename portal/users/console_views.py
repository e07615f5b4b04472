"""Bank console pages of the users area: company info edited by branch staff
(CO-1: debtors and same-branch customers) and deleting a user (USR-6: staff
may delete while a certificate request is in progress)."""

from __future__ import annotations

from flask import abort, render_template, request
from flask.typing import ResponseReturnValue
from flask_login import current_user
from sqlalchemy import select

from portal.auth.decorators import staff_required
from portal.blueprints import console_bp
from portal.certs.requests import open_cert_request
from portal.errors import DomainError
from portal.extensions import db
from portal.models import Company, CustomerUser, StaffUser, UserState
from portal.permissions import Permission, can, require
from portal.users import services
from portal.users.company import (
    MSG_COMPANY_BY_CUSTOMER,
    CompanyEditChannel,
    company_edit_channel,
)
from portal.users.company_views import edit_company_flow


def _staff() -> StaffUser:
    staff: StaffUser = current_user._get_current_object()
    return staff


def _company_for(staff: StaffUser, company_id: int) -> Company:
    company = db.session.get(Company, company_id)
    if company is None or not can(staff, Permission.CONSOLE_CUSTOMERS_VIEW, company):
        abort(404)
    return company


@console_bp.route("/companies/<int:company_id>/users")
@staff_required
@require(Permission.CONSOLE_CUSTOMERS_VIEW)
def company_users(company_id: int) -> ResponseReturnValue:
    staff = _staff()
    company = _company_for(staff, company_id)
    users = db.session.execute(select(CustomerUser).where(
        CustomerUser.company_id == company.id, CustomerUser.state == UserState.ACTIVE)
        .order_by(CustomerUser.id)).scalars().all()
    return render_template("users/console_company.html", company=company, users=users,
                           channel=company_edit_channel(company),
                           open_request=open_cert_request)


@console_bp.route("/companies/<int:company_id>/edit", methods=["GET", "POST"])
@staff_required
@require(Permission.CONSOLE_CUSTOMERS_EDIT)
def company_edit(company_id: int) -> ResponseReturnValue:
    staff = _staff()
    company = _company_for(staff, company_id)
    if company_edit_channel(company) is not CompanyEditChannel.BANK:
        return render_template("error.html", code=400,
                               message=MSG_COMPANY_BY_CUSTOMER), 400
    return edit_company_flow(staff, company, template_prefix="users", base="console/base.html")


@console_bp.route("/users/<int:user_id>/delete", methods=["GET", "POST"])
@staff_required
@require(Permission.CONSOLE_CUSTOMERS_EDIT)
def user_delete(user_id: int) -> ResponseReturnValue:
    staff = _staff()
    target = db.session.get(CustomerUser, user_id)
    if target is None or target.state != UserState.ACTIVE \
            or not can(staff, Permission.CONSOLE_CUSTOMERS_EDIT, target):
        abort(404)
    if request.method == "POST":
        try:
            services.delete_user(staff, target)
        except DomainError as exc:
            db.session.rollback()
            return render_template("error.html", code=exc.status_code,
                                   message=exc.message), exc.status_code
        db.session.commit()
        return render_template("users/console_delete_done.html", name=target.display_name,
                               company_id=target.company_id)
    return render_template("users/console_delete_confirm.html", target=target,
                           open_request=open_cert_request(target))
