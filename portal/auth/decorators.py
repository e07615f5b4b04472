"""Who may open a page: the declarations of ``portal.gate`` (AUTH-11), named
as the areas have always imported them. They only record the gate; the one
``before_request`` in ``portal.gate`` enforces it for every route."""

from __future__ import annotations

from portal.gate import (
    customer_required,
    email_verification_page,
    first_login_page,
    public,
    staff_required,
)

__all__ = ["customer_required", "email_verification_page", "first_login_page", "public",
           "staff_required"]
