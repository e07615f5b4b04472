"""Issue #12 item 4: every portal form and page, from the URL map, gets
generated hostile input as the user who may open it; no answer is a server
error and every refusal is the portal's own page in the visitor's language.

Fields are named after the real forms (the crawl in conftest.py), plus extra,
missing and duplicated ones; path ids are real ones and hostile ones."""

from __future__ import annotations

import io
import math
from typing import Any
from urllib.parse import quote_from_bytes

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from portal import create_app
from tests.conftest import base_config
from tests.fuzz import values as v
from tests.fuzz.conftest import SENT, TOTAL_CASES, World, personas_for, sample_path

EICAR = (b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*")
HOSTILE_IDS = [0, 2**31, 2**63, 2**64, 10**30]
FILE_NAMES = st.one_of(st.sampled_from(["契約書.pdf", "a\u202efdp.exe", "ID\u200b.jpg",
                                         "../../x.pdf", "x" * 300 + ".pdf", ".pdf", "\u3000.png",
                                         "CON.pdf", "a\x00b.pdf"]),
                       st.text(v.TEXT_CHARS.filter(lambda c: not "\ud800" <= c <= "\udfff"),
                               max_size=40).map(lambda s: s + ".pdf"))


def _targets() -> list[tuple[str, str, str]]:
    app = create_app(base_config(__import__("pathlib").Path("/tmp"), "sqlite://", 1))
    found = []
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        for method in sorted((rule.methods or set()) & {"GET", "POST"}):
            for persona in personas_for(rule):
                found.append((rule.endpoint, method, persona))
    return found


TARGETS = _targets()
PER_TARGET = math.ceil(TOTAL_CASES / len(TARGETS))


def _path(w: World, endpoint: str, data: st.DataObject) -> str:
    rule = next(r for r in w.app.url_map.iter_rules() if r.endpoint == endpoint)
    path = rule.rule
    for conv, name in __import__("re").findall(r"<(?:(\w+):)?(\w+)>", rule.rule):
        token = f"<{conv}:{name}>" if conv else f"<{name}>"
        if conv == "int":
            value = str(data.draw(st.sampled_from(w.ids) | st.sampled_from(HOSTILE_IDS)))
        elif conv == "path":
            value = data.draw(st.sampled_from(["css/portal.css", "../portal/config.py",
                                               "%2e%2e/x", "a" * 300]))
        else:
            value = quote_from_bytes(v.encode(data.draw(v.hostile_text | st.sampled_from(
                ["ja", "en", "png", "svg", (sample_path(rule) or "x").rsplit("/", 1)[-1]]))))
        path = path.replace(token, value or "x")
    return path


def _fields(w: World, endpoint: str, method: str) -> tuple[dict[str, list[str]], set[str], bool]:
    """Field names and offered values of the forms that send to this endpoint."""
    forms = [f for f in w.forms.get(endpoint, []) if f.method.upper() == method]
    if method == "GET" and not forms:
        forms = [f for f in w.page_forms.get(endpoint, []) if f.method == "get"]
    fields: dict[str, list[str]] = {}
    files: set[str] = set()
    for form in forms:
        for name, offered in form.fields.items():
            fields.setdefault(name, []).extend(x for x in offered if x not in fields[name])
        files |= form.files
    return fields, files, any(f.multipart for f in forms)


def _schema_vocabulary(w: World) -> list[str]:
    """Every marshmallow field name of the portal and every crawled control name:
    the guesses for a form the crawl could not open (it needs a flow's state)."""
    from marshmallow import Schema

    names: set[str] = {n for forms in w.forms.values() for f in forms for n in f.fields}
    pending = list(Schema.__subclasses__())
    while pending:
        schema = pending.pop()
        pending += schema.__subclasses__()
        if schema.__module__.startswith(("portal.", "kyc.")):
            names |= {f.data_key or n for n, f in schema._declared_fields.items()}
    return sorted(names - {"csrf_token"})


def _guessed(data: st.DataObject, vocabulary: list[str]) -> dict[str, list[str]]:
    chosen = data.draw(st.lists(st.sampled_from(vocabulary), max_size=8, unique=True))
    return {name: [] for name in chosen}


def _pairs(data: st.DataObject, fields: dict[str, list[str]], csrf: str) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    for name, offered in fields.items():
        if name == "csrf_token":
            continue
        if data.draw(st.integers(0, 9)) == 0:  # missing
            continue
        for _ in range(data.draw(st.sampled_from([1, 1, 1, 1, 2]))):  # sometimes duplicated
            pairs.append((name, data.draw(v.form_value(offered))))
    for _ in range(data.draw(st.integers(0, 2))):  # extra fields
        pairs.append((data.draw(st.sampled_from(["next", "id", "role", "company_id", "step",
                                                  "party-9-user", "version"]) | v.texts),
                      data.draw(v.hostile_text)))
    token = data.draw(st.sampled_from(["valid"] * 8 + ["missing", "garbage"]))
    if token == "valid":
        pairs.append(("csrf_token", csrf))
    elif token == "garbage":
        pairs.append(("csrf_token", data.draw(v.hostile_text)))
    return pairs


def _urlencode(pairs: list[tuple[str, str]]) -> str:
    return "&".join(quote_from_bytes(v.encode(k)) + "=" + quote_from_bytes(v.encode(val))
                    for k, val in pairs)


def _multipart(pairs: list[tuple[str, str]], files: set[str], data: st.DataObject) -> Any:
    from werkzeug.datastructures import MultiDict

    body: MultiDict[str, Any] = MultiDict()
    for k, val in pairs:  # multipart text is UTF-8: a lone surrogate becomes U+FFFD
        body.add(v.encode(k).decode("utf-8", "replace"), v.encode(val).decode("utf-8", "replace"))
    for name in files:
        for _ in range(data.draw(st.integers(0, 2))):
            content = data.draw(st.sampled_from([b"", b"%PDF-1.4\n%%EOF", EICAR,
                                                 b"\xff\xd8\xff\xe0" + b"\0" * 64])
                                | st.binary(max_size=256))
            body.add(name, (io.BytesIO(content), data.draw(FILE_NAMES)))
    return body


def check_page(response: Any, lang: str, what: str) -> None:
    """No server error; a refusal is the portal's own page in the visitor's language."""
    status = response.status_code
    assert status < 500, f"{status} for {what}"
    if status < 400 or response.mimetype == "application/json":
        return
    html = response.get_data(as_text=True)
    assert "css/portal.css" in html, f"{status} is not the portal's page for {what}"
    assert f'<html lang="{lang}"' in html, f"{status} page not in {lang} for {what}"


@pytest.mark.parametrize(("endpoint", "method", "persona"), TARGETS,
                         ids=[f"{m}-{e}-{p}" for e, m, p in TARGETS])
def test_hostile_input_never_makes_a_server_error(world: World, endpoint: str, method: str,
                                                  persona: str) -> None:
    client = world.client(persona)
    csrf_page = "/console/login" if persona in ("staff", "admin") else "/login"
    csrf = client.csrf_token(csrf_page)
    fields, files, multipart = _fields(world, endpoint, method)
    vocabulary = _schema_vocabulary(world) if method == "POST" and not fields else []

    @settings(max_examples=PER_TARGET)
    @given(data=st.data())
    def run(data: st.DataObject) -> None:
        lang = data.draw(st.sampled_from(["ja", "en"]))
        if lang == "en":
            client.set_cookie("portal_lang", "en")
        else:
            client.delete_cookie("portal_lang")
        path = _path(world, endpoint, data)
        pairs = _pairs(data, _guessed(data, vocabulary) if vocabulary else fields, csrf)
        what = f"{method} {path} as {persona}: {pairs!r:.2000}"
        # many attackers: the fuzzed login attempts never throttle the personas' own address
        host = data.draw(st.integers(1, 2**24 - 2))
        env = {"REMOTE_ADDR": f"10.{host >> 16}.{(host >> 8) & 255}.{host & 255}"}
        SENT["portal"] += 1
        if method == "GET":
            query = _urlencode([p for p in pairs if p[0] != "csrf_token"])
            response = client.get(path + ("?" + query if query else ""), environ_base=env)
        elif multipart and data.draw(st.booleans()):
            response = client.post(path, data=_multipart(pairs, files, data),
                                   content_type="multipart/form-data", environ_base=env)
        else:
            response = client.post(path, data=_urlencode(pairs).encode("ascii"),
                                   content_type="application/x-www-form-urlencoded",
                                   environ_base=env)
        check_page(response, lang, what)

    run()
