"""Generated bad input (issue #12 item 4): one portal with a populated world,
logged-in clients per kind of user, the forms every page offers, and the
Hypothesis profiles.

Profiles (``HYPOTHESIS_PROFILE``): ``ci`` (default: derandomized, a fixed
total of ``FUZZ_CASES`` requests, 10,000 unless set) and ``long`` (random
seed, ``FUZZ_CASES`` default 200,000)."""

from __future__ import annotations

import os
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from hypothesis import HealthCheck, Phase, settings

from portal import create_app
from portal.extensions import db
from tests.conftest import DEFAULT_PASSWORD, PortalClient, base_config, login_customer, login_staff
from tests.fuzz.forms import Form, forms_on

_COMMON = dict(deadline=None, database=None, print_blob=True,
               suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                      HealthCheck.filter_too_much,
                                      HealthCheck.function_scoped_fixture])
settings.register_profile("ci", derandomize=True,
                          phases=[Phase.explicit, Phase.generate, Phase.shrink], **_COMMON)
settings.register_profile("long", derandomize=False, **_COMMON)
PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "ci")
settings.load_profile(PROFILE)
TOTAL_CASES = int(os.environ.get("FUZZ_CASES", "200000" if PROFILE == "long" else "10000"))

SENT: Counter[str] = Counter()  # requests sent per suite, printed at the end


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if SENT:
        total = sum(SENT.values())
        parts = ", ".join(f"{name} {n}" for name, n in sorted(SENT.items()))
        terminalreporter.write_line(
            f"fuzz ({PROFILE} profile): {total} generated requests ({parts})")


# --- the world ----------------------------------------------------------------------------

@dataclass
class World:
    app: Flask
    users: dict[str, tuple[str, str]]  # persona -> (kind, login)
    ids: list[int]
    clients: dict[str, PortalClient] = field(default_factory=dict)
    forms: dict[str, list[Form]] = field(default_factory=dict)  # endpoint -> forms posting there
    page_forms: dict[str, list[Form]] = field(default_factory=dict)  # endpoint -> forms on it
    public: set[str] = field(default_factory=set)  # endpoints an anonymous visitor may open

    def client(self, persona: str) -> PortalClient:
        """A logged-in client for the persona; logs in again when a fuzzed
        request ended the session (logout, a password form)."""
        client = self.clients.get(persona)
        if client is None or not self._logged_in(persona, client):
            client = self.app.test_client()  # type: ignore[assignment]
            kind, login = self.users.get(persona, ("anon", ""))
            if kind == "customer":
                assert login_customer(client, login, DEFAULT_PASSWORD).status_code == 302
            elif kind == "staff":
                _restore_staff(login)
                assert login_staff(client, login, DEFAULT_PASSWORD).status_code == 302
            self.clients[persona] = client
        return client

    def _logged_in(self, persona: str, client: PortalClient) -> bool:
        kind = self.users.get(persona, ("anon", ""))[0]
        if kind == "anon":
            return True
        home = "/console/" if kind == "staff" else "/"
        return client.get(home).status_code == 200


def _restore_staff(login: str) -> None:
    """The bank administrator's pages are fuzzed too: a generated request may
    disable a persona's account or reset its password (ADM-1); put it back."""
    from sqlalchemy import select

    from portal.auth.services import set_password
    from portal.models import StaffUser

    staff = db.session.execute(select(StaffUser).where(StaffUser.login_id == login)).scalar_one()
    if not staff.active or staff.password_is_temporary:
        staff.active = True
        set_password(staff, DEFAULT_PASSWORD)
        db.session.commit()


def _populate(app: Flask) -> tuple[dict[str, tuple[str, str]], list[int]]:
    from remote_signing.sample import sample_pdf
    from tests.conftest import Factories
    from tests.functional.contracts.conftest import World as ContractWorld
    from tests.functional.contracts.conftest import create_package

    f = Factories()
    branch = f.branch("東京支店")
    staff = f.staff(branch)
    admin = f.staff(None, role="bank_admin")
    company = f.company(branch, name="株式会社テスト商事")
    rep = f.customer(company, role="representative")
    signer = f.customer(company, role="signer")
    viewer = f.customer(company, role="viewer")
    g_company = f.company(branch, kind="individual", name="保証 一郎")
    guarantor = f.customer(g_company, role="representative")
    banked = f.company(branch, name="株式会社預金取引", deposit_branch_id=branch.id)
    f.customer(banked, role="representative")
    other_branch = f.branch("大阪支店")
    other_staff = f.staff(other_branch)
    other_company = f.company(other_branch, name="株式会社よその会社")
    other_rep = f.customer(other_company)
    world = ContractWorld(branch, staff, company, rep, signer, viewer, g_company, guarantor,
                          other_branch, other_staff, other_company, other_rep)
    pdf = sample_pdf()
    create_package(app, world, pdf, send=True)
    create_package(app, world, pdf)  # a draft the console may edit
    users = {"rep": ("customer", rep.email), "staff": ("staff", staff.login_id),
             "admin": ("staff", admin.login_id), "anon": ("anon", "")}
    return users, [1, 2, 3, 4, 5]


@pytest.fixture(scope="session")
def fuzz_signing_service(tmp_path_factory: pytest.TempPathFactory, smtp_server: Any
                         ) -> Iterator[Any]:
    """A private signing service process (never the shared one on 8100)."""
    from remote_signing.testing import ServiceProcess

    service = ServiceProcess(tmp_path_factory.mktemp("fuzz-signing"), smtp_port=smtp_server.port,
                             env={"RS_KDF_MEMORY_KIB": "8192", "RS_KDF_TIME_COST": "1"})
    service.start(timeout=60)
    yield service
    service.stop()


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory, template_sqlite: Path, smtp_server: Any,
          fuzz_signing_service: Any) -> Iterator[World]:
    import shutil

    from remote_signing.service.config import DEV_CONSOLE_SECRET, DEV_PORTAL_SECRET

    tmp = tmp_path_factory.mktemp("fuzz-portal")
    shutil.copyfile(template_sqlite, tmp / "portal.sqlite3")
    config = base_config(tmp, f"sqlite:///{tmp / 'portal.sqlite3'}", smtp_server.port)
    config.update(SIGNING_SERVICE_URL=fuzz_signing_service.url, SIGNING_CLIENT_ID="portal",
                  SIGNING_CLIENT_SECRET=DEV_PORTAL_SECRET, SIGNING_CONSOLE_CLIENT_ID="console",
                  SIGNING_CONSOLE_CLIENT_SECRET=DEV_CONSOLE_SECRET)
    app = create_app(config)
    app.test_client_class = PortalClient
    ctx = app.app_context()
    ctx.push()
    users, ids = _populate(app)
    w = World(app, users, ids)
    _crawl(w)
    yield w
    db.session.remove()
    db.engine.dispose()
    ctx.pop()


# --- what every page offers ------------------------------------------------------------------

INT_ARG = re.compile(r"<int:(\w+)>")


def sample_path(rule: Any, value: Any = 1) -> str | None:
    """The rule's URL with every argument filled (``value`` for ints)."""
    url = rule.rule
    for converter, name in re.findall(r"<(?:(\w+):)?(\w+)>", url):
        token = f"<{converter}:{name}>" if converter else f"<{name}>"
        filler = {"int": str(value), "path": "css/portal.css"}.get(converter, {
            "locale": "ja", "fmt": "png", "handle": "x"}.get(name, "x"))
        url = url.replace(token, filler)
    return url


def personas_for(rule: Any) -> list[str]:
    return ["staff", "admin"] if rule.rule.startswith("/console") else ["rep"]


def _crawl(w: World) -> None:
    """Open every GET page as its users (ids 1 and 2) and as a visitor; record the
    forms and the endpoint each form posts to."""
    adapter = w.app.url_map.bind("localhost")
    for rule in w.app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.endpoint == "static":
            continue
        for persona in [*personas_for(rule), "anon"]:
            for value in (1, 2):
                path = sample_path(rule, value)
                if path is None:
                    continue
                response = w.client(persona).get(path)
                if persona == "anon" and response.status_code == 200:
                    w.public.add(rule.endpoint)
                if response.status_code != 200 or response.mimetype != "text/html":
                    continue
                for form in forms_on(path, response.get_data(as_text=True)):
                    w.page_forms.setdefault(rule.endpoint, []).append(form)
                    try:
                        endpoint, _ = adapter.match(form.action.split("?")[0],
                                                    method=form.method.upper())
                    except Exception:  # noqa: BLE001 - a '#' or external action
                        continue
                    w.forms.setdefault(str(endpoint), []).append(form)
