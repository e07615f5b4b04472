"""Issue #13 item 1 (MAIL-1, APP-1): links follow the address the portal runs on.

With ``make run PORT=18000`` and no BASE_URL, the invitation URL, its QR code
and the links in mails say port 18000; with neither, a link made while serving
a request uses the address the request came to; a configured BASE_URL wins."""

from __future__ import annotations

import io
import subprocess
from pathlib import Path
from typing import Any

import qrcode
import qrcode.image.svg
from sqlalchemy import select

from portal.extensions import db
from portal.mail import deliver_pending
from portal.mypage.models import Invitation
from portal.mypage.services import invitation_url
from tests.conftest import DEFAULT_PASSWORD, login_customer, login_staff

ROOT = Path(__file__).resolve().parents[3]


def _invite(client: Any, factories: Any) -> tuple[Invitation, str]:
    staff = factories.staff(factories.branch())
    login_staff(client, staff.login_id, DEFAULT_PASSWORD)
    response = client.post_form("/console/invitations", {"valid_days": "14"},
                                token_page="/console/invitations")
    assert response.status_code == 302
    invitation = db.session.execute(select(Invitation)).scalar_one()
    return invitation, client.get(response.headers["Location"]).get_data(as_text=True)


def _qr_svg(url: str) -> bytes:
    buffer = io.BytesIO()
    qrcode.make(url, image_factory=qrcode.image.svg.SvgPathImage).save(buffer)
    return buffer.getvalue()


def test_run_port_is_in_invitation_url_qr_code_and_mail_links(app, client, factories,
                                                             smtp_sink):
    app.config.update(BASE_URL="", RUN_HOST="127.0.0.1", RUN_PORT=18000)
    invitation, page = _invite(client, factories)
    url = f"http://127.0.0.1:18000/apply?inv={invitation.token}"
    assert url in page and "127.0.0.1:8000" not in page
    qr = client.get(f"/console/invitations/{invitation.id}/qr.svg")
    assert qr.data == _qr_svg(url)  # the QR code encodes exactly this URL

    rep = factories.customer()
    newcomer = factories.customer(rep.company, role="signer", temporary=True)
    client = app.test_client()
    assert login_customer(client, rep.mypage_id, DEFAULT_PASSWORD).status_code == 302
    done = client.post_form(f"/settings/users/{newcomer.id}/temporary-password",
                            token_page=f"/settings/users/{newcomer.id}/temporary-password")
    assert done.status_code == 200
    deliver_pending()
    [mail] = smtp_sink.to(newcomer.email)
    assert "http://127.0.0.1:18000/login" in mail.get_body(("plain",)).get_content()


def test_without_base_url_or_run_port_a_request_gives_its_own_address(app, client, factories):
    app.config.update(BASE_URL="", RUN_HOST="", RUN_PORT=None)
    invitation, page = _invite(client, factories)
    assert f"http://localhost/apply?inv={invitation.token}" in page
    with app.test_request_context("/", base_url="http://portal.example:18000"):
        assert (invitation_url(invitation)
                == f"http://portal.example:18000/apply?inv={invitation.token}")


def test_a_configured_base_url_wins_over_the_run_port(app, client, factories):
    app.config.update(BASE_URL="https://econtract.example.jp/", RUN_HOST="127.0.0.1",
                      RUN_PORT=18000)
    invitation, page = _invite(client, factories)
    assert f"https://econtract.example.jp/apply?inv={invitation.token}" in page


def test_production_never_takes_links_from_the_request_host(app):
    from portal.mail import public_base_url

    app.config.update(BASE_URL="", RUN_HOST="", RUN_PORT=None, PROFILE="production")
    with app.test_request_context("/", base_url="http://attacker.example"):
        assert public_base_url() == "http://127.0.0.1:8000"
    app.config["PROFILE"] = "embedded"


def test_make_run_passes_the_port_to_the_portal_and_the_demo_seed():
    shown = subprocess.run(["make", "-n", "run", "PORT=18000"], cwd=ROOT, capture_output=True,
                           text=True, check=True).stdout
    gunicorn = next(line for line in shown.splitlines() if "gunicorn" in line)
    seed = next(line for line in shown.splitlines() if "demo seed" in line)
    for line in (gunicorn, seed):
        assert "PORTAL_RUN_HOST=127.0.0.1 PORTAL_RUN_PORT=18000" in line
    assert "--bind 127.0.0.1:18000" in gunicorn


def test_every_mail_subject_has_the_service_prefix_once(app):
    """Issue #13 item 6 (MAIL-1): one place builds subjects; none lacks the prefix
    and none gets it twice."""
    from jinja2 import ChainableUndefined, UndefinedError

    from portal.mail import SUBJECT_PREFIX, _render, with_prefix

    templates = sorted((ROOT / "templates" / "mail").glob("*.txt"))
    assert len(templates) > 10
    app.jinja_env.undefined = ChainableUndefined  # every template renders without its values
    with app.test_request_context("/"):
        for template in templates:
            try:
                subject, _ = _render(template.stem, {})
            except (TypeError, ValueError, UndefinedError):  # a filter needs a real value
                line = template.read_text(encoding="utf-8").splitlines()[0]
                subject = with_prefix(line.removeprefix("Subject:").strip())
            assert subject.startswith(SUBJECT_PREFIX), template.name
            assert subject.count(SUBJECT_PREFIX) == 1, template.name
