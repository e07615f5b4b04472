"""Benchmark (issue 6): conclusion of a 1 MB PDF already signed by two parties.

portal: what ``portal.contracts.signing.conclude`` does to a document: find the
        bank's seal credential (console client), add validation data for both
        party signatures, the bank's signature through the signing service
        (authorize + signHash over HTTP) with its validation data embedded, and
        a document timestamp (PAdES B-LTA), timestamps from the service's TSA.
bare:   pyHanko in-process doing the same: the same validation-data step, a tuned
        local signer (RSA-2048 key parsed once, fixed bytes_reserved) with
        embedded validation data, LTA document timestamp, same TSA over HTTP.

The portal path runs twice, against two signing services side by side: the
software key store and the PKCS#11 one (a private SoftHSM2 token: the seal
key is in the token; issue #16), printed with the ratio HSM/software (target
<= 1.2).

Median of N interleaved runs after one warm-up. From the repository root:

    .venv/bin/python bench/conclude.py [--runs 9] [--size 1000000]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from io import BytesIO
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from asn1crypto import x509 as ax509  # noqa: E402
from cryptography import x509  # noqa: E402
from cryptography.hazmat.primitives import hashes, serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import padding, rsa  # noqa: E402
from cryptography.x509.oid import NameOID  # noqa: E402
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter  # noqa: E402
from pyhanko.pdf_utils.reader import PdfFileReader  # noqa: E402
from pyhanko.sign import fields, signers  # noqa: E402
from pyhanko.sign.signers.pdf_signer import DSSContentSettings  # noqa: E402
from pyhanko_certvalidator import ValidationContext  # noqa: E402
from pyhanko_certvalidator.fetchers.requests_fetchers import RequestsFetcherBackend  # noqa: E402
from pyhanko_certvalidator.registry import SimpleCertificateStore  # noqa: E402

from portal.contracts.seal import BANK_SEAL  # noqa: E402
from remote_signing.client import SigningClient  # noqa: E402
from remote_signing.pdf import (  # noqa: E402
    LTA_BYTES_RESERVED,
    ServiceTimeStamper,
    SignatureOptions,
    Trust,
    add_validation_data,
    seal_documents,
    sign_documents,
)
from remote_signing.sample import sample_pdf  # noqa: E402
from remote_signing.service.config import DEV_CONSOLE_SECRET, DEV_PORTAL_SECRET  # noqa: E402
from remote_signing.service.pkcs11_store import softhsm_service_env  # noqa: E402
from remote_signing.testing import ServiceProcess, SmtpCapture  # noqa: E402

PIN = "Bench2026!A"


class TunedLocalSigner(signers.Signer):
    def __init__(self, key: rsa.RSAPrivateKey, cert: ax509.Certificate) -> None:
        super().__init__(signing_cert=cert, cert_registry=SimpleCertificateStore.from_certs([]))
        self._key = key

    async def async_sign_raw(self, data: bytes, digest_algorithm: str,
                             dry_run: bool = False) -> bytes:
        if dry_run:
            return bytes(256)
        return self._key.sign(data, padding.PKCS1v15(), hashes.SHA256())


def local_seal() -> tuple[TunedLocalSigner, ax509.Certificate]:
    key = rsa.generate_private_key(65537, 2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "株式会社サンプル銀行")])
    now = datetime.now(UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now).not_valid_after(now + timedelta(days=30))
            .add_extension(x509.KeyUsage(True, True, False, False, False, False, False, False,
                                         False), critical=True)
            .sign(key, hashes.SHA256()))
    der = ax509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))
    return TunedLocalSigner(key, der), der


def two_party_pdf(client: SigningClient, smtp: SmtpCapture, pdf: bytes) -> bytes:
    for n in (1, 2):
        email = f"party{n}@example.jp"
        info = client.create_credential(user_id=f"party{n}", name=f"当事者 {n}", email=email,
                                        organization="株式会社テスト商事", pin=PIN)
        before = len(smtp.messages)
        client.send_otp(info.credential_id)
        code = smtp.otp_for(email, before)
        [pdf] = sign_documents(client, info, [pdf], pin=PIN, otp=code,
                               options=SignatureOptions(field_name=f"Party{n}"))
    return pdf


def bare_conclude(pdf: bytes, trust: Trust, signer: TunedLocalSigner, own: ax509.Certificate,
                  tsa: ServiceTimeStamper) -> bytes:
    async def run() -> bytes:
        data = await add_validation_data(pdf, trust)
        vc = ValidationContext(trust_roots=[trust.root, own], allow_fetching=True,
                               fetcher_backend=RequestsFetcherBackend())
        meta = signers.PdfSignatureMetadata(
            field_name="BankSeal", md_algorithm="sha256", subfilter=fields.SigSeedSubFilter.PADES,
            embed_validation_info=True, use_pades_lta=True, validation_context=vc,
            dss_settings=DSSContentSettings(include_vri=False))
        out = await signers.PdfSigner(meta, signer=signer, timestamper=tsa).async_sign_pdf(
            IncrementalPdfFileWriter(BytesIO(data), strict=False),
            bytes_reserved=LTA_BYTES_RESERVED, output=BytesIO())
        return bytes(out.getbuffer())

    return asyncio.run(run())


def start_service(backend: str, smtp: SmtpCapture) -> ServiceProcess:
    workdir = Path(tempfile.mkdtemp(prefix=f"con-bench-{backend}-"))
    env = (softhsm_service_env(workdir / "softhsm") if backend == "pkcs11"
           else {"RS_KEYSTORE_BACKEND": "software"})
    return ServiceProcess(workdir, smtp_port=smtp.port, env=env).start()


def portal_timer(proc: ServiceProcess, smtp: SmtpCapture, size: int
                 ) -> tuple[Callable[[], float], SigningClient, bytes]:
    """The portal's conclusion against one service, on a file its parties signed."""
    client = SigningClient(proc.url, "portal", DEV_PORTAL_SECRET, timeout=60)
    console = SigningClient(proc.url, "console", DEV_CONSOLE_SECRET, timeout=60)
    pdf = two_party_pdf(client, smtp, sample_pdf(size))

    def portal_once() -> float:
        t0 = time.perf_counter()
        seal = console.credential_info(console.list_credentials()[0])
        trust = Trust(ax509.Certificate.load(console.root_certificate()))
        [out] = seal_documents(console, seal, trust, [pdf], BANK_SEAL)
        elapsed = time.perf_counter() - t0
        assert out.startswith(pdf) and len(PdfFileReader(BytesIO(out)).embedded_signatures) == 4
        return elapsed

    return portal_once, client, pdf


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=9)
    ap.add_argument("--size", type=int, default=1_000_000)
    args = ap.parse_args()
    smtp = SmtpCapture().start()
    proc = start_service("software", smtp)
    hsm_proc = start_service("pkcs11", smtp)
    try:
        portal_once, client, pdf = portal_timer(proc, smtp, args.size)
        hsm_once, _hsm_client, _ = portal_timer(hsm_proc, smtp, args.size)
        console = SigningClient(proc.url, "console", DEV_CONSOLE_SECRET, timeout=60)
        tsa = ServiceTimeStamper(client)
        signer, own = local_seal()
        trust = Trust(ax509.Certificate.load(console.root_certificate()))

        def bare_once() -> float:
            t0 = time.perf_counter()
            out = bare_conclude(pdf, trust, signer, own, tsa)
            elapsed = time.perf_counter() - t0
            assert out.startswith(pdf) and len(PdfFileReader(BytesIO(out)).embedded_signatures) == 4
            return elapsed

        portal_once()
        hsm_once()
        bare_once()
        portal, hsm, bare = [], [], []
        for _ in range(args.runs):
            portal.append(portal_once())
            hsm.append(hsm_once())
            bare.append(bare_once())
    finally:
        proc.stop()
        hsm_proc.stop()
        smtp.stop()
    p, h, b = statistics.median(portal), statistics.median(hsm), statistics.median(bare)
    print(f"PDF: {len(pdf):,} bytes signed by two parties; runs: {args.runs} (median)")
    print("portal conclusion (seal via signing service, validation data, B-LTA): "
          f"{p * 1000:.1f} ms")
    print(f"bare pyHanko in-process (tuned local key, same steps, same TSA): {b * 1000:.1f} ms")
    print(f"ratio portal/bare: {p / b:.2f} (target <= 1.3)")
    print(f"portal conclusion, PKCS#11 key store (SoftHSM2 token): {h * 1000:.1f} ms")
    verdict = "met" if h / p <= 1.2 else "NOT met"
    print(f"ratio PKCS#11/software: {h / p:.2f} (target <= 1.2: {verdict}); "
          f"PKCS#11/bare: {h / b:.2f}")


if __name__ == "__main__":
    main()
