"""HTTP endpoints of the signing service: CSC v2 shaped JSON, admin calls,
and the public PKI endpoints (certificates, CRL, OCSP) plus the TSA."""

from __future__ import annotations

import base64
import binascii
import re
from functools import cache
from typing import Any

from flask import Blueprint, Flask, Response, current_app, g, jsonify, request
from flask.typing import ResponseReturnValue
from marshmallow import Schema, ValidationError
from sqlalchemy.orm import Session
from werkzeug.exceptions import HTTPException

from ..protocol import ADMIN_PREFIX, API_PREFIX, ErrorCode
from . import schemas
from .auth import authenticate
from .services import Activation, Client, ServiceError, SigningService

csc = Blueprint("csc", __name__, url_prefix=API_PREFIX)
admin = Blueprint("admin", __name__, url_prefix=ADMIN_PREFIX)
pki = Blueprint("pki", __name__)


def _service() -> SigningService:
    service: SigningService = current_app.extensions["rs_service"]
    return service


def _session() -> Session:
    if "rs_session" not in g:
        g.rs_session = current_app.extensions["rs_sessionmaker"]()
    session: Session = g.rs_session
    return session


def _client() -> Client:
    client: Client = g.rs_client
    return client


def _require_client() -> Response | None:
    client = authenticate(
        request.headers.get("Authorization"), current_app.extensions["rs_clients"]
    )
    if client is None:
        resp = jsonify(
            error=ErrorCode.UNAUTHORIZED_CLIENT.value,
            error_description="client authentication required",
        )
        resp.status_code = 401
        resp.headers["WWW-Authenticate"] = 'Basic realm="signing-service"'
        return resp
    g.rs_client = client
    return None


csc.before_request(_require_client)
admin.before_request(_require_client)


_SURROGATE = re.compile("[\ud800-\udfff]")


def _has_lone_surrogate(value: Any) -> bool:
    """JSON may escape a lone surrogate (``"\\ud800"``); no database or PDF can hold it."""
    if isinstance(value, str):
        return _SURROGATE.search(value) is not None
    if isinstance(value, dict):
        return any(_has_lone_surrogate(k) or _has_lone_surrogate(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_lone_surrogate(v) for v in value)
    return False


def _load(schema: type[Schema]) -> dict[str, Any]:
    try:
        data = request.get_json(silent=True)
        unusable = _has_lone_surrogate(data)
    except RecursionError:  # absurdly deep nesting
        data, unusable = None, False
    if not isinstance(data, dict):
        raise ServiceError(ErrorCode.INVALID_REQUEST, "JSON object expected")
    if unusable:
        raise ServiceError(ErrorCode.INVALID_REQUEST, "invalid unicode text (lone surrogate)")
    try:
        loaded: dict[str, Any] = _schema(schema).load(data)
        return loaded
    except ValidationError as exc:
        raise ServiceError(
            ErrorCode.INVALID_REQUEST, "invalid request", fields=exc.messages
        ) from exc


@cache
def _schema(schema: type[Schema]) -> Schema:
    """One instance per shape: building a schema binds every field (marshmallow 4
    keeps no per-load state on the instance, so threads can share it)."""
    return schema()


def _done(payload: dict[str, Any] | None = None, status: int = 200) -> tuple[Response, int]:
    _session().commit()
    return jsonify(payload or {}), status


# --- CSC v2 ---------------------------------------------------------------
@csc.post("/info")
def service_info() -> ResponseReturnValue:
    return jsonify(
        specs="2.0.0.2",
        name="embedded-signing-service",
        region="JP",
        lang="ja-JP",
        authType=["basic"],
        methods=[
            "credentials/list",
            "credentials/info",
            "credentials/sendOTP",
            "credentials/authorize",
            "signatures/signHash",
            "signatures/authorizeSignHash",
        ],
        # Beyond CSC v2: sendOTP takes the PIN and answers a pinToken that
        # authorize takes instead of the PIN (PIN first, as in the guide);
        # authorizeSignHash is authorize + signHash in one call (no SAD).
        extensions=["sendOTP.PIN", "authorizeSignHash"],
    )


@csc.post("/credentials/list")
def credentials_list() -> ResponseReturnValue:
    data = _load(schemas.ListSchema)
    ids = _service().list_credentials(_session(), _client(), data["userID"])
    return _done({"credentialIDs": ids})


@csc.post("/credentials/info")
def credentials_info() -> ResponseReturnValue:
    data = _load(schemas.CredentialSchema)
    svc = _service()
    return _done(svc.info(svc.get(_session(), _client(), data["credentialID"])))


@csc.post("/credentials/sendOTP")
def credentials_send_otp() -> ResponseReturnValue:
    data = _load(schemas.SendOtpSchema)
    pin_token = _service().send_otp(_session(), _client(), data["credentialID"], pin=data["PIN"])
    return _done({"pinToken": pin_token} if pin_token else None)


@csc.post("/credentials/authorize")
def credentials_authorize() -> ResponseReturnValue:
    d = _load(schemas.AuthorizeSchema)
    sad, ttl = _service().authorize(_session(), _client(), _activation(d))
    return _done({"SAD": sad, "expiresIn": ttl})


@csc.post("/signatures/signHash")
def signatures_sign_hash() -> ResponseReturnValue:
    d = _load(schemas.SignHashSchema)
    sigs = _service().sign_hash(
        _session(),
        _client(),
        cred_id=d["credentialID"],
        sad=d["SAD"],
        hashes=d["hashes"],
        hash_oid=d["hashAlgorithmOID"],
        sign_algo=d["signAlgo"],
    )
    return _done({"signatures": sigs})


@csc.post("/signatures/authorizeSignHash")
def signatures_authorize_sign_hash() -> ResponseReturnValue:
    d = _load(schemas.AuthorizeSignHashSchema)
    sigs = _service().authorize_and_sign(_session(), _client(), _activation(d), d["signAlgo"])
    return _done({"signatures": sigs})


def _activation(d: dict[str, Any]) -> Activation:
    return Activation(cred_id=d["credentialID"], hashes=d["hashes"],
                      hash_oid=d["hashAlgorithmOID"], num_signatures=d["numSignatures"],
                      pin=d["PIN"], otp=d["OTP"], pin_token=d["pinToken"])


# --- administration ---------------------------------------------------------
@admin.post("/credentials/create")
def credentials_create() -> ResponseReturnValue:
    d = _load(schemas.CreateSchema)
    svc = _service()
    cred = svc.create_credential(
        _session(),
        _client(),
        user_id=d["userID"],
        name=d["name"],
        email=d["email"],
        organization=d["organization"],
        pin=d["PIN"],
        issue=d["issue"],
    )
    return _done({"credentialID": cred.id, **svc.info(cred)}, 201)


@admin.post("/credentials/issue")
def credentials_issue() -> ResponseReturnValue:
    d = _load(schemas.AdminSchema)
    svc = _service()
    cred = svc.issue(_session(), _client(), d["credentialID"])
    return _done({"credentialID": cred.id, **svc.info(cred)})


@admin.post("/credentials/changePIN")
def credentials_change_pin() -> ResponseReturnValue:
    d = _load(schemas.ChangePinSchema)
    _service().change_pin(_session(), _client(), d["credentialID"], d["oldPIN"], d["newPIN"])
    return _done()


@admin.post("/credentials/lock")
def credentials_lock() -> ResponseReturnValue:
    d = _load(schemas.AdminSchema)
    cred = _service().lock(_session(), _client(), d["credentialID"])
    return _done({"credentialStatus": cred.status.value})


@admin.post("/credentials/unlock")
def credentials_unlock() -> ResponseReturnValue:
    d = _load(schemas.AdminSchema)
    cred = _service().unlock(_session(), _client(), d["credentialID"])
    return _done({"credentialStatus": cred.status.value})


@admin.post("/credentials/revoke")
def credentials_revoke() -> ResponseReturnValue:
    d = _load(schemas.AdminSchema)
    cred = _service().revoke(_session(), _client(), d["credentialID"], d["reason"])
    return _done({"credentialStatus": cred.status.value})


@admin.post("/credentials/update")
def credentials_update() -> ResponseReturnValue:
    d = _load(schemas.UpdateSchema)
    _service().update_email(_session(), _client(), d["credentialID"], d["email"])
    return _done()


# --- public PKI endpoints and TSA ---------------------------------------------
@pki.get("/health")
def health() -> ResponseReturnValue:
    return jsonify(status="ok")


@pki.get("/ca/<which>.cer")
def ca_certificate(which: str) -> ResponseReturnValue:
    p = _service().pki
    certs = {"root": p.root, "issuing": p.issuing, "tsa": p.tsa}
    if which not in certs:
        return jsonify(error="not_found"), 404
    return Response(certs[which].der, mimetype="application/pkix-cert")


@pki.get("/crl/<which>.crl")
def crl(which: str) -> ResponseReturnValue:
    svc = _service()
    if which not in {"issuing", "root"}:
        return jsonify(error="not_found"), 404
    revoked = svc.revoked_list(_session()) if which == "issuing" else []
    return Response(svc.pki.crl(which, revoked), mimetype="application/pkix-crl")


@pki.post("/ocsp")
def ocsp_post() -> ResponseReturnValue:
    return _ocsp(request.get_data())


@pki.get("/ocsp/<path:encoded>")
def ocsp_get(encoded: str) -> ResponseReturnValue:
    try:
        der = base64.b64decode(encoded.replace("%2F", "/"), validate=False)
    except (binascii.Error, ValueError):
        der = b""
    return _ocsp(der)


def _ocsp(der: bytes) -> Response:
    svc = _service()
    s = _session()
    if svc.pki.renew_responder_if_due(s):
        s.commit()
    body = svc.pki.ocsp(der, lambda auth, serial: svc.cert_status(s, auth, serial))
    return Response(body, mimetype="application/ocsp-response")


@pki.post("/tsa")
def tsa() -> ResponseReturnValue:
    denied = _require_client()
    if denied is not None:
        return denied
    if request.mimetype != "application/timestamp-query":
        return jsonify(error=ErrorCode.INVALID_REQUEST.value), 400
    body = current_app.extensions["rs_tsa"].respond(request.get_data())
    return Response(body, mimetype="application/timestamp-reply")


def register_errors(app: Flask) -> None:
    @app.errorhandler(ServiceError)
    def _service_error(exc: ServiceError) -> ResponseReturnValue:
        if "rs_session" in g:
            g.rs_session.rollback()
        payload = {"error": exc.code.value, "error_description": exc.description, **exc.extra}
        return jsonify(payload), exc.status

    @app.errorhandler(404)
    def _not_found(_exc: HTTPException) -> ResponseReturnValue:
        return jsonify(error="not_found"), 404

    @app.errorhandler(405)
    def _method(_exc: HTTPException) -> ResponseReturnValue:
        return jsonify(error="method_not_allowed"), 405

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> ResponseReturnValue:
        # e.g. 413 or a malformed request: JSON like every other answer, never HTML
        code = exc.code or 400
        error = "server_error" if code >= 500 else ErrorCode.INVALID_REQUEST.value
        return jsonify(error=error, error_description=exc.name), code

    @app.errorhandler(500)
    def _internal(_exc: HTTPException) -> ResponseReturnValue:
        return jsonify(error="server_error"), 500
