"""The demo mailbox: reads the local SMTP sink's Maildir so a person trying
the embedded portal can read the codes it sends. Absent in production."""

from __future__ import annotations

import mailbox
from email import policy
from email.parser import BytesParser
from pathlib import Path
from typing import Any

from flask import Blueprint, abort, current_app, render_template

bp = Blueprint("dev", __name__, url_prefix="/dev")


def read_maildir(path: str, limit: int = 50) -> list[dict[str, Any]]:
    if not Path(path, "new").exists():
        return []
    box = mailbox.Maildir(path, factory=None, create=False)
    parser = BytesParser(policy=policy.default)
    messages = []
    for key in box.keys():
        with box.get_file(key) as handle:
            msg = parser.parse(handle)
        body = msg.get_body(preferencelist=("plain",))
        messages.append({
            "date": msg["Date"] or "",
            "to": msg["To"] or "",
            "subject": msg["Subject"] or "",
            "body": body.get_content() if body else "",
            "sort": Path(path, "new", key).stat().st_mtime if Path(path, "new", key).exists() else 0,
        })
    messages.sort(key=lambda m: m["sort"], reverse=True)
    return messages[:limit]


@bp.route("/mailbox")
def mailbox_view():  # type: ignore[no-untyped-def]
    if not current_app.config.get("DEV_MAILBOX") or current_app.config["PROFILE"] == "production":
        abort(404)
    return render_template("dev/mailbox.html", messages=read_maildir(current_app.config["DEV_MAILDIR"]))
