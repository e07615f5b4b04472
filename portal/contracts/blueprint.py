"""The customer's contract blueprint (``contracts``, /contracts) and the PDF
answer the customer's and the console's contract pages share.
``portal.contracts.views`` imports ``console_views`` (the console's contract
pages, on the console's blueprint) so its routes exist before registration."""

from __future__ import annotations

from urllib.parse import quote

from flask import Blueprint, Response

bp = Blueprint("contracts", __name__, url_prefix="/contracts")


def pdf_response(data: bytes, filename: str, *, download: bool) -> Response:
    response = Response(data, mimetype="application/pdf")
    disposition = "attachment" if download else "inline"
    response.headers["Content-Disposition"] = (
        f"{disposition}; filename=\"document.pdf\"; filename*=UTF-8''{quote(filename)}")
    response.headers["Cache-Control"] = "no-store"
    return response
