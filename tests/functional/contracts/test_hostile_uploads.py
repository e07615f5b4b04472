"""Issue #12 item 6, CON-1/KYC-3: a contract PDF's name is stored without
bidi overrides or zero-width characters, and an infected contract upload is
refused and audited like an infected KYC upload (who, name, size, hash,
signature), even though the form is refused."""

from __future__ import annotations

import io
import json

from sqlalchemy import select

from kyc import devtools
from portal.contracts.models import ContractDocument
from portal.extensions import db
from portal.models import AuditEntry
from tests.functional.contracts.conftest import package_form, staff_client


def _upload(client, world, contract: tuple[bytes, str], important: tuple[bytes, str]):
    data = dict(package_form(world))
    data["contract_files"] = [(io.BytesIO(contract[0]), contract[1])]
    data["important_file"] = (io.BytesIO(important[0]), important[1])
    return client.post_form("/console/contracts/new", data, token_page="/console/contracts/new",
                            content_type="multipart/form-data")


def test_con1_bidi_and_zero_width_characters_leave_the_stored_name(app, world, contract_pdf,
                                                                   clamd_address):
    client = staff_client(app, world.staff)
    response = _upload(client, world, (contract_pdf, "金銭消費\u202e貸借\u200b契約書.pdf"),
                       (contract_pdf, "\ufeff重要事項\u2066説明書\u2069.pdf"))
    assert response.status_code == 302, response.get_data(as_text=True)
    titles = sorted(db.session.execute(select(ContractDocument.title)).scalars())
    assert titles == ["重要事項説明書", "金銭消費貸借契約書"]


def test_con1_infected_contract_is_refused_and_audited_like_kyc(app, world, contract_pdf,
                                                                clamd_address):
    client = staff_client(app, world.staff)
    infected = contract_pdf.replace(b"%%EOF", devtools.EICAR + b"\n%%EOF")
    response = _upload(client, world, (infected, "契約書\u200b.pdf"),
                       (contract_pdf, "重要事項説明書.pdf"))
    assert response.status_code == 400
    assert "ウイルスが検出された" in response.get_data(as_text=True)
    assert db.session.execute(select(ContractDocument)).first() is None
    entry = db.session.execute(select(AuditEntry).where(
        AuditEntry.action == "contract.file.infected")).scalar_one()
    assert (entry.actor_type, entry.actor_id) == ("staff", world.staff.id)
    detail = json.loads(entry.detail)
    assert detail["field"] == "contract_files" and detail["reason"] == "infected"
    assert detail["name"] == "契約書.pdf" and detail["size"] == len(infected)
    assert "EICAR" in detail["signature"].upper() and len(detail["sha256"]) == 64
