"""Locales: Japanese (the guide's labels, the source text) and English (second).

Message ids ARE the Japanese texts, so Japanese needs no catalog and anything
without an English entry falls back to the Japanese original instead of
breaking. English lives in gettext PO files, one per area, under
``portal/translations/en/`` (translators and ``msgfmt --check`` read them as
usual); Babel reads them at start-up, so no compiled catalog is kept in git.

``_()`` translates literal texts in templates and code, and also texts that
arrive as values (marshmallow field errors, ``DomainError`` messages, enum
labels): the display layer passes them through ``_()`` so module constants stay
plain Japanese strings. Mail is always Japanese (MAIL-1).
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any

from babel.messages.pofile import PoFileError, read_po
from flask import Flask, current_app, g, has_request_context, request

DEFAULT_LOCALE = "ja"
LOCALES = {"ja": "日本語", "en": "English"}
COOKIE = "portal_lang"
TRANSLATIONS = Path(__file__).resolve().parent / "translations"

_Catalogs = Mapping[str, Mapping[str, str]]


class PoSyntaxError(ValueError):
    """A catalog Babel cannot read: the portal refuses to start, naming file and line."""


def parse_po(text: str, source: str = "<po>") -> dict[str, str]:
    """msgid → msgstr of a PO file, read by Babel (no plurals or contexts: the
    portal uses neither). The header, untranslated (empty) and fuzzy entries
    are left out."""
    try:
        catalog = read_po(io.StringIO(text), abort_invalid=True)
    except PoFileError as exc:
        raise PoSyntaxError(f"{source}:{exc.lineno + 1}: {exc}") from exc
    return {
        message.id: message.string
        for message in catalog
        if isinstance(message.id, str) and message.id and isinstance(message.string, str)
        and message.string and not message.fuzzy
    }


def load_catalogs(directory: Path = TRANSLATIONS) -> dict[str, dict[str, str]]:
    catalogs: dict[str, dict[str, str]] = {}
    for locale in LOCALES:
        if locale == DEFAULT_LOCALE:
            continue
        merged: dict[str, str] = {}
        for path in sorted((directory / locale).glob("*.po")):
            stat = path.stat()
            merged.update(_read_po(str(path), stat.st_mtime_ns, stat.st_size))
        catalogs[locale] = merged
    return catalogs


@lru_cache(maxsize=256)
def _read_po(path: str, _mtime_ns: int, _size: int) -> dict[str, str]:
    """One parse per file version and process: every app the process builds (the
    test suite builds thousands) reads the same catalogs; a changed file is read
    again. Callers copy from the answer, never change it."""
    return parse_po(Path(path).read_text(encoding="utf-8"), path)


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
