"""The bank console's blueprint (``console``, /console) and its menu. Every
view module of the console (and the other areas' console pages) adds routes
to ``bp``; ``portal.console.views`` imports the console's own view modules so
their routes exist before the factory registers the blueprint."""

from __future__ import annotations

from flask import Blueprint
from flask_login import current_user

from portal.console import menu

bp = Blueprint("console", __name__, url_prefix="/console")


@bp.app_template_global("console_menu_items")
def console_menu_items() -> list[tuple[str, str]]:
    """The console menu (home page and header) for the signed-in staff member."""
    return menu.items_for(current_user._get_current_object())
