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
here; nothing half-signed is stored because results are recorded only after
every document came back signed.

The controller (``send``, ``check_code``, ``sign``, ``sign_with_code``) is the
one way a caller's dialog runs: contracts, powers of attorney and the sample
each hand it a ``Signable`` (what to sign, how to record each outcome), load
and check it once per request, and get back an ``Outcome`` naming the step the
user goes to; ``back_to`` is the one place that decides it. Each outcome
(success, wrong PIN or code, lock, service down) writes one audit entry
through the subject and commits once (a lock the service reports is also
mirrored on the certificate, ``certs.pin_locked_by_failures``, in the same
commit). ``send_code`` and ``sign_pdfs`` are the
bare steps (no audit, no commit) for scripts (demo seed) and tests."""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Generic, Protocol, TypeVar

from flask import current_app, session

from portal import audit, ratelimit
from portal.crypto import seal, unseal
from portal.errors import DomainError
from portal.extensions import db
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
from remote_signing.sample import sample_pdf

from . import messages as msg
from . import services
from .messages import CertError


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
        services.mark_locked(user)
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


class CodeLimited(CertError):
    """送信 refused by AUTH-9's code issuance limits (audited as ``ratelimit.refused``)."""

    def __init__(self, policy: ratelimit.Policy) -> None:
        super().__init__(policy.refusal(), field="pin")
        self.policy = policy


def send_code(user: CustomerUser, pin: str) -> CodeSent:
    """送信: checks the PIN and has the service mail the code (at most
    CODE_ISSUE_MAX_PER_ACCOUNT codes a window, AUTH-9). Writes no audit entry and
    does not commit: ``send`` does, once, for its outcome."""
    refused = ratelimit.code_issue_refusal("signing", user.get_id())
    if refused is not None:
        raise CodeLimited(refused)
    try:
        api = _api()
        info = _credential(user, api)
        proof = api.send_otp_after_pin(info.credential_id, pin)
    except rs.SigningError as exc:
        _note(user, exc)
        raise msg.from_signing_error(exc) from exc
    ratelimit.count_code_issue("signing", user.get_id())
    return CodeSent(info.credential_id, proof)


def record_code_sent(user: CustomerUser, sent: CodeSent) -> None:
    """The audit entry of a mailed signing code (the 締結証明書 reads it, SIGN-7)."""
    audit.record(CODE_SENT_ACTION, actor=user, detail={"credential": sent.credential_id})


CODE_SENT_ACTION = "certs.sign_code_sent"
PIN_REFUSED_ACTION = "certs.sign_pin_refused"


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


def _note(user: CustomerUser, exc: rs.SigningError) -> None:
    if isinstance(exc, rs.CredentialLocked):
        services.mark_locked(user)


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
    proof: dict[str, Any] = json.loads(text)
    return proof


# --- 認証 and 電子署名 (issue #13 item 10) ---------------------------------------------

DOCUMENTS_CHANGED = ("認証の後に契約書類が更新されたため、電子署名できませんでした。"
                     "署名用PINの入力からやり直してください。")


def _authenticate(
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
    prepared revisions and the activation token wait for ``_sign_authenticated``."""
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


def _sign_authenticated(user: CustomerUser, purpose: str,
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


def back_to(error: DomainError) -> Step:
    """The one decision where a refusal sends the user: only a wrong code may be
    typed again with the same PIN proof; anything else starts again from the PIN."""
    if isinstance(error, CertError) and error.field == "code" and error.msgid.startswith(
            msg.OTP_WRONG):
        return Step.CODE
    return Step.PIN


# --- the controller: 送信 → 認証 → 電子署名 for every caller (#15 item 1) ----------------

class Step(StrEnum):
    """Where the dialog stands, and where an outcome sends the user."""

    PIN = "pin"  # 署名用PIN入力: nothing of the dialog waits
    CODE = "code"  # 認証コード入力: the PIN proof waits
    SIGN = "sign"  # 認証完了: 電子署名 is offered
    DONE = "done"


@dataclass(frozen=True)
class Refusal:
    """What a subject records about a refused step (one audit entry)."""

    at: Step  # the step that was refused
    error: DomainError

    @property
    def back_to(self) -> Step:
        return back_to(self.error)

    @property
    def pin_refused(self) -> bool:
        """The service refused the PIN (wrong, or the certificate is locked)."""
        return isinstance(self.error.__cause__, rs.PinInvalid | rs.CredentialLocked)


R = TypeVar("R")
R_co = TypeVar("R_co", covariant=True)


class Signable(Protocol[R_co]):
    """What a caller signs through the dialog (a package's contract documents, a
    power of attorney, the sample) and how its outcomes are recorded: the signing
    room never imports the caller's models. The caller loads and checks its
    subject once per request; each ``record_*`` writes in the current transaction,
    and the controller commits once per outcome."""

    @property
    def purpose(self) -> str:
        """What the dialog's state is kept under in the session (e.g. ``contract:12``)."""
        ...

    @property
    def description(self) -> str:
        """Shown by the service with the authorization."""
        ...

    @property
    def checks_unchanged(self) -> bool:
        """True for stored documents: 電子署名 refuses one that changed since 認証.
        False for a document rendered for the occasion (PoA, sample)."""
        ...

    def documents(self) -> Sequence[bytes]: ...

    def options(self) -> Sequence[SignatureOptions]: ...

    def record_code_sent(self, sent: CodeSent) -> None: ...

    def record_authenticated(self) -> None: ...

    def record_signed(self, signed: list[bytes]) -> R_co:
        """Store the signed documents (raise DomainError to refuse: nothing is kept)."""
        ...

    def record_refusal(self, refusal: Refusal) -> None: ...


@dataclass(frozen=True)
class Outcome(Generic[R]):
    """The answer of one dialog request: the step the user is sent to, the refusal
    to show there (None on success) and, after 電子署名, the subject's result."""

    step: Step
    error: DomainError | None = None
    result: R | None = None
    credential_id: str = ""


def step_of(user: CustomerUser, purpose: str) -> Step:
    """Where the dialog of ``purpose`` stands for ``user`` (a page the user opens
    out of turn sends them here). At the PIN, whatever is left of an expired
    dialog goes (an authorization waiting in the file store too)."""
    if authenticated(user, purpose):
        return Step.SIGN
    if kept_proof(user, purpose) is not None:
        return Step.CODE
    drop_proof(purpose)
    return Step.PIN


def send(user: CustomerUser, subject: Signable[Any], pin: str) -> Outcome[None]:
    """送信: the service checks the PIN and mails the code; the PIN proof waits."""
    drop_proof(subject.purpose)  # a new 送信 replaces whatever waited
    try:
        sent = send_code(user, pin)
    except DomainError as exc:
        return _refused(user, subject, Step.PIN, exc)
    subject.record_code_sent(sent)
    db.session.commit()
    keep_proof(user, subject.purpose, sent)
    return Outcome(Step.CODE, credential_id=sent.credential_id)


def check_code(user: CustomerUser, subject: Signable[Any], code: str) -> Outcome[None]:
    """認証: the code and the PIN proof authorize the subject's documents now."""
    proof = kept_proof(user, subject.purpose)
    if proof is None:
        return _expired(subject)
    try:
        _authenticate(user, subject.purpose, subject.documents(), proof=proof, code=code,
                      options=subject.options(), description=subject.description)
    except DomainError as exc:
        return _refused(user, subject, Step.CODE, exc)
    subject.record_authenticated()
    db.session.commit()
    return Outcome(Step.SIGN)


def sign(user: CustomerUser, subject: Signable[R]) -> Outcome[R]:
    """電子署名 after 認証: the authorized hashes are signed and the subject records
    the result; every refusal starts again from the PIN."""
    current = subject.documents() if subject.checks_unchanged else None
    try:
        signed = _sign_authenticated(user, subject.purpose, current)
    except DomainError as exc:
        return _refused(user, subject, Step.SIGN, exc)
    return _record_signed(user, subject, signed)


def sign_with_code(user: CustomerUser, subject: Signable[R], code: str) -> Outcome[R]:
    """認証 and 電子署名 in one request (the sample's form without its script)."""
    proof = kept_proof(user, subject.purpose)
    if proof is None:
        return _expired(subject)
    try:
        signed = sign_pdfs(user, subject.documents(), proof=proof, code=code,
                           options=subject.options(), description=subject.description)
    except DomainError as exc:
        return _refused(user, subject, Step.CODE, exc)
    return _record_signed(user, subject, signed)


def _record_signed(user: CustomerUser, subject: Signable[R], signed: list[bytes]) -> Outcome[R]:
    try:
        result = subject.record_signed(signed)
    except DomainError as exc:
        db.session.rollback()  # nothing of the signature is kept
        return _refused(user, subject, Step.SIGN, exc)
    db.session.commit()
    drop_proof(subject.purpose)
    return Outcome(Step.DONE, result=result)


def _refused(user: CustomerUser, subject: Signable[Any], at: Step,
             error: DomainError) -> Outcome[Any]:
    """One audit entry and one commit for a refusal (with a PIN-5 lock the service
    reported, mirrored by ``mark_locked``); the user goes where ``back_to`` says."""
    if isinstance(error, CodeLimited):
        ratelimit.audit_refusal(error.policy, purpose="signing", actor=user)
    else:
        subject.record_refusal(Refusal(at, error))
    db.session.commit()
    step = back_to(error)
    if step is Step.PIN:
        drop_proof(subject.purpose)
    return Outcome(step, error=error)


def _expired(subject: Signable[Any]) -> Outcome[Any]:
    """Nothing waits (expired, spent, or never sent): start again from the PIN."""
    drop_proof(subject.purpose)
    return Outcome(Step.PIN, error=CertError(msg.SAD_INVALID, field="pin"))


@dataclass(frozen=True)
class SampleSigning:
    """電子署名のお試し: the sample contract, rendered for the occasion and signed
    through the same dialog; nothing is stored (the view hands back the PDF)."""

    user: CustomerUser
    purpose: str = "certs-dialog"
    description: str = "サンプル契約書"
    checks_unchanged: bool = False

    def documents(self) -> list[bytes]:
        return [sample_pdf()]

    def options(self) -> list[SignatureOptions]:
        return [SignatureOptions(reason="電子署名のお試し", name=self.user.display_name)]

    def record_code_sent(self, sent: CodeSent) -> None:
        record_code_sent(self.user, sent)

    def record_authenticated(self) -> None:
        """Nothing to keep for the sample."""

    def record_signed(self, signed: list[bytes]) -> bytes:
        return signed[0]

    def record_refusal(self, refusal: Refusal) -> None:
        if refusal.pin_refused:
            audit.record(PIN_REFUSED_ACTION, actor=self.user,
                         detail={"reason": refusal.error.message})
