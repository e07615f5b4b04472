"""Blueprints that more than one room adds routes to.

``console_bp`` (``console``, /console): the bank console's own view modules and
the console pages of users, contracts and retention add routes to it; the
console room attaches its menu (``portal.console.menu``) and
``portal.console.views`` is what the factory registers, after those areas."""

from __future__ import annotations

from flask import Blueprint

console_bp = Blueprint("console", __name__, url_prefix="/console")
