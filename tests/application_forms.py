"""The application forms (APP-3) a corporation and an individual fill in, shared
by the schema unit tests and the functional flow tests."""

from __future__ import annotations

CORPORATION_FORM: dict[str, str] = {
    "kind": "corporation",
    "company_name": "株式会社法人１",
    "company_name_kana": "ホウジンイチ",
    "company_name_en": "Houjin1",
    "postal_code": "1040028",
    "address": "東京都中央区仮1-1-1",
    "established_on": "19991103",
    "phone": "0308955034",
    "last_name": "法人",
    "first_name": "太郎",
    "last_name_kana": "ホウジン",
    "first_name_kana": "タロウ",
    "last_name_en": "Houjin",
    "first_name_en": "Taro",
    "birth_date": "1975-03-14",
    "mobile": "08032842680",
    "email": "houjin.taro@example.jp",
    "email_confirm": "houjin.taro@example.jp",
    "department": "",
    "title": "代表取締役社長",
    "personal_signing": "on",
    "identity_method": "documents",
}

INDIVIDUAL_FORM: dict[str, str] = {
    "kind": "individual",
    "last_name": "個人",
    "first_name": "花子",
    "last_name_kana": "コジン",
    "first_name_kana": "ハナコ",
    "last_name_en": "Kojin",
    "first_name_en": "Hanako",
    "postal_code": "1040028",
    "address": "東京都中央区仮2-2-2",
    "birth_date": "19800101",
    "mobile": "09012345678",
    "email": "kojin.hanako@example.jp",
    "email_confirm": "kojin.hanako@example.jp",
    "phone": "",
    "identity_method": "documents",
}
