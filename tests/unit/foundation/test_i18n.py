"""English as the second locale (SPEC: UI language): the catalogs load, and every
literal UI text marked for translation has an English entry."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from portal.i18n import PoSyntaxError, load_catalogs, parse_po
from tests.i18n_support import literal_msgids

ROOT = Path(__file__).resolve().parents[3]
PLACEHOLDER = re.compile(r"%\(\w+\)s")


def test_po_entries_are_read_with_continuations_and_escapes() -> None:
    text = '''
msgid ""
msgstr "Language: en\\n"

msgid "署名用PIN"
msgstr "Signing PIN"

msgid "長い"
"説明"
msgstr "A long "
"\\"quoted\\" text"

#, fuzzy
msgid "未確定"
msgstr "Unsure"

msgid "未翻訳"
msgstr ""
'''
    assert parse_po(text) == {"署名用PIN": "Signing PIN", "長い説明": 'A long "quoted" text'}


def test_a_broken_po_line_names_file_and_line() -> None:
    with pytest.raises(PoSyntaxError, match=r"x\.po:2"):
        parse_po('msgid "a"\nmsgtxt "b"\n', "x.po")


def test_literal_msgids_are_found_in_templates_and_code() -> None:
    source = """{{ _("ログイン") }} {{ _('戻る') }} gettext("x") _("%(n)s件", n=1) _(value)"""
    assert literal_msgids(source) == {"ログイン", "戻る", "%(n)s件"}


def _sources() -> list[Path]:
    files = list((ROOT / "templates").rglob("*.html"))
    for package in ("portal", "kyc"):
        files += [p for p in (ROOT / package).rglob("*.py")]
    return files


def test_every_marked_text_has_an_english_translation() -> None:
    english = load_catalogs()["en"]
    missing = {
        f"{path.relative_to(ROOT)}: {msgid}"
        for path in _sources()
        for msgid in literal_msgids(path.read_text(encoding="utf-8"))
        if msgid not in english
    }
    assert not missing, "no English for:\n" + "\n".join(sorted(missing))


def test_translations_keep_every_placeholder() -> None:
    for msgid, msgstr in load_catalogs()["en"].items():
        assert sorted(PLACEHOLDER.findall(msgid)) == sorted(PLACEHOLDER.findall(msgstr)), msgid


def test_english_catalog_has_no_japanese_left_in_translations() -> None:
    japanese = re.compile(r"[\u3040-\u30ff\u3400-\u9fff]")
    bad = [m for m, t in load_catalogs()["en"].items() if japanese.search(t)]
    assert not bad


def test_one_english_text_per_japanese_text_across_area_catalogs() -> None:
    from portal.i18n import TRANSLATIONS

    seen: dict[str, tuple[str, str]] = {}
    clashes = []
    for path in sorted((TRANSLATIONS / "en").glob("*.po")):
        for msgid, msgstr in parse_po(path.read_text(encoding="utf-8"), str(path)).items():
            if msgid in seen and seen[msgid][1] != msgstr:
                first = seen[msgid]
                clashes.append(f"{msgid}: {first[0]} {first[1]!r} vs {path.name} {msgstr!r}")
            seen.setdefault(msgid, (path.name, msgstr))
    assert not clashes, "\n".join(clashes)


def test_japanese_literals_given_to_macros_and_filters_have_english() -> None:
    """Labels and hints passed to the form macros (which translate them) and other
    literals inside template expressions; mail templates stay Japanese (MAIL-1)."""
    english = load_catalogs()["en"]
    japanese = re.compile(r"[\u3040-\u30ff\u3400-\u9fff]")
    literal = re.compile(r"""(["'])((?:(?!\1).)*)\1""")
    expression = re.compile(r"\{\{.*?\}\}|\{%.*?%\}", re.S)
    missing = set()
    for path in (ROOT / "templates").rglob("*.html"):
        for block in expression.findall(path.read_text(encoding="utf-8")):
            for _quote, text in literal.findall(block):
                if japanese.search(text) and text not in english:
                    missing.add(f"{path.relative_to(ROOT)}: {text}")
    assert not missing, "no English for:\n" + "\n".join(sorted(missing))
