"""Rules of the signing service: credentials, PIN, OTP, SAD, signing (SIGN-2, PIN-5).

It is the only component that sees a PIN or a private key. Every secret that is
stored is wrapped (keys), MACed (OTPs) or hashed (SAD tokens).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import logging
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NoReturn, Protocol

from cryptography import x509
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import Connection, Row, and_, bindparam, insert, select, update
from sqlalchemy.orm import Session

from ..protocol import (
    HASH_OIDS,
    HASH_SIZES,
    RSA_ENCRYPTION_OID,
    CredentialKind,
    CredentialStatus,
    ErrorCode,
)
from . import clock
from .db import durable_from_here, short_lived_state
from .keystore import KeyStore, WrappedKey, WrongSecret, derive_key, seal, unseal
from .mailer import MailError, OtpMailer
from .models import Credential, Otp, Sad
from .pki import CertStatus, Pki

log = logging.getLogger("remote_signing.service")

FORBIDDEN_PIN_SYMBOLS = set('";:=>?[]^{}/*,&()-|_')
RSA_SIGN_ALGOS = {
    RSA_ENCRYPTION_OID,
    "1.2.840.113549.1.1.11",
    "1.2.840.113549.1.1.12",
    "1.2.840.113549.1.1.13",
}
SEAL_USER_ID = "bank-seal"


class ServiceError(Exception):
    def __init__(self, code: ErrorCode, description: str, status: int = 400, **extra: Any):
        super().__init__(description)
        self.code = code
        self.description = description
        self.status = status
        self.extra = extra


@dataclass(frozen=True)
class Client:
    id: str
    role: str  # "portal" | "console"


class _Usable(Protocol):
    """What the status checks read: a ``Credential`` or a row of the hot-path reads."""

    @property
    def kind(self) -> CredentialKind: ...
    @property
    def status(self) -> CredentialStatus: ...
    @property
    def not_after(self) -> datetime | None: ...


class _KeyHolder(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def wrapped_key(self) -> bytes: ...
    @property
    def kdf_salt(self) -> bytes: ...
    @property
    def kdf_params(self) -> str: ...


# The 電子署名 step's statements (#11 item 5): built once, one read per call; Core
# rows instead of ORM objects (the ORM's identity map and flush cost more than the
# SQL itself here).
_HotRow = Row[*tuple[Any, ...]]  # credential columns + the code's or the token's
_CREDENTIAL_COLUMNS = (
    Credential.id,
    Credential.kind,
    Credential.status,
    Credential.not_after,
    Credential.wrapped_key,
    Credential.kdf_salt,
    Credential.kdf_params,
    Credential.pin_failures,
    Credential.otp_failures,
)
_CREDENTIAL_AND_OPEN_CODE = (
    select(
        *_CREDENTIAL_COLUMNS,
        Otp.id.label("otp_id"),
        Otp.code_mac,
        Otp.expires_at.label("otp_expires_at"),
        Otp.pin_handle,
    )
    .outerjoin(Otp, and_(Otp.credential_id == Credential.id, Otp.closed_at.is_(None)))
    .where(Credential.id == bindparam("cred_id"))
    .order_by(Otp.id.desc())
    .limit(1)
)
_CLOSE_CODE = (
    update(Otp)
    .where(Otp.id == bindparam("otp_id"), Otp.closed_at.is_(None))
    .values(closed_at=bindparam("now"), pin_handle=None)
)
_INSERT_SAD = insert(Sad)
_CREDENTIAL_AND_SAD = (
    select(
        *_CREDENTIAL_COLUMNS,
        Sad.hashes.label("sad_hashes"),
        Sad.hash_algo.label("sad_hash_algo"),
        Sad.num_signatures.label("sad_num_signatures"),
        Sad.wrapped_handle.label("sad_wrapped_handle"),
        Sad.expires_at.label("sad_expires_at"),
    )
    .outerjoin(
        Sad, and_(Sad.credential_id == Credential.id, Sad.token_hash == bindparam("sad_token_hash"))
    )
    .where(Credential.id == bindparam("cred_id"))
)
_USE_SAD = (
    update(Sad)
    .where(Sad.token_hash == bindparam("sad_token_hash"), Sad.used_at.is_(None))
    .values(used_at=bindparam("now"), wrapped_handle=b"")
)


def pin_policy_errors(pin: str) -> list[str]:
    """PIN-1 rules; the portal shows its own Japanese messages, this is defence in depth."""
    errors = []
    if not 8 <= len(pin) <= 32:
        errors.append("length")
    if not re.fullmatch(r"[\x21-\x7e]*", pin):
        errors.append("charset")
    if not re.search(r"[A-Z]", pin):
        errors.append("uppercase")
    if FORBIDDEN_PIN_SYMBOLS & set(pin):
        errors.append("forbidden_symbol")
    return errors


@dataclass(frozen=True)
class Activation:
    """What authorize checks: the credential, the hashes to bind, and the PIN (or the
    PIN token from sendOTP) with the one-time code."""

    cred_id: str
    hashes: list[str]
    hash_oid: str
    num_signatures: int
    pin: str | None
    otp: str | None
    pin_token: str | None


class SigningService:
    def __init__(self, cfg: dict[str, Any], pki: Pki, keystore: KeyStore, mailer: OtpMailer):
        self.cfg = cfg
        self.pki = pki
        self.keystore = keystore
        self.mailer = mailer
        self._otp_key = derive_key(cfg["MASTER_KEY_BYTES"], "rs-otp-v1")

    # --- credentials ------------------------------------------------------
    def create_credential(
        self,
        s: Session,
        client: Client,
        *,
        user_id: str,
        name: str,
        email: str,
        organization: str,
        pin: str,
        kind: CredentialKind = CredentialKind.USER,
        issue: bool = True,
    ) -> Credential:
        """Generate the key under the PIN; issue the certificate now or later (``issue``)."""
        if kind is CredentialKind.USER:
            _require_role(client, "portal")
            broken = pin_policy_errors(pin)
            if broken:
                raise ServiceError(ErrorCode.PIN_POLICY, "PIN violates policy", rules=broken)
        cred_id = "cred-" + secrets.token_hex(16)
        wrapped, public_key = self.keystore.generate(
            pin,
            label=cred_id,
            key_size=self.cfg["USER_KEY_SIZE"],
            resident=kind is CredentialKind.SEAL,
        )
        cred = Credential(
            id=cred_id,
            kind=kind,
            user_id=user_id,
            owner_name=name,
            owner_email=email,
            organization=organization,
            status=CredentialStatus.PENDING,
            key_algo="RSA",
            key_len=public_key.key_size if isinstance(public_key, rsa.RSAPublicKey) else 256,
            public_key_der=public_key.public_bytes(
                serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
            ),
            wrapped_key=wrapped.blob,
            kdf_salt=wrapped.salt,
            kdf_params=wrapped.params,
            pin_failures=0,
            otp_failures=0,
            created_at=clock.now(),
        )
        s.add(cred)
        log.info("credential created id=%s user=%s kind=%s", cred_id, user_id, kind.value)
        if issue:
            self._issue(cred)
        return cred

    def issue(self, s: Session, client: Client, cred_id: str) -> Credential:
        """発行: the CA certifies the key registered with the PIN."""
        cred = self.get(s, client, cred_id)
        if cred.status is not CredentialStatus.PENDING:
            raise ServiceError(ErrorCode.CONFLICT, "certificate already issued", 409)
        self._issue(cred)
        return cred

    def _issue(self, cred: Credential) -> None:
        public_key = serialization.load_der_public_key(cred.public_key_der)
        assert isinstance(public_key, rsa.RSAPublicKey)
        cert = self.pki.issue_user_certificate(public_key, cred.owner_name, cred.organization)
        cred.serial = str(cert.serial_number)
        cred.cert_der = cert.public_bytes(serialization.Encoding.DER)
        cred.not_before = cert.not_valid_before_utc
        cred.not_after = cert.not_valid_after_utc
        cred.status = CredentialStatus.ACTIVE
        log.info("certificate issued credential=%s serial=%x", cred.id, cert.serial_number)

    def ensure_seal(self, s: Session) -> None:
        if not self.cfg["SEAL_ENABLED"]:
            return
        exists = s.scalar(
            select(Credential.id).where(
                Credential.kind == CredentialKind.SEAL,
                Credential.status != CredentialStatus.REVOKED,
            )
        )
        if exists is None:
            self.create_credential(
                s,
                Client(self.cfg["CONSOLE_CLIENT_ID"], "console"),
                user_id=SEAL_USER_ID,
                name=self.cfg["SEAL_NAME"],
                email=self.cfg["MAIL_FROM"],
                organization=self.cfg["SEAL_ORGANIZATION"],
                pin=self.cfg["CONSOLE_CLIENT_SECRET"],
                kind=CredentialKind.SEAL,
            )

    def list_credentials(self, s: Session, client: Client, user_id: str | None) -> list[str]:
        kind = CredentialKind.SEAL if client.role == "console" else CredentialKind.USER
        q = select(Credential.id).where(Credential.kind == kind).order_by(Credential.created_at)
        if user_id is not None:
            q = q.where(Credential.user_id == user_id)
        return list(s.scalars(q))

    def get(
        self, s: Session, client: Client, cred_id: str, *, for_update: bool = False
    ) -> Credential:
        cred = s.get(Credential, cred_id, with_for_update=for_update)
        if cred is None or not self._visible(client, cred):
            raise ServiceError(ErrorCode.CREDENTIAL_NOT_FOUND, "unknown credential", 404)
        return cred

    def _visible(self, client: Client, cred: _Usable) -> bool:
        if cred.kind is CredentialKind.SEAL:
            return client.role == "console" and bool(self.cfg["SEAL_ENABLED"])
        return client.role == "portal"

    def info(self, cred: Credential) -> dict[str, Any]:
        seal_cred = cred.kind is CredentialKind.SEAL
        return {
            "description": "電子署名用証明書" if not seal_cred else "銀行電子印",
            "credentialStatus": cred.status.value,
            "userID": cred.user_id,
            "kind": cred.kind.value,
            "key": {
                "status": "enabled" if cred.status is CredentialStatus.ACTIVE else "disabled",
                "algo": [RSA_ENCRYPTION_OID],
                "len": cred.key_len,
            },
            "cert": self._cert_info(cred),
            "authMode": "explicit",
            "SCAL": "2",
            "PIN": {
                "presence": "false" if seal_cred else "true",
                "format": "A",
                "label": "署名用PIN",
            },
            "OTP": {
                "presence": "false" if seal_cred else "true",
                "type": "online",
                "format": "N",
                "ID": "email",
                "provider": "embedded-ca",
            },
            "multisign": self.cfg["MAX_HASHES"],
            "lang": "ja-JP",
        }

    def _cert_info(self, cred: Credential) -> dict[str, Any]:
        if cred.cert_der is None or cred.not_after is None or cred.not_before is None:
            return {
                "status": "revoked" if cred.status is CredentialStatus.REVOKED else "pending",
                "certificates": [],
            }
        if cred.status is CredentialStatus.REVOKED:
            cert_status = "revoked"
        elif cred.not_after < clock.now():
            cert_status = "expired"
        else:
            cert_status = "valid"
        cert = x509.load_der_x509_certificate(cred.cert_der)
        chain = [cred.cert_der, *self.pki.chain_der()]
        return {
            "status": cert_status,
            "certificates": [base64.b64encode(c).decode() for c in chain],
            "issuerDN": cert.issuer.rfc4514_string(),
            "subjectDN": cert.subject.rfc4514_string(),
            "serialNumber": format(cert.serial_number, "x"),
            "validFrom": cred.not_before.strftime("%Y%m%d%H%M%SZ"),
            "validTo": cred.not_after.strftime("%Y%m%d%H%M%SZ"),
        }

    # --- OTP --------------------------------------------------------------
    def send_otp(
        self, s: Session, client: Client, cred_id: str, *, pin: str | None = None
    ) -> str | None:
        """Mail a new code. With ``pin`` (PIN first, as the guide's dialog asks for
        it before 送信) the PIN is checked now, no code is sent for a wrong one, and
        the returned PIN token replaces the PIN at authorize."""
        cred = self.get(s, client, cred_id)
        if cred.kind is not CredentialKind.USER:
            raise ServiceError(ErrorCode.INVALID_REQUEST, "credential takes no OTP")
        self._check_usable(cred)
        pin_token = pin_handle = None
        if pin is not None:
            handle = self._check_pin(s, cred, pin)
            cred.pin_failures = 0
            pin_token = secrets.token_urlsafe(32)
            pin_handle = seal(_pin_token_key(pin_token), handle, cred.id.encode())
        now = clock.now()
        digits = self.cfg["OTP_DIGITS"]
        code = f"{secrets.randbelow(10**digits):0{digits}d}"
        s.execute(
            update(Otp)
            .where(Otp.credential_id == cred.id, Otp.closed_at.is_(None))
            .values(closed_at=now, pin_handle=None)
        )
        ttl = timedelta(seconds=self.cfg["OTP_TTL_SECONDS"])
        s.add(
            Otp(
                credential_id=cred.id,
                code_mac=self._otp_mac(cred.id, code),
                created_at=now,
                expires_at=now + ttl,
                pin_handle=pin_handle,
            )
        )
        s.flush()
        try:
            self.mailer.send_otp(cred.owner_email, cred.owner_name, code, ttl)
        except MailError as exc:
            raise ServiceError(ErrorCode.OTP_DELIVERY, "could not send the code", 503) from exc
        log.info("otp sent credential=%s pin_first=%s", cred.id, pin is not None)
        return pin_token

    def _otp_mac(self, cred_id: str, code: str) -> bytes:
        return hmac.new(self._otp_key, f"{cred_id}:{code}".encode(), hashlib.sha256).digest()

    # --- authorize / sign -------------------------------------------------
    def authorize(self, s: Session, client: Client, req: Activation) -> tuple[str, int]:
        conn = short_lived_state(s)  # the code's use and a new activation token
        cred, handle, digests, hash_algo = self._activate(s, conn, client, req)
        token = secrets.token_urlsafe(32)
        now = clock.now()
        ttl = self.cfg["SAD_TTL_SECONDS"]
        conn.execute(
            _INSERT_SAD,
            {
                "token_hash": _token_hash(token),
                "credential_id": cred.id,
                "hashes": json.dumps(sorted({base64.b64encode(d).decode() for d in digests})),
                "hash_algo": hash_algo,
                "num_signatures": len(digests),
                "wrapped_handle": seal(_sad_key(token), handle, cred.id.encode()),
                "created_at": now,
                "expires_at": now + timedelta(seconds=ttl),
            },
        )
        log.info("authorized credential=%s hashes=%d", cred.id, len(digests))
        return token, ttl

    def authorize_and_sign(
        self, s: Session, client: Client, req: Activation, sign_algo: str
    ) -> list[str]:
        """authorize and signHash in one call (extension ``authorizeSignHash``): the
        same checks as authorize, then exactly these hashes are signed; no activation
        token is issued. Saves the caller a round trip when it signs at once."""
        if sign_algo not in RSA_SIGN_ALGOS:
            raise ServiceError(ErrorCode.INVALID_REQUEST, "unsupported signAlgo")
        conn = short_lived_state(s)  # the code's use
        cred, handle, digests, hash_algo = self._activate(s, conn, client, req)
        s.commit()  # the code is used even if the signature below fails
        log.info("authorized credential=%s hashes=%d", cred.id, len(digests))
        sigs = self.keystore.sign(_wrapped(cred), handle, digests, hash_algo, label=cred.id)
        log.info("signed credential=%s count=%d", cred.id, len(sigs))
        return [base64.b64encode(x).decode() for x in sigs]

    def _activate(
        self, s: Session, conn: Connection, client: Client, req: Activation
    ) -> tuple[_HotRow, bytes, list[bytes], str]:
        """authorize's checks (SCAL2: the PIN or the PIN checked at sendOTP, and the
        code, in this transaction): the credential, the key's activation handle, the
        decoded digests and their algorithm."""
        cred = self._credential_and_open_code(conn, client, req.cred_id)
        if req.pin is not None and req.pin_token is not None:
            raise ServiceError(ErrorCode.INVALID_REQUEST, "send either PIN or pinToken")
        self._check_usable(cred)
        hash_algo = HASH_OIDS[req.hash_oid]
        digests = _decode_hashes(req.hashes, hash_algo)
        if req.num_signatures != len(digests) or len(digests) > self.cfg["MAX_HASHES"]:
            raise ServiceError(
                ErrorCode.INVALID_REQUEST, "numSignatures must equal the number of hashes"
            )
        if cred.kind is CredentialKind.SEAL:
            handle = self._unlock_seal(cred)
        else:
            if req.pin_token is not None:
                handle = self._pin_checked_at_send(cred, req.pin_token)
            else:
                handle = self._check_pin(s, cred, req.pin)
                _reset_failures(s, cred.id, pin_failures=cred.pin_failures)
            self._check_otp(s, conn, cred, req.otp)
            _reset_failures(s, cred.id, otp_failures=cred.otp_failures)
        return cred, handle, digests, hash_algo

    def _credential_and_open_code(self, conn: Connection, client: Client, cred_id: str) -> _HotRow:
        """The credential and its newest open code in one statement (authorize's only read)."""
        row = conn.execute(_CREDENTIAL_AND_OPEN_CODE, {"cred_id": cred_id}).first()
        if row is None or not self._visible(client, row):
            raise ServiceError(ErrorCode.CREDENTIAL_NOT_FOUND, "unknown credential", 404)
        return row

    def _unlock_seal(self, cred: _KeyHolder) -> bytes:
        try:
            return self.keystore.unlock(
                _wrapped(cred), self.cfg["CONSOLE_CLIENT_SECRET"], label=cred.id
            )
        except WrongSecret as exc:
            raise ServiceError(ErrorCode.UNAUTHORIZED_CLIENT, "seal secret mismatch", 401) from exc

    def _check_pin(self, s: Session, cred: _KeyHolder, pin: str | None) -> bytes:
        try:
            if not pin:
                raise WrongSecret
            return self.keystore.unlock(_wrapped(cred), pin, label=cred.id)
        except WrongSecret:
            self._count_failure(s, cred.id, "pin")

    @staticmethod
    def _pin_checked_at_send(cred: _HotRow, pin_token: str) -> bytes:
        """The secret the PIN unwrapped at sendOTP. A token that does not open the
        open code's handle (a newer code was sent, or a forged token) means "start
        again from the PIN"; it is not a wrong PIN and counts nothing."""
        if cred.otp_id is None or cred.pin_handle is None:
            raise ServiceError(ErrorCode.SAD_INVALID, "no PIN was checked for the open code")
        try:
            return unseal(_pin_token_key(pin_token), cred.pin_handle, cred.id.encode())
        except InvalidTag as exc:
            raise ServiceError(ErrorCode.SAD_INVALID, "pinToken does not match the code") from exc

    def _check_otp(self, s: Session, conn: Connection, cred: _HotRow, otp: str | None) -> None:
        """Checks the open code and closes it. The close is conditional: of two
        requests with one code (PostgreSQL runs them side by side) one wins."""
        if cred.otp_id is None or not otp:
            raise ServiceError(ErrorCode.OTP_INVALID, "no valid code; request a new one")
        if not hmac.compare_digest(cred.code_mac, self._otp_mac(cred.id, otp)):
            self._count_failure(s, cred.id, "otp")
        now = clock.now()
        closed = conn.execute(_CLOSE_CODE, {"otp_id": cred.otp_id, "now": now})
        if closed.rowcount != 1:
            raise ServiceError(ErrorCode.OTP_INVALID, "no valid code; request a new one")
        if now > cred.otp_expires_at:
            s.commit()
            raise ServiceError(ErrorCode.OTP_EXPIRED, "the code has expired")

    def _count_failure(self, s: Session, cred_id: str, what: str) -> NoReturn:
        durable_from_here(s)  # counts and locks survive a crash
        column = Credential.pin_failures if what == "pin" else Credential.otp_failures
        count = s.execute(
            update(Credential)
            .where(Credential.id == cred_id)
            .values({column: column + 1})
            .returning(column)
        ).scalar_one()
        limit = self.cfg["MAX_PIN_FAILURES"] if what == "pin" else self.cfg["MAX_OTP_FAILURES"]
        log.warning("%s failure credential=%s count=%d", what, cred_id, count)
        if count >= limit:
            reason = f"{what}_failures"
            s.execute(
                update(Credential)
                .where(Credential.id == cred_id)
                .values(status=CredentialStatus.LOCKED, lock_reason=reason)
            )
            s.commit()
            log.warning("credential locked credential=%s reason=%s", cred_id, reason)
            raise ServiceError(ErrorCode.CREDENTIAL_LOCKED, "credential locked", 403)
        s.commit()
        code = ErrorCode.PIN_INVALID if what == "pin" else ErrorCode.OTP_INVALID
        raise ServiceError(code, f"wrong {what}", remaining=limit - count)

    def sign_hash(
        self,
        s: Session,
        client: Client,
        *,
        cred_id: str,
        sad: str,
        hashes: list[str],
        hash_oid: str,
        sign_algo: str,
    ) -> list[str]:
        conn = short_lived_state(s)  # the activation token's single use
        token_hash = _token_hash(sad)
        row = conn.execute(
            _CREDENTIAL_AND_SAD, {"cred_id": cred_id, "sad_token_hash": token_hash}
        ).first()
        if row is None or not self._visible(client, row):
            raise ServiceError(ErrorCode.CREDENTIAL_NOT_FOUND, "unknown credential", 404)
        if row.sad_hashes is None:
            raise ServiceError(ErrorCode.SAD_INVALID, "unknown activation data")
        now = clock.now()
        used = conn.execute(_USE_SAD, {"sad_token_hash": token_hash, "now": now})
        s.commit()  # single use even if the request below is refused
        if used.rowcount != 1:
            raise ServiceError(ErrorCode.SAD_INVALID, "activation data already used")
        if now > row.sad_expires_at:
            raise ServiceError(ErrorCode.SAD_INVALID, "activation data expired")
        cred = row
        self._check_usable(cred)
        hash_algo = HASH_OIDS[hash_oid]
        digests = _decode_hashes(hashes, hash_algo)
        allowed = set(json.loads(row.sad_hashes))
        wanted = [base64.b64encode(d).decode() for d in digests]
        if (
            hash_algo != row.sad_hash_algo
            or len(wanted) > row.sad_num_signatures
            or not set(wanted) <= allowed
        ):
            log.warning("signHash refused: hashes not authorized credential=%s", cred.id)
            raise ServiceError(
                ErrorCode.HASH_NOT_AUTHORIZED, "hashes not covered by the authorization"
            )
        if sign_algo not in RSA_SIGN_ALGOS:
            raise ServiceError(ErrorCode.INVALID_REQUEST, "unsupported signAlgo")
        handle = unseal(_sad_key(sad), row.sad_wrapped_handle, cred.id.encode())
        sigs = self.keystore.sign(_wrapped(cred), handle, digests, hash_algo, label=cred.id)
        log.info("signed credential=%s count=%d", cred.id, len(sigs))
        return [base64.b64encode(x).decode() for x in sigs]

    # --- administration ---------------------------------------------------
    def change_pin(self, s: Session, client: Client, cred_id: str, old: str, new: str) -> None:
        cred = self.get(s, client, cred_id)
        _require_user_credential(cred)
        self._check_usable(cred)
        broken = pin_policy_errors(new)
        if broken:
            raise ServiceError(ErrorCode.PIN_POLICY, "PIN violates policy", rules=broken)
        try:
            wrapped = self.keystore.rewrap(_wrapped(cred), old, new, label=cred.id)
        except WrongSecret:
            self._count_failure(s, cred.id, "pin")
        cred.wrapped_key, cred.kdf_salt, cred.kdf_params = (
            wrapped.blob,
            wrapped.salt,
            wrapped.params,
        )
        cred.pin_failures = 0
        log.info("pin changed credential=%s", cred.id)

    def lock(self, s: Session, client: Client, cred_id: str) -> Credential:
        cred = self.get(s, client, cred_id)
        _require_user_credential(cred)
        if cred.status is CredentialStatus.REVOKED:
            raise ServiceError(ErrorCode.CREDENTIAL_REVOKED, "credential revoked", 409)
        cred.status = CredentialStatus.LOCKED
        cred.lock_reason = "admin"
        log.info("credential locked credential=%s reason=admin", cred.id)
        return cred

    def unlock(self, s: Session, client: Client, cred_id: str) -> Credential:
        cred = self.get(s, client, cred_id)
        _require_user_credential(cred)
        if cred.status is CredentialStatus.REVOKED:
            raise ServiceError(ErrorCode.CREDENTIAL_REVOKED, "credential revoked", 409)
        cred.status = CredentialStatus.ACTIVE if cred.cert_der else CredentialStatus.PENDING
        cred.lock_reason = None
        cred.pin_failures = 0
        cred.otp_failures = 0
        log.info("credential unlocked credential=%s", cred.id)
        return cred

    def revoke(self, s: Session, client: Client, cred_id: str, reason: str | None) -> Credential:
        cred = self.get(s, client, cred_id)
        if cred.status is CredentialStatus.REVOKED:
            return cred
        try:
            flag = x509.ReasonFlags(reason or "unspecified")
        except ValueError as exc:
            raise ServiceError(ErrorCode.INVALID_REQUEST, "unknown revocation reason") from exc
        cred.status = CredentialStatus.REVOKED
        cred.revoked_at = clock.now_seconds()
        cred.revocation_reason = flag.value
        cred.wrapped_key = b""  # the key is destroyed with the revocation
        log.info("credential revoked credential=%s reason=%s", cred.id, flag.value)
        return cred

    def update_email(self, s: Session, client: Client, cred_id: str, email: str) -> None:
        cred = self.get(s, client, cred_id)
        _require_user_credential(cred)
        cred.owner_email = email

    # --- revocation status ------------------------------------------------
    def cert_status(self, s: Session, authority: str, serial: int) -> CertStatus:
        if authority == "root":
            known = {self.pki.issuing.cert.serial_number}
            return CertStatus("good" if serial in known else "unknown")
        if serial == self.pki.tsa.cert.serial_number:
            return CertStatus("good")
        cred = s.scalar(select(Credential).where(Credential.serial == str(serial)))
        if cred is None:
            return CertStatus("unknown")
        if cred.status is CredentialStatus.REVOKED:
            return CertStatus("revoked", cred.revoked_at, cred.revocation_reason)
        return CertStatus("good")

    def revoked_list(self, s: Session) -> list[tuple[int, datetime, str | None]]:
        rows = s.scalars(
            select(Credential).where(
                Credential.status == CredentialStatus.REVOKED, Credential.serial.is_not(None)
            )
        )
        return [
            (int(c.serial or 0), c.revoked_at or clock.now(), c.revocation_reason) for c in rows
        ]

    def _check_usable(self, cred: _Usable) -> None:
        if cred.status is CredentialStatus.REVOKED:
            raise ServiceError(ErrorCode.CREDENTIAL_REVOKED, "credential revoked", 403)
        if cred.status is CredentialStatus.LOCKED:
            raise ServiceError(ErrorCode.CREDENTIAL_LOCKED, "credential locked", 403)
        if cred.status is CredentialStatus.PENDING or cred.not_after is None:
            raise ServiceError(ErrorCode.CREDENTIAL_PENDING, "certificate not issued yet", 403)
        if cred.not_after < clock.now():
            raise ServiceError(ErrorCode.CREDENTIAL_EXPIRED, "certificate expired", 403)


def _reset_failures(s: Session, cred_id: str, **counts: int) -> None:
    """Zero the named failure counts after a success; no write when they are zero."""
    nonzero = {name: 0 for name, value in counts.items() if value}
    if nonzero:
        s.execute(update(Credential).where(Credential.id == cred_id).values(nonzero))


def _require_role(client: Client, role: str) -> None:
    if client.role != role:
        raise ServiceError(ErrorCode.UNAUTHORIZED_CLIENT, "client not allowed", 403)


def _require_user_credential(cred: Credential) -> None:
    if cred.kind is not CredentialKind.USER:
        raise ServiceError(ErrorCode.INVALID_REQUEST, "not a user credential")


def _wrapped(cred: _KeyHolder) -> WrappedKey:
    return WrappedKey(blob=cred.wrapped_key, salt=cred.kdf_salt, params=cred.kdf_params)


def _decode_hashes(hashes: list[str], hash_algo: str) -> list[bytes]:
    out = []
    for h in hashes:
        try:
            d = base64.b64decode(h, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ServiceError(ErrorCode.INVALID_REQUEST, "hashes must be base64") from exc
        if len(d) != HASH_SIZES[hash_algo]:
            raise ServiceError(
                ErrorCode.INVALID_REQUEST, "hash length does not match the algorithm"
            )
        out.append(d)
    return out


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _sad_key(token: str) -> bytes:
    return hashlib.sha256(b"rs-sad-v1" + token.encode()).digest()


def _pin_token_key(token: str) -> bytes:
    return hashlib.sha256(b"rs-pin-token-v1" + token.encode()).digest()
