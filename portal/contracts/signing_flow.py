"""The signing dialog of CON-4, in the guide's order (SIGN-2):
1. PIN入力 → 送信: the signing service checks the PIN (a wrong one is refused
   here with the attempts left, counted toward the PIN lock of PIN-5, and no
   code is mailed) and mails the code;
2. 認証コード入力 → 認証: the mailed code and the PIN proof authorize the hashes
   of every contract document of the package (a wrong code is refused here with
   the attempts left; the limit locks the certificate as a wrong PIN does);
3. 認証完了 → 電子署名: the authorized hashes are signed.

The PIN and the code are never kept. Between 送信 and 認証 only the PIN proof
waits (``portal.certs.dialog.keep_proof``, purpose ``contract:<package id>``),
sealed with the master key in the user's session cookie and bound to the user,
the package and the code's 10-minute lifetime; between 認証 and 電子署名 the
prepared revisions and the activation token wait server-side
(``dialog.authenticate``), for the token's short lifetime. A wrong code keeps
the proof (the user types the code again); any other refusal, or a missing or
expired proof or authorization, starts again from the PIN. The server checks
the confirmation steps again at every step and at the signature.
"""

from __future__ import annotations

from typing import Any

from flask import redirect, render_template, request, url_for
from marshmallow import ValidationError

from portal.certs import dialog
from portal.extensions import db
from portal.validation import first_errors

from . import evidence, services, signing
from .schemas import OtpSchema, PinSchema


def purpose(package_id: int) -> str:
    """What the PIN proof of this package's dialog is kept under."""
    return f"contract:{package_id}"


def _start_again(package_id: int) -> None:
    """Nothing of the dialog waits any more: the next step is the PIN."""
    dialog.drop_proof(purpose(package_id))


def _client() -> dict[str, str]:
    """The client's address and browser, for the 締結証明書 (#16 item 4)."""
    return {"ip": request.remote_addr or "", "user_agent": request.user_agent.string}


def _gate(user: Any, package_id: int):  # type: ignore[no-untyped-def]
    package, _ = services.customer_package(user, package_id)
    party = services.check_ready_to_sign(user, package)
    return package, party


def pin_step(user: Any, package_id: int):  # type: ignore[no-untyped-def]
    package, party = _gate(user, package_id)
    errors: dict[str, str] = {}
    if request.method == "POST":
        try:
            data = PinSchema().load(request.form)
            sent = signing.send_code(user, data["pin"], party=party)
        except ValidationError as exc:
            errors = first_errors(exc.messages)  # type: ignore[arg-type]
        except signing.SigningRefused as exc:
            _start_again(package_id)
            errors = {"pin": exc.shown()}
        else:
            evidence.note_code_sent(user, party, **_client())
            db.session.commit()
            dialog.keep_proof(user, purpose(package_id), sent)
            return redirect(url_for("contracts.sign_code", package_id=package_id))
    return render_template("contracts/sign_pin.html", package=package,
                           errors=errors), 400 if errors else 200


def code_step(user: Any, package_id: int):  # type: ignore[no-untyped-def]
    package, _ = _gate(user, package_id)
    proof = dialog.kept_proof(user, purpose(package_id))
    if proof is None:
        if dialog.authenticated(user, purpose(package_id)):
            return redirect(url_for("contracts.sign_execute", package_id=package_id))
        _start_again(package_id)
        return redirect(url_for("contracts.sign_pin", package_id=package_id))
    errors: dict[str, str] = {}
    if request.method == "POST":
        try:
            data = OtpSchema().load(request.form)
            signing.authenticate_party(user, package_id, proof=proof, otp=data["otp"],
                                       purpose=purpose(package_id))
        except ValidationError as exc:
            errors = first_errors(exc.messages)  # type: ignore[arg-type]
        except signing.SigningRefused as exc:
            if exc.step != "code":
                return _back_to_pin(user, package_id, exc)
            errors = {"otp": exc.shown()}
        else:
            evidence.note_code_checked(user, package_id)
            db.session.commit()
            return redirect(url_for("contracts.sign_execute", package_id=package_id))
    return render_template("contracts/sign_code.html", package=package,
                           errors=errors), 400 if errors else 200


def _back_to_pin(user: Any, package_id: int, exc: signing.SigningRefused):  # type: ignore[no-untyped-def]
    _start_again(package_id)
    package, _ = services.customer_package(user, package_id)
    return render_template("contracts/sign_pin.html", package=package,
                           errors={"pin": exc.shown()}), 400


def execute_step(user: Any, package_id: int):  # type: ignore[no-untyped-def]
    package, _ = _gate(user, package_id)
    if not dialog.authenticated(user, purpose(package_id)):
        if dialog.kept_proof(user, purpose(package_id)) is not None:
            return redirect(url_for("contracts.sign_code", package_id=package_id))
        _start_again(package_id)
        return redirect(url_for("contracts.sign_pin", package_id=package_id))
    if request.method == "GET":
        return render_template("contracts/sign_execute.html", package=package, error=None)
    try:
        signing.sign_for_party(user, package_id, purpose=purpose(package_id))
    except signing.SigningRefused as exc:
        return _back_to_pin(user, package_id, exc)
    evidence.note_signed(user, package_id, **_client())
    db.session.commit()
    _start_again(package_id)
    return redirect(url_for("contracts.sign_done", package_id=package_id))
