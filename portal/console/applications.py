"""Console: review of MyPage applications (APP-5). Staff see only their own
branch's applications; others look like "not found"."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from marshmallow import ValidationError
from sqlalchemy.orm.exc import StaleDataError

from portal import audit
from portal.auth.decorators import staff_required
from portal.blueprints import console_bp
from portal.errors import DomainError, StaleWrite
from portal.extensions import db
from portal.i18n import gettext
from portal.mypage import services
from portal.mypage.models import ApplicationState
from portal.mypage.schemas import IDENTITY_LABELS, KIND_LABELS, LABELS, RejectSchema, fields_for
from portal.permissions import Permission, require


@console_bp.route("/applications")
@staff_required
@require(Permission.CONSOLE_APPLICATIONS_REVIEW)
def applications() -> ResponseReturnValue:
    staff = current_user._get_current_object()
    return render_template("console/applications.html",
                           pending=services.pending_applications(staff),
                           reviewed=services.recent_reviewed(staff), kinds=KIND_LABELS,
                           states=ApplicationState)


def _detail(application_id: int, errors: dict[str, list[str]] | None = None,
            status: int = 200) -> ResponseReturnValue:
    staff = current_user._get_current_object()
    application = services.get_for_review(staff, application_id)
    data = services.application_data(application)
    return render_template(
        "console/application.html", application=application, data=data,
        fields=[f for f in fields_for(data["kind"]) if f != "email_confirm"], labels=LABELS,
        kinds=KIND_LABELS, identity_labels=IDENTITY_LABELS, errors=errors or {},
        state=ApplicationState(application.state)), status


@console_bp.route("/applications/<int:application_id>")
@staff_required
@require(Permission.CONSOLE_APPLICATIONS_REVIEW)
def application(application_id: int) -> ResponseReturnValue:
    """Every field of the application; the view of personal data is audited (AUD-1)."""
    staff = current_user._get_current_object()
    audit.record("application.viewed", actor=staff,
                 target=services.get_for_review(staff, application_id))
    db.session.commit()
    return _detail(application_id)


@console_bp.route("/applications/<int:application_id>/approve", methods=["POST"])
@staff_required
@require(Permission.CONSOLE_APPLICATIONS_REVIEW)
def application_approve(application_id: int) -> ResponseReturnValue:
    staff = current_user._get_current_object()
    application = services.get_for_review(staff, application_id)
    try:
        user = services.approve(application, actor=staff)
        db.session.commit()
    except StaleDataError:
        db.session.rollback()
        flash(StaleWrite().message, "error")
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "error")
    else:
        flash(gettext("承認しました。MyPageID %(mypage_id)s を発行し、"
                      "お客さまにメールを送信しました。", mypage_id=user.mypage_id), "info")
    return redirect(url_for("console.application", application_id=application_id))


@console_bp.route("/applications/<int:application_id>/reject", methods=["POST"])
@staff_required
@require(Permission.CONSOLE_APPLICATIONS_REVIEW)
def application_reject(application_id: int) -> ResponseReturnValue:
    staff = current_user._get_current_object()
    application = services.get_for_review(staff, application_id)
    try:
        data = RejectSchema().load({k: v for k, v in request.form.items() if k != "csrf_token"})
    except ValidationError as exc:
        return _detail(application_id, exc.messages_dict, 400)
    try:
        services.reject(application, actor=staff, reason=data["reason"])
        db.session.commit()
    except StaleDataError:
        db.session.rollback()
        flash(StaleWrite().message, "error")
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "error")
    else:
        flash("否認しました。お客さまに理由をメールで連絡しました。", "info")
    return redirect(url_for("console.application", application_id=application_id))
