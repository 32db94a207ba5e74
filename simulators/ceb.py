"""Customs XML as the customs simulator sees it: reading a message (optionally inside a DXP
envelope), the schema, the XML-DSig signature and its signer, and writing the answers.

Its own copies of the schemas live in ``simulators/schemas/`` (see the README there).
"""

from __future__ import annotations

import base64
import binascii
import copy
import datetime
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import cryptography.exceptions
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from lxml import etree
from signxml import CanonicalizationMethod, DigestAlgorithm, SignatureConfiguration, SignatureMethod, XMLVerifier
from signxml.exceptions import SignXMLException

CEB_NS = "http://www.chinaport.gov.cn/ceb"
DS_NS = "http://www.w3.org/2000/09/xmldsig#"
DXP_NS = "http://www.chinaport.gov.cn/dxp"
SCHEMA_PATH = Path(__file__).resolve().parent / "schemas" / "import202205.xsd"
VERSION = "1.0"

RSA_SHA1 = SignatureMethod.RSA_SHA1.value
SHA1 = DigestAlgorithm.SHA1.value
C14N = CanonicalizationMethod.CANONICAL_XML_1_0.value

# CEB900 returnStatus of a message refused as a whole (the data exchange platform's format
# errors, spec section 7: 0001 not well-formed, 0002 schema, 0999 other).
STATUS_MALFORMED = "-1"
STATUS_SCHEMA = "-2"
STATUS_OTHER = "-999"

# The messages the simulator takes, and the root of the receipt it answers each with.
RECEIPT_OF = {
    "CEB311Message": "CEB312Message",
    "CEB411Message": "CEB412Message",
    "CEB511Message": "CEB512Message",
    "CEB621Message": "CEB622Message",
    "CEB623Message": "CEB624Message",
    "CEB625Message": "CEB626Message",
    "CEB513Message": "CEB514Message",
    "CEB711Message": "CEB712Message",
}

# Each return element's fields, in the schema's order.
RETURN_FIELDS: dict[str, tuple[str, ...]] = {
    "OrderReturn": ("guid", "ebpCode", "ebcCode", "orderNo", "returnStatus", "returnTime", "returnInfo"),
    "PaymentReturn": ("guid", "payCode", "payTransactionId", "returnStatus", "returnTime", "returnInfo"),
    "LogisticsReturn": ("guid", "logisticsCode", "logisticsNo", "returnStatus", "returnTime", "returnInfo"),
    "InventoryReturn": (
        "guid",
        "customsCode",
        "ebpCode",
        "ebcCode",
        "agentCode",
        "copNo",
        "preNo",
        "invtNo",
        "returnStatus",
        "returnTime",
        "returnInfo",
    ),
    "InvtCancelReturn": (
        "guid",
        "customsCode",
        "agentCode",
        "ebpCode",
        "ebcCode",
        "copNo",
        "preNo",
        "invtNo",
        "returnStatus",
        "returnTime",
        "returnInfo",
    ),
    "InvtRefundReturn": (
        "guid",
        "customsCode",
        "agentCode",
        "ebpCode",
        "ebcCode",
        "copNo",
        "preNo",
        "invtNo",
        "returnStatus",
        "returnTime",
        "returnInfo",
    ),
}
# CEB514 (section 3.8, table 3-28): the answer to a waybill's signed-for status (CEB513).
RETURN_FIELDS["LogisticsStatusReturn"] = (
    "guid",
    "logisticsCode",
    "logisticsNo",
    "logisticsStatus",
    "returnStatus",
    "returnTime",
    "returnInfo",
)
# CEB712 (section 3.16, table 3-56): the answer to an arrival manifest (入库明细单, CEB711).
RETURN_FIELDS["DeliveryReturn"] = (
    "guid",
    "customsCode",
    "operatorCode",
    "copNo",
    "preNo",
    "rkdNo",
    "returnStatus",
    "returnTime",
    "returnInfo",
)
RETURN_ELEMENT = {
    "CEB312Message": "OrderReturn",
    "CEB412Message": "PaymentReturn",
    "CEB512Message": "LogisticsReturn",
    "CEB622Message": "InventoryReturn",
    "CEB624Message": "InvtCancelReturn",
    "CEB626Message": "InvtRefundReturn",
    "CEB514Message": "LogisticsStatusReturn",
    "CEB712Message": "DeliveryReturn",
}
TAX_HEAD_FIELDS = (
    "guid",
    "returnTime",
    "invtNo",
    "taxNo",
    "customsTax",
    "valueAddedTax",
    "consumptionTax",
    "status",
    "entDutyNo",
    "note",
    "assureCode",
    "ebcCode",
    "logisticsCode",
    "agentCode",
    "customsCode",
)
# CEB818 (section 3.18, table 3-62): a tax bill's new status (1 issued, 2 summarised, 3 void).
TAX_STATUS_FIELDS = ("guid", "returnTime", "invtNo", "taxNo", "status", "entDutyNo", "assureCode")
TAX_LIST_FIELDS = ("gnum", "gcode", "taxPrice", "customsTax", "valueAddedTax", "consumptionTax")


def ceb(name: str) -> str:
    return f"{{{CEB_NS}}}{name}"


def ds(name: str) -> str:
    return f"{{{DS_NS}}}{name}"


def local_name(element: etree._Element) -> str:
    return str(etree.QName(element).localname)


class MessageRefused(Exception):
    """A message refused as a whole: answered at once with a CEB900, no receipts."""

    def __init__(self, status: str, info: str, *, message_type: str = "Unknown", cop_msg_id: str = "") -> None:
        super().__init__(info)
        self.status = status
        self.info = info
        self.message_type = message_type
        self.cop_msg_id = cop_msg_id


# --- Schema -------------------------------------------------------------------------------------

_schema_lock = threading.Lock()
_schema: etree.XMLSchema | None = None


def _parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, remove_comments=True, huge_tree=False
    )


def schema() -> etree.XMLSchema:
    global _schema  # noqa: PLW0603 - loaded once, on first use
    with _schema_lock:
        if _schema is None:
            _schema = etree.XMLSchema(etree.parse(str(SCHEMA_PATH), _parser()))
        return _schema


def schema_errors(root: etree._Element) -> list[str]:
    """The schema's complaints about a message (line and text), at most ten; empty when valid."""
    validator = schema()
    with _schema_lock:  # one validation at a time: an XMLSchema keeps its error log
        valid = validator.validate(etree.ElementTree(root))
        log = list(validator.error_log)
    if valid:
        return []
    return [f"line {entry.line}: {entry.message}" for entry in log[:10]]


def to_bytes(root: etree._Element) -> bytes:
    """A message, serialised; raises ValueError when it does not validate (never sent)."""
    errors = schema_errors(root)
    if errors:
        raise ValueError(f"{local_name(root)} does not validate: {'; '.join(errors)}")
    result: bytes = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    return result


# --- Reading ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Incoming:
    root: etree._Element
    message_type: str
    enveloped: bool
    cop_msg_id: str = ""


def _parse(body: bytes) -> etree._Element:
    if b"<!DOCTYPE" in body or b"<!ENTITY" in body:
        raise MessageRefused(STATUS_MALFORMED, "DOCTYPE and entity declarations are not accepted")
    try:
        root = etree.fromstring(body, _parser())
    except etree.XMLSyntaxError as exc:
        raise MessageRefused(STATUS_MALFORMED, f"not well-formed XML: {exc}") from exc
    return root


def _unwrap(envelope: etree._Element) -> tuple[etree._Element, str]:
    """The message inside a DXP envelope (``DxpMsg``/``Data``, inline or base64) and its CopMsgId."""
    data = next((e for e in envelope.iter() if isinstance(e.tag, str) and local_name(e) == "Data"), None)
    cop = next((e for e in envelope.iter() if isinstance(e.tag, str) and local_name(e) == "CopMsgId"), None)
    cop_msg_id = (cop.text or "").strip() if cop is not None else ""
    if data is None:
        raise MessageRefused(STATUS_OTHER, "DXP envelope without Data", cop_msg_id=cop_msg_id)
    children = [c for c in data if isinstance(c.tag, str)]
    if children:
        return copy.deepcopy(children[0]), cop_msg_id
    try:
        inner = base64.b64decode("".join((data.text or "").split()), validate=True)
    except binascii.Error as exc:
        raise MessageRefused(STATUS_OTHER, "DXP Data is neither XML nor base64", cop_msg_id=cop_msg_id) from exc
    return _parse(inner), cop_msg_id


def read_message(body: bytes) -> Incoming:
    """Parse, unwrap an optional DXP envelope, validate; raises MessageRefused."""
    root = _parse(body)
    enveloped = local_name(root) == "DxpMsg"
    cop_msg_id = ""
    if enveloped:
        root, cop_msg_id = _unwrap(root)
    message_type = local_name(root) if etree.QName(root).namespace == CEB_NS else "Unknown"
    errors = schema_errors(root)
    if errors:
        raise MessageRefused(STATUS_SCHEMA, "; ".join(errors), message_type=message_type, cop_msg_id=cop_msg_id)
    if message_type not in RECEIPT_OF:
        raise MessageRefused(
            STATUS_OTHER, f"{message_type} is not taken here", message_type=message_type, cop_msg_id=cop_msg_id
        )
    return Incoming(root=root, message_type=message_type, enveloped=enveloped, cop_msg_id=cop_msg_id)


def fields(element: etree._Element) -> dict[str, str]:
    """The text of each direct child, by local name."""
    return {local_name(child): (child.text or "").strip() for child in element if isinstance(child.tag, str)}


# --- Signatures ---------------------------------------------------------------------------------


class CertificateRegistry:
    """The certificates customs knows, from a directory of ``<enterprise code>.pem`` files.

    Read again whenever the directory's listing or a file's modification time changes, so a
    certificate copied in while the simulator runs is known at the next message.
    """

    def __init__(self, directory: Path | None) -> None:
        self.directory = directory
        self._lock = threading.Lock()
        self._stamp: tuple[tuple[str, float], ...] = ()
        self._certificates: dict[str, list[x509.Certificate]] = {}

    def certificates(self) -> dict[str, list[x509.Certificate]]:
        if self.directory is None or not self.directory.is_dir():
            return {}
        paths = sorted(self.directory.glob("*.pem"))
        stamp = tuple((p.name, p.stat().st_mtime) for p in paths)
        with self._lock:
            if stamp != self._stamp:
                loaded: dict[str, list[x509.Certificate]] = {}
                for path in paths:
                    try:
                        loaded[path.stem] = x509.load_pem_x509_certificates(path.read_bytes())
                    except ValueError:
                        continue  # not a certificate: ignored, as an unknown card would be
                self._certificates, self._stamp = loaded, stamp
            return self._certificates


@dataclass(frozen=True)
class SignatureCheck:
    """``signers``: the enterprise codes whose registered certificate verifies the signature.

    ``problem`` is empty when a verifying certificate was found; else ``missing``, ``invalid``
    (-621029: nothing verifies it) or ``unknown_signer`` (-621015: it verifies only with a
    certificate customs does not hold for anyone).
    """

    signers: frozenset[str] = field(default_factory=frozenset)
    problem: str = ""
    info: str = ""


def _public_key(certificate: x509.Certificate) -> bytes:
    return certificate.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)


def _config(at: datetime.datetime | None = None) -> SignatureConfiguration:
    return SignatureConfiguration(
        require_x509=True,
        location="./",
        expect_references=1,
        signature_methods=frozenset({SignatureMethod.RSA_SHA1}),
        digest_algorithms=frozenset({DigestAlgorithm.SHA1}),
        verification_time=at,
    )


def _verifies(root: etree._Element, certificate: x509.Certificate, *, at: datetime.datetime | None = None) -> bool:
    try:
        XMLVerifier().verify(root, x509_cert=certificate, expect_config=_config(at))
    except (SignXMLException, cryptography.exceptions.InvalidSignature, ValueError):
        return False
    return True


def _embedded(signature: etree._Element) -> list[x509.Certificate]:
    found = []
    for element in signature.iterfind(f"{ds('KeyInfo')}/{ds('X509Data')}/{ds('X509Certificate')}"):
        try:
            found.append(x509.load_der_x509_certificate(base64.b64decode("".join((element.text or "").split()))))
        except (binascii.Error, ValueError):
            continue
    return found


def check_signature(root: etree._Element, registry: CertificateRegistry) -> SignatureCheck:
    """Who signed the message, among the enterprises whose certificates customs holds.

    Only ``rsa-sha1`` with ``sha1`` digests, C14N 1.0, enveloped, one reference to the whole
    message, is taken (SM2-SM3 is not implemented here: it fails as ``invalid``).
    """
    signatures = root.findall(ds("Signature"))
    if not signatures:
        return SignatureCheck(problem="missing", info="签名信息为空 (no ds:Signature)")
    signature = signatures[-1]
    method = signature.find(f"{ds('SignedInfo')}/{ds('SignatureMethod')}")
    algorithm = method.get("Algorithm", "") if method is not None else ""
    digests = {d.get("Algorithm", "") for d in signature.iter(ds("DigestMethod"))}
    c14n = signature.find(f"{ds('SignedInfo')}/{ds('CanonicalizationMethod')}")
    if algorithm != RSA_SHA1 or digests != {SHA1} or c14n is None or c14n.get("Algorithm") != C14N:
        return SignatureCheck(
            problem="invalid", info=f"验签失败: algorithm {algorithm or '?'} is not rsa-sha1/sha1/C14N"
        )
    embedded = _embedded(signature)
    embedded_keys = {_public_key(c) for c in embedded}
    signers = set()
    for code, certificates in registry.certificates().items():
        for certificate in certificates:
            if embedded_keys and _public_key(certificate) not in embedded_keys:
                continue
            if _verifies(root, certificate):
                signers.add(code)
                break
    if signers:
        return SignatureCheck(signers=frozenset(signers))
    for certificate in embedded:
        moment = max(
            certificate.not_valid_before_utc,
            min(datetime.datetime.now(tz=datetime.UTC), certificate.not_valid_after_utc),
        )
        if _verifies(root, certificate, at=moment):
            return SignatureCheck(problem="unknown_signer", info="签名证书与卡信息不匹配 (certificate not on record)")
    return SignatureCheck(problem="invalid", info="验签失败 (the signature does not verify)")


# --- Writing ------------------------------------------------------------------------------------


def _add(parent: etree._Element, name: str, value: object) -> None:
    etree.SubElement(parent, ceb(name)).text = str(value)


def _message(root_name: str, guid: str) -> etree._Element:
    return etree.Element(ceb(root_name), {"guid": guid, "version": VERSION}, nsmap={"ceb": CEB_NS})


def receipt(root_name: str, guid: str, returns: Sequence[Mapping[str, object]]) -> bytes:
    """A receipt message (CEB312/412/512/514/622/624/626/712), one return per mapping; validated."""
    element_name = RETURN_ELEMENT[root_name]
    root = _message(root_name, guid)
    for values in returns:
        item = etree.SubElement(root, ceb(element_name))
        for name in RETURN_FIELDS[element_name]:
            value = values.get(name)
            if value is not None and value != "":
                _add(item, name, value)
    return to_bytes(root)


def tax_bill(guid: str, taxes: Iterable[tuple[Mapping[str, object], Sequence[Mapping[str, object]]]]) -> bytes:
    """A CEB816 tax bill: one Tax (TaxHeadRd, TaxListRd...) per (head, items); validated."""
    root = _message("CEB816Message", guid)
    for head, items in taxes:
        tax = etree.SubElement(root, ceb("Tax"))
        head_element = etree.SubElement(tax, ceb("TaxHeadRd"))
        for name in TAX_HEAD_FIELDS:
            if head.get(name) not in (None, ""):
                _add(head_element, name, head[name])
        for values in items:
            item = etree.SubElement(tax, ceb("TaxListRd"))
            for name in TAX_LIST_FIELDS:
                _add(item, name, values[name])
    return to_bytes(root)


def tax_status(guid: str, statuses: Iterable[Mapping[str, object]]) -> bytes:
    """A CEB818 tax bill status message: one Tax (TaxHeadStatus) per mapping; validated."""
    root = _message("CEB818Message", guid)
    for values in statuses:
        head = etree.SubElement(etree.SubElement(root, ceb("Tax")), ceb("TaxHeadStatus"))
        for name in TAX_STATUS_FIELDS:
            if values.get(name) not in (None, ""):
                _add(head, name, values[name])
    return to_bytes(root)


def refusal(guid: str, refused: MessageRefused, when: str) -> bytes:
    """A CEB900 answer to a message refused as a whole; never echoes the message."""
    root = _message("CEB900Message", guid)
    item = etree.SubElement(root, ceb("MessageReturn"))
    _add(item, "guid", guid)
    _add(item, "returnStatus", refused.status)
    _add(item, "returnInfo", refused.info[:5000])
    _add(item, "returnTime", when)
    _add(item, "oriCopMsgId", refused.cop_msg_id[:255])
    _add(item, "oriMessageType", refused.message_type[:15])
    _add(item, "oriBizMessage", "")
    return to_bytes(root)
