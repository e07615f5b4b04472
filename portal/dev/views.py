"""The demo mailbox: reads the local SMTP sink's Maildir so a person trying
the embedded portal can read the codes it sends. Absent in production."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, render_template
from flask.typing import ResponseReturnValue

from portal.dev.maildir import read_maildir
from portal.gate import public

bp = Blueprint("dev", __name__, url_prefix="/dev")


@bp.route("/mailbox")
@public  # the embedded demo's mailbox (404 unless DEV_MAILBOX, never in production)
def mailbox_view() -> ResponseReturnValue:
    if not current_app.config.get("DEV_MAILBOX") or current_app.config["PROFILE"] == "production":
        abort(404)
    messages = read_maildir(current_app.config["DEV_MAILDIR"])
    return render_template("dev/mailbox.html", messages=messages)
