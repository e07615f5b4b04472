"""The signing dialog's service side (SIGN-2), in the guide's order:
1. PIN入力 → 送信: the signing service checks the PIN (a wrong one is refused
   here, counted, and no code is mailed) and mails the code;
2. 認証コード入力 → 電子署名: the code and the PIN proof from step 1 authorize
   the hashes of every document at once.

Between the steps only the PIN proof (and, where 認証 and 電子署名 are two
screens, the typed code) waits, sealed in the user's session and bound to the
user and the signing purpose (``keep_proof`` / ``kept_proof``, ``keep_code``);
the PIN itself is never kept. Every adapter error becomes its own Japanese
message here; nothing half-signed is stored because callers store results only
after ``sign_documents`` returned them all."""

from __future__ import annotations

import base64
import json
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from flask import current_app, session

from portal import audit, ratelimit
from portal.crypto import seal, unseal
from portal.models import CustomerUser
from remote_signing import client as rs
from remote_signing.client import PinProof
from remote_signing.pdf import SignatureOptions, sign_documents

from . import messages as msg
from . import services
from .messages import CertError

T = TypeVar("T")


def _api() -> rs.SigningClient:
    """The process's pooled client (a step no longer opens its own connection)."""
    return rs.shared_client(current_app.config)


def _credential(user: CustomerUser, api: rs.SigningClient, *,
                known: bool = False) -> rs.CredentialInfo:
    """The user's signing credential. ``known``: 電子署名 may reuse what 送信 read
    (the certificate chain of a credential never changes once issued); whether the
    credential is still usable is the service's own check at authorize, which
    refuses a locked, revoked or expired one with the same messages."""
    services._require_signer(user)
    cred_id = services.active_credential_id(user)
    if cred_id is None:
        raise msg.CertError(msg.NO_CERT)
    if known:
        cached = _known_credentials.get(api.base_url, cred_id)
        if cached is not None:
            return cached
    info = api.credential_info(cred_id)
    if info.status == "locked":
        services.note_locked(user)
        raise msg.CertError(msg.LOCKED)
    _known_credentials.put(api.base_url, info)
    return info


class _KnownCredentials:
    """Issued credentials seen by this process (bounded, thread-safe)."""

    MAX = 4096

    def __init__(self) -> None:
        self._items: OrderedDict[tuple[str, str], rs.CredentialInfo] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, service: str, credential_id: str) -> rs.CredentialInfo | None:
        with self._lock:
            return self._items.get((service, credential_id))

    def put(self, service: str, info: rs.CredentialInfo) -> None:
        if info.status != "active" or info.cert_status != "valid" or not info.certificates:
            return
        with self._lock:
            self._items[(service, info.credential_id)] = info
            while len(self._items) > self.MAX:
                self._items.popitem(last=False)


_known_credentials = _KnownCredentials()


@dataclass(frozen=True)
class CodeSent:
    credential_id: str  # shown in the dialog as 電子証明書ID
    proof: PinProof


def send_code(user: CustomerUser, pin: str) -> CodeSent:
    """送信: checks the PIN and has the service mail the code (at most
    CODE_ISSUE_MAX_PER_ACCOUNT codes a window, AUTH-9)."""
    refused = ratelimit.code_issue_refusal("signing", user.get_id())
    if refused is not None:
        _audit_and_commit("ratelimit.refused", user, {"policy": refused.name,
                                                      "purpose": "signing"})
        raise CertError(refused.refusal(), field="pin")
    try:
        api = _api()
        info = _credential(user, api)
        proof = api.send_otp_after_pin(info.credential_id, pin)
    except rs.SigningError as exc:
        _note(user, exc)
        refusal = msg.from_signing_error(exc)
        if isinstance(exc, rs.PinInvalid | rs.CredentialLocked):
            _audit_and_commit("certs.sign_pin_refused", user, {"reason": refusal.message})
        raise refusal from exc
    ratelimit.count_code_issue("signing", user.get_id())
    _audit_and_commit("certs.sign_code_sent", user, {"credential": info.credential_id})
    return CodeSent(info.credential_id, proof)


def _audit_and_commit(action: str, user: CustomerUser, detail: dict[str, str]) -> None:
    from portal.extensions import db

    audit.record(action, actor=user, detail=detail)
    db.session.commit()


def sign_pdfs(
    user: CustomerUser,
    documents: Sequence[bytes],
    *,
    proof: PinProof,
    code: str,
    options: SignatureOptions | Sequence[SignatureOptions] | None = None,
    description: str | None = None,
) -> list[bytes]:
    """電子署名: one authorization (PIN proof + code) for all ``documents``; returns
    every signed PDF or raises CertError with the message for the dialog."""
    try:
        api = _api()
        info = _credential(user, api, known=True)
        return sign_documents(
            api,
            info,
            documents,
            proof=proof,
            otp=code,
            options=options or SignatureOptions(),
            description=description,
        )
    except rs.SigningError as exc:
        _note(user, exc)
        raise msg.from_signing_error(exc) from exc


def run_signing(user: CustomerUser, action: Callable[[], T]) -> T:
    """Run a caller's own signing function, mapping adapter errors the same way."""
    try:
        return action()
    except rs.SigningError as exc:
        _note(user, exc)
        raise msg.from_signing_error(exc) from exc


def _note(user: CustomerUser, exc: rs.SigningError) -> None:
    if isinstance(exc, rs.CredentialLocked):
        services.note_locked(user)


# --- what waits between the steps ----------------------------------------------------

PROOF_TTL_SECONDS = 600  # the code's own lifetime


def _proof_key(purpose: str) -> str:
    return f"pin_proof:{purpose}"


def _proof_context(user: CustomerUser, purpose: str) -> bytes:
    return f"pin-proof:{user.id}:{purpose}".encode()


def keep_proof(user: CustomerUser, purpose: str, sent: CodeSent) -> None:
    """After 送信: the proof waits sealed with the master key in the session,
    bound to ``user`` and ``purpose`` (e.g. ``contract:12``) and 10 minutes."""
    _write(user, purpose, {"proof": sent.proof.dumps()}, sent.credential_id, int(time.time()))


def keep_code(user: CustomerUser, purpose: str, code: str | None) -> None:
    """認証: the typed code waits beside the proof for 電子署名 (None forgets it)."""
    payload = _kept(user, purpose)
    if payload is None:
        return
    payload["code"] = code
    kept = session[_proof_key(purpose)]
    _write(user, purpose, payload, kept.get("c", ""), kept["t"])


def kept_proof(user: CustomerUser, purpose: str) -> PinProof | None:
    """The proof kept by 送信, or None (none, expired, tampered, other user)."""
    payload = _kept(user, purpose)
    return PinProof.loads(payload["proof"]) if payload is not None else None


def kept_code(user: CustomerUser, purpose: str) -> str | None:
    payload = _kept(user, purpose)
    return payload.get("code") if payload is not None else None


def _write(user: CustomerUser, purpose: str, payload: dict[str, Any], credential_id: str,
           kept_at: int) -> None:
    sealed = seal(json.dumps(payload).encode(), context=_proof_context(user, purpose))
    session[_proof_key(purpose)] = {"v": base64.b64encode(sealed).decode(),
                                    "c": credential_id, "t": kept_at}


def _kept(user: CustomerUser, purpose: str) -> dict[str, Any] | None:
    kept = session.get(_proof_key(purpose))
    if not kept or time.time() - kept.get("t", 0) > PROOF_TTL_SECONDS:
        return None
    try:
        text = unseal(base64.b64decode(kept["v"]), context=_proof_context(user, purpose))
    except Exception:  # noqa: BLE001  (tampered or another user's cookie: start again)
        return None
    return json.loads(text)  # type: ignore[no-any-return]


def kept_credential_id(purpose: str) -> str:
    kept = session.get(_proof_key(purpose)) or {}
    return str(kept.get("c", ""))


def drop_proof(purpose: str) -> None:
    session.pop(_proof_key(purpose), None)


def keeps_proof_after(error: CertError) -> bool:
    """A wrong code may be typed again with the same proof; anything else starts
    again from the PIN."""
    return error.field == "code" and error.msgid == msg.OTP_WRONG
