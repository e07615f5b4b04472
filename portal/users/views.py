"""ユーザ情報の管理 (USR-3…USR-7): the list, ユーザ新規登録, ユーザ情報変更 and
削除. Thin: parse with a schema, call one service. The draft's PoA step is in
``poa_views``, 電子証明書発行依頼 in ``cert_request_views``, 契約者情報変更 in
``company_views``, the console's pages in ``console_views`` and MyPage's
登録情報の照会・変更 in ``settings_views``; importing this module registers them
all (on ``bp``, the console's and MyPage's blueprints)."""

from __future__ import annotations

from typing import Any

from flask import abort, render_template, request
from flask.typing import ResponseReturnValue
from marshmallow import ValidationError

from portal.auth.decorators import customer_required
from portal.certs.requests import open_cert_request
from portal.errors import DomainError
from portal.extensions import db
from portal.models import CustomerRole, CustomerUser
from portal.permissions import Permission, can
from portal.users import (
    cert_request_views,
    company_views,
    console_views,
    poa,
    poa_views,
    services,
    settings_views,
)
from portal.users.blueprint import (
    active_colleague_or_404,
    bp,
    field_errors,
    form_values,
    signed_in_customer,
)
from portal.users.cards import user_cards
from portal.users.company import company_edit_channel, customer_may_edit_company
from portal.users.models import DraftKind
from portal.users.poa_views import to_confirmation
from portal.users.schemas import (
    POA_CHOICES,
    ROLE_CHOICES,
    ROLE_HINTS,
    USER_LABELS,
    EditUserSchema,
    NewUserSchema,
)

# The view modules that add routes to ``bp`` (and the console's pages to the console's
# blueprint, registered after this one), imported for those routes: the PoA step,
# 契約者情報変更, and the 電子証明書発行依頼 pages; and MyPage's 登録情報の照会・変更
# (on MyPage's blueprint, registered after this one).
ROUTE_MODULES = (poa_views, company_views, console_views, cert_request_views, settings_views)


# --- list ------------------------------------------------------------------------------

@bp.route("/")
@customer_required
def index() -> ResponseReturnValue:
    """ユーザ情報の管理: one card per user with the buttons the actor may use."""
    me = signed_in_customer()
    return render_template("users/index.html", cards=user_cards(me), me=me, company=me.company,
                           can_create=services.may_create_user(me),
                           can_edit_company=customer_may_edit_company(me, me.company),
                           channel=company_edit_channel(me.company))


# --- new user (USR-3) --------------------------------------------------------------------

@bp.route("/new", methods=["GET", "POST"])
@customer_required
def create() -> ResponseReturnValue:
    me = signed_in_customer()
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
        values = form_values()
        try:
            data = NewUserSchema().load(values)
            draft = services.start_new_user(me, data)
        except ValidationError as exc:
            errors = field_errors(exc)
        except DomainError as exc:
            errors = {exc.field or "_": [exc.message]}
        else:
            outcome = to_confirmation(me, draft)
            if not isinstance(outcome, str):
                return outcome
            errors = {"file": [outcome]}
    return render_template("users/form.html", values=values, errors=errors,
                           roles=ROLE_CHOICES, role_hints=ROLE_HINTS, poa_choices=POA_CHOICES,
                           labels=USER_LABELS), 400 if errors else 200


def _draft_values(me: CustomerUser, handle: str, kind: DraftKind) -> dict[str, Any] | None:
    try:
        draft = poa.get_draft(me, handle, kind)
    except DomainError:
        return None
    return poa.draft_data(draft)



@bp.route("/created/<int:user_id>")
@customer_required
def created(user_id: int) -> ResponseReturnValue:
    me = signed_in_customer()
    user = services.get_user_for(me, Permission.USERS_EDIT, user_id)
    return render_template("users/created.html", user=user)



# --- edit (USR-5) ------------------------------------------------------------------------

@bp.route("/<int:user_id>/edit", methods=["GET", "POST"])
@customer_required
def edit(user_id: int) -> ResponseReturnValue:
    """ユーザ情報変更 → 入力内容確認 → 登録."""
    me = signed_in_customer()
    target = services.get_user_for(me, Permission.USERS_EDIT, user_id)
    errors: dict[str, list[str]] = {}
    values: dict[str, Any] = _user_values(target)
    if request.method == "POST":
        values = form_values()
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
            errors = field_errors(exc)
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
def delete(user_id: int) -> ResponseReturnValue:
    me = signed_in_customer()
    target = active_colleague_or_404(me, user_id)
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
        elif open_cert_request(target) is not None:
            message = services.MSG_DELETE_CERT_PENDING
        elif not can(me, Permission.USERS_DELETE, target):
            abort(403)
        else:
            message = services.MSG_DELETE_LAST_REP
        return render_template("error.html", code=400, message=message), 400
    return render_template("users/delete_confirm.html", target=target)

