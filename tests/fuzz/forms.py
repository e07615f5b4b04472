"""The forms a page offers: action, method, enctype and each control's name
with the values the page itself suggests (hidden values, options, radios)."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser


@dataclass
class Form:
    action: str
    method: str = "get"
    multipart: bool = False
    fields: dict[str, list[str]] = field(default_factory=dict)
    files: set[str] = field(default_factory=set)

    def add(self, name: str, value: str | None) -> None:
        values = self.fields.setdefault(name, [])
        if value is not None and value not in values:
            values.append(value)


class _FormParser(HTMLParser):
    def __init__(self, page: str) -> None:
        super().__init__(convert_charrefs=True)
        self.page = page
        self.forms: list[Form] = []
        self.current: Form | None = None
        self.select: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.current = Form(action=a.get("action") or self.page,
                                method=(a.get("method") or "get").lower(),
                                multipart="multipart" in a.get("enctype", ""))
            self.forms.append(self.current)
            return
        form = self.current
        if form is None or not a.get("name"):
            if tag == "option" and form is not None and self.select:
                form.add(self.select, a.get("value"))
            return
        name = a["name"]
        if tag == "input" and a.get("type") == "file":
            form.files.add(name)
        elif tag == "input":
            value = a.get("value")
            if a.get("type") in ("checkbox", "radio") and value is None:
                value = "on"
            form.add(name, value or None)
        elif tag == "select":
            self.select = name
            form.add(name, None)
        elif tag == "textarea":
            form.add(name, None)
        elif tag == "button" and a.get("value"):
            form.add(name, a["value"])

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.current = None
        elif tag == "select":
            self.select = None


def forms_on(page: str, html: str) -> list[Form]:
    parser = _FormParser(page)
    parser.feed(html)
    return parser.forms
