"""The service's CA (root + issuing CA), the TSA certificate, CRLs and OCSP.

CA keys sign unattended: the key store keeps them (software: wrapped by the
master key only; PKCS#11: in the token, never extractable). A token key cannot
be handed to ``cryptography``'s builders, so those build with a scratch key and
the TBS bytes are signed again by the token (``_resign``), same algorithm.

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
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from asn1crypto import crl as acrl
from asn1crypto import keys as akeys
from asn1crypto import ocsp as aocsp
from asn1crypto import x509 as ax509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509 import ocsp
from cryptography.x509.ocsp import OCSPRequest
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtendedKeyUsageOID, NameOID
from sqlalchemy.orm import Session

from . import clock
from .keystore import AuthorityKey, KeyStore, PublicKey
from .models import ServiceKey

DOCUMENT_SIGNING_EKU = x509.ObjectIdentifier("1.3.6.1.5.5.7.3.36")
OCSP_VALIDITY = timedelta(hours=12)
OCSP_RESPONDER_VALIDITY = timedelta(days=365)
OCSP_RESPONDER_RENEW_BEFORE = timedelta(days=30)
CRL_VALIDITY = timedelta(days=1)


@dataclass(frozen=True)
class Authority:
    cert: x509.Certificate
    key: AuthorityKey

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
        *,
        keystore: KeyStore,
    ):
        self.cfg = cfg
        self.keystore = keystore
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
    def load_or_create(cls, session: Session, cfg: dict[str, Any], keystore: KeyStore) -> Pki:
        stored = {k.name: k for k in session.query(ServiceKey).all()}
        if {"root", "issuing", "tsa"} <= stored.keys():
            loaded = {n: _load_authority(stored[n], keystore) for n in ("root", "issuing", "tsa")}
            pki = cls(cfg, loaded["root"], loaded["issuing"], loaded["tsa"], keystore=keystore)
        else:
            pki, refs = cls._create(cfg, keystore)
            for label in ("root", "issuing", "tsa"):
                _store(session, label, getattr(pki, label), refs[label])
        if "ocsp" in stored:
            pki.responder = _load_authority(stored["ocsp"], keystore)
        pki.renew_responder_if_due(session)
        return pki

    def renew_responder_if_due(self, session: Session) -> bool:
        """A new delegated OCSP responder certificate within 30 days of the old
        one's expiry: at start and before every OCSP answer, so a service that
        runs for a year without restart never signs with an expired one."""
        if self.responder is not self.issuing and not _expires_soon(self.responder.cert):
            return False
        self.responder, ref = self._issue_responder()
        _store(session, "ocsp", self.responder, ref)
        session.flush()
        return True

    @classmethod
    def _create(cls, cfg: dict[str, Any], keystore: KeyStore) -> tuple[Pki, dict[str, bytes]]:
        org = cfg["CA_ORGANIZATION"]
        size = cfg["CA_KEY_SIZE"]
        start = clock.now_seconds() - timedelta(minutes=5)
        refs: dict[str, bytes] = {}
        root_key, refs["root"] = keystore.new_authority_key("root", size)
        root_name = name(cfg["CA_ROOT_NAME"], org)
        root_cert = sign_certificate(
            _base_builder(root_name, root_name, root_key.public_key(), start, add_years(start, 20))
            .add_extension(x509.BasicConstraints(ca=True, path_length=1), critical=True)
            .add_extension(_ca_usage(), critical=True),
            root_key,
        )
        root = Authority(root_cert, root_key)
        issuing_key, refs["issuing"] = keystore.new_authority_key("issuing", size)
        pki = cls(cfg, root, root, root, keystore=keystore)  # URLs only
        issuing_cert = sign_certificate(
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
            .add_extension(pki._aia(pki.root_cert_url), critical=False),
            root_key,
        )
        issuing = Authority(issuing_cert, issuing_key)
        tsa_key, refs["tsa"] = keystore.new_authority_key("tsa", size)
        tsa_cert = sign_certificate(
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
            .add_extension(pki._aia(pki.issuing_cert_url, ocsp=True), critical=False),
            issuing_key,
        )
        tsa = Authority(tsa_cert, tsa_key)
        return cls(cfg, root, issuing, tsa, keystore=keystore), refs

    def _issue_responder(self) -> tuple[Authority, bytes]:
        key, ref = self.keystore.new_authority_key("ocsp", self.cfg["CA_KEY_SIZE"])
        start = clock.now_seconds() - timedelta(minutes=5)
        cert = sign_certificate(
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
            .add_extension(_aki(self.issuing.cert), critical=False),
            self.issuing.key,
        )
        return Authority(cert, key), ref

    # --- issuing ---------------------------------------------------------
    def issue_user_certificate(
        self, public_key: PublicKey, common_name: str, organization: str
    ) -> x509.Certificate:
        start = clock.now_seconds()
        end = add_years(start, self.cfg["USER_CERT_YEARS"]) - timedelta(seconds=1)
        policy = x509.PolicyInformation(x509.ObjectIdentifier(self.cfg["CERT_POLICY_OID"]), None)
        return sign_certificate(
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
            .add_extension(self._aia(self.issuing_cert_url, ocsp=True), critical=False),
            self.issuing.key,
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
        return sign_crl(builder, auth.key)

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
        if signer is not auth:
            builder = builder.certificates([signer.cert])
        for ext in req.extensions:
            if isinstance(ext.value, x509.OCSPNonce):
                builder = builder.add_extension(ext.value, critical=False)
        return sign_ocsp(builder, signer)

    def _authority_for(self, req: OCSPRequest) -> str | None:
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
                AuthorityInformationAccessOID.CA_ISSUERS,
                x509.UniformResourceIdentifier(issuer_url),
            )
        ]
        if ocsp:
            descs.insert(
                0,
                x509.AccessDescription(
                    AuthorityInformationAccessOID.OCSP,
                    x509.UniformResourceIdentifier(self.ocsp_url),
                ),
            )
        return x509.AuthorityInformationAccess(descs)


def _load_authority(row: ServiceKey, keystore: KeyStore) -> Authority:
    key = keystore.load_authority_key(row.name, row.wrapped_key)
    return Authority(x509.load_der_x509_certificate(row.cert_der), key)


def _store(session: Session, label: str, auth: Authority, ref: bytes) -> None:
    """``ref``: the key wrapped by the master key (software) or its token reference."""
    session.merge(ServiceKey(name=label, cert_der=auth.der, wrapped_key=ref))


# --- signing with a key cryptography cannot hold ------------------------------
_scratch: list[Any] = []  # [scratch key, its certificate], made once on first use
_scratch_lock = threading.Lock()


def _scratch_pair() -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
    """Signs only to get the TBS bytes out of a builder; its signature is replaced."""
    with _scratch_lock:
        if not _scratch:
            key = rsa.generate_private_key(65537, 2048)
            subject = name("scratch", "scratch")
            start = clock.now_seconds()
            cert = _base_builder(
                subject, subject, key.public_key(), start, start + timedelta(days=1)
            ).sign(key, hashes.SHA256())
            _scratch.extend([key, cert])
    return _scratch[0], _scratch[1]


def _scratch_key() -> rsa.RSAPrivateKey:
    return _scratch_pair()[0]


def _scratch_cert() -> x509.Certificate:
    return _scratch_pair()[1]


def _key_hash(cert: x509.Certificate) -> bytes:
    return _issuer_hashes(cert, "sha1")[1]


def _resign(tbs: bytes, key: AuthorityKey) -> bytes:
    return key.sign(tbs, padding.PKCS1v15(), hashes.SHA256())


def sign_certificate(builder: x509.CertificateBuilder, key: AuthorityKey) -> x509.Certificate:
    if isinstance(key, rsa.RSAPrivateKey):
        return builder.sign(key, hashes.SHA256())
    draft = builder.sign(_scratch_key(), hashes.SHA256())
    der = ax509.Certificate(
        {
            "tbs_certificate": ax509.TbsCertificate.load(draft.tbs_certificate_bytes),
            "signature_algorithm": ax509.Certificate.load(
                draft.public_bytes(serialization.Encoding.DER)
            )["signature_algorithm"],
            "signature_value": _resign(draft.tbs_certificate_bytes, key),
        }
    ).dump()
    return x509.load_der_x509_certificate(der)


def sign_crl(builder: x509.CertificateRevocationListBuilder, key: AuthorityKey) -> bytes:
    if isinstance(key, rsa.RSAPrivateKey):
        return builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)
    draft = builder.sign(_scratch_key(), hashes.SHA256())
    loaded = acrl.CertificateList.load(draft.public_bytes(serialization.Encoding.DER))
    signed: bytes = acrl.CertificateList(
        {
            "tbs_cert_list": acrl.TbsCertList.load(draft.tbs_certlist_bytes),
            "signature_algorithm": loaded["signature_algorithm"],
            "signature": _resign(draft.tbs_certlist_bytes, key),
        }
    ).dump()
    return signed


def sign_ocsp(builder: ocsp.OCSPResponseBuilder, signer: Authority) -> bytes:
    """Signed by ``signer``, named by its key hash (responderID byKey)."""
    key = signer.key
    if isinstance(key, rsa.RSAPrivateKey):
        builder = builder.responder_id(ocsp.OCSPResponderEncoding.HASH, signer.cert)
        return builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)
    # cryptography insists that the responder certificate matches the key it
    # signs with: draft with a scratch certificate, then name the real one.
    draft = builder.responder_id(ocsp.OCSPResponderEncoding.HASH, _scratch_cert()).sign(
        _scratch_key(), hashes.SHA256()
    )
    outer = aocsp.OCSPResponse.load(draft.public_bytes(serialization.Encoding.DER))
    basic = outer["response_bytes"]["response"].parsed
    tbs = aocsp.ResponseData.load(draft.tbs_response_bytes)
    tbs["responder_id"] = aocsp.ResponderId({"by_key": _key_hash(signer.cert)})
    tbs_der = tbs.dump(force=True)
    fields: dict[str, Any] = {
        "tbs_response_data": aocsp.ResponseData.load(tbs_der),
        "signature_algorithm": basic["signature_algorithm"],
        "signature": _resign(tbs_der, key),
    }
    if basic["certs"].native is not None:
        fields["certs"] = basic["certs"]
    signed: bytes = aocsp.OCSPResponse(
        {
            "response_status": "successful",
            "response_bytes": {
                "response_type": "basic_ocsp_response",
                "response": aocsp.BasicOCSPResponse(fields),
            },
        }
    ).dump()
    return signed


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
