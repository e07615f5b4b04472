"""Issue #12, RS-1: the signing service answers malformed JSON with its JSON
error (400), never a server error or an HTML page: lone surrogates (valid
JSON escapes no database can store), absurd nesting, oversized bodies."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask.testing import FlaskClient

from remote_signing.service import create_app
from remote_signing.testing import SmtpCapture
from tests.unit.remote_signing.rs_helpers import PORTAL, service_config


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FlaskClient]:
    smtp = SmtpCapture().start()
    app = create_app(service_config(tmp_path_factory.mktemp("rs-hostile") / "signing.db",
                                    smtp.port))
    yield app.test_client()
    app.extensions["rs_engine"].dispose()
    smtp.stop()


def _post(client: FlaskClient, path: str, body: bytes) -> object:
    return client.post(path, data=body, content_type="application/json", headers=PORTAL)


CREATE = "/admin/v1/credentials/create"


@pytest.mark.parametrize("body", [
    b'{"userID": "\\ud800", "name": "x", "email": "a@example.jp", "organization": "o",'
    b' "PIN": "Kaiyaku2026!"}',
    b'{"credentialID": "\\udfff"}',
    b'{"\\ud800": 1}',
    b'{"userID": ["\\ud83d"]}',
])
@pytest.mark.parametrize("path", [CREATE, "/csc/v2/credentials/info",
                                  "/csc/v2/credentials/list"])
def test_lone_surrogate_is_a_json_400(service, path, body):
    response = _post(service, path, body)
    assert response.status_code == 400
    assert response.json["error"] == "invalid_request"


def test_absurd_nesting_is_a_json_400(service):
    response = _post(service, "/csc/v2/credentials/list", b"[" * 100_000 + b"]" * 100_000)
    assert response.status_code == 400 and response.json["error"] == "invalid_request"
    nested = b'{"userID": ' + b"[" * 5_000 + b"]" * 5_000 + b"}"
    response = _post(service, "/csc/v2/credentials/list", nested)
    assert response.status_code == 400 and response.json["error"] == "invalid_request"


def test_invalid_utf8_and_wrong_types_are_json_400s(service):
    for body in (b"\xff\xfe{}", b'{"userID": 1e999}', b"null", b'"text"', b"{"):
        response = _post(service, "/csc/v2/credentials/list", body)
        assert response.status_code == 400, body
        assert response.json["error"] == "invalid_request"


def test_an_oversized_body_is_a_json_error(service):
    service.application.config["MAX_CONTENT_LENGTH"] = 1024
    try:
        response = _post(service, CREATE, b'{"userID": "' + b"a" * 4096 + b'"}')
    finally:
        service.application.config["MAX_CONTENT_LENGTH"] = None
    assert response.status_code == 413
    assert response.is_json and response.json["error"] == "invalid_request"


def test_the_service_still_works_after_the_hostile_calls(service):
    response = _post(service, "/csc/v2/info", b"{}")
    assert response.status_code == 200
