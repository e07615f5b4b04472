"""The local SMTP sink's Maildir (embedded profile): the demo mailbox page
and the demo commands that read the one-time code a person would read."""

from __future__ import annotations

import mailbox
import re
import time
from email import policy
from email.parser import BytesParser
from pathlib import Path
from typing import Any

# The signing service's OTP mail: "ワンタイムパスワード: 123456".
OTP_RE = re.compile(r"ワンタイムパスワード: (\d{6,})")


def read_maildir(path: str, limit: int = 50) -> list[dict[str, Any]]:
    if not Path(path, "new").exists():
        return []
    box = mailbox.Maildir(path, factory=None, create=False)
    parser = BytesParser(policy=policy.default)
    messages = []
    for key in box.keys():
        msg = parser.parsebytes(box.get_bytes(key))
        arrived = Path(path, "new", key)
        body = msg.get_body(preferencelist=("plain",))
        messages.append({
            "date": msg["Date"] or "",
            "to": msg["To"] or "",
            "subject": msg["Subject"] or "",
            "body": body.get_content() if body else "",
            "sort": arrived.stat().st_mtime if arrived.exists() else 0,
        })
    messages.sort(key=lambda m: m["sort"], reverse=True)
    return messages[:limit]


def maildir_keys(path: Path) -> set[str]:
    """Messages already there, so a later wait only looks at new ones."""
    if not (path / "new").exists():
        return set()
    return set(mailbox.Maildir(str(path), create=False).keys())


def wait_for_code(path: Path, to: str, seen: set[str], timeout: float) -> str:
    """The one-time code in the first new mail to ``to``; TimeoutError if none arrives."""
    deadline = time.monotonic() + timeout
    parser = BytesParser(policy=policy.default)
    while time.monotonic() < deadline:
        if (path / "new").exists():
            box = mailbox.Maildir(str(path), create=False)
            for key in set(box.keys()) - seen:
                msg = parser.parsebytes(box.get_bytes(key))
                if to not in str(msg["To"]):
                    continue
                body = msg.get_body(("plain",))
                match = OTP_RE.search(body.get_content() if body else "")
                if match:
                    return match.group(1)
        time.sleep(0.2)
    raise TimeoutError(f"no one-time code arrived for {to} in {path} within {timeout}s")
