"""Generated hostile values (issue #12 item 4): oversize strings, wrong types,
unicode edge cases, huge and negative integers, extreme and malformed dates,
CR/LF in redirect targets. Shared by the portal and signing service suites."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from hypothesis import strategies as st

LONE_SURROGATES = ["\ud800", "\udfff", "a\udc80b", "\ud83d"]
BIDI = ["\u202e", "\u202d", "\u2066", "\u2067", "\u2068", "\u2069", "\u200e", "\u200f",
        "\u061c"]
ZERO_WIDTH = ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff"]
COMBINING = ["\u0301", "\u3099", "\u309a", "\ufe0f", "\u20dd"]
CONTROLS = ["\x00", "\r\n", "\n", "\r", "\t", "\x1b", "\x7f", "\x85", "\u2028", "\u2029"]
BIG_INTS = [2**31, 2**31 - 1, 2**53 + 1, 2**63 - 1, 2**63, 2**64, 10**30, -1, -(2**63) - 1, 0]

CURATED: list[str] = [
    "", " ", "\u3000", "on", "off", "true", "false", "1", "0", "yes", "null", "None",
    "NaN", "Infinity", "-0", "1e999", "1e3", "0x10", "１２３", "ｱｲｳ", "²", "٣", "Ⅻ",
    "9" * 5000, "a" * 300, "あ" * 300, "a" * 100_000,
    "0001-01-01", "9999-12-31", "00010101", "99991231", "2026-02-30", "2026-13-01",
    "2026/02/29", "20260229", "0000-00-00", "-2026-01-01", "2026-1-1T00:00",
    "/\r\nSet-Cookie: x=y", "/%0d%0aX: y", "//evil.example", "/\\evil.example",
    "/\t/evil.example", "https://evil.example/", "javascript:alert(1)",
    "<script>alert(1)</script>", "' OR 1=1 --", "%s%s%(x)s", "{{ 7*7 }}", "../../etc/passwd",
    "カ\u3099", "ア\u3099", "e\u0301", "a\u202eexe.pdf", "契約\u200b書", "\ufeffBOM",
    "😀", "𠮷野家", "\U000f0000",
    *LONE_SURROGATES, *BIDI, *ZERO_WIDTH, *CONTROLS,
    *(str(n) for n in BIG_INTS),
]

SPECIAL_CHARS = st.sampled_from([c for c in LONE_SURROGATES + BIDI + ZERO_WIDTH + COMBINING
                                 + CONTROLS if len(c) == 1])
TEXT_CHARS = st.one_of(st.characters(), SPECIAL_CHARS,
                       st.sampled_from(list("アイウガ山田太郎あいう０１２ｱ-@._ /")))


def _date_text(d: date, style: int) -> str:
    year = f"{d.year:04d}"
    return [f"{year}-{d.month:02d}-{d.day:02d}", f"{year}{d.month:02d}{d.day:02d}",
            f"{year}/{d.month}/{d.day}"][style]


dates = st.builds(_date_text, st.dates(min_value=date(1, 1, 1), max_value=date(9999, 12, 31)),
                  st.integers(0, 2))
integers = st.one_of(st.sampled_from(BIG_INTS), st.integers(-(2**70), 2**70)).map(str)
texts = st.text(TEXT_CHARS, max_size=60)
long_texts = st.builds(lambda c, n: c * n, st.sampled_from(["a", "あ", "9", "\u202e", "%"]),
                       st.sampled_from([255, 256, 1000, 5000, 20_000]))

hostile_text = st.one_of(st.sampled_from(CURATED), texts, integers, dates, long_texts)


def form_value(known: list[str]) -> st.SearchStrategy[str]:
    """A value for one form field: mostly a value the form itself offers
    (so the gated code runs), often a hostile one."""
    if known:
        return st.one_of(st.sampled_from(known), hostile_text)
    return hostile_text


json_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.sampled_from(BIG_INTS),
    st.floats(allow_nan=True, allow_infinity=True), hostile_text)
json_values: st.SearchStrategy[Any] = st.recursive(
    json_scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4),
                            st.dictionaries(st.text(max_size=8), inner, max_size=4)),
    max_leaves=8)


def encode(value: str) -> bytes:
    """UTF-8 that keeps lone surrogates (as a browser or attacker could send)."""
    return value.encode("utf-8", "surrogatepass")


def json_bytes(value: Any) -> bytes:
    """JSON text; lone surrogates become ``\\udXXX`` escapes (valid JSON)."""
    return json.dumps(value, ensure_ascii=True).encode()
