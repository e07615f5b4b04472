"""Benchmark: one customer signature on a 1 MB PDF.

remote: through the adapter and the signing service over HTTP (a real process),
        as the portal's dialog does it: 送信 (sendOTP with the PIN, checked with the
        slow KDF), reading the code from the mail (real SMTP server), then
        電子署名: authorize (PIN proof + OTP, bound to the hash), signHash and the
        RFC 3161 timestamp from the service's TSA;
bare:   pyHanko in-process with a tuned local signer (RSA-2048 key parsed once,
        fixed bytes_reserved) and the same TSA over HTTP.

Median of N runs (default 9, after one warm-up each). Run from the repository root:

    .venv/bin/python bench/sign.py [--runs 9] [--size 1000000]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
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
from pyhanko.sign import fields, signers  # noqa: E402
from pyhanko_certvalidator.registry import SimpleCertificateStore  # noqa: E402

from remote_signing.client import SigningClient  # noqa: E402
from remote_signing.pdf import BYTES_RESERVED, ServiceTimeStamper, sign_documents  # noqa: E402
from remote_signing.sample import sample_pdf  # noqa: E402
from remote_signing.service.config import DEFAULTS as RS_DEFAULTS  # noqa: E402
from remote_signing.service.config import DEV_PORTAL_SECRET  # noqa: E402
from remote_signing.testing import ServiceProcess, SmtpCapture  # noqa: E402

PIN = "Bench2026!A"
KDF_LABEL = (
    f"argon2id t={RS_DEFAULTS['KDF_TIME_COST']}, {RS_DEFAULTS['KDF_MEMORY_KIB'] // 1024} MiB, "
    f"{RS_DEFAULTS['KDF_PARALLELISM']} lanes"
)


class TunedLocalSigner(signers.Signer):
    """The fair baseline (RECIPES): key parsed once, raw RSA signature in-process."""

    def __init__(self, key: rsa.RSAPrivateKey, cert_der: bytes, chain: list[bytes]) -> None:
        super().__init__(
            signing_cert=ax509.Certificate.load(cert_der),
            cert_registry=SimpleCertificateStore.from_certs(
                [ax509.Certificate.load(c) for c in chain]
            ),
        )
        self._key = key

    async def async_sign_raw(
        self, data: bytes, digest_algorithm: str, dry_run: bool = False
    ) -> bytes:
        if dry_run:
            return bytes(256)
        return self._key.sign(data, padding.PKCS1v15(), hashes.SHA256())


def local_signer(chain: list[bytes]) -> TunedLocalSigner:
    key = rsa.generate_private_key(65537, 2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "山田 太郎")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    return TunedLocalSigner(key, cert.public_bytes(serialization.Encoding.DER), chain)


def bare_sign(pdf: bytes, signer: signers.Signer, timestamper: ServiceTimeStamper) -> bytes:
    async def run() -> bytes:
        meta = signers.PdfSignatureMetadata(
            field_name="Signature1", md_algorithm="sha256", subfilter=fields.SigSeedSubFilter.PADES
        )
        pdf_signer = signers.PdfSigner(meta, signer=signer, timestamper=timestamper)
        out = await pdf_signer.async_sign_pdf(
            IncrementalPdfFileWriter(BytesIO(pdf), strict=False),
            bytes_reserved=BYTES_RESERVED,
            output=BytesIO(),
        )
        return bytes(out.getbuffer())

    return asyncio.run(run())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=9)
    ap.add_argument("--size", type=int, default=1_000_000)
    ap.add_argument(
        "--diagnose-kdf",
        action="store_true",
        help="also run the remote path with a near-zero KDF cost (diagnostic only, NOT a "
        "production setting) to show how much of the gap is the slow PIN KDF",
    )
    args = ap.parse_args()
    if args.runs < 7:
        ap.error("at least 7 runs")
    pdf = sample_pdf(args.size)
    r, otp_t, step, b = measure(pdf, args.runs, {})
    print(f"PDF size: {len(pdf):,} bytes, runs: {args.runs} (median)")
    print(
        f"remote (adapter+service over HTTP: sendOTP, mail, authorize, signHash, TSA): "
        f"{r * 1000:.1f} ms"
    )
    print(f"  of which 送信 (PIN check + sendOTP) + code read from the mail: {otp_t * 1000:.1f} ms")
    print(f"    of which the PIN KDF ({KDF_LABEL}) alone: {kdf_cost() * 1000:.1f} ms")
    print(f"  of which 電子署名 (authorize, signHash, TSA, pyHanko): {step * 1000:.1f} ms")
    print(f"bare pyHanko in-process (tuned signer, same TSA): {b * 1000:.1f} ms")
    print(f"ratio remote/bare: {r / b:.2f} (target <= 1.3)")
    print(f"ratio 電子署名 step only/bare: {step / b:.2f}")
    if args.diagnose_kdf:
        r2, _, _, b2 = measure(pdf, args.runs, {"RS_KDF_TIME_COST": 1, "RS_KDF_MEMORY_KIB": 64})
        print(
            f"diagnostic, KDF cost ~0 (not production): remote {r2 * 1000:.1f} ms, "
            f"bare {b2 * 1000:.1f} ms, ratio {r2 / b2:.2f}"
        )


def kdf_cost() -> float:
    import os

    from argon2.low_level import Type, hash_secret_raw

    times = []
    for _ in range(9):
        t0 = time.perf_counter()
        hash_secret_raw(
            b"Bench2026!A",
            os.urandom(16),
            time_cost=RS_DEFAULTS["KDF_TIME_COST"],
            memory_cost=RS_DEFAULTS["KDF_MEMORY_KIB"],
            parallelism=RS_DEFAULTS["KDF_PARALLELISM"],
            hash_len=32,
            type=Type.ID,
        )
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def measure(
    pdf: bytes, runs: int, env: dict[str, object]
) -> tuple[float, float, float, float]:
    smtp = SmtpCapture().start()
    proc = ServiceProcess(
        Path(tempfile.mkdtemp(prefix="rs-bench-")), smtp_port=smtp.port, env=env
    ).start()
    try:
        client = SigningClient(proc.url, "portal", DEV_PORTAL_SECRET)
        email = "bench@example.jp"
        info = client.create_credential(
            user_id="bench",
            name="山田 太郎",
            email=email,
            organization="株式会社テスト商事",
            pin=PIN,
        )
        tsa = ServiceTimeStamper(client)
        baseline = local_signer(info.certificates[1:])

        def remote_once() -> tuple[float, float]:
            t0 = time.perf_counter()
            before = len(smtp.messages)
            proof = client.send_otp_after_pin(info.credential_id, PIN)
            code = smtp.otp_for(email, before)
            t1 = time.perf_counter()
            [out] = sign_documents(client, info, [pdf], proof=proof, otp=code)
            t2 = time.perf_counter()
            assert out.startswith(pdf)
            return t2 - t0, t1 - t0

        def bare_once() -> float:
            t0 = time.perf_counter()
            out = bare_sign(pdf, baseline, tsa)
            assert out.startswith(pdf)
            return time.perf_counter() - t0

        remote_once()
        bare_once()
        remote, otp_part, sign_step, bare = [], [], [], []
        for _ in range(runs):  # interleaved so both see the same machine state
            total, otp_time = remote_once()
            remote.append(total)
            otp_part.append(otp_time)
            sign_step.append(total - otp_time)
            bare.append(bare_once())
    finally:
        proc.stop()
        smtp.stop()

    return (statistics.median(remote), statistics.median(otp_part),
            statistics.median(sign_step), statistics.median(bare))


if __name__ == "__main__":
    main()
