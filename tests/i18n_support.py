"""What an English page may still show in Japanese: only the data it was given.

``leftover_japanese(html, *data)`` strips tags, scripts and the given data
values (company and person names, addresses the test created) and returns the
Japanese text that is left, i.e. UI text nobody translated.
"""

from __future__ import annotations

import ast
import html as html_lib
import re

JAPANESE = re.compile(r"[\u3000-\u303f\u3040-\u30ff\u3400-\u9fff\uff01-\uff60\uff61-\uff9f]+")
_TAG = re.compile(r"<[^>]+>")
_SKIP = re.compile(r"<(script|style)\b.*?</\1>", re.S)
# The language switch names Japanese in Japanese on purpose.
ALWAYS_ALLOWED = ("日本語",)


def visible_text(page: str) -> str:
    text = _TAG.sub(" ", _SKIP.sub(" ", page))
    return html_lib.unescape(text)


def leftover_japanese(page: str, *data: str) -> list[str]:
    text = visible_text(page)
    for value in sorted({*data, *ALWAYS_ALLOWED}, key=len, reverse=True):
        if value:
            text = text.replace(value, " ")
    return JAPANESE.findall(text)


_MSGID_CALL = re.compile(r"""\b_\(\s*(?:"((?:[^"\\\n]|\\.)*)"|'((?:[^'\\\n]|\\.)*)')""")


def literal_msgids(text: str) -> set[str]:
    """Literal texts passed to ``_()`` in a template or module (the completeness check)."""
    found = set()
    for match in _MSGID_CALL.finditer(text):
        quote = '"' if match.group(1) is not None else "'"
        body = match.group(1) if match.group(1) is not None else match.group(2)
        found.add(str(ast.literal_eval(quote + body + quote)))
    return found
