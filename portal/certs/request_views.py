"""電子証明書発行依頼 (CERT-2, CERT-3): the request's form and its done page.

The pages stay where the guide's ユーザ情報の管理 puts them (/users/…, endpoints
``users.cert_request`` and ``users.cert_requested``), so they are routes of the
users blueprint; the PoA step in between is the users area's draft flow
(``portal.users.poa_views``). ``portal.users.views`` imports this module with
the users area's own view modules, before the blueprint is registered."""

from __future__ import annotations

from typing import Any

from flask import abort, render_template, request
from flask.typing import ResponseReturnValue
from marshmallow import ValidationError

from portal.auth.decorators import customer_required
from portal.errors import DomainError
from portal.extensions import db
from portal.models import CustomerUser
from portal.users.blueprint import (
    active_colleague_or_404,
    bp,
    field_errors,
    form_values,
    signed_in_customer,
)
from portal.users.poa_views import to_confirmation

from . import reissue
from .models import CertReason
from .schemas import REASON_CHOICES, CertRequestSchema


@bp.route("/<int:user_id>/certificate-request", methods=["GET", "POST"])
@customer_required
def cert_request(user_id: int) -> ResponseReturnValue:
    me = signed_in_customer()
    subject = active_colleague_or_404(me, user_id)
    poa = reissue.cert_request_poa(me, subject)
    if poa is None:
        abort(404)
    errors: dict[str, list[str]] = {}
    values: dict[str, Any] = {"identity_method": "documents"}
    if request.method == "POST":
        values = form_values()
        try:
            data = CertRequestSchema().load(values)
            draft = reissue.start_cert_request(me, subject, CertReason(data["reason"]))
        except ValidationError as exc:
            errors = field_errors(exc)
        except DomainError as exc:
            db.session.rollback()
            errors = {exc.field or "_": [exc.message]}
        else:
            outcome = to_confirmation(me, draft)
            if not isinstance(outcome, str):
                return outcome
            errors = {"file": [outcome]}
    return render_template("users/cert_request.html", subject=subject, poa_kind=poa,
                           values=values, errors=errors, reasons=REASON_CHOICES), \
        400 if errors else 200


@bp.route("/<int:user_id>/certificate-request/done")
@customer_required
def cert_requested(user_id: int) -> ResponseReturnValue:
    me = signed_in_customer()
    subject = db.session.get(CustomerUser, user_id)
    if subject is None or subject.company_id != me.company_id:
        abort(404)
    return render_template("users/cert_request_done.html", subject=subject)
