"""Console menu entries: (endpoint, label, permission). Each area adds its
lines here; entries appear when the endpoint exists and the staff member
holds the permission. The menu reaches the templates (home page and header)
as the ``console_menu_items`` global of the console blueprint."""

from __future__ import annotations

from flask import current_app
from flask_login import current_user

from portal.blueprints import console_bp
from portal.permissions import Permission, can

MENU: list[tuple[str, str, Permission]] = [
    ("console.invitations", "利用登録のご案内（招待）", Permission.CONSOLE_INVITATIONS),
    ("console.applications", "MyPage利用申込の審査", Permission.CONSOLE_APPLICATIONS_REVIEW),
    ("kyc_console.submissions", "本人確認書類の確認", Permission.CONSOLE_KYC_REVIEW),
    ("console.customers", "お客さま一覧", Permission.CONSOLE_CUSTOMERS_VIEW),
    ("console.contracts", "契約案件", Permission.CONSOLE_CONTRACTS_PREPARE),
    ("console.audit_log", "操作ログ", Permission.CONSOLE_AUDIT_READ),
    ("console.longterm_alerts", "長期検証アラート", Permission.CONSOLE_AUDIT_READ),  # SIGN-6
    ("console.maintenance", "臨時メンテナンス", Permission.CONSOLE_MAINTENANCE),
    ("console.retention_tombstones", "削除済み案件の記録", Permission.CONSOLE_AUDIT_READ),  # CON-9
    ("console.retention_holds", "訴訟ホールド", Permission.CONSOLE_AUDIT_READ),  # CON-9
    ("console.branches", "支店管理", Permission.CONSOLE_STAFF_MANAGE),  # ADM-1
    ("console.staff_list", "担当者管理", Permission.CONSOLE_STAFF_MANAGE),
    ("console.notices", "お知らせ管理", Permission.CONSOLE_NOTICES),
]


def items_for(actor: object) -> list[tuple[str, str]]:
    return [(endpoint, label) for endpoint, label, permission in MENU
            if endpoint in current_app.view_functions and can(actor, permission)]


@console_bp.app_template_global("console_menu_items")
def console_menu_items() -> list[tuple[str, str]]:
    """The console menu (home page and header) for the signed-in staff member."""
    return items_for(current_user._get_current_object())
