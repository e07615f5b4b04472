"""Demo data for the embedded profile (idempotent): a room of its own.

It composes every area (staff and customer accounts, the signing certificate,
contract packages), so it sits above them: no area and no shared module imports
it, except the areas' own demo commands reading its logins. The base data lives
here; ``signing`` adds the representative's certificate and the contract
packages, ``cli`` the ``flask demo …`` commands."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from portal import audit
from portal.auth.services import set_password
from portal.extensions import db
from portal.models import (
    Branch,
    Company,
    CompanyKind,
    CustomerRole,
    CustomerUser,
    StaffRole,
    StaffUser,
)
from portal.notices import notify

DEMO_STAFF = ("staff01", "Staff-Demo-2026")
DEMO_ADMIN = ("admin01", "Admin-Demo-2026")
DEMO_REP_EMAIL = "daihyo@demo.example.jp"
DEMO_REP_MYPAGE_ID = "MP00000001"
DEMO_REP_PASSWORD = "DemoPass2026"


def _get_or_create_branch(code: str, name: str) -> Branch:
    branch = db.session.execute(select(Branch).where(Branch.code == code)).scalar_one_or_none()
    if branch is None:
        branch = Branch(code=code, name=name)
        db.session.add(branch)
        db.session.flush()
    return branch


def _get_or_create_staff(login_id: str, password: str, name: str, role: StaffRole,
                         branch: Branch | None) -> StaffUser:
    staff = db.session.execute(
        select(StaffUser).where(StaffUser.login_id == login_id)
    ).scalar_one_or_none()
    if staff is None:
        staff = StaffUser(login_id=login_id, name=name, email=f"{login_id}@bank.example.jp",
                          role=role, branch_id=branch.id if branch else None, password_hash="")
        set_password(staff, password)
        db.session.add(staff)
        db.session.flush()
    return staff


def seed() -> list[str]:
    tokyo = _get_or_create_branch("101", "東京支店")
    _get_or_create_branch("201", "大阪支店")
    _get_or_create_staff(*DEMO_STAFF, name="支店 花子", role=StaffRole.BRANCH_STAFF, branch=tokyo)
    _get_or_create_staff(*DEMO_ADMIN, name="本部 管理者", role=StaffRole.BANK_ADMIN, branch=None)
    rep = db.session.execute(
        select(CustomerUser).where(CustomerUser.mypage_id == DEMO_REP_MYPAGE_ID)
    ).scalar_one_or_none()
    if rep is None:
        company = Company(
            kind=CompanyKind.CORPORATION, name="株式会社デモ商事", name_kana="デモショウジ",
            name_en="Demo Shoji", postal_code="1000005", address="東京都千代田区丸の内一丁目1番1号",
            established_on=date(2001, 4, 1), phone="0312345678",
            application_branch_id=tokyo.id, deposit_branch_id=tokyo.id, is_debtor=True,
        )
        db.session.add(company)
        db.session.flush()
        rep = CustomerUser(
            company_id=company.id, mypage_id=DEMO_REP_MYPAGE_ID, email=DEMO_REP_EMAIL,
            role=CustomerRole.REPRESENTATIVE, last_name="代表", first_name="太郎",
            last_name_kana="ダイヒョウ", first_name_kana="タロウ", last_name_en="Daihyo",
            first_name_en="Taro", birth_date=date(1970, 5, 1), mobile="09012345678",
            title="代表取締役社長", personal_signing=True, password_hash="",
            first_login_done=True,
        )
        set_password(rep, DEMO_REP_PASSWORD)
        db.session.add(rep)
        db.session.flush()
        notify(company_id=company.id,
               text="電子契約サービスへようこそ。"
                    "ご利用開始までの流れはよくある質問をご覧ください。",
               link="/faq")
        audit.record("demo.seeded", target=company)
    db.session.commit()
    return [
        "Demo logins:",
        f"  MyPage (代表者)   : {DEMO_REP_EMAIL} or {DEMO_REP_MYPAGE_ID} / {DEMO_REP_PASSWORD}",
        f"  Console (支店担当): {DEMO_STAFF[0]} / {DEMO_STAFF[1]}",
        f"  Console (管理者)  : {DEMO_ADMIN[0]} / {DEMO_ADMIN[1]}",
    ]
