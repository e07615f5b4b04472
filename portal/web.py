"""Error pages, template helpers, the language switch and the MyPage maintenance gate.

A shared module: it names the areas' blueprints but never imports an area."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import date
from html.parser import HTMLParser
from typing import IO, Any, TypeVar
from urllib.parse import urlsplit

from flask import (
    Flask,
    Request,
    abort,
    current_app,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from markupsafe import escape
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from portal import mail
from portal.clock import to_jst
from portal.errors import DomainError
from portal.extensions import db, login_manager
from portal.gate import public
from portal.i18n import COOKIE, LOCALES, gettext
from portal.maintenance import active_window
from portal.models import CustomerUser, StaffUser

ERROR_MESSAGES = {
    400: "リクエストの内容が正しくありません。",
    403: "この操作を行う権限がありません。",
    404: "お探しのページは見つかりませんでした。",
    405: "この操作はできません。",
    409: "他の操作と競合しました。画面を開き直してから再度操作してください。",
    413: "ファイルのサイズが大きすぎます。",
    414: "URLが長すぎます。入力内容を短くしてから再度お試しください。",
    431: "リクエストのヘッダーが大きすぎます。ブラウザを開き直してから再度お試しください。",
    429: "しばらく時間をおいてから再度お試しください。",
    500: "システムエラーが発生しました。しばらく時間をおいてから再度お試しください。",
    503: "ただいまサービスを停止しています。",
}

DATABASE_DOWN = ("ただいまシステムを利用できません。"
                 "しばらく時間を置いてから再度操作をしてください。")
# No template: rendering one runs the context processors, which read the database.
DATABASE_DOWN_PAGE = (
    '<!doctype html><html lang="{lang}"><head><meta charset="utf-8"><title>{message}</title>'
    "</head><body><main><h1>503</h1><p>{message}</p></main></body></html>"
)

# gunicorn's default request-line limit is 4094 bytes; the portal refuses a little earlier.
MAX_URL_BYTES = 4000
MAX_DB_ID = 2**31 - 1  # INTEGER primary keys (PostgreSQL int4)

# Endpoints of these blueprints are the customer side and close during maintenance.
MYPAGE_BLUEPRINTS = {"auth", "mypage", "apply", "kyc", "certs", "users", "contracts"}

F = TypeVar("F", bound=Callable[..., Any])
IN_MEMORY = "portal_uploads_in_memory"


def uploads_in_memory(view: F) -> F:
    """Declares a view whose uploaded files stay in memory (bounded by
    MAX_CONTENT_LENGTH) instead of a temporary file: identity documents are read
    into memory for scanning anyway, and their plaintext never lands on disk.
    Put it right under the route decorator."""
    setattr(view, IN_MEMORY, True)
    return view


class PortalRequest(Request):
    """The portal's request: multipart files of a view declared with
    ``uploads_in_memory`` are parsed into memory (werkzeug's documented hook)."""

    def _get_file_stream(self, total_content_length: int | None, content_type: str | None,
                         filename: str | None = None,
                         content_length: int | None = None) -> IO[bytes]:
        view = current_app.view_functions.get(self.endpoint or "")
        if getattr(view, IN_MEMORY, False):
            return io.BytesIO()
        return super()._get_file_stream(total_content_length, content_type, filename,
                                        content_length)


def _is_customer() -> bool:
    return isinstance(current_user._get_current_object(), CustomerUser)


def _is_staff() -> bool:
    return isinstance(current_user._get_current_object(), StaffUser)


def date_jst(value: Any, fmt: str = "%Y/%m/%d") -> str:
    """The one date filter (``jst``): yyyy/mm/dd (#13 item 6). Takes a date, an
    aware datetime (shown in JST) or a stored date text (yyyy-mm-dd, yyyymmdd);
    any other text is shown as it is."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        return _date_text(value, fmt)
    if hasattr(value, "hour"):
        return to_jst(value).strftime(fmt)
    return str(value.strftime(fmt))


def _date_text(value: str, fmt: str) -> str:
    digits = value.replace("-", "").replace("/", "")
    if len(digits) != 8 or not digits.isascii() or not digits.isdigit():
        return value
    try:
        return date(int(digits[:4]), int(digits[4:6]), int(digits[6:])).strftime(fmt)
    except ValueError:
        return value


def yen(value: Any) -> str:
    return "" if value is None else gettext("%(amount)s 円", amount=f"{int(value):,}")


def url_for_safe(endpoint: str, **values: Any) -> str:
    """Menu links to screens another area provides; '#' until it exists."""
    if endpoint in current_app.view_functions:
        return url_for(endpoint, **values)
    return "#"


def served_url(endpoint: str) -> str | None:
    """The path of a screen for a notice's link: ``None`` while no area serves it,
    or outside a request (a CLI job)."""
    if endpoint not in current_app.view_functions:
        return None
    try:
        return url_for(endpoint)
    except RuntimeError:  # no request context
        return None


def safe_next(target: str | None, default: str) -> str:
    """Only same-site relative paths are followed (after login, after a language switch)."""
    if not target:
        return default
    # A control character (CR/LF splits the Location header; browsers drop
    # tabs, turning "/\t/host" into "//host") or a space is never a real path.
    if any(ord(c) < 0x21 or 0x7F <= ord(c) < 0xA0 for c in target):
        return default
    parts = urlsplit(target)
    if (parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//")
            or "\\" in target):  # browsers read "/\host" as "//host"
        return default
    return target


def field_labels(page_html: str) -> dict[str, str]:
    """Field name or id -> the label the rendered page shows for it: what the
    error summary names each message by (one place for every form), in the
    order the fields stand on the page (the summary lists them so)."""
    reader = _FieldLabels()
    reader.feed(str(page_html))
    reader.close()
    labels = {**reader.legends, **reader.labels}
    last = len(reader.positions)
    return dict(sorted(labels.items(), key=lambda item: reader.positions.get(item[0], last)))


class _FieldLabels(HTMLParser):
    """A ``<label for>``, the ``<label>`` around a checkbox or text input, or
    else the ``<legend>`` of the innermost fieldset holding the field (a radio
    group). The 必須/任意 badges are not part of a label."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.labels: dict[str, str] = {}
        self.legends: dict[str, str] = {}
        self._text: list[str] | None = None  # of the open <label> or <legend>
        self._targets: list[str] = []  # ids the open <label> names
        self._fieldsets: list[tuple[list[str], set[str]]] = []  # legend, field names
        self._in_badge = False
        self.positions: dict[str, int] = {}  # field name or id -> place on the page

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attr = {key: value or "" for key, value in attrs}
        if tag == "fieldset":
            self._fieldsets.append(([], set()))
        elif tag in ("label", "legend"):
            self._text, self._targets = [], [attr.get("for", "")]
        elif tag == "span" and "badge-" in attr.get("class", ""):
            self._in_badge = True
        elif tag in ("input", "select", "textarea") and attr.get("type") != "hidden":
            for key in filter(None, (attr.get("name"), attr.get("id"))):
                self.positions.setdefault(key, len(self.positions))
            if self._fieldsets:
                self._fieldsets[-1][1].add(attr.get("name", ""))
            if self._text is not None and attr.get("type") != "radio":  # a radio names its option
                self._targets.append(attr.get("id", ""))

    def handle_endtag(self, tag: str) -> None:
        if tag == "span":
            self._in_badge = False
        elif tag in ("label", "legend") and self._text is not None:
            text = " ".join("".join(self._text).split())
            if tag == "legend" and self._fieldsets:
                self._fieldsets[-1][0].append(text)
            for target in filter(None, self._targets if tag == "label" else []):
                self.labels.setdefault(target, text)
            self._text = None
        elif tag == "fieldset" and self._fieldsets:
            legend, names = self._fieldsets.pop()
            for name in filter(None, names):
                self.legends.setdefault(name, "".join(legend))

    def handle_data(self, data: str) -> None:
        if self._text is not None and not self._in_badge:
            self._text.append(data)


def init_app(app: Flask) -> None:
    app.request_class = PortalRequest
    app.jinja_env.globals["url_for_safe"] = url_for_safe
    app.jinja_env.globals["mail_delivery_delayed"] = mail.delivery_delayed
    app.jinja_env.filters["jst"] = date_jst
    app.jinja_env.filters["yen"] = yen
    app.jinja_env.globals.update(is_customer=_is_customer, is_staff=_is_staff)
    app.jinja_env.globals["field_labels"] = field_labels

    @app.get("/lang/<locale>")
    @public
    def set_language(locale: str) -> ResponseReturnValue:
        response = redirect(safe_next(request.args.get("next"), "/"))
        if locale in LOCALES:
            response.set_cookie(COOKIE, locale, max_age=365 * 24 * 3600, samesite="Lax",
                                secure=app.config["PROFILE"] == "production", httponly=True)
        return response

    @app.url_value_preprocessor
    def database_ids_only(endpoint: str | None, values: dict[str, Any] | None) -> None:
        # <int:…> ids beyond a database INTEGER are "not found", not an overflow in the driver
        if values and any(isinstance(v, int) and v > MAX_DB_ID for v in values.values()):
            abort(404)

    @app.before_request
    def url_length_gate() -> ResponseReturnValue | None:
        # The portal's own 414 page for what reaches Flask (the WSGI server may cut earlier).
        if len(request.path.encode()) + len(request.query_string) > MAX_URL_BYTES:
            abort(414)
        return None

    @app.before_request
    def maintenance_gate() -> ResponseReturnValue | None:
        if request.blueprint not in MYPAGE_BLUEPRINTS:
            return None
        window = active_window()
        if window is None:
            return None
        return render_template("maintenance.html", window=window), 503

    @app.errorhandler(CSRFError)
    def csrf_error(exc: CSRFError) -> ResponseReturnValue:
        message = ("画面の有効期限が切れたか、不正な送信です。"
                   "画面を開き直してから再度操作してください。")
        return render_template("error.html", code=400, message=message), 400

    @app.errorhandler(RequestEntityTooLarge)
    def too_large(exc: RequestEntityTooLarge) -> ResponseReturnValue:
        limit_mb = app.config["UPLOAD_MAX_BYTES"] // (1024 * 1024)
        message = gettext(
            "ファイルのサイズが大きすぎます。1ファイル%(mb)sMB以内でアップロードしてください。",
            mb=limit_mb,
        )
        return render_template("error.html", code=413, message=message), 413

    @app.errorhandler(DomainError)
    def domain_error(exc: DomainError) -> ResponseReturnValue:
        db.session.rollback()
        page = render_template("error.html", code=exc.status_code, message=exc.shown())
        return page, exc.status_code

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> ResponseReturnValue:
        code = exc.code or 500
        # never Werkzeug's English description: an unlisted code gets the generic text
        fallback = ERROR_MESSAGES[500 if code >= 500 else 400]
        return render_template("error.html", code=code,
                               message=ERROR_MESSAGES.get(code, fallback)), code

    @app.errorhandler(OperationalError)
    def database_unavailable(exc: OperationalError) -> ResponseReturnValue:
        # The database is unreachable (restart, failover, a lock wait that ran out):
        # the usual error page reads the signed-in user from it, so this one reads nothing.
        app.logger.error("database unavailable: %s", type(exc.orig).__name__)
        try:
            db.session.remove()
        except Exception:  # noqa: BLE001  (the connection is already gone)
            pass
        # later hooks (security headers) ask for current_user: answer without the database
        g._login_user = login_manager.anonymous_user()
        lang = "en" if request.cookies.get("portal_lang") == "en" else "ja"
        page = DATABASE_DOWN_PAGE.format(lang=lang, message=escape(gettext(DATABASE_DOWN)))
        return page, 503, {"Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store"}

    @app.errorhandler(Exception)
    def unexpected(exc: Exception) -> ResponseReturnValue:
        app.logger.exception("unhandled error")
        db.session.rollback()
        return render_template("error.html", code=500, message=ERROR_MESSAGES[500]), 500
