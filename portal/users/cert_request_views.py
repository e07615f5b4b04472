"""電子証明書発行依頼 (CERT-2, CERT-3): the request's form and its done page,
where the guide's ユーザ情報の管理 puts them (/users/…). The PoA step in between
is the draft flow of ``poa_views``; the request's rules and its registration
are the signing room's (``portal.certs.reissue``)."""

from __future__ import annotations

from typing import Any

from flask import abort, render_template, request
from flask.typing import ResponseReturnValue
from marshmallow import ValidationError

from portal.auth.decorators import customer_required
from portal.certs import reissue
from portal.certs.models import CertReason
from portal.certs.schemas import REASON_CHOICES, CertRequestSchema
from portal.errors import DomainError
from portal.extensions import db
from portal.models import CustomerUser
from portal.users import cert_requests
from portal.users.blueprint import (
    active_colleague_or_404,
    bp,
    field_errors,
    form_values,
    signed_in_customer,
)
from portal.users.poa_views import to_confirmation


@bp.route("/<int:user_id>/certificate-request", methods=["GET", "POST"])
@customer_required
def cert_request(user_id: int) -> ResponseReturnValue:
    me = signed_in_customer()
    subject = active_colleague_or_404(me, user_id)
    poa = reissue.offered_poa(me, subject)
    if poa is None:
        abort(404)
    errors: dict[str, list[str]] = {}
    values: dict[str, Any] = {"identity_method": "documents"}
    if request.method == "POST":
        values = form_values()
        try:
            data = CertRequestSchema().load(values)
            draft = cert_requests.start_cert_request(me, subject, CertReason(data["reason"]))
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
