"""Issue #12 item 4, RS-1: the signing service's JSON API and public PKI
endpoints, from its URL map, get generated hostile bodies, paths and client
credentials; no answer is a server error and every refusal is its JSON error."""

from __future__ import annotations

import base64
import hashlib
import inspect
import math
import re
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from hypothesis import given, settings
from hypothesis import strategies as st
from marshmallow import Schema

from remote_signing.service import api, create_app, schemas
from remote_signing.testing import SmtpCapture
from tests.fuzz import values as v
from tests.fuzz.conftest import SENT, TOTAL_CASES
from tests.unit.remote_signing.rs_helpers import CONSOLE, PIN, PORTAL, service_config

BINARY_OK = {"pki.ca_certificate", "pki.crl", "pki.ocsp_post", "pki.ocsp_get", "pki.tsa"}


def _schema_of_views() -> dict[str, type[Schema]]:
    """view function name -> the schema its body is loaded with (from api.py)."""
    found = {}
    for name, func in inspect.getmembers(api, inspect.isfunction):
        match = re.search(r"_load\(schemas\.(\w+)\)", inspect.getsource(func))
        if match:
            found[name] = getattr(schemas, match.group(1))
    return found


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Flask, str]]:
    smtp = SmtpCapture().start()
    config = service_config(tmp_path_factory.mktemp("rs-fuzz") / "signing.db", smtp.port)
    config.update(KDF_TIME_COST=1, KDF_MEMORY_KIB=8192, KDF_PARALLELISM=1)
    app = create_app(config)
    created = app.test_client().post("/admin/v1/credentials/create", headers=PORTAL, json={
        "userID": "fuzz-user", "name": "山田 太郎", "email": "taro@example.jp",
        "organization": "株式会社テスト商事", "PIN": PIN})
    assert created.status_code == 201, created.json
    yield app, str(created.json["credentialID"])
    app.extensions["rs_engine"].dispose()
    smtp.stop()


def _targets() -> list[tuple[str, str]]:
    """(endpoint, method) of every rule of the service's blueprints."""
    probe = Flask("probe")
    for blueprint in (api.csc, api.admin, api.pki):
        probe.register_blueprint(blueprint)
    return [(r.endpoint, m) for r in probe.url_map.iter_rules() if r.endpoint != "static"
            for m in sorted((r.methods or set()) & {"GET", "POST"})]


TARGETS = _targets()
PER_TARGET = math.ceil(TOTAL_CASES / 5 / len(TARGETS))
SCHEMAS = _schema_of_views()
DIGEST = base64.b64encode(hashlib.sha256(b"x").digest()).decode()
GOOD = {"PIN": [PIN], "oldPIN": [PIN], "newPIN": ["Kaiyaku2027!"], "userID": ["fuzz-user"],
        "email": ["taro@example.jp"], "hashes": [[DIGEST]], "numSignatures": [1],
        "hashAlgorithmOID": ["2.16.840.1.101.3.4.2.1"], "signAlgo": ["1.2.840.113549.1.1.11"],
        "name": ["山田 太郎"], "organization": ["株式会社"], "certificates": ["chain"]}


def _body(data: st.DataObject, endpoint: str, credential: str) -> bytes:
    view = endpoint.split(".", 1)[1]
    schema = SCHEMAS.get(view)
    kind = data.draw(st.sampled_from(["object"] * 8 + ["json", "raw"]))
    if kind == "raw":
        return data.draw(st.binary(max_size=200) | st.sampled_from(
            [b"", b"{", b"[" * 5000, b'{"a": "\\ud800"}', b"\xff\xfe", b"1e99999"]))
    if kind == "json" or schema is None:
        return v.json_bytes(data.draw(v.json_values))
    body: dict[str, Any] = {}
    for name in schema().fields:
        if data.draw(st.integers(0, 9)) == 0:
            continue
        good = [credential] if name == "credentialID" else GOOD.get(name, [])
        body[name] = data.draw(st.sampled_from(good) | v.json_values if good else v.json_values)
    for _ in range(data.draw(st.integers(0, 1))):
        body[data.draw(st.text(max_size=10))] = data.draw(v.json_values)
    return v.json_bytes(body)


def _path(rule: str, data: st.DataObject) -> str:
    def fill(match: re.Match[str]) -> str:
        name = match.group(2)
        choices = {"which": ["root", "issuing", "tsa"], "encoded": ["MAA=", "%2F%2F"]}.get(name, [])
        value = data.draw(st.sampled_from(choices) | v.hostile_text if choices else v.hostile_text)
        from urllib.parse import quote_from_bytes

        return quote_from_bytes(v.encode(value)) or "x"

    return re.sub(r"<(?:(\w+):)?(\w+)>", fill, rule)


@pytest.mark.parametrize(("endpoint", "method"), TARGETS, ids=[f"{m}-{e}" for e, m in TARGETS])
def test_hostile_json_never_makes_a_server_error(service: tuple[Flask, str], endpoint: str,
                                                 method: str) -> None:
    app, credential = service
    rule = next(r.rule for r in app.url_map.iter_rules() if r.endpoint == endpoint)
    client = app.test_client()

    @settings(max_examples=PER_TARGET)
    @given(data=st.data())
    def run(data: st.DataObject) -> None:
        headers = data.draw(st.sampled_from([PORTAL, PORTAL, CONSOLE, {}, {
            "Authorization": "Basic " + base64.b64encode(v.encode("\ud800:x")).decode()}]))
        path = _path(rule, data)
        body = _body(data, endpoint, credential) if method == "POST" else b""
        SENT["signing service"] += 1
        response = client.open(path, method=method, data=body, headers=headers,
                               content_type=data.draw(st.sampled_from(
                                   ["application/json"] * 4 + ["text/plain",
                                                               "application/timestamp-query"])))
        what = f"{method} {path} {body[:300]!r}"
        assert response.status_code < 500, f"{response.status_code} for {what}"
        if response.status_code >= 400 or endpoint not in BINARY_OK:
            assert response.is_json, f"{response.status_code} is not JSON for {what}"

    run()
