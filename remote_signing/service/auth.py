"""Client authentication: every CSC, admin and TSA call carries the caller's
client credential (HTTP basic ``id:secret`` or ``Bearer secret``)."""

from __future__ import annotations

import base64
import binascii
import hmac
from typing import Any

from .services import Client


def clients_from_config(cfg: dict[str, Any]) -> list[tuple[Client, str]]:
    return [
        (Client(cfg["PORTAL_CLIENT_ID"], "portal"), cfg["PORTAL_CLIENT_SECRET"]),
        (Client(cfg["CONSOLE_CLIENT_ID"], "console"), cfg["CONSOLE_CLIENT_SECRET"]),
    ]


def authenticate(header: str | None, clients: list[tuple[Client, str]]) -> Client | None:
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    value = value.strip()
    if scheme.lower() == "basic":
        try:
            client_id, _, secret = base64.b64decode(value, validate=True).decode().partition(":")
        except (binascii.Error, ValueError, UnicodeDecodeError):
            return None
        for client, expected in clients:
            id_ok = hmac.compare_digest(client.id.encode(), client_id.encode())
            if id_ok & hmac.compare_digest(expected.encode(), secret.encode()):
                return client
    elif scheme.lower() == "bearer":
        for client, expected in clients:
            if hmac.compare_digest(expected.encode(), value.encode()):
                return client
    return None
