"""Signatures of customs messages: who signed a message, and signing one.

The specification (section 6) allows exactly two pairs: SM2-SM3 with SM3 digests, or
``rsa-sha1`` with ``sha1`` digests; always enveloped, C14N 1.0, with one reference to the
whole message (``URI=""``). Customs refuses a list not signed by the declaring enterprise
(-621015); the single window checks the same first, against the certificates each enterprise
registered (``EnterpriseCertificate``).

SM2-SM3 is recognised and answered as not supported yet (``signature_algorithm_unsupported``):
verifying it needs an SM2 implementation this project does not have. Anything else the
specification does not allow (``rsa-sha256``, ECDSA, HMAC...) is refused with the same code.
"""

from __future__ import annotations

import base64
import binascii
import copy
import datetime
import functools
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

import cryptography.exceptions
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import Encoding
from django.db.models import QuerySet
from django.utils import timezone
from lxml import etree
from signxml import (
    CanonicalizationMethod,
    DigestAlgorithm,
    SignatureConfiguration,
    SignatureMethod,
    XMLSigner,
    XMLVerifier,
)
from signxml.exceptions import SignXMLException

from single_window import error_codes
from single_window.models import Enterprise, EnterpriseCertificate

DS_NS = "http://www.w3.org/2000/09/xmldsig#"
SM2_SM3 = "http://www.chinaport.gov.cn/2022/04/xmldsig#sm2-sm3"
SM3 = "http://www.chinaport.gov.cn/2022/04/xmldsig#sm3"
RSA_SHA1 = SignatureMethod.RSA_SHA1.value
SHA1 = DigestAlgorithm.SHA1.value
C14N = CanonicalizationMethod.CANONICAL_XML_1_0.value
ENVELOPED = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"
_ALLOWED_TRANSFORMS = frozenset({ENVELOPED, C14N})


def _ds(name: str) -> str:
    return f"{{{DS_NS}}}{name}"


class SignatureOutcome(StrEnum):
    VERIFIED = "verified"
    MISSING = "missing"
    INVALID = "invalid"
    ALGORITHM_UNSUPPORTED = "algorithm_unsupported"
    CERTIFICATE_NOT_REGISTERED = "certificate_not_registered"


# Customs' codes (spec section 7) and the project's stable codes, by outcome.
CUSTOMS_CODES = {
    SignatureOutcome.MISSING: "-621026",  # 签名信息为空
    SignatureOutcome.INVALID: "-621029",  # 验签失败
    SignatureOutcome.ALGORITHM_UNSUPPORTED: "-621029",
    SignatureOutcome.CERTIFICATE_NOT_REGISTERED: "-621015",  # 与卡信息不匹配
}
STABLE_CODES = {
    SignatureOutcome.MISSING: error_codes.SIGNATURE_MISSING,
    SignatureOutcome.INVALID: error_codes.SIGNATURE_INVALID,
    SignatureOutcome.ALGORITHM_UNSUPPORTED: error_codes.SIGNATURE_ALGORITHM_UNSUPPORTED,
    SignatureOutcome.CERTIFICATE_NOT_REGISTERED: error_codes.SIGNATURE_CERTIFICATE_NOT_REGISTERED,
}


@dataclass(frozen=True)
class SignatureCheck:
    """The answer of ``verify_message_signature``.

    ``certificate`` is the registered certificate that verified the signature; for
    ``CERTIFICATE_NOT_REGISTERED`` it is the other enterprise's certificate when the signer's
    certificate is registered to another enterprise (for the log; never show it to the sender).
    """

    outcome: SignatureOutcome
    message: str = ""
    certificate: EnterpriseCertificate | None = None
    algorithm: str = ""  # the SignatureMethod URI, when there is one

    @property
    def verified(self) -> bool:
        return self.outcome is SignatureOutcome.VERIFIED

    @property
    def enterprise(self) -> Enterprise | None:
        return self.certificate.enterprise if self.certificate is not None else None

    @property
    def code(self) -> str:
        """The stable code; empty when verified."""
        return STABLE_CODES.get(self.outcome, "")

    @property
    def customs_code(self) -> str:
        """Customs' returnStatus for this failure; empty when verified."""
        return CUSTOMS_CODES.get(self.outcome, "")

    @property
    def return_info(self) -> str:
        """The failure as a receipt's returnInfo: ``[code] message; Signature``."""
        return f"[{self.code}] {self.message}; Signature" if not self.verified else "signature verified"


# --- Reads of the certificate registry ------------------------------------------------------


def certificates_for(*, enterprise: Enterprise) -> QuerySet[EnterpriseCertificate]:
    """Every certificate the enterprise registered, revoked ones included, newest first."""
    return EnterpriseCertificate.objects.filter(enterprise=enterprise).order_by("-created_at", "-id")


def usable_certificates(
    *, enterprise: Enterprise, at: datetime.datetime | None = None
) -> QuerySet[EnterpriseCertificate]:
    """The enterprise's certificates that may sign now: not revoked, inside their validity."""
    moment = at or timezone.now()
    return (
        EnterpriseCertificate.objects.filter(
            enterprise=enterprise, revoked_at__isnull=True, not_before__lte=moment, not_after__gte=moment
        )
        .select_related("enterprise")
        .order_by("-not_after", "-id")
    )


# --- Verification ---------------------------------------------------------------------------


def _expect_config(at: datetime.datetime | None) -> SignatureConfiguration:
    return SignatureConfiguration(
        require_x509=True,
        location="./",  # a direct child of the message root, where the schema puts it
        expect_references=1,
        signature_methods=frozenset({SignatureMethod.RSA_SHA1}),
        digest_algorithms=frozenset({DigestAlgorithm.SHA1}),
        verification_time=at,
    )


def _verifies(root: etree._Element, certificate: x509.Certificate, *, at: datetime.datetime | None) -> bool:
    try:
        XMLVerifier().verify(root, x509_cert=certificate, expect_config=_expect_config(at))
    except (SignXMLException, cryptography.exceptions.InvalidSignature, ValueError):
        return False
    return True


def _load(certificate: EnterpriseCertificate) -> x509.Certificate:
    return x509.load_pem_x509_certificate(certificate.certificate_pem.encode())


def _fingerprint(certificate: x509.Certificate) -> str:
    return hashlib.sha256(certificate.public_bytes(Encoding.DER)).hexdigest()


def _algorithm_problem(signature: etree._Element) -> SignatureCheck | None:  # noqa: PLR0911 - one return per refusal
    """Refuse a signature the specification does not allow, before any cryptography."""
    signed_info = signature.find(_ds("SignedInfo"))
    method = signed_info.find(_ds("SignatureMethod")) if signed_info is not None else None
    c14n = signed_info.find(_ds("CanonicalizationMethod")) if signed_info is not None else None
    if signed_info is None or method is None or c14n is None:
        return SignatureCheck(SignatureOutcome.INVALID, "The signature has no SignedInfo to verify.")
    algorithm = method.get("Algorithm", "")
    references = signed_info.findall(_ds("Reference"))
    digests = {method.get("Algorithm", "") for r in references for method in r.iterfind(_ds("DigestMethod"))}
    if algorithm == SM2_SM3:
        return SignatureCheck(
            SignatureOutcome.ALGORITHM_UNSUPPORTED,
            "SM2-SM3 signatures are not verified by the single window yet; sign with rsa-sha1 and sha1 digests.",
            algorithm=algorithm,
        )
    if algorithm != RSA_SHA1 or digests - {SHA1}:
        return SignatureCheck(
            SignatureOutcome.ALGORITHM_UNSUPPORTED,
            "The specification allows rsa-sha1 with sha1 digests, or sm2-sm3 with sm3 digests, and nothing else.",
            algorithm=algorithm,
        )
    if c14n.get("Algorithm") != C14N:
        return SignatureCheck(
            SignatureOutcome.ALGORITHM_UNSUPPORTED,
            f"The specification requires canonicalization {C14N}.",
            algorithm=algorithm,
        )
    if len(references) != 1 or references[0].get("URI") != "":
        return SignatureCheck(
            SignatureOutcome.INVALID,
            'The signature must have one reference, to the whole message (URI="").',
            algorithm=algorithm,
        )
    transforms = [t.get("Algorithm", "") for t in references[0].iterfind(f"{_ds('Transforms')}/{_ds('Transform')}")]
    if ENVELOPED not in transforms or set(transforms) - _ALLOWED_TRANSFORMS:
        return SignatureCheck(
            SignatureOutcome.INVALID,
            "The signature must be enveloped, with no transform but enveloped-signature and C14N.",
            algorithm=algorithm,
        )
    return None


def _embedded_certificates(signature: etree._Element) -> list[x509.Certificate]:
    """The certificates in KeyInfo/X509Data; raises ValueError when one can't be read."""
    found = []
    for element in signature.iterfind(f"{_ds('KeyInfo')}/{_ds('X509Data')}/{_ds('X509Certificate')}"):
        try:
            der = base64.b64decode("".join((element.text or "").split()), validate=True)
        except binascii.Error as exc:
            raise ValueError("not base64") from exc
        found.append(x509.load_der_x509_certificate(der))
    return found


def verify_message_signature(  # noqa: PLR0911 - one return per outcome, numbered in the docstring
    *, root: etree._Element, candidates: Iterable[EnterpriseCertificate], at: datetime.datetime | None = None
) -> SignatureCheck:
    """Check the signature of a whole message against the declaring enterprise's certificates.

    ``root`` is the message's root element as ``declarations.customs.xml.parse_message`` read it.
    ``candidates`` are the certificates the declaring enterprise registered (revoked and
    expired ones may be among them: they are recognised and refused). ``at`` is the moment
    certificates must be valid at (now by default).

    1. No ``ds:Signature`` child of the root: MISSING (-621026).
    2. An algorithm the specification does not allow, or SM2-SM3: ALGORITHM_UNSUPPORTED.
    3. The certificate in KeyInfo is one of the candidates: it must be in force and verify
       the signature (VERIFIED), else CERTIFICATE_NOT_REGISTERED or INVALID (-621029).
    4. Otherwise a candidate in force that verifies the signature (the same key in another
       certificate) makes it VERIFIED.
    5. Otherwise, if the certificate in KeyInfo verifies the signature, the signer is someone
       else: CERTIFICATE_NOT_REGISTERED (-621015), naming whether another enterprise
       registered that certificate; if nothing verifies it, INVALID (-621029).
    """
    moment = at or timezone.now()
    # 1.
    signatures = root.findall(_ds("Signature"))
    if not signatures:
        return SignatureCheck(SignatureOutcome.MISSING, "The message is not signed.")
    if len(signatures) > 1:
        return SignatureCheck(SignatureOutcome.INVALID, "The message carries more than one signature.")
    signature = signatures[0]
    # 2.
    problem = _algorithm_problem(signature)
    if problem is not None:
        return problem
    try:
        embedded = _embedded_certificates(signature)
    except ValueError:
        return SignatureCheck(SignatureOutcome.INVALID, "The certificate in KeyInfo can't be read.", algorithm=RSA_SHA1)
    embedded_fingerprints = {_fingerprint(c) for c in embedded}
    candidates = [c for c in candidates if c.algorithm == EnterpriseCertificate.Algorithm.RSA]
    # 3.
    named = next((c for c in candidates if c.fingerprint_sha256 in embedded_fingerprints), None)
    if named is not None:
        if not named.is_usable_at(moment):
            state = "revoked" if named.revoked_at is not None else "not valid at this time"
            return SignatureCheck(
                SignatureOutcome.CERTIFICATE_NOT_REGISTERED,
                f"The signing certificate is {state}.",
                certificate=named,
                algorithm=RSA_SHA1,
            )
        if _verifies(root, _load(named), at=moment):
            return SignatureCheck(SignatureOutcome.VERIFIED, certificate=named, algorithm=RSA_SHA1)
        return SignatureCheck(
            SignatureOutcome.INVALID,
            "The signature does not match the message (altered after signing?).",
            algorithm=RSA_SHA1,
        )
    # 4.
    for candidate in candidates:
        if candidate.is_usable_at(moment) and _verifies(root, _load(candidate), at=moment):
            return SignatureCheck(SignatureOutcome.VERIFIED, certificate=candidate, algorithm=RSA_SHA1)
    # 5.
    # The signer's own certificate may be out of its validity period: judge the signature at
    # a moment the certificate was valid, only to tell "someone else signed" from "broken".
    signer = next(
        (c for c in embedded if _verifies(root, c, at=max(c.not_valid_before_utc, min(moment, c.not_valid_after_utc)))),
        None,
    )
    if signer is None:
        return SignatureCheck(
            SignatureOutcome.INVALID,
            "No certificate the declaring enterprise registered verifies the signature.",
            algorithm=RSA_SHA1,
        )
    other = (
        EnterpriseCertificate.objects.filter(fingerprint_sha256=_fingerprint(signer))
        .select_related("enterprise")
        .first()
    )
    where = "registered to another enterprise" if other is not None else "not registered with the single window"
    return SignatureCheck(
        SignatureOutcome.CERTIFICATE_NOT_REGISTERED,
        f"The message is signed with a certificate {where}, not one of the declaring enterprise.",
        certificate=other,
        algorithm=RSA_SHA1,
    )


# --- Signing --------------------------------------------------------------------------------


class _Sha1Signer(XMLSigner):
    """signxml refuses SHA-1 by default; the customs specification requires rsa-sha1/sha1."""

    def check_deprecated_methods(self) -> None:
        return None


@functools.lru_cache(maxsize=64)
def _private_key(private_key_pem: bytes) -> rsa.RSAPrivateKey:
    """A signing key, loaded once per process: loading checks the RSA key (tens of
    milliseconds), more than the signature itself costs. The specification signs with RSA."""
    key = serialization.load_pem_private_key(private_key_pem, password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        msg = "the signing key is not an RSA key"
        raise TypeError(msg)
    return key


def sign_message(*, root: etree._Element, private_key_pem: bytes, certificate_pem: bytes) -> etree._Element:
    """Sign a whole message as the specification asks, and return the signed root (a copy).

    rsa-sha1 with a sha1 digest, enveloped, C14N 1.0, one reference to the whole message
    (``URI=""``), the certificate in KeyInfo/X509Data; the signature goes last, where the
    schema expects it. A signature already on the message is replaced (on the copy).
    """
    root = copy.deepcopy(root)
    for old in root.findall(_ds("Signature")):
        root.remove(old)
    signer = _Sha1Signer(
        signature_algorithm=SignatureMethod.RSA_SHA1,
        digest_algorithm=DigestAlgorithm.SHA1,
        c14n_algorithm=CanonicalizationMethod.CANONICAL_XML_1_0,
    )
    signed: etree._Element = signer.sign(
        root, key=_private_key(private_key_pem), cert=certificate_pem.decode(), exclude_c14n_transform_element=True
    )
    return signed
