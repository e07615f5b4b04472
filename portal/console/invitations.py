"""Console: 利用登録お手続きのご案内 (APP-1): a URL and a QR code (PNG, SVG)
that open the application form with the staff member's branch preset."""

from __future__ import annotations

import io

import qrcode
import qrcode.image.svg
from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from marshmallow import ValidationError

from portal.auth.decorators import staff_required
from portal.blueprints import console_bp
from portal.errors import DomainError
from portal.extensions import db
from portal.mypage import services
from portal.mypage.models import Invitation
from portal.mypage.schemas import InvitationSchema
from portal.permissions import Permission, require


def _own_invitation(invitation_id: int) -> Invitation:
    """Another branch's invitation looks like "not found" (AUD-4)."""
    found = db.session.get(Invitation, invitation_id)
    if found is None or found.branch_id != current_user.branch_id:
        abort(404)
    return found


@console_bp.route("/invitations", methods=["GET", "POST"])
@staff_required
@require(Permission.CONSOLE_INVITATIONS)
def invitations() -> ResponseReturnValue:
    staff = current_user._get_current_object()
    errors: dict[str, list[str]] = {}
    values = {k: v for k, v in request.form.items() if k != "csrf_token"}
    if request.method == "POST":
        try:
            data = InvitationSchema().load(values)
            invitation = services.create_invitation(
                staff, customer_name=data.get("customer_name"), valid_days=data["valid_days"])
        except ValidationError as exc:
            errors = exc.messages_dict
        except DomainError as exc:
            flash(exc.message, "error")
        else:
            db.session.commit()
            return redirect(url_for("console.invitation", invitation_id=invitation.id))
    items = services.invitations_of_branch(staff.branch_id) if staff.branch_id else []
    return render_template("console/invitations.html", items=items, errors=errors,
                           values=values or {"valid_days": "30"},
                           url_of=services.invitation_url), 400 if errors else 200


@console_bp.route("/invitations/<int:invitation_id>")
@staff_required
@require(Permission.CONSOLE_INVITATIONS)
def invitation(invitation_id: int) -> ResponseReturnValue:
    found = _own_invitation(invitation_id)
    return render_template("console/invitation.html", invitation=found,
                           url=services.invitation_url(found))


@console_bp.route("/invitations/<int:invitation_id>/qr.<fmt>")
@staff_required
@require(Permission.CONSOLE_INVITATIONS)
def invitation_qr(invitation_id: int, fmt: str) -> ResponseReturnValue:
    found = _own_invitation(invitation_id)
    url = services.invitation_url(found)
    buffer = io.BytesIO()
    if fmt == "png":
        qrcode.make(url, box_size=8, border=4).save(buffer)
        mimetype = "image/png"
    elif fmt == "svg":
        qrcode.make(url, image_factory=qrcode.image.svg.SvgPathImage).save(buffer)
        mimetype = "image/svg+xml"
    else:
        abort(404)
    response = Response(buffer.getvalue(), mimetype=mimetype)
    if request.args.get("download"):
        response.headers["Content-Disposition"] = (
            f'attachment; filename="invitation-{found.id}.{fmt}"')
    return response
