"""The adapter (RS-1): the only way the portal talks to a signing service.

Speaks the CSC v2 shaped JSON API over HTTP with ``requests``; the base URL
and the portal's client credential are configuration. Every failure surfaces
as one of the typed exceptions below, which the portal's views map to Japanese
messages in one place.
"""

from __future__ import annotations

import base64
import json
import os
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.cookiejar import DefaultCookiePolicy
from typing import Any, Literal

import requests
from requests.adapters import HTTPAdapter

from .protocol import ADMIN_PREFIX, API_PREFIX, HASH_OID_BY_NAME, RSA_ENCRYPTION_OID, ErrorCode

Role = Literal["portal", "console"]
# Which configuration keys hold each role's client credential.
_CREDENTIAL_KEYS: dict[Role, tuple[str, str]] = {
    "portal": ("SIGNING_CLIENT_ID", "SIGNING_CLIENT_SECRET"),
    "console": ("SIGNING_CONSOLE_CLIENT_ID", "SIGNING_CONSOLE_CLIENT_SECRET"),
}
_JSON = json.JSONEncoder(separators=(",", ":"), allow_nan=False)
# Keep-alive connections kept per host: the threads of a worker and the documents
# of one signature (signed side by side) each reuse one instead of reconnecting.
_POOL_SIZE = 16


class SigningError(Exception):
    """Base class of every adapter error."""

    def __init__(
        self, message: str = "", *, code: str | None = None, detail: dict[str, Any] | None = None
    ):
        super().__init__(message or self.__class__.__name__)
        self.code = code
        self.detail = detail or {}


class ServiceUnavailable(SigningError):
    """Unreachable, timed out, or answered 5xx: nothing changed on our side."""


class ClientNotAuthorized(SigningError):
    """The service refused the portal's client credential."""


class InvalidRequest(SigningError):
    pass


class CredentialNotFound(SigningError):
    pass


class PinInvalid(SigningError):
    @property
    def remaining(self) -> int | None:
        value = self.detail.get("remaining")
        return int(value) if value is not None else None


class PinPolicyViolation(SigningError):
    @property
    def rules(self) -> list[str]:
        return list(self.detail.get("rules", []))


class CredentialLocked(SigningError):
    pass


class CredentialRevoked(SigningError):
    pass


class CredentialExpired(SigningError):
    pass


class CredentialNotIssued(SigningError):
    """The PIN is registered but the certificate has not been issued (発行) yet."""


class OtpInvalid(SigningError):
    pass


class OtpExpired(SigningError):
    pass


class OtpDeliveryFailed(ServiceUnavailable):
    pass


class TimestampUnavailable(ServiceUnavailable):
    """No configured TSA answered with a valid timestamp: nothing may be stored
    (a signature, seal or archive timestamp without one is never kept)."""


class SadInvalid(SigningError):
    """The activation token is unknown, used, expired, or does not cover the hashes."""


_ERRORS: dict[str, type[SigningError]] = {
    ErrorCode.INVALID_REQUEST: InvalidRequest,
    ErrorCode.UNAUTHORIZED_CLIENT: ClientNotAuthorized,
    ErrorCode.CREDENTIAL_NOT_FOUND: CredentialNotFound,
    ErrorCode.PIN_INVALID: PinInvalid,
    ErrorCode.PIN_POLICY: PinPolicyViolation,
    ErrorCode.CREDENTIAL_LOCKED: CredentialLocked,
    ErrorCode.CREDENTIAL_REVOKED: CredentialRevoked,
    ErrorCode.CREDENTIAL_EXPIRED: CredentialExpired,
    ErrorCode.CREDENTIAL_PENDING: CredentialNotIssued,
    ErrorCode.OTP_INVALID: OtpInvalid,
    ErrorCode.OTP_EXPIRED: OtpExpired,
    ErrorCode.OTP_DELIVERY: OtpDeliveryFailed,
    ErrorCode.SAD_INVALID: SadInvalid,
    ErrorCode.HASH_NOT_AUTHORIZED: SadInvalid,
}


@dataclass(frozen=True)
class CredentialInfo:
    credential_id: str
    status: str  # pending | active | locked | revoked
    cert_status: str  # pending | valid | revoked | expired
    certificates: list[bytes]  # DER, signer first
    key_algo: str
    key_len: int
    valid_from: datetime | None
    valid_to: datetime | None
    subject: str
    serial_hex: str
    scal: str
    multisign: int

    @property
    def certificate(self) -> bytes:
        return self.certificates[0]


@dataclass(frozen=True)
class PinProof:
    """What authorize takes for the PIN once 送信 has mailed the code.

    A service that checks the PIN at sendOTP (PIN first, the embedded one) answers
    a single-use ``pin_token``; a plain CSC v2 service cannot, and then the PIN
    itself waits here until authorize checks it. Callers keep it sealed between
    the dialog's steps; ``dumps``/``loads`` give the text they seal.
    """

    pin_token: str | None = None
    pin: str | None = field(default=None, repr=False)

    def dumps(self) -> str:
        return json.dumps({"t": self.pin_token, "p": self.pin})

    @classmethod
    def loads(cls, text: str) -> PinProof:
        data = json.loads(text)
        return cls(pin_token=data.get("t"), pin=data.get("p"))


@dataclass(frozen=True)
class Authorization:
    credential_id: str
    sad: str
    expires_in: int
    hashes: tuple[bytes, ...]
    hash_algo: str


class SigningClient:
    def __init__(
        self,
        base_url: str,
        client_id: str,
        client_secret: str,
        *,
        timeout: float = 10.0,
        connect_timeout: float = 3.0,
        session: requests.Session | None = None,
        pin_first: bool = True,
        tsa_urls: Sequence[str] = (),
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.pin_first = pin_first
        # Tried in this order (remote_signing.pdf.ServiceTimeStamper); the service's own
        # TSA when none is configured.
        self.tsa_urls: tuple[str, ...] = tuple(tsa_urls) or (f"{self.base_url}/tsa",)
        self._root_der: bytes | None = None
        self._extensions: frozenset[str] | None = None
        self._auth = (client_id, client_secret)
        self._timeout = (connect_timeout, timeout)
        self._templates: dict[str, requests.PreparedRequest] = {}
        if session is None:
            session = requests.Session()
            adapter = HTTPAdapter(pool_connections=4, pool_maxsize=_POOL_SIZE)
            session.mount("http://", adapter)
            session.mount("https://", adapter)
            self._http = session
            self._settle_environment()
        else:
            self._http = session

    @classmethod
    def from_config(cls, config: Mapping[str, Any], role: Role = "portal") -> SigningClient:
        """The one factory of signing clients: the portal's credential (customers'
        signatures, certificates) or the console's (the bank seal, CON-6), both from
        configuration (``SIGNING_CLIENT_*`` / ``SIGNING_CONSOLE_CLIENT_*``). There is
        no fallback secret here: the embedded profile's development credentials are
        configuration defaults that production refuses (``portal.config``)."""
        client_id, secret = credential_of(config, role)
        return cls(
            config["SIGNING_SERVICE_URL"],
            client_id,
            secret,
            timeout=float(config.get("SIGNING_TIMEOUT", 10)),
            pin_first=bool(config.get("SIGNING_PIN_FIRST", True)),
            tsa_urls=tsa_urls_from(config),
        )

    def close(self) -> None:
        self._http.close()

    def _settle_environment(self) -> None:
        """Resolve the proxy and CA settings of the environment once, not on every
        call (requests reads them per request unless told not to: netrc, proxy
        variables), and keep no cookies: a shared client serves every user of the
        process."""
        settings = self._http.merge_environment_settings(self.base_url, {}, None, None, None)
        self._http.proxies.update(settings["proxies"])
        self._http.verify = settings["verify"]
        self._http.trust_env = False
        self._http.cookies.set_policy(DefaultCookiePolicy(allowed_domains=[]))

    # --- CSC ------------------------------------------------------------
    def list_credentials(self, user_id: str | None = None) -> list[str]:
        body = {"userID": user_id} if user_id is not None else {}
        return list(self._post(f"{API_PREFIX}/credentials/list", body)["credentialIDs"])

    def credential_info(self, credential_id: str) -> CredentialInfo:
        data = self._post(f"{API_PREFIX}/credentials/info", {"credentialID": credential_id})
        return _info(credential_id, data)

    def send_otp(self, credential_id: str) -> None:
        self._post(f"{API_PREFIX}/credentials/sendOTP", {"credentialID": credential_id})

    def send_otp_after_pin(self, credential_id: str, pin: str) -> PinProof:
        """送信 with the PIN: a PIN-first service refuses a wrong PIN here
        (``PinInvalid``, counted) and mails no code; see ``PinProof``."""
        if not self.pin_first:
            self.send_otp(credential_id)
            return PinProof(pin=pin)
        data = self._post(
            f"{API_PREFIX}/credentials/sendOTP", {"credentialID": credential_id, "PIN": pin}
        )
        token = data.get("pinToken")
        if not token:
            raise InvalidRequest("the service did not check the PIN at sendOTP (pin_first)")
        return PinProof(pin_token=str(token))

    def extensions(self) -> frozenset[str]:
        """The service's extensions beyond CSC v2 (``/info``), asked once per client."""
        if self._extensions is None:
            info = self._post(f"{API_PREFIX}/info", {})
            self._extensions = frozenset(str(e) for e in info.get("extensions", ()))
        return self._extensions

    def authorize(
        self,
        credential_id: str,
        hashes: Sequence[bytes],
        *,
        pin: str | None = None,
        otp: str | None,
        pin_token: str | None = None,
        hash_algo: str = "sha256",
        description: str | None = None,
    ) -> Authorization:
        body = _authorize_body(credential_id, hashes, pin=pin, otp=otp, pin_token=pin_token,
                               hash_algo=hash_algo, description=description)
        data = self._post(f"{API_PREFIX}/credentials/authorize", body)
        return Authorization(
            credential_id, data["SAD"], int(data["expiresIn"]), tuple(hashes), hash_algo
        )

    def authorize_and_sign(
        self,
        credential_id: str,
        hashes: Sequence[bytes],
        *,
        pin: str | None = None,
        otp: str | None,
        pin_token: str | None = None,
        hash_algo: str = "sha256",
        description: str | None = None,
        sign_algo: str = RSA_ENCRYPTION_OID,
    ) -> list[bytes]:
        """authorize, then signHash with its activation token: in one call where the
        service offers the ``authorizeSignHash`` extension (one round trip less),
        else the two CSC calls."""
        if "authorizeSignHash" not in self.extensions():
            auth = self.authorize(credential_id, hashes, pin=pin, otp=otp, pin_token=pin_token,
                                  hash_algo=hash_algo, description=description)
            return self.sign_hashes(auth, sign_algo=sign_algo)
        body = _authorize_body(credential_id, hashes, pin=pin, otp=otp, pin_token=pin_token,
                               hash_algo=hash_algo, description=description)
        body["signAlgo"] = sign_algo
        data = self._post(f"{API_PREFIX}/signatures/authorizeSignHash", body)
        return [base64.b64decode(s) for s in data["signatures"]]

    def sign_hashes(
        self,
        authorization: Authorization,
        hashes: Sequence[bytes] | None = None,
        sign_algo: str = RSA_ENCRYPTION_OID,
    ) -> list[bytes]:
        wanted = list(authorization.hashes if hashes is None else hashes)
        data = self._post(
            f"{API_PREFIX}/signatures/signHash",
            {
                "credentialID": authorization.credential_id,
                "SAD": authorization.sad,
                "hashes": [base64.b64encode(h).decode() for h in wanted],
                "hashAlgorithmOID": HASH_OID_BY_NAME[authorization.hash_algo],
                "signAlgo": sign_algo,
            },
        )
        return [base64.b64decode(s) for s in data["signatures"]]

    # --- administration ---------------------------------------------------
    def create_credential(
        self,
        *,
        user_id: str,
        name: str,
        email: str,
        organization: str,
        pin: str,
        issue: bool = True,
    ) -> CredentialInfo:
        """Register the PIN (the service generates the key); ``issue=False`` leaves the
        certificate for a later :meth:`issue` (初期PIN登録 then 発行)."""
        data = self._post(
            f"{ADMIN_PREFIX}/credentials/create",
            {
                "userID": user_id,
                "name": name,
                "email": email,
                "organization": organization,
                "PIN": pin,
                "issue": issue,
            },
        )
        return _info(data["credentialID"], data)

    def issue(self, credential_id: str) -> CredentialInfo:
        data = self._post(f"{ADMIN_PREFIX}/credentials/issue", {"credentialID": credential_id})
        return _info(credential_id, data)

    def change_pin(self, credential_id: str, old_pin: str, new_pin: str) -> None:
        self._post(
            f"{ADMIN_PREFIX}/credentials/changePIN",
            {"credentialID": credential_id, "oldPIN": old_pin, "newPIN": new_pin},
        )

    def lock(self, credential_id: str) -> str:
        return str(
            self._post(f"{ADMIN_PREFIX}/credentials/lock", {"credentialID": credential_id})[
                "credentialStatus"
            ]
        )

    def unlock(self, credential_id: str) -> str:
        return str(
            self._post(f"{ADMIN_PREFIX}/credentials/unlock", {"credentialID": credential_id})[
                "credentialStatus"
            ]
        )

    def revoke(self, credential_id: str, reason: str = "unspecified") -> str:
        return str(
            self._post(
                f"{ADMIN_PREFIX}/credentials/revoke",
                {"credentialID": credential_id, "reason": reason},
            )["credentialStatus"]
        )

    def update_email(self, credential_id: str, email: str) -> None:
        self._post(
            f"{ADMIN_PREFIX}/credentials/update", {"credentialID": credential_id, "email": email}
        )

    # --- public PKI -------------------------------------------------------
    def root_certificate(self) -> bytes:
        """The service's root (fetched once per client: it does not change)."""
        if self._root_der is None:
            self._root_der = self._get("/ca/root.cer")
        return self._root_der

    def tsa_url(self) -> str:
        return self.tsa_urls[0]

    def timestamp(self, request_der: bytes, url: str | None = None) -> bytes:
        """One RFC 3161 round trip to ``url`` (default: the first TSA); the answer is
        not checked here (``ServiceTimeStamper`` checks it and tries the next TSA)."""
        try:
            resp = self._http.post(
                url or self.tsa_urls[0],
                data=request_der,
                auth=self._auth,
                timeout=self._timeout,
                headers={"Content-Type": "application/timestamp-query"},
            )
        except requests.RequestException as exc:
            raise ServiceUnavailable(f"TSA unreachable: {exc.__class__.__name__}") from exc
        if (
            resp.status_code != 200
            or resp.headers.get("Content-Type") != "application/timestamp-reply"
        ):
            raise _error(resp)
        return resp.content

    # --- transport --------------------------------------------------------
    def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        # A copy of the path's prepared request (URL, credential and headers built
        # once) with this body: requests' per-call merging of settings, URL parsing
        # and auth encoding cost as much client CPU as the round trip (#11 item 5).
        request = self._template(path).copy()
        request.body = _JSON.encode(body).encode()
        request.headers["Content-Length"] = str(len(request.body))
        try:
            resp = self._http.send(request, timeout=self._timeout, allow_redirects=False)
        except requests.RequestException as exc:
            raise ServiceUnavailable(
                f"signing service unreachable: {exc.__class__.__name__}"
            ) from exc
        if resp.status_code >= 400:
            raise _error(resp)
        try:
            data = json.loads(resp.content)
        except ValueError as exc:
            raise ServiceUnavailable("signing service answered malformed JSON") from exc
        return data if isinstance(data, dict) else {}

    def _template(self, path: str) -> requests.PreparedRequest:
        template = self._templates.get(path)
        if template is None:
            template = self._http.prepare_request(
                requests.Request(
                    "POST",
                    self.base_url + path,
                    headers={"Content-Type": "application/json"},
                    auth=self._auth,
                )
            )
            self._templates[path] = template
        return template

    def _get(self, path: str) -> bytes:
        try:
            resp = self._http.get(self.base_url + path, timeout=self._timeout)
        except requests.RequestException as exc:
            raise ServiceUnavailable(
                f"signing service unreachable: {exc.__class__.__name__}"
            ) from exc
        if resp.status_code != 200:
            raise _error(resp)
        return resp.content


_SHARED_MAX = 8  # configurations kept per process (tests switch services often)
_shared: OrderedDict[tuple[Any, ...], SigningClient] = OrderedDict()
_shared_lock = threading.Lock()


def credential_of(config: Mapping[str, Any], role: Role) -> tuple[str, str]:
    """The (client id, secret) of ``role`` in ``config``; a missing one is a
    configuration error, never a default."""
    id_key, secret_key = _CREDENTIAL_KEYS[role]
    if not config.get(id_key) or not config.get(secret_key):
        raise KeyError(f"{id_key} / {secret_key} must be configured")
    return str(config[id_key]), str(config[secret_key])


def shared_client(config: Mapping[str, Any], role: Role = "portal") -> SigningClient:
    """The process's client for ``config`` and ``role``: one pooled keep-alive HTTP
    session that the dialog's steps and the threads of a worker share, instead of a
    new client and a new connection per step. Never ``close()`` it. Keyed by process
    id, so a forked worker never inherits its parent's sockets."""
    key = (os.getpid(), config["SIGNING_SERVICE_URL"], *credential_of(config, role),
           config.get("SIGNING_TIMEOUT", 10), config.get("SIGNING_PIN_FIRST", True),
           tsa_urls_from(config))
    with _shared_lock:
        client = _shared.get(key)
        if client is None:
            client = SigningClient.from_config(config, role)
            _shared[key] = client
            while len(_shared) > _SHARED_MAX:
                _shared.popitem(last=False)  # left to the GC: a thread may still use it
        else:
            _shared.move_to_end(key)
        return client


def tsa_urls_from(config: Mapping[str, Any]) -> tuple[str, ...]:
    """``SIGNING_TSA_URLS``: a list, or one string of URLs separated by commas or
    spaces (``PORTAL_SIGNING_TSA_URLS``); empty means the signing service's own TSA."""
    value = config.get("SIGNING_TSA_URLS") or ()
    if isinstance(value, str):
        value = value.replace(",", " ").split()
    return tuple(str(u).strip() for u in value if str(u).strip())


def _authorize_body(credential_id: str, hashes: Sequence[bytes], *, pin: str | None,
                    otp: str | None, pin_token: str | None, hash_algo: str,
                    description: str | None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "credentialID": credential_id,
        "numSignatures": len(hashes),
        "hashes": [base64.b64encode(h).decode() for h in hashes],
        "hashAlgorithmOID": HASH_OID_BY_NAME[hash_algo],
    }
    if pin is not None:
        body["PIN"] = pin
    if otp is not None:
        body["OTP"] = otp
    if pin_token is not None:
        body["pinToken"] = pin_token
    if description:
        body["description"] = description
    return body


def _error(resp: requests.Response) -> SigningError:
    try:
        data = resp.json()
    except ValueError:
        data = {}
    code = str(data.get("error", "")) if isinstance(data, dict) else ""
    if resp.status_code >= 500 and code != ErrorCode.OTP_DELIVERY:
        return ServiceUnavailable(f"signing service error {resp.status_code}", code=code or None)
    if resp.status_code == 401:
        return ClientNotAuthorized("client credential refused", code=code)
    cls = _ERRORS.get(code, InvalidRequest)
    detail = {k: v for k, v in data.items() if k not in {"error", "error_description"}}
    return cls(str(data.get("error_description", code)), code=code, detail=detail)


def _info(credential_id: str, data: dict[str, Any]) -> CredentialInfo:
    cert = data["cert"]
    return CredentialInfo(
        credential_id=credential_id,
        status=data.get("credentialStatus", "active"),
        cert_status=cert["status"],
        certificates=[base64.b64decode(c) for c in cert["certificates"]],
        key_algo="RSA" if data["key"]["algo"][0] == RSA_ENCRYPTION_OID else data["key"]["algo"][0],
        key_len=int(data["key"]["len"]),
        valid_from=_time(cert["validFrom"]) if "validFrom" in cert else None,
        valid_to=_time(cert["validTo"]) if "validTo" in cert else None,
        subject=cert.get("subjectDN", ""),
        serial_hex=cert.get("serialNumber", ""),
        scal=str(data.get("SCAL", "")),
        multisign=int(data.get("multisign", 1)),
    )


def _time(value: str) -> datetime:
    return datetime.strptime(value, "%Y%m%d%H%M%SZ").replace(tzinfo=UTC)
