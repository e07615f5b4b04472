"""The signing dialog's service side (SIGN-2), in the guide's order:
1. PIN入力 → 送信: the signing service checks the PIN (a wrong one is refused
   here, counted, and no code is mailed) and mails the code;
2. 認証コード入力 → 認証: the code and the PIN proof from step 1 authorize the
   hashes of every document at once (a wrong code is refused here with the
   attempts left, as for the PIN), and only then is 電子署名 offered;
3. 電子署名: the service signs exactly the authorized hashes.

認証 prepares the documents' signature revisions (pyHanko's interrupted signing,
``remote_signing.pdf.prepare_documents``) so the service can authorize their
hashes; the prepared revisions and the activation token (SAD, single use, the
service's short lifetime) wait server-side in the encrypted file store, and the
user's session holds only that file's key, sealed and bound to the user and the
signing purpose. Before 認証 only the PIN proof waits, the same way; the PIN and
the code are never kept. Every adapter error becomes its own Japanese message
here; nothing half-signed is stored because callers store results only after
``sign_authenticated`` / ``sign_pdfs`` returned them all."""

from __future__ import annotations

import base64
import hashlib
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
from portal.filestore import FileMissing, get_file_store
from portal.models import CustomerUser
from remote_signing import client as rs
from remote_signing.client import PinProof
from remote_signing.pdf import (
    PreparedSignature,
    SignatureOptions,
    authorize_prepared,
    finish_prepared,
    prepare_documents,
    sign_documents,
)

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
    _forget_authorization(user, purpose)  # a new code replaces an earlier 認証
    _write(user, purpose, {"proof": sent.proof.dumps()}, sent.credential_id, int(time.time()))


def kept_proof(user: CustomerUser, purpose: str) -> PinProof | None:
    """The proof kept by 送信, or None (none, expired, tampered, other user, or
    already spent by 認証)."""
    payload = _kept(user, purpose)
    if payload is None or "proof" not in payload:
        return None
    return PinProof.loads(payload["proof"])


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


# --- 認証 and 電子署名 (issue #13 item 10) ---------------------------------------------

DOCUMENTS_CHANGED = ("認証の後に契約書類が更新されたため、電子署名できませんでした。"
                     "署名用PINの入力からやり直してください。")


def authenticate(
    user: CustomerUser,
    purpose: str,
    documents: Sequence[bytes],
    *,
    proof: PinProof,
    code: str,
    options: SignatureOptions | Sequence[SignatureOptions] | None = None,
    description: str | None = None,
) -> None:
    """認証: the code is checked now, by the service's authorization of the prepared
    hashes of ``documents``; a wrong one raises CertError on the field ``code``
    with the attempts left (the proof stays for another try). On success the
    prepared revisions and the activation token wait for ``sign_authenticated``."""
    try:
        api = _api()
        info = _credential(user, api, known=True)
        prepared = prepare_documents(info, documents, options or SignatureOptions())
        auth = authorize_prepared(api, info, prepared, proof=proof, otp=code,
                                  description=description)
    except rs.SigningError as exc:
        _note(user, exc)
        raise msg.from_signing_error(exc) from exc
    _forget_authorization(user, purpose)
    blob = {"sad": auth.sad, "credential": info.credential_id,
            "documents": [_dump_prepared(p) for p in prepared]}
    key = get_file_store().put(json.dumps(blob).encode(), kind="signauth")
    until = int(time.time()) + max(auth.expires_in - AUTH_MARGIN_SECONDS, 0)
    _write(user, purpose, {"auth": key, "until": until}, info.credential_id, int(time.time()))
    session[_proof_key(purpose)]["a"] = key  # the file's name only, for drop_proof


def authenticated(user: CustomerUser, purpose: str) -> bool:
    """認証完了: an activation token waits for this user and purpose, in its lifetime."""
    payload = _kept(user, purpose)
    return payload is not None and "auth" in payload and time.time() < payload["until"]


def sign_authenticated(user: CustomerUser, purpose: str,
                       documents: Sequence[bytes] | None) -> list[bytes]:
    """電子署名 after 認証: every prepared document signed, or CertError (start again
    from the PIN). ``documents`` are the current bytes of stored documents: one
    that changed since 認証 (e.g. another party signed) is refused, never
    overwritten; None for a document rendered for the occasion (the sample)."""
    payload = _kept(user, purpose)
    if payload is None or "auth" not in payload or time.time() >= payload["until"]:
        raise CertError(msg.SAD_INVALID)
    store = get_file_store()
    try:
        blob = json.loads(store.get(payload["auth"]))
    except FileMissing as exc:
        raise CertError(msg.SAD_INVALID) from exc
    finally:
        store.delete(payload["auth"])  # the token is single use either way
        drop_proof(purpose)
    prepared = [_load_prepared(d) for d in blob["documents"]]
    if documents is not None and [hashlib.sha256(d).hexdigest() for d in documents] != [
            p.source_sha256 for p in prepared]:
        raise CertError(DOCUMENTS_CHANGED)
    try:
        api = _api()
        info = _credential(user, api, known=True)
        return finish_prepared(api, info, prepared, blob["sad"])
    except rs.SigningError as exc:
        _note(user, exc)
        raise msg.from_signing_error(exc) from exc


AUTH_MARGIN_SECONDS = 15  # 電子署名 must reach the service before the token expires


def _forget_authorization(user: CustomerUser, purpose: str) -> None:
    kept = session.get(_proof_key(purpose)) or {}
    if kept.get("a"):
        get_file_store().delete(kept["a"])


def _dump_prepared(p: PreparedSignature) -> dict[str, Any]:
    b64 = base64.b64encode
    return {"source": p.source_sha256, "output": b64(p.output).decode(),
            "digest": b64(p.document_digest).decode(), "region": list(p.region),
            "attrs": b64(p.signed_attrs).decode()}


def _load_prepared(d: dict[str, Any]) -> PreparedSignature:
    b64 = base64.b64decode
    return PreparedSignature(source_sha256=d["source"], output=b64(d["output"]),
                             document_digest=b64(d["digest"]),
                             region=(int(d["region"][0]), int(d["region"][1])),
                             signed_attrs=b64(d["attrs"]))


def kept_credential_id(purpose: str) -> str:
    kept = session.get(_proof_key(purpose)) or {}
    return str(kept.get("c", ""))


def drop_proof(purpose: str) -> None:
    """Start again from the PIN (an authorization waiting in the file store goes too)."""
    kept = session.pop(_proof_key(purpose), None)
    if kept and kept.get("a"):
        get_file_store().delete(kept["a"])


def keeps_proof_after(error: CertError) -> bool:
    """A wrong code may be typed again with the same proof; anything else starts
    again from the PIN."""
    return error.field == "code" and error.msgid.startswith(msg.OTP_WRONG)
