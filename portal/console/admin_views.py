"""Bank administrator pages (ADM-1, #13 item 7): branches, staff accounts and
system notices. Bank administrators only (``portal.permissions``)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from marshmallow import Schema, ValidationError

from portal.auth.decorators import staff_required
from portal.blueprints import console_bp as bp
from portal.clock import to_jst
from portal.console import admin
from portal.console import schemas as forms
from portal.errors import DomainError
from portal.extensions import db
from portal.permissions import Permission, require

Errors = dict[str, list[str]]


def _me() -> Any:
    return current_user._get_current_object()


def load_form(schema: Schema, form: Mapping[str, str]) -> tuple[dict[str, Any], Errors]:
    """Only the schema's fields; an empty optional value counts as not given."""
    raw = {k: v for k, v in form.items() if k in schema.fields and v != ""}
    try:
        return schema.load(raw), {}
    except ValidationError as exc:
        return {}, exc.messages_dict


def save(schema: Schema, action: Callable[..., Any], done: str) -> tuple[Any, Errors]:
    """Parse the posted form and run ``action(actor, **data)``: its result
    after a commit, or the field errors (a DomainError names its field)."""
    data, errors = load_form(schema, request.form)
    if errors:
        return None, errors
    try:
        result = action(_me(), **data)
    except DomainError as exc:
        db.session.rollback()
        if exc.status_code == 404:
            raise
        return None, {exc.field or "_form": [exc.msgid]}
    db.session.commit()
    flash(done, "info")
    return result, {}


def _page(template: str, errors: Errors, **context: Any) -> tuple[str, int]:
    return render_template(template, errors=errors, **context), 400 if errors else 200


def _one_time_password(staff: Any, password: str, title: str) -> tuple[str, int, dict[str, str]]:
    page = render_template("console/staff_password.html", staff=staff, password=password,
                           title=title)
    return page, 200, {"Cache-Control": "no-store"}


# --- branches ----------------------------------------------------------------------------

@bp.route("/branches", methods=["GET", "POST"])
@staff_required
@require(Permission.CONSOLE_STAFF_MANAGE)
def branches() -> ResponseReturnValue:
    errors: Errors = {}
    if request.method == "POST":
        _, errors = save(forms.BranchCreateSchema(), admin.create_branch, "支店を登録しました。")
        if not errors:
            return redirect(url_for("console.branches"))
    return _page("console/branches.html", errors, rows=admin.branches(),
                 values=request.form if errors else {})


@bp.route("/branches/<int:branch_id>", methods=["GET", "POST"])
@staff_required
@require(Permission.CONSOLE_STAFF_MANAGE)
def branch_edit(branch_id: int) -> ResponseReturnValue:
    branch = admin.get_branch(branch_id)
    errors: Errors = {}
    if request.method == "POST":
        _, errors = save(forms.BranchRenameSchema(),
                         lambda actor, **data: admin.rename_branch(actor, branch_id, **data),
                         "支店名を変更しました。")
        if not errors:
            return redirect(url_for("console.branches"))
    values = request.form if errors else {"name": branch.name}
    return _page("console/branch_edit.html", errors, branch=branch, values=values)


# --- staff accounts ----------------------------------------------------------------------

def _staff_context() -> dict[str, Any]:
    return {"branches": admin.branches(), "role_labels": admin.ROLE_LABELS}


@bp.route("/staff")
@staff_required
@require(Permission.CONSOLE_STAFF_MANAGE)
def staff_list() -> ResponseReturnValue:
    return render_template("console/staff_list.html", rows=admin.staff_members(),
                           **_staff_context())


@bp.route("/staff/new", methods=["GET", "POST"])
@staff_required
@require(Permission.CONSOLE_STAFF_MANAGE)
def staff_new() -> ResponseReturnValue:
    errors: Errors = {}
    if request.method == "POST":
        created, errors = save(forms.StaffCreateSchema(), admin.create_staff,
                               "担当者を登録しました。")
        if not errors:
            staff, password = created
            return _one_time_password(staff, password, "担当者を登録しました")
    return _page("console/staff_form.html", errors, staff=None,
                 values=request.form if errors else {}, **_staff_context())


@bp.route("/staff/<int:staff_id>", methods=["GET", "POST"])
@staff_required
@require(Permission.CONSOLE_STAFF_MANAGE)
def staff_edit(staff_id: int) -> ResponseReturnValue:
    staff = admin.get_staff(staff_id)
    errors: Errors = {}
    if request.method == "POST":
        _, errors = save(forms.StaffSchema(),
                         lambda actor, **data: admin.update_staff(actor, staff_id, **data),
                         "担当者の情報を変更しました。")
        if not errors:
            return redirect(url_for("console.staff_list"))
    values = request.form if errors else {
        "name": staff.name, "email": staff.email, "role": staff.role.value,
        "branch_id": str(staff.branch_id or "")}
    return _page("console/staff_form.html", errors, staff=staff, values=values,
                 **_staff_context())


def _staff_action(staff_id: int, action: Callable[[Any], Any], done: str) -> Any:
    try:
        result = action(_me())
    except DomainError as exc:
        db.session.rollback()
        if exc.status_code == 404:
            raise
        flash(exc.msgid, "error")
        return None
    db.session.commit()
    flash(done, "info")
    return result


@bp.route("/staff/<int:staff_id>/disable", methods=["POST"])
@staff_required
@require(Permission.CONSOLE_STAFF_MANAGE)
def staff_disable(staff_id: int) -> ResponseReturnValue:
    _staff_action(staff_id, lambda me: admin.set_staff_active(me, staff_id, active=False),
                  "アカウントを利用停止にしました。")
    return redirect(url_for("console.staff_list"))


@bp.route("/staff/<int:staff_id>/enable", methods=["POST"])
@staff_required
@require(Permission.CONSOLE_STAFF_MANAGE)
def staff_enable(staff_id: int) -> ResponseReturnValue:
    _staff_action(staff_id, lambda me: admin.set_staff_active(me, staff_id, active=True),
                  "アカウントの利用を再開しました。")
    return redirect(url_for("console.staff_list"))


@bp.route("/staff/<int:staff_id>/password", methods=["POST"])
@staff_required
@require(Permission.CONSOLE_STAFF_MANAGE)
def staff_password(staff_id: int) -> ResponseReturnValue:
    result = _staff_action(staff_id, lambda me: admin.reset_staff_password(me, staff_id),
                           "仮パスワードを再発行しました。")
    if result is None:
        return redirect(url_for("console.staff_list"))
    staff, password = result
    return _one_time_password(staff, password, "仮パスワードを再発行しました")


# --- system notices ----------------------------------------------------------------------

def _notice_values(notice: Any) -> dict[str, str]:
    return {"title": notice.title, "body": notice.body,
            "starts_at": to_jst(notice.starts_at).strftime("%Y-%m-%dT%H:%M"),
            "ends_at": to_jst(notice.ends_at).strftime("%Y-%m-%dT%H:%M")}


@bp.route("/notices", methods=["GET", "POST"])
@staff_required
@require(Permission.CONSOLE_NOTICES)
def notices() -> ResponseReturnValue:
    errors: Errors = {}
    if request.method == "POST":
        _, errors = save(forms.SystemNoticeSchema(), admin.create_notice,
                         "お知らせを登録しました。")
        if not errors:
            return redirect(url_for("console.notices"))
    return _page("console/notices.html", errors, rows=admin.notices(),
                 values=request.form if errors else {})


@bp.route("/notices/<int:notice_id>", methods=["GET", "POST"])
@staff_required
@require(Permission.CONSOLE_NOTICES)
def notice_edit(notice_id: int) -> ResponseReturnValue:
    notice = admin.get_notice(notice_id)
    errors: Errors = {}
    if request.method == "POST":
        _, errors = save(forms.SystemNoticeSchema(),
                         lambda actor, **data: admin.update_notice(actor, notice_id, **data),
                         "お知らせを変更しました。")
        if not errors:
            return redirect(url_for("console.notices"))
    values = request.form if errors else _notice_values(notice)
    return _page("console/notice_edit.html", errors, notice=notice, values=values)


@bp.route("/notices/<int:notice_id>/delete", methods=["POST"])
@staff_required
@require(Permission.CONSOLE_NOTICES)
def notice_delete(notice_id: int) -> ResponseReturnValue:
    admin.delete_notice(_me(), notice_id)
    db.session.commit()
    flash("お知らせを削除しました。", "info")
    return redirect(url_for("console.notices"))
