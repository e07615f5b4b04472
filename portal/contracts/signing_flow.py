"""The signing dialog of CON-4: PIN (送信) → emailed code (認証) → 電子署名.

The PIN and the code wait between the steps in the user's session cookie,
sealed with the master key and bound to the user, the package and a 10-minute
expiry: they are never stored in the database or logged. The server checks
the confirmation steps again at every step and at the signature.
"""

from __future__ import annotations

import base64
import json
import time
from typing import Any

from flask import redirect, render_template, request, session, url_for
from marshmallow import ValidationError

from portal.crypto import seal, unseal
from portal.extensions import db
from portal.validation import first_errors

from . import services, signing
from .schemas import OtpSchema, PinSchema

KEY = "contract_sign"
TTL_SECONDS = 600


def _context(user: Any, package_id: int) -> bytes:
    return f"contract-sign:{user.id}:{package_id}".encode()


def _save(user: Any, package_id: int, **values: str) -> None:
    state = _load(user, package_id) or {}
    state.update(values, exp=time.time() + TTL_SECONDS)
    sealed = seal(json.dumps(state).encode(), context=_context(user, package_id))
    session[KEY] = {"p": package_id, "v": base64.b64encode(sealed).decode()}


def _load(user: Any, package_id: int) -> dict[str, Any] | None:
    stored = session.get(KEY)
    if not stored or stored.get("p") != package_id:
        return None
    try:
        sealed = base64.b64decode(stored["v"])
        state = json.loads(unseal(sealed, context=_context(user, package_id)))
    except Exception:  # noqa: BLE001  (tampered or from another user: start again)
        return None
    return state if state.get("exp", 0) > time.time() else None


def _clear() -> None:
    session.pop(KEY, None)


def _gate(user: Any, package_id: int):  # type: ignore[no-untyped-def]
    package, _ = services.customer_package(user, package_id)
    services.check_ready_to_sign(user, package)
    return package


def pin_step(user: Any, package_id: int):  # type: ignore[no-untyped-def]
    package = _gate(user, package_id)
    errors: dict[str, str] = {}
    if request.method == "POST":
        try:
            data = PinSchema().load(request.form)
            signing.send_code(user)
        except ValidationError as exc:
            errors = first_errors(exc.messages)  # type: ignore[arg-type]
        except signing.SigningRefused as exc:
            errors = {"pin": exc.shown()}
        else:
            db.session.commit()
            _save(user, package_id, pin=data["pin"])
            return redirect(url_for("contracts.sign_code", package_id=package_id))
    return render_template("contracts/sign_pin.html", package=package,
                           errors=errors), 400 if errors else 200


def code_step(user: Any, package_id: int):  # type: ignore[no-untyped-def]
    package = _gate(user, package_id)
    state = _load(user, package_id)
    if not state or "pin" not in state:
        return redirect(url_for("contracts.sign_pin", package_id=package_id))
    errors: dict[str, str] = {}
    if request.method == "POST":
        try:
            data = OtpSchema().load(request.form)
        except ValidationError as exc:
            errors = first_errors(exc.messages)  # type: ignore[arg-type]
        else:
            _save(user, package_id, otp=data["otp"])
            return redirect(url_for("contracts.sign_execute", package_id=package_id))
    return render_template("contracts/sign_code.html", package=package,
                           errors=errors), 400 if errors else 200


def execute_step(user: Any, package_id: int):  # type: ignore[no-untyped-def]
    package = _gate(user, package_id)
    state = _load(user, package_id)
    if not state or "pin" not in state or "otp" not in state:
        return redirect(url_for("contracts.sign_pin", package_id=package_id))
    if request.method == "GET":
        return render_template("contracts/sign_execute.html", package=package, error=None)
    try:
        signing.sign_for_party(user, package_id, pin=state["pin"], otp=state["otp"])
    except signing.SigningRefused as exc:
        _clear()
        template = "contracts/sign_code.html" if exc.step == "code" else "contracts/sign_pin.html"
        if exc.step == "code":
            _save(user, package_id, pin=state["pin"])
        key = "otp" if exc.step == "code" else "pin"
        package, _ = services.customer_package(user, package_id)
        return render_template(template, package=package, errors={key: exc.shown()}), 400
    db.session.commit()
    _clear()
    return redirect(url_for("contracts.sign_done", package_id=package_id))
