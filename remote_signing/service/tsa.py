"""RFC 3161 time-stamping authority with its own certificate and policy OID.

A token asked for with ``certReq`` carries the TSA certificate AND the issuing
CA certificate between it and the root, so a validator that trusts only the
root and fetches nothing can build the path (issue #16 item 3)."""

from __future__ import annotations

import hashlib
import secrets

from asn1crypto import algos, cms, core, tsp
from asn1crypto import x509 as ax509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from . import clock
from .pki import Authority

_ALLOWED = {"sha256", "sha384", "sha512"}
_HASH_LEN = {"sha256": 32, "sha384": 48, "sha512": 64}
_CRYPTO = {"sha256": hashes.SHA256(), "sha384": hashes.SHA384(), "sha512": hashes.SHA512()}


class TimeStampAuthority:
    def __init__(self, authority: Authority, policy_oid: str, *, issuer: Authority) -> None:
        self._auth = authority
        self._cert = ax509.Certificate.load(authority.der)
        self._policy = policy_oid
        self._chain_der = (authority.der, issuer.der)
        # asn1crypto re-encodes built structures on every dump: encode the
        # constant parts once and load them back per response (loaded = kept as DER).
        self._tsa_name_der = ax509.GeneralName(
            name="directory_name", value=self._cert.subject
        ).dump()
        self._ess_der = self._ess_cert_id().dump()
        self._sid_der = cms.SignerIdentifier(
            {
                "issuer_and_serial_number": cms.IssuerAndSerialNumber(
                    {"issuer": self._cert.issuer, "serial_number": self._cert.serial_number}
                )
            }
        ).dump()

    def respond(self, request_der: bytes) -> bytes:
        try:
            req = tsp.TimeStampReq.load(request_der)
            imprint = req["message_imprint"]
            algo = imprint["hash_algorithm"]["algorithm"].native
            digest = imprint["hashed_message"].native
            requested_policy = req["req_policy"].native
        except (ValueError, TypeError, KeyError):
            return _reject("bad_data_format")
        if algo not in _ALLOWED or len(digest) != _HASH_LEN[algo]:
            return _reject("bad_alg")
        if requested_policy is not None and requested_policy != self._policy:
            return _reject("unaccepted_policy")
        token = self._token(req, imprint)
        status = tsp.PKIStatusInfo({"status": "granted"})
        reply: bytes = tsp.TimeStampResp({"status": status, "time_stamp_token": token}).dump()
        return reply

    def _token(self, req: tsp.TimeStampReq, imprint: tsp.MessageImprint) -> cms.ContentInfo:
        gen_time = clock.now_seconds()
        info = {
            "version": "v1",
            "policy": self._policy,
            "message_imprint": imprint,
            "serial_number": secrets.randbits(127),
            "gen_time": gen_time,
            "accuracy": {"seconds": 1},
            "tsa": ax509.GeneralName.load(self._tsa_name_der),
        }
        if req["nonce"].native is not None:
            info["nonce"] = req["nonce"]
        tst_der = tsp.TSTInfo(info).dump()
        signed_attrs = cms.CMSAttributes(
            [
                _attr("content_type", "tst_info"),
                _attr("signing_time", cms.Time({"utc_time": core.UTCTime(gen_time)})),
                _attr("signing_certificate_v2", tsp.SigningCertificateV2.load(self._ess_der)),
                _attr("message_digest", hashlib.sha256(tst_der).digest()),
            ]
        )
        signature = self._auth.key.sign(signed_attrs.dump(), padding.PKCS1v15(), _CRYPTO["sha256"])
        digest_algo = algos.DigestAlgorithm({"algorithm": "sha256"})
        signer = cms.SignerInfo(
            {
                "version": "v1",
                "sid": cms.SignerIdentifier.load(self._sid_der),
                "digest_algorithm": digest_algo,
                "signature_algorithm": algos.SignedDigestAlgorithm(
                    {"algorithm": "rsassa_pkcs1v15"}
                ),
                "signed_attrs": signed_attrs,
                "signature": signature,
            }
        )
        signed_data = {
            "version": "v3",
            "digest_algorithms": cms.DigestAlgorithms((digest_algo,)),
            "encap_content_info": cms.EncapsulatedContentInfo(
                {"content_type": "tst_info", "content": cms.ParsableOctetString(tst_der)}
            ),
            "signer_infos": [signer],
        }
        if req["cert_req"].native:
            signed_data["certificates"] = [ax509.Certificate.load(d) for d in self._chain_der]
        return cms.ContentInfo(
            {"content_type": "signed_data", "content": cms.SignedData(signed_data)}
        )

    def _ess_cert_id(self) -> tsp.SigningCertificateV2:
        issuer_serial = {
            "issuer": [ax509.GeneralName(name="directory_name", value=self._cert.issuer)],
            "serial_number": self._cert.serial_number,
        }
        return tsp.SigningCertificateV2(
            {
                "certs": [
                    {
                        "hash_algorithm": {"algorithm": "sha256"},
                        "cert_hash": hashlib.sha256(self._auth.der).digest(),
                        "issuer_serial": issuer_serial,
                    }
                ]
            }
        )


def _attr(kind: str, value: object) -> cms.CMSAttribute:
    return cms.CMSAttribute({"type": kind, "values": (value,)})


# asn1crypto ships no type information, so its classes are Any to mypy.
class _RejectionResp(core.Sequence):  # type: ignore[misc]
    """TimeStampResp without a token (asn1crypto marks the token mandatory)."""

    _fields = [("status", tsp.PKIStatusInfo)]


def _reject(fail: str) -> bytes:
    status = tsp.PKIStatusInfo({"status": "rejection", "fail_info": tsp.PKIFailureInfo({fail})})
    reply: bytes = _RejectionResp({"status": status}).dump()
    return reply
