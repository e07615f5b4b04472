"""Who may open a page: customers on MyPage, staff on the console."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import redirect, request, url_for
from flask_login import current_user

from portal.models import CustomerUser, StaffUser

F = TypeVar("F", bound=Callable[..., Any])


def customer_required(view: F) -> F:
    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if not isinstance(current_user._get_current_object(), CustomerUser):
            return redirect(url_for("auth.login", next=request.full_path))
        return view(*args, **kwargs)

    return wrapped  # type: ignore[return-value]


def staff_required(view: F) -> F:
    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if not isinstance(current_user._get_current_object(), StaffUser):
            return redirect(url_for("console.login", next=request.full_path))
        return view(*args, **kwargs)

    return wrapped  # type: ignore[return-value]
