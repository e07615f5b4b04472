"""Domain errors carry the Japanese message a user sees."""

from __future__ import annotations

from portal.i18n import gettext


class DomainError(Exception):
    """A rule refused the action.

    ``message`` is the finished Japanese text (what the audit log records);
    ``shown()`` is the text for the screen, in the visitor's language. A message
    with ``%(name)s`` placeholders takes them from ``values``."""

    status_code = 400

    def __init__(self, message: str, *, field: str | None = None,
                 values: dict[str, object] | None = None) -> None:
        self.msgid = message
        self.values = dict(values or {})
        self.message = message % self.values if self.values else message
        self.field = field
        super().__init__(self.message)

    def shown(self) -> str:
        return gettext(self.msgid, **self.values)


class NotFound(DomainError):
    """Also used for objects outside the actor's company/branch (AUD-4)."""

    status_code = 404

    def __init__(self, message: str = "お探しの情報は見つかりませんでした。") -> None:
        super().__init__(message)


class Forbidden(DomainError):
    status_code = 403

    def __init__(self, message: str = "この操作を行う権限がありません。") -> None:
        super().__init__(message)


class IllegalTransition(DomainError):
    status_code = 409


class StaleWrite(DomainError):
    status_code = 409

    def __init__(self) -> None:
        super().__init__("他の操作で内容が更新されました。画面を開き直してから再度操作してください。")
