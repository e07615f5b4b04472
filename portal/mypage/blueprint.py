"""MyPage's blueprint (``mypage``, /). ``portal.mypage.views`` imports every
view module that adds routes to it, so the routes exist before the factory
registers the blueprint."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("mypage", __name__)
