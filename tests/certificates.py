"""Keys and self-signed X.509 certificates for the tests that sign or register certificates.

Generating a 2048-bit RSA key is the slow part (tens of milliseconds each), so the key of a
common name is made once per test session and reused; every call still issues a new
certificate (its own serial number and validity). Tests that need two different keys use two
common names.
"""

from __future__ import annotations

import datetime
import functools
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


@dataclass(frozen=True)
class KeyPair:
    """A private key and its self-signed certificate, both PEM."""

    private_key_pem: bytes
    certificate_pem: bytes

    @property
    def private_key_text(self) -> str:
        return self.private_key_pem.decode()

    @property
    def certificate_text(self) -> str:
        return self.certificate_pem.decode()


@functools.cache
def rsa_key(common_name: str) -> rsa.RSAPrivateKey:
    """The session's RSA-2048 key for ``common_name``."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def make_key_pair(
    *,
    common_name: str,
    not_before: datetime.datetime | None = None,
    not_after: datetime.datetime | None = None,
    private_key: PrivateKey | None = None,
) -> KeyPair:
    """A self-signed certificate for ``common_name`` and its key.

    Valid from yesterday (``not_before``) for a year (``not_after``, counted from
    ``not_before``). The key is the session's RSA key of the common name unless
    ``private_key`` is given (an EC key, say, or the key of a certificate being renewed).
    """
    key = private_key if private_key is not None else rsa_key(common_name)
    start = not_before if not_before is not None else datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=1)
    end = not_after if not_after is not None else start + datetime.timedelta(days=365)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .sign(key, hashes.SHA256())
    )
    return KeyPair(
        private_key_pem=key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ),
        certificate_pem=certificate.public_bytes(serialization.Encoding.PEM),
    )
