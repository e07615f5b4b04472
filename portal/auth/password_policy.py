"""Login password policy (AUTH-2), shared by login, first login (AUTH-3),
forgotten password (AUTH-5) and user registration.

10–16 half-width characters (ASCII letters, digits and symbols), with at
least one upper-case letter, one lower-case letter and one digit; not the
MyPageID (a staff member's login ID) or the email address (nor containing
them), and not a common password (``common_passwords.txt``, compared
case-insensitively, also with a trailing run of digits/symbols removed).
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from portal.errors import DomainError

MIN_LENGTH = 10
MAX_LENGTH = 16
COMMON_PASSWORDS_FILE = Path(__file__).with_name("common_passwords.txt")
HALF_WIDTH_PRINTABLE = re.compile(r"[\x21-\x7e]+")
TRAILING_DIGITS_SYMBOLS = re.compile(r"[0-9!-/:-@\[-`{-~]+$")

MSG_LENGTH = f"パスワードは{MIN_LENGTH}桁以上{MAX_LENGTH}桁以内で入力してください。"
MSG_HALF_WIDTH = (
    "パスワードは半角英数字・記号で入力してください（全角文字・空白は使用できません）。")
MSG_CLASSES = "パスワードは半角英字(大文字、小文字)、数字をすべて含めてください。"
MSG_MYPAGE_ID = "MyPageIDを含むパスワードは使用できません。"
MSG_LOGIN_ID = "ログインIDを含むパスワードは使用できません。"
MSG_EMAIL = "メールアドレスを含むパスワードは使用できません。"
MSG_COMMON = "推測されやすいパスワードのため使用できません。別のパスワードを設定してください。"


class PolicyError(DomainError):
    """The new password breaks AUTH-2; ``messages`` lists every rule."""

    def __init__(self, messages: list[str], field: str = "new_password") -> None:
        super().__init__(messages[0], field=field)
        self.messages = messages


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    lines = COMMON_PASSWORDS_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(
        line.strip().lower() for line in lines if line.strip() and not line.startswith("#"))


def is_common(password: str) -> bool:
    lowered = password.lower()
    known = common_passwords()
    if lowered in known:
        return True
    stem = TRAILING_DIGITS_SYMBOLS.sub("", lowered)
    return bool(stem) and stem in known


def _contains_identity(password: str, identity: str | None, min_len: int = 4) -> bool:
    if not identity:
        return False
    identity = identity.strip().lower()
    return len(identity) >= min_len and identity in password.lower()


def check_password_policy(password: str, *, mypage_id: str | None = None,
                          email: str | None = None, login_id: str | None = None) -> list[str]:
    """Return the Japanese messages for every AUTH-2 rule ``password`` breaks
    (empty list: acceptable). Never logs or stores the password."""
    errors: list[str] = []
    if not (MIN_LENGTH <= len(password) <= MAX_LENGTH):
        errors.append(MSG_LENGTH)
    if password and not HALF_WIDTH_PRINTABLE.fullmatch(password):
        errors.append(MSG_HALF_WIDTH)
    if not (re.search(r"[A-Z]", password) and re.search(r"[a-z]", password)
            and re.search(r"[0-9]", password)):
        errors.append(MSG_CLASSES)
    if _contains_identity(password, mypage_id):
        errors.append(MSG_MYPAGE_ID)
    if _contains_identity(password, login_id):  # a staff member's console login ID
        errors.append(MSG_LOGIN_ID)
    if email and (_contains_identity(password, email)
                  or _contains_identity(password, email.split("@", 1)[0])):
        errors.append(MSG_EMAIL)
    if password and is_common(password):
        errors.append(MSG_COMMON)
    return errors
