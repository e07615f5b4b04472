"""The service's CA (root + issuing CA), the TSA certificate, CRLs and OCSP.

CA keys sign unattended, so they are wrapped by the master key only.

OCSP for end-entity certificates is answered by a delegated responder
certificate (id-kp-OCSPSigning + id-pkix-ocsp-nocheck, included in every
response), not by the issuing CA key itself. With a CA-signed response,
poppler's pdfsig (22.12, NSS) reports "Unknown issue with Certificate" for the
second and later signatures of one PDF, more often under load: while checking
the response NSS re-imports the issuing CA (identical DER, already imported
from the previous signature's CMS, whose buffer poppler has freed) and sets
SEC_ERROR_REUSED_ISSUER_AND_SERIAL; CERT_PKIXVerifyCert still succeeds, but
poppler maps PORT_GetError() instead of the return value. Measured with gdb on
PR_SetError. A response signed by an embedded responder certificate avoids
that path (tests/functional/contracts/test_validation.py, pdfsig online).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from asn1crypto import keys as akeys
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509 import ocsp
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from sqlalchemy.orm import Session

from . import clock
from .keystore import PublicKey, derive_key, seal, unseal
from .models import ServiceKey

DOCUMENT_SIGNING_EKU = x509.ObjectIdentifier("1.3.6.1.5.5.7.3.36")
OCSP_VALIDITY = timedelta(hours=12)
OCSP_RESPONDER_VALIDITY = timedelta(days=365)
OCSP_RESPONDER_RENEW_BEFORE = timedelta(days=30)
CRL_VALIDITY = timedelta(days=1)


@dataclass(frozen=True)
class Authority:
    cert: x509.Certificate
    key: rsa.RSAPrivateKey

    @property
    def der(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.DER)


@dataclass(frozen=True)
class CertStatus:
    state: str  # "good" | "revoked" | "unknown"
    revoked_at: datetime | None = None
    reason: str | None = None


def name(common_name: str, organization: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "JP"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def add_years(moment: datetime, years: int) -> datetime:
    try:
        return moment.replace(year=moment.year + years)
    except ValueError:  # 29 February
        return moment.replace(year=moment.year + years, day=28)


class Pki:
    def __init__(
        self,
        cfg: dict[str, Any],
        root: Authority,
        issuing: Authority,
        tsa: Authority,
        responder: Authority | None = None,
    ):
        self.cfg = cfg
        self.root = root
        self.issuing = issuing
        self.tsa = tsa
        self.responder = responder or issuing
        base = cfg["PUBLIC_URL"].rstrip("/")
        self.ocsp_url = f"{base}/ocsp"
        self.crl_url = f"{base}/crl/issuing.crl"
        self.root_crl_url = f"{base}/crl/root.crl"
        self.issuing_cert_url = f"{base}/ca/issuing.cer"
        self.root_cert_url = f"{base}/ca/root.cer"

    # --- bootstrap -------------------------------------------------------
    @classmethod
    def load_or_create(cls, session: Session, cfg: dict[str, Any]) -> Pki:
        wrap_key = derive_key(cfg["MASTER_KEY_BYTES"], "rs-service-keys-v1")
        stored = {k.name: k for k in session.query(ServiceKey).all()}
        if {"root", "issuing", "tsa"} <= stored.keys():
            loaded = {n: _load_authority(stored[n], wrap_key) for n in ("root", "issuing", "tsa")}
            pki = cls(cfg, loaded["root"], loaded["issuing"], loaded["tsa"])
        else:
            pki = cls._create(cfg)
            for label in ("root", "issuing", "tsa"):
                _store(session, wrap_key, label, getattr(pki, label))
        if "ocsp" in stored:
            pki.responder = _load_authority(stored["ocsp"], wrap_key)
        pki.renew_responder_if_due(session)
        return pki

    def renew_responder_if_due(self, session: Session) -> bool:
        """A new delegated OCSP responder certificate within 30 days of the old
        one's expiry: at start and before every OCSP answer, so a service that
        runs for a year without restart never signs with an expired one."""
        if self.responder is not self.issuing and not _expires_soon(self.responder.cert):
            return False
        wrap_key = derive_key(self.cfg["MASTER_KEY_BYTES"], "rs-service-keys-v1")
        self.responder = self._issue_responder()
        _store(session, wrap_key, "ocsp", self.responder)
        session.flush()
        return True

    @classmethod
    def _create(cls, cfg: dict[str, Any]) -> Pki:
        org = cfg["CA_ORGANIZATION"]
        size = cfg["CA_KEY_SIZE"]
        start = clock.now_seconds() - timedelta(minutes=5)
        root_key = rsa.generate_private_key(65537, size)
        root_name = name(cfg["CA_ROOT_NAME"], org)
        root_cert = (
            _base_builder(root_name, root_name, root_key.public_key(), start, add_years(start, 20))
            .add_extension(x509.BasicConstraints(ca=True, path_length=1), critical=True)
            .add_extension(_ca_usage(), critical=True)
            .sign(root_key, hashes.SHA256())
        )
        root = Authority(root_cert, root_key)
        issuing_key = rsa.generate_private_key(65537, size)
        pki = cls(cfg, root, root, root)  # URLs only
        issuing_cert = (
            _base_builder(
                name(cfg["CA_ISSUING_NAME"], org),
                root_name,
                issuing_key.public_key(),
                start,
                add_years(start, 15),
            )
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(_ca_usage(), critical=True)
            .add_extension(_aki(root_cert), critical=False)
            .add_extension(pki._crl_dp(pki.root_crl_url), critical=False)
            .add_extension(pki._aia(pki.root_cert_url), critical=False)
            .sign(root_key, hashes.SHA256())
        )
        issuing = Authority(issuing_cert, issuing_key)
        tsa_key = rsa.generate_private_key(65537, size)
        tsa_cert = (
            _base_builder(
                name(cfg["TSA_NAME"], org),
                issuing_cert.subject,
                tsa_key.public_key(),
                start,
                add_years(start, 10),
            )
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(_signer_usage(), critical=True)
            .add_extension(
                x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True
            )
            .add_extension(_aki(issuing_cert), critical=False)
            .add_extension(pki._crl_dp(pki.crl_url), critical=False)
            .add_extension(pki._aia(pki.issuing_cert_url, ocsp=True), critical=False)
            .sign(issuing_key, hashes.SHA256())
        )
        return cls(cfg, root, issuing, Authority(tsa_cert, tsa_key))

    def _issue_responder(self) -> Authority:
        key = rsa.generate_private_key(65537, self.cfg["CA_KEY_SIZE"])
        start = clock.now_seconds() - timedelta(minutes=5)
        cert = (
            _base_builder(
                name("OCSPレスポンダ", self.cfg["CA_ORGANIZATION"]),
                self.issuing.cert.subject,
                key.public_key(),
                start,
                start + OCSP_RESPONDER_VALIDITY,
            )
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(_responder_usage(), critical=True)
            .add_extension(
                x509.ExtendedKeyUsage([ExtendedKeyUsageOID.OCSP_SIGNING]), critical=False
            )
            # RFC 6960 4.2.2.2.1: relying parties need not check the responder's own status.
            .add_extension(x509.OCSPNoCheck(), critical=False)
            # Its issuer's certificate, but no OCSP or CRL pointer: nocheck means no
            # validator asks for the responder's own status.
            .add_extension(self._aia(self.issuing_cert_url), critical=False)
            .add_extension(_aki(self.issuing.cert), critical=False)
            .sign(self.issuing.key, hashes.SHA256())
        )
        return Authority(cert, key)

    # --- issuing ---------------------------------------------------------
    def issue_user_certificate(
        self, public_key: PublicKey, common_name: str, organization: str
    ) -> x509.Certificate:
        start = clock.now_seconds()
        end = add_years(start, self.cfg["USER_CERT_YEARS"]) - timedelta(seconds=1)
        policy = x509.PolicyInformation(x509.ObjectIdentifier(self.cfg["CERT_POLICY_OID"]), None)
        return (
            _base_builder(
                name(common_name, organization), self.issuing.cert.subject, public_key, start, end
            )
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(_signer_usage(), critical=True)
            # emailProtection too: NSS (pdfsig) verifies PDF signers for the S/MIME usage.
            .add_extension(
                x509.ExtendedKeyUsage([DOCUMENT_SIGNING_EKU, ExtendedKeyUsageOID.EMAIL_PROTECTION]),
                critical=False,
            )
            .add_extension(x509.CertificatePolicies([policy]), critical=False)
            .add_extension(_aki(self.issuing.cert), critical=False)
            .add_extension(self._crl_dp(self.crl_url), critical=False)
            .add_extension(self._aia(self.issuing_cert_url, ocsp=True), critical=False)
            .sign(self.issuing.key, hashes.SHA256())
        )

    def chain_der(self) -> list[bytes]:
        return [self.issuing.der, self.root.der]

    # --- revocation ------------------------------------------------------
    def crl(self, which: str, revoked: list[tuple[int, datetime, str | None]]) -> bytes:
        auth = self.issuing if which == "issuing" else self.root
        now = clock.now_seconds()
        builder = (
            x509.CertificateRevocationListBuilder()
            .issuer_name(auth.cert.subject)
            .last_update(now)
            .next_update(now + CRL_VALIDITY)
            .add_extension(x509.CRLNumber(int(now.timestamp())), critical=False)
            .add_extension(_aki(auth.cert), critical=False)
        )
        for serial, when, reason in revoked:
            entry = (
                x509.RevokedCertificateBuilder()
                .serial_number(serial)
                .revocation_date(when.replace(microsecond=0))
            )
            if reason:
                entry = entry.add_extension(
                    x509.CRLReason(x509.ReasonFlags(reason)), critical=False
                )
            builder = builder.add_revoked_certificate(entry.build())
        return builder.sign(auth.key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)

    def ocsp(self, request_der: bytes, status_of: Callable[[str, int], CertStatus]) -> bytes:
        try:
            req = ocsp.load_der_ocsp_request(request_der)
        except ValueError:
            return _ocsp_error(ocsp.OCSPResponseStatus.MALFORMED_REQUEST)
        auth_name = self._authority_for(req)
        if auth_name is None:
            return _ocsp_error(ocsp.OCSPResponseStatus.UNAUTHORIZED)
        auth = self.issuing if auth_name == "issuing" else self.root
        status = status_of(auth_name, req.serial_number)
        now = clock.now_seconds()
        cert_status = {
            "good": ocsp.OCSPCertStatus.GOOD,
            "revoked": ocsp.OCSPCertStatus.REVOKED,
        }.get(status.state, ocsp.OCSPCertStatus.UNKNOWN)
        revoked_at = status.revoked_at.replace(microsecond=0) if status.revoked_at else None
        reason = x509.ReasonFlags(status.reason) if status.reason else None
        builder = ocsp.OCSPResponseBuilder().add_response_by_hash(
            issuer_name_hash=req.issuer_name_hash,
            issuer_key_hash=req.issuer_key_hash,
            serial_number=req.serial_number,
            algorithm=req.hash_algorithm,
            cert_status=cert_status,
            this_update=now,
            next_update=now + OCSP_VALIDITY,
            revocation_time=revoked_at,
            revocation_reason=reason,
        )
        signer = self.responder if auth_name == "issuing" else auth
        builder = builder.responder_id(ocsp.OCSPResponderEncoding.HASH, signer.cert)
        if signer is not auth:
            builder = builder.certificates([signer.cert])
        for ext in req.extensions:
            if isinstance(ext.value, x509.OCSPNonce):
                builder = builder.add_extension(ext.value, critical=False)
        resp = builder.sign(signer.key, hashes.SHA256())
        return resp.public_bytes(serialization.Encoding.DER)

    def _authority_for(self, req: ocsp.OCSPRequest) -> str | None:
        algo = req.hash_algorithm.name
        for label, auth in (("issuing", self.issuing), ("root", self.root)):
            name_hash, key_hash = _issuer_hashes(auth.cert, algo)
            if name_hash == req.issuer_name_hash and key_hash == req.issuer_key_hash:
                return label
        return None

    def _crl_dp(self, url: str) -> x509.CRLDistributionPoints:
        return x509.CRLDistributionPoints(
            [x509.DistributionPoint([x509.UniformResourceIdentifier(url)], None, None, None)]
        )

    def _aia(self, issuer_url: str, *, ocsp: bool = False) -> x509.AuthorityInformationAccess:
        descs = [
            x509.AccessDescription(
                x509.AuthorityInformationAccessOID.CA_ISSUERS,
                x509.UniformResourceIdentifier(issuer_url),
            )
        ]
        if ocsp:
            descs.insert(
                0,
                x509.AccessDescription(
                    x509.AuthorityInformationAccessOID.OCSP,
                    x509.UniformResourceIdentifier(self.ocsp_url),
                ),
            )
        return x509.AuthorityInformationAccess(descs)


def _load_authority(row: ServiceKey, wrap_key: bytes) -> Authority:
    key = serialization.load_der_private_key(
        unseal(wrap_key, row.wrapped_key, row.name.encode()), password=None
    )
    assert isinstance(key, rsa.RSAPrivateKey)
    return Authority(x509.load_der_x509_certificate(row.cert_der), key)


def _store(session: Session, wrap_key: bytes, label: str, auth: Authority) -> None:
    key_der = auth.key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    session.merge(
        ServiceKey(
            name=label, cert_der=auth.der, wrapped_key=seal(wrap_key, key_der, label.encode())
        )
    )


def _expires_soon(cert: x509.Certificate) -> bool:
    return cert.not_valid_after_utc - clock.now() < OCSP_RESPONDER_RENEW_BEFORE


def _base_builder(
    subject: x509.Name, issuer: x509.Name, public_key: PublicKey, start: datetime, end: datetime
) -> x509.CertificateBuilder:
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
    )


def _aki(issuer: x509.Certificate) -> x509.AuthorityKeyIdentifier:
    ski = issuer.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    return x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski)


def _key_usage(*, content_commitment: bool = False, ca: bool = False) -> x509.KeyUsage:
    """digitalSignature always; nonRepudiation for signers; certSign+cRLSign for CAs."""
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=content_commitment,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=ca,
        crl_sign=ca,
        encipher_only=False,
        decipher_only=False,
    )


def _ca_usage() -> x509.KeyUsage:
    return _key_usage(ca=True)


def _responder_usage() -> x509.KeyUsage:
    return _key_usage()


def _signer_usage() -> x509.KeyUsage:
    return _key_usage(content_commitment=True)


def _issuer_hashes(cert: x509.Certificate, algo: str) -> tuple[bytes, bytes]:
    spki = akeys.PublicKeyInfo.load(
        cert.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    key_bits = spki["public_key"].contents[1:]  # drop the unused-bits octet
    subject = cert.subject.public_bytes()
    return hashlib.new(algo, subject).digest(), hashlib.new(algo, key_bits).digest()


def _ocsp_error(status: ocsp.OCSPResponseStatus) -> bytes:
    return ocsp.OCSPResponseBuilder.build_unsuccessful(status).public_bytes(
        serialization.Encoding.DER
    )
