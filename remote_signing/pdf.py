"""PAdES B-T signing through the signing service (RS-1, SIGN-1, SIGN-2).

``RemoteSigner`` is a pyHanko ``Signer`` whose raw signing step hashes the
signed attributes and asks the service to sign that hash; the signature
timestamp comes from the service's RFC 3161 TSA. Several documents can be
signed with ONE authorization: their signing coroutines run together and the
``BatchAuthorizer`` sends the service all their hashes at once, so the
activation token is bound to exactly that set.

Timestamps fail closed (issue #16 item 5): ``ServiceTimeStamper`` tries the
configured TSAs in order and keeps a token only when it is intact, covers the
requested digest, answers our nonce and chains to the signing service's root
from the certificates inside the token alone; when no TSA gives one it raises
``TimestampUnavailable`` and nothing is signed or stored. ``sign_documents``
asks for a timestamp before the authorization, so a missing TSA costs the user
no signature on the service side; a TSA that gave a valid token within the last
``TSA_FRESH_SECONDS`` counts as up without asking again.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import threading
import time
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache
from io import BytesIO
from typing import Any

from asn1crypto import cms, tsp
from asn1crypto import x509 as ax509
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers
from pyhanko.sign.general import extract_signer_info
from pyhanko.sign.signers.pdf_signer import DSSContentSettings
from pyhanko.sign.timestamps.api import TimeStamper
from pyhanko.sign.timestamps.common_utils import handle_tsp_response
from pyhanko.sign.validation.dss import async_add_validation_info
from pyhanko.sign.validation.generic_cms import (
    extract_certs_for_validation,
    validate_sig_integrity,
)
from pyhanko_certvalidator import CertificateValidator, ValidationContext
from pyhanko_certvalidator.fetchers.requests_fetchers import RequestsFetcherBackend
from pyhanko_certvalidator.registry import SimpleCertificateStore

from .client import (
    Authorization,
    CredentialInfo,
    PinProof,
    SigningClient,
    SigningError,
    TimestampUnavailable,
)

log = logging.getLogger(__name__)

# Hex characters reserved for the CMS blob; a fixed size avoids a dry-run signature.
# B-T with RSA-3072 keys (make run's token) and a timestamp token that carries the
# TSA's chain needs about 17,300; 16384 was too small there.
BYTES_RESERVED = 24576


class InvalidTimestamp(Exception):
    """A TSA answered, but not with a token we may keep."""


_TOKEN_DIGESTS = {"sha256", "sha384", "sha512"}
TRUST_CACHE_SECONDS = 3600.0
_trusted_tsa: dict[tuple[bytes, bytes], float] = {}  # (root, TSA cert) digests -> until
_trusted_lock = threading.Lock()
# A TSA that gave a valid token this recently is taken as up: the check before the
# authorization (or the activation token's use) is skipped (#11 item 5). Storage
# stays fail-closed either way: nothing is stored without a valid token. The cost
# is bounded by this window: a TSA that dies inside it can cost the user one code.
TSA_FRESH_SECONDS = 10.0
_tsa_answered: dict[str, float] = {}  # TSA URL -> monotonic time of its last valid token


def _sha(cert: ax509.Certificate) -> bytes:
    return hashlib.sha256(cert.dump()).digest()


def _check_token(token: cms.ContentInfo, message_digest: bytes,
                 md_algorithm: str) -> tuple[ax509.Certificate, list[ax509.Certificate]]:
    """The token's signature over its TSTInfo (pyHanko's CMS checks, signer certificate
    from the token, ESS signing-certificate attribute) and its imprint; returns the
    signer certificate and the other certificates in the token."""
    signed_data = token["content"]
    signer_info = extract_signer_info(signed_data)
    certs = extract_certs_for_validation(signed_data)
    algo = signer_info["digest_algorithm"]["algorithm"].native
    if algo not in _TOKEN_DIGESTS:
        raise InvalidTimestamp(f"digest algorithm {algo}")
    content = bytes(signed_data["encap_content_info"]["content"])
    intact, valid = validate_sig_integrity(signer_info, certs.signer_cert, "tst_info",
                                           hashlib.new(algo, content).digest())
    if not (intact and valid):
        raise InvalidTimestamp("the token's signature does not verify")
    imprint = tsp.TSTInfo.load(content)["message_imprint"]
    if (imprint["hash_algorithm"]["algorithm"].native != md_algorithm
            or imprint["hashed_message"].native != message_digest):
        raise InvalidTimestamp("the token stamps another digest")
    return certs.signer_cert, list(certs.other_certs)


class ServiceTimeStamper(TimeStamper):
    """RFC 3161 client over the adapter's HTTP session and credential, with
    fail-over: the client's TSA URLs in order, a URL that failed once is tried
    last for the rest of this stamper's operation. Every token is verified
    before use (see the module docstring)."""

    def __init__(self, client: SigningClient, urls: Sequence[str] | None = None) -> None:
        super().__init__()  # type: ignore[no-untyped-call]  # pyHanko: TimeStamper is unannotated
        self._client = client
        self._urls = list(urls or client.tsa_urls)
        self._root: ax509.Certificate | None = None

    async def async_timestamp(self, message_digest: bytes, md_algorithm: str) -> cms.ContentInfo:
        failed: list[str] = []
        for url in list(self._urls):
            try:
                token = await self._timestamp_from(url, message_digest, md_algorithm)
            except Exception as exc:  # noqa: BLE001  any failure of one TSA: try the next
                with _trusted_lock:
                    _tsa_answered.pop(url, None)
                log.warning("TSA %s gave no valid timestamp: %s: %s", url,
                            type(exc).__name__, exc)
                failed.append(f"{url}: {type(exc).__name__}")
                self._urls.remove(url)
                self._urls.append(url)
            else:
                with _trusted_lock:
                    _tsa_answered[url] = time.monotonic()
                return token
        raise TimestampUnavailable("no TSA gave a valid timestamp", detail={"tried": failed})

    async def ensure_available(self) -> None:
        """Fail closed before anything is spent: a TSA must give a valid token, unless
        one of this stamper's TSAs gave one within the last TSA_FRESH_SECONDS."""
        now = time.monotonic()
        with _trusted_lock:
            fresh = any(now - _tsa_answered.get(url, float("-inf")) < TSA_FRESH_SECONDS
                        for url in self._urls)
        if not fresh:
            await self.async_dummy_response("sha256")

    async def _timestamp_from(self, url: str, message_digest: bytes,
                              md_algorithm: str) -> cms.ContentInfo:
        _, req = self.request_cms(message_digest, md_algorithm)  # type: ignore[no-untyped-call]  # pyHanko: unannotated
        der = await asyncio.to_thread(self._client.timestamp, req.dump(), url)
        token = handle_tsp_response(tsp.TimeStampResp.load(der), None)  # status only
        # our own nonce check: pyHanko's fails on its own message (int.hex) for a wrong one
        answered = token["content"]["encap_content_info"]["content"].parsed["nonce"].native
        if answered != req["nonce"].native:
            raise InvalidTimestamp("the token answers another request (nonce)")
        await self._verify(token, message_digest, md_algorithm)
        return token

    async def _verify(self, token: cms.ContentInfo, message_digest: bytes,
                      md_algorithm: str) -> None:
        """Intact, the requested digest, and a TSA certificate trusted for time
        stamping from the token's own certificates and the root alone (nothing
        fetched). The path check costs most (8 ms CPU against 4 ms for the rest): a
        TSA certificate found trusted is remembered for TRUST_CACHE_SECONDS."""
        cert, others = _check_token(token, message_digest, md_algorithm)
        if self._root is None:
            self._root = _certificate(await asyncio.to_thread(self._client.root_certificate))
        root = self._root
        key = (_sha(root), _sha(cert))
        with _trusted_lock:
            until = _trusted_tsa.get(key, 0.0)
        if until > time.monotonic():
            return
        context = ValidationContext(trust_roots=[root], allow_fetching=False)
        validator = CertificateValidator(cert, intermediate_certs=others,
                                         validation_context=context)
        try:
            await validator.async_validate_usage(set(), {"time_stamping"})  # type: ignore[no-untyped-call]  # certvalidator: unannotated
        except Exception as exc:  # noqa: BLE001  certvalidator raises several kinds
            raise InvalidTimestamp(f"TSA certificate not trusted: {exc}") from exc
        not_after = cert["tbs_certificate"]["validity"]["not_after"].native.timestamp()
        with _trusted_lock:
            _trusted_tsa[key] = time.monotonic() + min(TRUST_CACHE_SECONDS,
                                                       not_after - time.time())


class BatchAuthorizer:
    """Collects the hashes of ``expected`` signatures, then authorizes them together
    (PIN or the PIN proof from 送信, + OTP) and has them signed with the one
    activation token."""

    def __init__(
        self,
        client: SigningClient,
        credential_id: str,
        *,
        pin: str | None = None,
        proof: PinProof | None = None,
        otp: str | None,
        expected: int,
        description: str | None = None,
    ) -> None:
        self._client = client
        self._credential_id = credential_id
        self._pin = proof.pin if proof is not None else pin
        self._pin_token = proof.pin_token if proof is not None else None
        self._otp = otp
        self._expected = expected
        self._description = description
        self._pending: list[tuple[bytes, asyncio.Future[bytes]]] = []
        self._algo: str | None = None
        self._gate: Awaitable[object] | None = None

    def authorize_after(self, gate: Awaitable[object]) -> None:
        """Nothing is authorized before ``gate`` (the TSA check) has succeeded."""
        self._gate = gate

    async def sign(self, digest: bytes, digest_algorithm: str) -> bytes:
        if self._algo not in (None, digest_algorithm):
            raise SigningError("all documents of one authorization must use one digest algorithm")
        self._algo = digest_algorithm
        future: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        self._pending.append((digest, future))
        if len(self._pending) == self._expected:
            await self._flush()
        return await future

    async def _flush(self) -> None:
        pending, self._pending = self._pending, []
        digests = [d for d, _ in pending]
        try:
            if self._gate is not None:
                await self._gate
            sigs = await asyncio.to_thread(self._authorize_and_sign, digests)
        except BaseException as exc:
            for _, fut in pending:
                if not fut.done():
                    fut.set_exception(exc)
            return
        for (_, fut), sig in zip(pending, sigs, strict=True):
            fut.set_result(sig)

    def _authorize_and_sign(self, digests: list[bytes]) -> list[bytes]:
        return self._client.authorize_and_sign(
            self._credential_id,
            digests,
            pin=self._pin,
            pin_token=self._pin_token,
            otp=self._otp,
            hash_algo=self._algo or "sha256",
            description=self._description,
        )


@lru_cache(maxsize=512)
def _certificate(der: bytes) -> ax509.Certificate:
    """A certificate parsed once per process: pyHanko reads the same fields of the
    signer's certificate and its CA chain for every signature (names, serial, key),
    and asn1crypto parses them lazily, on first use, for each new object."""
    cert = ax509.Certificate.load(der)
    cert.native  # noqa: B018  (parse every field now, before threads share it)
    return cert


def _registry(certs: Sequence[ax509.Certificate]) -> SimpleCertificateStore:
    store: SimpleCertificateStore = SimpleCertificateStore.from_certs(certs)  # type: ignore[no-untyped-call]  # certvalidator: unannotated
    return store


class RemoteSigner(signers.Signer):
    def __init__(self, info: CredentialInfo, authorizer: BatchAuthorizer) -> None:
        certs = [_certificate(der) for der in info.certificates]
        super().__init__(
            signing_cert=certs[0],
            cert_registry=_registry(certs[1:]),
            embed_roots=True,
        )
        self._authorizer = authorizer
        self._sig_len = (info.key_len + 7) // 8

    async def async_sign_raw(
        self, data: bytes, digest_algorithm: str, dry_run: bool = False
    ) -> bytes:
        if dry_run:
            return bytes(self._sig_len)
        digest = hashlib.new(digest_algorithm, data).digest()
        return await self._authorizer.sign(digest, digest_algorithm)


@dataclass(frozen=True)
class SignatureOptions:
    field_name: str = "Signature1"
    reason: str | None = None
    location: str | None = None
    name: str | None = None


def sign_documents(
    client: SigningClient,
    credential: CredentialInfo,
    documents: Sequence[bytes],
    *,
    pin: str | None = None,
    proof: PinProof | None = None,
    otp: str | None,
    options: SignatureOptions | Sequence[SignatureOptions] = SignatureOptions(),
    description: str | None = None,
) -> list[bytes]:
    """Sign every document with one authorization; all succeed or an exception is raised
    (nothing is returned half-signed)."""
    if not documents:
        return []
    opts = list(options) if isinstance(options, Sequence) else [options] * len(documents)
    authorizer = BatchAuthorizer(
        client,
        credential.credential_id,
        pin=pin,
        proof=proof,
        otp=otp,
        expected=len(documents),
        description=description,
    )
    signer = RemoteSigner(credential, authorizer)
    timestamper = ServiceTimeStamper(client)

    async def run() -> list[bytes]:
        async with asyncio.TaskGroup() as group:
            # A TSA first: without one nothing is authorized (fail closed, no orphan
            # signature on the service's side), unless one answered seconds ago. The
            # documents are prepared and hashed meanwhile; the authorization waits (#11).
            authorizer.authorize_after(group.create_task(timestamper.ensure_available()))
            tasks = [
                group.create_task(_sign_one(doc, signer, timestamper, o))
                for doc, o in zip(documents, opts, strict=True)
            ]
        return [t.result() for t in tasks]

    try:
        return asyncio.run(run())
    except ExceptionGroup as group:
        raise _first_signing_error(group) from group


async def _sign_one(
    pdf: bytes, signer: signers.Signer, timestamper: TimeStamper, opts: SignatureOptions
) -> bytes:
    writer = IncrementalPdfFileWriter(BytesIO(pdf), strict=False)
    pdf_signer = signers.PdfSigner(_metadata(opts), signer=signer, timestamper=timestamper)
    out = await pdf_signer.async_sign_pdf(writer, bytes_reserved=BYTES_RESERVED, output=BytesIO())
    return bytes(out.getbuffer())


def _first_signing_error(group: BaseExceptionGroup[BaseException]) -> BaseException:
    leaves: list[BaseException] = []

    def walk(g: BaseExceptionGroup[BaseException]) -> None:
        for exc in g.exceptions:
            walk(exc) if isinstance(exc, BaseExceptionGroup) else leaves.append(exc)

    walk(group)
    for exc in leaves:
        if isinstance(exc, SigningError):
            return exc
    return leaves[0]


# --- two steps: 認証 prepares and authorizes, 電子署名 signs (issue #13 item 10) ------------

@dataclass(frozen=True)
class PreparedSignature:
    """One document prepared for signing at 認証: the new revision with room for the
    signature (``output``), where that room is, the signed attributes whose hash the
    service authorized, and the digest of the document it was prepared from
    (``source_sha256``: 電子署名 refuses to finish on a document that changed since)."""

    source_sha256: str
    output: bytes
    document_digest: bytes
    region: tuple[int, int]
    signed_attrs: bytes  # DER of the CMS signed attributes

    @property
    def to_sign(self) -> bytes:
        """The hash the service signs (RemoteSigner's digest of the signed attributes)."""
        return hashlib.sha256(self.signed_attrs).digest()


def prepare_documents(
    credential: CredentialInfo,
    documents: Sequence[bytes],
    options: SignatureOptions | Sequence[SignatureOptions] = SignatureOptions(),
) -> list[PreparedSignature]:
    """The first half of pyHanko's interrupted signing: every document gets its
    signature revision (signing time, field, placeholder) and the signed attributes
    the signer will sign; nothing is asked of the service."""
    opts = list(options) if isinstance(options, Sequence) else [options] * len(documents)
    certs = [_certificate(der) for der in credential.certificates]
    signer = signers.ExternalSigner(
        signing_cert=certs[0], cert_registry=_registry(certs[1:]),
        signature_value=(credential.key_len + 7) // 8, embed_roots=True)

    async def one(pdf: bytes, opt: SignatureOptions) -> PreparedSignature:
        writer = IncrementalPdfFileWriter(BytesIO(pdf), strict=False)
        pdf_signer = signers.PdfSigner(_metadata(opt), signer=signer)
        digest, tbs, output = await pdf_signer.async_digest_doc_for_signing(
            writer, bytes_reserved=BYTES_RESERVED, output=BytesIO())
        attrs = await signer.signed_attrs(digest.document_digest, tbs.md_algorithm,
                                          use_pades=True)
        output.seek(0)
        return PreparedSignature(
            source_sha256=hashlib.sha256(pdf).hexdigest(), output=output.read(),
            document_digest=digest.document_digest,
            region=(digest.reserved_region_start, digest.reserved_region_end),
            signed_attrs=attrs.dump())

    async def run() -> list[PreparedSignature]:
        return [await one(doc, o) for doc, o in zip(documents, opts, strict=True)]

    return asyncio.run(run())


def authorize_prepared(client: SigningClient, credential: CredentialInfo,
                       prepared: Sequence[PreparedSignature], *, proof: PinProof,
                       otp: str, description: str | None = None) -> Authorization:
    """認証: the PIN proof + the code authorize exactly the prepared hashes; answers
    the activation token (SAD) and its lifetime. A TSA is asked first, so without
    one the code is not spent."""
    asyncio.run(ServiceTimeStamper(client).ensure_available())
    return client.authorize(credential.credential_id, [p.to_sign for p in prepared],
                            pin=proof.pin, pin_token=proof.pin_token, otp=otp,
                            description=description)


def finish_prepared(client: SigningClient, credential: CredentialInfo,
                    prepared: Sequence[PreparedSignature], sad: str) -> list[bytes]:
    """電子署名: the service signs the authorized hashes with the activation token
    (single use), and each prepared revision gets its CMS with a signature timestamp."""
    from pyhanko.sign.signers.pdf_byterange import PreparedByteRangeDigest
    from pyhanko.sign.signers.pdf_signer import PdfTBSDocument

    timestamper = ServiceTimeStamper(client)
    asyncio.run(timestamper.ensure_available())
    hashes = tuple(p.to_sign for p in prepared)
    auth = Authorization(credential.credential_id, sad, 0, hashes, "sha256")
    values = client.sign_hashes(auth)
    certs = [_certificate(der) for der in credential.certificates]

    async def one(p: PreparedSignature, value: bytes) -> bytes:
        signer = signers.ExternalSigner(
            signing_cert=certs[0], cert_registry=_registry(certs[1:]),
            signature_value=value, embed_roots=True)
        cms_out = await signer.async_sign_prescribed_attributes(
            "sha256", signed_attrs=cms.CMSAttributes.load(p.signed_attrs),
            timestamper=timestamper)
        output = BytesIO(p.output)
        digest = PreparedByteRangeDigest(document_digest=p.document_digest,
                                         reserved_region_start=p.region[0],
                                         reserved_region_end=p.region[1])
        await PdfTBSDocument.async_finish_signing(output, digest, cms_out)
        return output.getvalue()

    async def run() -> list[bytes]:
        return [await one(p, v) for p, v in zip(prepared, values, strict=True)]

    return asyncio.run(run())


def _metadata(opts: SignatureOptions, lta: Trust | None = None) -> signers.PdfSignatureMetadata:
    """The one PAdES set-up of every signature: B-T for a party (a signature
    timestamp), B-LTA for the bank seal (``lta``: validation data of the seal
    itself, then the document timestamp)."""
    long_term: dict[str, Any] = {} if lta is None else {
        "embed_validation_info": True, "use_pades_lta": True,
        "validation_context": lta.context(),
        "dss_settings": DSSContentSettings(include_vri=False)}
    return signers.PdfSignatureMetadata(
        field_name=opts.field_name, md_algorithm="sha256",
        subfilter=fields.SigSeedSubFilter.PADES, reason=opts.reason,
        location=opts.location, name=opts.name, **long_term)


# --- the bank seal: PAdES B-LTA (CON-6, SIGN-1) ------------------------------------------

FETCH_TOLERANCE = timedelta(seconds=60)
LTA_BYTES_RESERVED = 32768  # hex chars: signature + timestamp + the seal's validation data


@dataclass(frozen=True)
class Trust:
    """The signing service's root, as the trust anchor of a validation."""

    root: ax509.Certificate

    def context(self) -> ValidationContext:
        # A fresh context per use: pyHanko contexts are bound to one event loop.
        # The requests backend leaves no aiohttp session open behind it.
        # The context's moment is fixed when it is made and the OCSP response and
        # CRL are fetched after it; pyHanko's 1 s tolerance refused them as "too
        # recent" on a loaded machine. Our own service's fresh answers are good.
        return ValidationContext(trust_roots=[self.root], allow_fetching=True,
                                 fetcher_backend=RequestsFetcherBackend(),
                                 time_tolerance=FETCH_TOLERANCE)


def seal_documents(client: SigningClient, credential: CredentialInfo, trust: Trust,
                   documents: Sequence[bytes], options: SignatureOptions,
                   description: str | None = None) -> list[bytes]:
    """The seal on every document with one authorization (no PIN, no code: the
    console's credential). The service failing under the TaskGroup (e.g. killed
    before signHash) arrives as the adapter's own error."""
    try:
        return asyncio.run(seal_all(client, credential, trust, documents, options,
                                    description))
    except ExceptionGroup as group:
        raise _first_signing_error(group) from group


async def seal_all(client: SigningClient, credential: CredentialInfo, trust: Trust,
                   documents: Sequence[bytes], options: SignatureOptions,
                   description: str | None = None) -> list[bytes]:
    authorizer = BatchAuthorizer(client, credential.credential_id, pin=None, otp=None,
                                 expected=len(documents), description=description)
    signer = RemoteSigner(credential, authorizer)
    timestamper = ServiceTimeStamper(client)
    # Validation data for earlier signatures first (one document at a time is
    # cheap); then every seal together so one authorization covers them.
    prepared = [await add_validation_data(doc, trust) for doc in documents]
    async with asyncio.TaskGroup() as group:
        tasks = [group.create_task(_seal_one(doc, signer, timestamper, trust, options))
                 for doc in prepared]
    return [t.result() for t in tasks]


async def add_validation_data(data: bytes, trust: Trust) -> bytes:
    """Validation data (DSS) for every signature already in ``data``."""
    count = len(PdfFileReader(BytesIO(data), strict=False).embedded_signatures)
    for index in range(count):
        reader = PdfFileReader(BytesIO(data), strict=False)
        sig = reader.embedded_signatures[index]
        out = await async_add_validation_info(sig, trust.context(), add_vri_entry=False,
                                              output=BytesIO())
        data = out.getvalue()
    return data


async def _seal_one(data: bytes, signer: signers.Signer, timestamper: TimeStamper,
                    trust: Trust, options: SignatureOptions) -> bytes:
    writer = IncrementalPdfFileWriter(BytesIO(data), strict=False)
    pdf_signer = signers.PdfSigner(_metadata(options, lta=trust), signer=signer,
                                   timestamper=timestamper)
    out = await pdf_signer.async_sign_pdf(writer, bytes_reserved=LTA_BYTES_RESERVED,
                                          output=BytesIO())
    return bytes(out.getbuffer())
