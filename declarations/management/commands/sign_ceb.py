"""Sign a customs (CEB) message as the specification allows, for whoever sends XML by hand.

The signature is the one the gateway puts on the messages it sends (``single_window.signatures``):
XML-DSig enveloped, rsa-sha1 with a sha1 digest, C14N 1.0, one reference to the whole message,
the certificate in KeyInfo. The specification's other pair, SM2-SM3, comes once a verified SM2
library is chosen. A signature already on the message is replaced. The signed message is
checked against the customs schema before it is written.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from cryptography import x509
from django.core.management.base import BaseCommand, CommandError, CommandParser
from lxml import etree

from declarations.customs import xml
from single_window.signatures import sign_message

HELP = (
    "Sign a customs message (CEB621, CEB623, CEB625... or any CEB message) with an RSA key: XML-DSig "
    "enveloped, rsa-sha1 and sha1 digests, C14N 1.0, as the specification allows and the single window "
    "verifies. SM2-SM3 comes once a verified SM2 library is chosen. The signed message must pass the "
    "customs schema; it is written to --out, or to standard output."
)


def _read_xml(path: Path) -> etree._Element:
    body = path.read_bytes()
    if b"<!DOCTYPE" in body or b"<!ENTITY" in body:
        raise CommandError(f"{path}: DOCTYPE and ENTITY declarations are not allowed in a customs message.")
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, remove_comments=True)
    try:
        root = etree.fromstring(body, parser)
    except etree.XMLSyntaxError as exc:
        raise CommandError(f"{path}: not well-formed XML: {exc.msg}") from None
    if root is None or etree.QName(root).namespace != xml.CEB_NS:
        raise CommandError(f"{path}: not a customs message (namespace {xml.CEB_NS}).")
    return root


def sign_file(*, source: Path, key: Path, certificate: Path) -> bytes:
    """The message in ``source`` signed with ``key`` (PEM, RSA, unencrypted) and ``certificate``
    (PEM), valid against the customs schema. Raises ``CommandError`` when it can't be."""
    root = _read_xml(source)
    private_key_pem, certificate_pem = key.read_bytes(), certificate.read_bytes()
    try:
        x509.load_pem_x509_certificate(certificate_pem)
        signed = sign_message(root=root, private_key_pem=private_key_pem, certificate_pem=certificate_pem)
    except (TypeError, ValueError) as exc:
        raise CommandError(f"can't sign with {key} and {certificate}: {exc}") from None
    body: bytes = etree.tostring(signed, xml_declaration=True, encoding="UTF-8")
    try:
        xml.read_message(body, expected_message=etree.QName(root).localname)
    except xml.MessageRejected as rejected:
        raise CommandError(f"the signed message fails the customs schema: {rejected.return_info}") from None
    return body


class Command(BaseCommand):
    help = HELP

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path, help="the customs message to sign (UTF-8 XML)")
        parser.add_argument("--key", type=Path, required=True, help="the signer's RSA private key, PEM, unencrypted")
        parser.add_argument("--cert", type=Path, required=True, help="the signer's X.509 certificate, PEM")
        parser.add_argument("--out", type=Path, help="where to write the signed message (default: standard output)")

    def handle(self, *args: Any, **options: Any) -> None:
        for name in ("file", "key", "cert"):
            if not options[name].is_file():
                raise CommandError(f"{options[name]}: no such file")
        body = sign_file(source=options["file"], key=options["key"], certificate=options["cert"])
        out: Path | None = options["out"]
        if out is None:
            sys.stdout.buffer.write(body)
            sys.stdout.buffer.flush()
            return
        out.write_bytes(body)
        self.stderr.write(f"Signed {options['file']} -> {out}")
