"""Locales: Japanese (the guide's labels, the source text) and English (second).

Message ids ARE the Japanese texts, so Japanese needs no catalog and anything
without an English entry falls back to the Japanese original instead of
breaking. English lives in gettext PO files, one per area, under
``portal/translations/en/`` (translators and ``msgfmt --check`` read them as
usual); they are parsed at start-up, so no compiled catalog is kept in git.

``_()`` translates literal texts in templates and code, and also texts that
arrive as values (marshmallow field errors, ``DomainError`` messages, enum
labels): the display layer passes them through ``_()`` so module constants stay
plain Japanese strings. Mail is always Japanese (MAIL-1).
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from flask import Flask, current_app, g, has_request_context, redirect, request
from werkzeug.wrappers import Response

DEFAULT_LOCALE = "ja"
LOCALES = {"ja": "日本語", "en": "English"}
COOKIE = "portal_lang"
TRANSLATIONS = Path(__file__).resolve().parent / "translations"

_Catalogs = Mapping[str, Mapping[str, str]]


class PoSyntaxError(ValueError):
    pass


def parse_po(text: str, source: str = "<po>") -> dict[str, str]:
    """msgid → msgstr of a PO file (no plurals or contexts: the portal uses neither).
    Untranslated (empty) and fuzzy entries are left out."""
    entries: dict[str, str] = {}
    current: dict[str, list[str]] = {}
    field: str | None = None
    fuzzy = False

    def finish() -> None:
        nonlocal fuzzy
        if "msgid" in current:
            msgid, msgstr = "".join(current["msgid"]), "".join(current.get("msgstr", []))
            if msgid and msgstr and not fuzzy:
                entries[msgid] = msgstr
        current.clear()
        fuzzy = False

    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line:
            finish()
            field = None
        elif line.startswith("#"):
            if line.startswith("#,") and "fuzzy" in line:
                fuzzy = True
        elif line.startswith(("msgid ", "msgstr ")):
            keyword, _, rest = line.partition(" ")
            if keyword == "msgid" and "msgid" in current:
                finish()
            field = keyword
            current[field] = [_po_string(rest, source, lineno)]
        elif line.startswith('"') and field:
            current[field].append(_po_string(line, source, lineno))
        else:
            raise PoSyntaxError(f"{source}:{lineno}: cannot read {line[:40]!r}")
    finish()
    return entries


def _po_string(token: str, source: str, lineno: int) -> str:
    if not (len(token) >= 2 and token.startswith('"') and token.endswith('"')):
        raise PoSyntaxError(f"{source}:{lineno}: expected a quoted string")
    try:
        return str(ast.literal_eval(token))
    except (ValueError, SyntaxError) as exc:
        raise PoSyntaxError(f"{source}:{lineno}: bad string {token[:40]!r}") from exc


def load_catalogs(directory: Path = TRANSLATIONS) -> dict[str, dict[str, str]]:
    catalogs: dict[str, dict[str, str]] = {}
    for locale in LOCALES:
        if locale == DEFAULT_LOCALE:
            continue
        merged: dict[str, str] = {}
        for path in sorted((directory / locale).glob("*.po")):
            merged.update(parse_po(path.read_text(encoding="utf-8"), str(path)))
        catalogs[locale] = merged
    return catalogs


def get_locale() -> str:
    if not has_request_context():
        return DEFAULT_LOCALE
    forced = g.get("forced_locale")
    if forced:
        return str(forced)
    # ``in`` first: a missing key makes werkzeug build a BadRequestKeyError
    # inside ``.get``, and a page asks for the locale once per text.
    cookies = request.cookies
    chosen = cookies[COOKIE] if COOKIE in cookies else DEFAULT_LOCALE
    return chosen if chosen in LOCALES else DEFAULT_LOCALE


@contextmanager
def force_locale(locale: str) -> Iterator[None]:
    """Render something in one locale whatever the visitor chose (mail: Japanese)."""
    if not has_request_context():
        yield
        return
    previous = g.get("forced_locale")
    g.forced_locale = locale
    try:
        yield
    finally:
        g.forced_locale = previous


def gettext(message: Any, /, **values: Any) -> str:
    """The text in the visitor's locale; ``%(name)s`` placeholders filled from ``values``."""
    text = "" if message is None else str(message)
    locale = get_locale()
    if locale != DEFAULT_LOCALE:
        catalogs: _Catalogs = current_app.extensions["portal_i18n"]
        text = catalogs.get(locale, {}).get(text, text)
    return text % values if values else text


_ = gettext


def translator(locale: str) -> Callable[..., str]:
    """``gettext`` for one locale, resolved once: a template render's ``_``."""
    catalog: Mapping[str, str] = {}
    if locale != DEFAULT_LOCALE:
        catalog = current_app.extensions["portal_i18n"].get(locale, {})

    def translate(message: Any, /, **values: Any) -> str:
        text = "" if message is None else str(message)
        text = catalog.get(text, text)
        return text % values if values else text

    return translate

def init_app(app: Flask) -> None:
    app.extensions["portal_i18n"] = load_catalogs()
    app.jinja_env.globals.update(_=gettext, current_locale=get_locale, locales=LOCALES)
    # A page translates every label: its ``_`` knows the locale from the start
    # of the render (imported macros keep the global ``_``, same result).
    app.context_processor(lambda: {"_": translator(get_locale())})

    from portal.gate import public

    @app.get("/lang/<locale>")
    @public
    def set_language(locale: str) -> Response:
        from portal.auth.views import safe_next

        response = redirect(safe_next(request.args.get("next"), "/"))
        if locale in LOCALES:
            response.set_cookie(COOKIE, locale, max_age=365 * 24 * 3600, samesite="Lax",
                                secure=app.config["PROFILE"] == "production", httponly=True)
        return response
