"""Customs XML: reading an import message safely, and writing the answers in the customs' form.

Reading (``parse_message``), in order:

1. refuse a body over ``settings.CEB_XML_MAX_BYTES`` (HTTP 413);
2. refuse any DOCTYPE or entity declaration, before parsing and again on the parsed tree: no
   DTD is ever read, no entity expanded, nothing fetched (billion laughs, XXE);
3. parse with lxml, entities and network off, comments dropped;
4. check that the root is the message the endpoint takes (``CEB311Message`` for orders...);
5. validate against the customs schema (``schemas/import202205.xsd``, or ``export202205.xsd`` for
   an export message: ``EXPORT_MESSAGES``; loaded offline);
6. turn each document into a dict keyed by the JSON names of ``declarations.customs.spec``, so the
   same dict means the same document whichever way it came.

Every failure raises ``MessageRejected``: an ``ApiError`` (problem+json for a JSON caller) that
also carries what a CEB900 answer needs, which ``message_rejected_xml`` writes for an XML caller.

Writing: ``receipt_xml`` answers a message with one return per document (CEB312, CEB412,
CEB512, CEB622) and ``message_rejected_xml`` answers a message refused as a whole (CEB900).
Both validate against the same schema (the tests check it).

Personal data: no text taken from the body is echoed in an answer or an error. Schema errors
name the line and the element, never the value; ID-number-like digit runs are blanked in
everything written (defence in depth); the CEB900 answer never carries the original message.
"""

from __future__ import annotations

import datetime
import re
import threading
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.utils import timezone
from lxml import etree

from core import errors
from core.errors import ApiError, FieldError
from core.times import ceb_time
from declarations.customs import codes
from declarations.customs.spec import INVENTORY_RETURN_SPEC, SPECS, DocumentSpec

CEB_NS = "http://www.chinaport.gov.cn/ceb"
DS_NS = "http://www.w3.org/2000/09/xmldsig#"
SCHEMA_PATH = Path(__file__).resolve().parent / "schemas" / "import202205.xsd"
EXPORT_SCHEMA_PATH = Path(__file__).resolve().parent / "schemas" / "export202205.xsd"
# The messages of the export schema (chapter 2 of the specification): read and written against
# ``export202205.xsd``; every other message against the import schema (CEB900 is only there).
_EXPORT_NUMBERS = (303, 304, 403, 404, 505, 506, 507, 508, 509, 510, 603, 604, 605, 606, 607, 608)
EXPORT_MESSAGES = frozenset(f"CEB{number}Message" for number in (*_EXPORT_NUMBERS, 213, 214, 215, 216, 701, 702, 792))
DEFAULT_MAX_BYTES = 10 * 1024 * 1024
MESSAGE_VERSION = "1.0"

# returnStatus of a CEB900 answer: negative, after the data exchange platform's format error
# codes (spec section 7: 0001 message format, 0002 schema, 0999 other format errors).
STATUS_MALFORMED = "-1"
STATUS_SCHEMA = "-2"
STATUS_OTHER_FORMAT = "-999"

# The messages this reader takes, by root element name.
SPECS_BY_MESSAGE: dict[str, DocumentSpec] = {spec.message: spec for spec in (*SPECS.values(), INVENTORY_RETURN_SPEC)}

# A preNo the single window has not assigned (a refused document): CEB622 requires 18 characters.
NO_PRE_NO = "0" * 18
ORI_BIZ_MESSAGE_NOTE = "not echoed: the original message may carry personal data"

_MAX_SCHEMA_ERRORS = 10
_ID_NUMBER_LIKE = re.compile(r"(?<![0-9])[0-9]{15,17}[0-9Xx]?(?![0-9])")
# libxml2 quotes the offending value in some schema messages; those quotes are cut out.
_VALUE_ECHOES = (
    re.compile(r"^'.*'(?= is not a valid value)", re.DOTALL),
    re.compile(r"The value '.*'(?= is)", re.DOTALL),
)


def _q(name: str) -> str:
    return f"{{{CEB_NS}}}{name}"


# --- Errors ----------------------------------------------------------------------------------


class MessageRejected(ApiError):
    """The message as a whole is refused; nothing in it was processed.

    ``return_status`` and ``return_info`` are the CEB900 answer's (``message_rejected_xml``);
    ``code`` and ``status_code`` the problem+json answer's.
    """

    status_code = 400
    default_code = codes.XML_SCHEMA_INVALID

    def __init__(
        self,
        return_info: str,
        *,
        return_status: str,
        ori_message_type: str = "Unknown",
        ori_guid: str = "",
        code: str | None = None,
        element: str | None = None,
        line: int | None = None,
    ) -> None:
        self.return_status = return_status
        self.return_info = redact(return_info)[:5000]
        self.ori_message_type = ori_message_type if 0 < len(ori_message_type) <= 15 else "Unknown"
        self.ori_guid = ori_guid[:255]
        self.element = element
        self.line = line
        code = code or self.default_code
        super().__init__(
            self.return_info,
            code=code,
            errors=[FieldError(element, code, self.return_info)] if element else None,
            extra={"return_status": return_status, **({"line": line} if line else {})},
        )


class MessageTooLarge(MessageRejected):
    status_code = 413
    default_code = errors.CONTENT_TOO_LARGE


class UnsafeXml(MessageRejected):
    """A DOCTYPE or an entity declaration: refused outright, never parsed into anything."""

    default_code = codes.XML_DOCTYPE_FORBIDDEN


class MalformedXml(MessageRejected):
    default_code = codes.XML_MALFORMED


class WrongMessageType(MessageRejected):
    default_code = codes.XML_MESSAGE_TYPE


class SchemaInvalid(MessageRejected):
    default_code = codes.XML_SCHEMA_INVALID


def redact(text: str) -> str:
    """Blank digit runs shaped like a resident ID number (15 to 18 characters)."""
    return _ID_NUMBER_LIKE.sub("[redacted]", text)


# --- Reading ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ParsedMessage:
    """A message that passed every check of ``parse_message``.

    ``documents`` holds one dict per document, in document order: the spec's JSON names
    (``declarations.customs.spec.Field.name``) to the element text, exactly as sent; optional elements
    that are absent are absent, empty elements are ``""``; lines are a list under ``"items"``.
    """

    message: str  # root element name, e.g. "CEB311Message"
    kind: str  # "order", "payment", "waybill" or "inventory"
    guid: str
    version: str
    cop_code: str
    cop_name: str
    dxp_mode: str
    dxp_id: str
    documents: list[dict[str, Any]]
    signature: etree._Element | None = field(repr=False)
    root: etree._Element = field(repr=False)  # the whole message, for signature verification


def max_bytes() -> int:
    return int(getattr(settings, "CEB_XML_MAX_BYTES", DEFAULT_MAX_BYTES))


_thread = threading.local()


def _safe_parser() -> etree.XMLParser:
    # A parser per call: lxml parsers keep state and must not be shared between threads.
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
    )


def customs_schema(*, export: bool = False) -> etree.XMLSchema:
    """The import schema (or, ``export``, the export schema), loaded once per thread (about 10 ms).

    One per thread rather than per process: an ``XMLSchema`` keeps the last validation's
    error log on itself, so two threads validating with one object would mix their errors.
    """
    attribute = "export_schema" if export else "schema"
    schema: etree.XMLSchema | None = getattr(_thread, attribute, None)
    if schema is None:
        document = etree.parse(str(EXPORT_SCHEMA_PATH if export else SCHEMA_PATH), _safe_parser())
        schema = etree.XMLSchema(document)
        setattr(_thread, attribute, schema)
    return schema


def schema_for(message: str) -> etree.XMLSchema:
    """The schema a message of this type is read and written against."""
    return customs_schema(export=message in EXPORT_MESSAGES)


def _has_declarations(body: bytes) -> bool:
    # The cheap look before parsing; the parsed tree is checked again (other encodings).
    return b"<!DOCTYPE" in body or b"<!ENTITY" in body


def _root_name(root: etree._Element) -> str:
    name: str = etree.QName(root).localname if isinstance(root.tag, str) else "Unknown"
    return name


def _schema_error_text(error: etree._LogEntry) -> str:
    message = error.message
    prefix, sep, rest = message.partition("': ")
    if sep:
        for pattern in _VALUE_ECHOES:
            rest = pattern.sub("The value", rest)
        message = prefix + sep + rest
    message = message.replace(f"{{{CEB_NS}}}", "ceb:").replace(f"{{{DS_NS}}}", "ds:")
    # The path below the root: ceb:Order[3]/ceb:OrderList[2]/ceb:gnum
    where = "/".join((error.path or "").split("/")[2:]) or "the message"
    return f"line {error.line}, {where}: {message}"


def read_message(body: bytes, *, expected_message: str) -> etree._Element:
    """The root of one schema-valid customs message of the type ``expected_message``.

    Used for what enterprises submit and for what customs sends back (receipts, tax bills).
    Raises ``MessageRejected`` (a subclass for each reason) when the message can't be taken.
    """
    limit = max_bytes()
    # 1. Size, before anything looks at the content.
    if len(body) > limit:
        raise MessageTooLarge(
            f"The message is {len(body)} bytes; the limit is {limit} bytes.",
            return_status=STATUS_OTHER_FORMAT,
            ori_message_type=expected_message,
        )
    # 2. No DTD, no entity declaration.
    if _has_declarations(body):
        raise UnsafeXml(
            "DOCTYPE and ENTITY declarations are not allowed in a customs message.",
            return_status=STATUS_OTHER_FORMAT,
            ori_message_type=expected_message,
        )
    # 3. Parse.
    try:
        root = etree.fromstring(body, _safe_parser())
    except etree.XMLSyntaxError as exc:
        line = exc.lineno if isinstance(exc.lineno, int) else None
        raise MalformedXml(
            f"The message is not well-formed XML: {exc.msg}",
            return_status=STATUS_MALFORMED,
            ori_message_type=expected_message,
            line=line,
        ) from None
    if root is None:  # an empty body
        raise MalformedXml("The message is empty.", return_status=STATUS_MALFORMED, ori_message_type=expected_message)
    tree = root.getroottree()
    docinfo = tree.docinfo
    if docinfo.doctype or docinfo.internalDTD is not None or docinfo.externalDTD is not None:
        raise UnsafeXml(
            "DOCTYPE and ENTITY declarations are not allowed in a customs message.",
            return_status=STATUS_OTHER_FORMAT,
            ori_message_type=expected_message,
        )
    if any(True for _ in root.iter(etree.Entity)):  # unresolved entity references
        raise UnsafeXml(
            "Entity references are not allowed in a customs message.",
            return_status=STATUS_OTHER_FORMAT,
            ori_message_type=expected_message,
        )
    # 4. The message this endpoint takes.
    name = _root_name(root)
    message_guid = root.get("guid", "")
    if root.tag != _q(expected_message):
        namespace = etree.QName(root).namespace if isinstance(root.tag, str) else None
        found = name if namespace == CEB_NS else f"{{{namespace or ''}}}{name}"
        raise WrongMessageType(
            f"This endpoint takes {expected_message} in namespace {CEB_NS}; the message is {found}.",
            return_status=STATUS_SCHEMA,
            ori_message_type=name if namespace == CEB_NS else "Unknown",
            ori_guid=message_guid,
            element=name,
            line=root.sourceline,
        )
    # 5. The schema (the export schema for an export message).
    schema = schema_for(expected_message)
    if not schema.validate(tree):
        entries = list(schema.error_log)
        first = entries[0] if entries else None
        info = "; ".join(_schema_error_text(e) for e in entries[:_MAX_SCHEMA_ERRORS])
        if len(entries) > _MAX_SCHEMA_ERRORS:
            info += f"; and {len(entries) - _MAX_SCHEMA_ERRORS} more errors"
        raise SchemaInvalid(
            f"The message does not validate against the customs schema: {info}",
            return_status=STATUS_SCHEMA,
            ori_message_type=name,
            ori_guid=message_guid,
            element=(first.path or None) if first else None,
            line=first.line if first else None,
        )
    return root


def parse_message(body: bytes, *, expected_message: str) -> ParsedMessage:
    """Read one submitted message (CEB311/411/511/621, or a CEB625 return request) into
    documents named as in JSON.

    Raises ``MessageRejected`` (a subclass for each reason) when the message can't be taken.
    """
    spec = SPECS_BY_MESSAGE[expected_message]  # a KeyError here is a programming error
    root = read_message(body, expected_message=expected_message)
    name, message_guid = _root_name(root), root.get("guid", "")
    transfer = root.find(_q("BaseTransfer"))
    return ParsedMessage(
        message=name,
        kind=spec.name,
        guid=message_guid,
        version=root.get("version", ""),
        cop_code=_text(transfer, "copCode"),
        cop_name=_text(transfer, "copName"),
        dxp_mode=_text(transfer, "dxpMode"),
        dxp_id=_text(transfer, "dxpId"),
        documents=[document_dict(element, spec) for element in root.iterchildren(_q(spec.element))],
        signature=root.find(f"{{{DS_NS}}}Signature"),
        root=root,
    )


def _text(parent: etree._Element | None, name: str) -> str:
    if parent is None:
        return ""
    element = parent.find(_q(name))
    return "" if element is None else (element.text or "")


def _fields(parent: etree._Element, fields: Sequence[Any]) -> dict[str, Any]:
    by_tag: dict[str, str] = {}
    for child in parent.iterchildren():
        if isinstance(child.tag, str):
            by_tag.setdefault(child.tag, child.text or "")
    return {f.name: by_tag[_q(f.xml)] for f in fields if _q(f.xml) in by_tag}


def document_dict(element: etree._Element, spec: DocumentSpec) -> dict[str, Any]:
    """One document element (``ceb:Order``...) as the dict the JSON serializer takes."""
    head = element.find(_q(spec.head_element))
    document = _fields(head, spec.head) if head is not None else {}
    if spec.line_element:
        document["items"] = [_fields(line, spec.lines) for line in element.iterchildren(_q(spec.line_element))]
    return document


# --- Writing ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class DocumentResult:
    """The outcome of one document of a message, for its return element.

    ``keys``: the document's key fields by their JSON names (``receipt_keys`` picks them from
    a parsed document); for a list, ``pre_no`` is the single window's number for it
    (``pre_no_for``). ``return_status``: ``"2"`` accepted and declaring (``"1"`` stored, for a
    draft list), a customs code such as ``"-301010"``, or ``"-1"`` for the single window's own
    rules. ``return_info``: ``"accepted id=..."``, or ``"[stable_code] message; field"``.
    """

    keys: Mapping[str, str]
    accepted: bool
    return_status: str
    return_info: str

    @classmethod
    def accepted_as(cls, *, keys: Mapping[str, str], document_id: int, return_status: str = "2") -> DocumentResult:
        return cls(keys=keys, accepted=True, return_status=return_status, return_info=f"accepted id={document_id}")

    @classmethod
    def refused(
        cls, *, keys: Mapping[str, str], code: str, message: str, field: str | None = None, return_status: str = "-1"
    ) -> DocumentResult:
        """A refused document: ``return_status`` is customs' code where one exists, else -1."""
        info = f"[{code}] {message}" + (f"; {field}" if field else "")
        return cls(keys=keys, accepted=False, return_status=return_status, return_info=info)


@dataclass(frozen=True)
class _ReturnSpec:
    message: str  # CEB312Message
    element: str  # OrderReturn
    keys: tuple[tuple[str, str], ...]  # (element, key) before returnStatus, all required
    optional: frozenset[str] = frozenset()


_RETURNS: dict[str, _ReturnSpec] = {
    "CEB311Message": _ReturnSpec(
        "CEB312Message",
        "OrderReturn",
        (("guid", "guid"), ("ebpCode", "ebp_code"), ("ebcCode", "ebc_code"), ("orderNo", "order_no")),
    ),
    "CEB411Message": _ReturnSpec(
        "CEB412Message",
        "PaymentReturn",
        (("guid", "guid"), ("payCode", "pay_code"), ("payTransactionId", "pay_transaction_id")),
    ),
    "CEB511Message": _ReturnSpec(
        "CEB512Message",
        "LogisticsReturn",
        (("guid", "guid"), ("logisticsCode", "logistics_code"), ("logisticsNo", "logistics_no")),
    ),
    "CEB621Message": _ReturnSpec(
        "CEB622Message",
        "InventoryReturn",
        (
            ("guid", "guid"),
            ("customsCode", "customs_code"),
            ("ebpCode", "ebp_code"),
            ("ebcCode", "ebc_code"),
            ("agentCode", "agent_code"),
            ("copNo", "cop_no"),
            ("preNo", "pre_no"),
            ("invtNo", "invt_no"),
        ),
        optional=frozenset({"customsCode", "ebpCode", "ebcCode", "agentCode", "invtNo"}),
    ),
    "CEB625Message": _ReturnSpec(
        "CEB626Message",
        "InvtRefundReturn",
        (
            ("guid", "guid"),
            ("customsCode", "customs_code"),
            ("agentCode", "agent_code"),
            ("ebpCode", "ebp_code"),
            ("ebcCode", "ebc_code"),
            ("copNo", "cop_no"),
            ("preNo", "pre_no"),
            ("invtNo", "invt_no"),
        ),
        optional=frozenset({"customsCode", "ebpCode", "ebcCode", "agentCode", "invtNo"}),
    ),
}

# Exact lengths and maxima of the return elements (import202205.xsd).
_EXACT = {"guid": 36, "customsCode": 4, "preNo": 18, "invtNo": 18}
_MAXIMUM = {
    "ebpCode": 18,
    "ebcCode": 18,
    "agentCode": 18,
    "orderNo": 60,
    "payCode": 18,
    "payTransactionId": 60,
    "logisticsCode": 18,
    "logisticsNo": 60,
    "copNo": 20,
}


def _message_name(message: str) -> str:
    return message if message.endswith("Message") else f"{message}Message"


def receipt_keys(*, message: str, document: Mapping[str, Any]) -> dict[str, str]:
    """The key fields of a parsed document that its return element names."""
    spec = _RETURNS[_message_name(message)]
    return {key: str(document[key]) for _, key in spec.keys if document.get(key)}


def pre_no_for(document_id: int) -> str:
    """The single window's 18-character number for a stored list (CEB622 ``preNo``)."""
    return f"SW{document_id:016d}"


def return_time(moment: datetime.datetime | None = None) -> str:
    """``YYYYMMDDhhmmssSSS`` in China Standard Time."""
    return ceb_time(moment or timezone.now(), milliseconds=True)


def new_guid() -> str:
    return str(uuid.uuid4()).upper()


def _return_values(spec: _ReturnSpec, keys: Mapping[str, str]) -> list[tuple[str, str]]:
    values: dict[str, str] = {element: keys.get(key, "") or "" for element, key in spec.keys}
    if len(values["guid"]) != _EXACT["guid"]:
        values["guid"] = new_guid()
    if "preNo" in values:
        if len(values["preNo"]) != _EXACT["preNo"]:
            values["preNo"] = NO_PRE_NO
        # copNo is optional in a list but required in its return: the preNo names it then.
        values["copNo"] = values["copNo"] or values["preNo"]
    out: list[tuple[str, str]] = []
    for element, _ in spec.keys:
        value = values[element]
        fits = (element not in _EXACT or len(value) == _EXACT[element]) and len(value) <= _MAXIMUM.get(element, 1000)
        if value and fits:
            out.append((element, value))
        elif element not in spec.optional:
            raise ValueError(f"{spec.element} needs a {element} of the schema's length, not {value!r}")
    return out


def _sub(parent: etree._Element, name: str, text: str) -> etree._Element:
    child = etree.SubElement(parent, _q(name))
    child.text = text
    return child


def _serialize(root: etree._Element) -> bytes:
    body: bytes = etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)
    return body


def receipt_xml(*, message: str, results: Sequence[DocumentResult], now: datetime.datetime | None = None) -> bytes:
    """The answer to a message, one return per document in the order given.

    ``message`` is the message answered (``"CEB311Message"`` or ``"CEB311"``): CEB311 is
    answered by CEB312 (``OrderReturn``), CEB411 by CEB412, CEB511 by CEB512, CEB621 by CEB622,
    CEB625 by CEB626 (``InvtRefundReturn``).
    """
    spec = _RETURNS[_message_name(message)]
    if not 1 <= len(results) <= 100:
        raise ValueError("a receipt holds 1 to 100 returns")
    stamp = return_time(now)
    root = etree.Element(_q(spec.message), nsmap={"ceb": CEB_NS})
    root.set("guid", new_guid())
    root.set("version", MESSAGE_VERSION)
    for result in results:
        element = etree.SubElement(root, _q(spec.element))
        for name, value in _return_values(spec, result.keys):
            _sub(element, name, value)
        _sub(element, "returnStatus", result.return_status[:10])
        _sub(element, "returnTime", stamp)
        info = redact(result.return_info).strip() or ("accepted" if result.accepted else "rejected")
        _sub(element, "returnInfo", info[:1000])
    return _serialize(root)


def message_rejected_xml(rejected: MessageRejected, *, now: datetime.datetime | None = None) -> bytes:
    """The CEB900 answer to a message refused as a whole.

    ``oriBizMessage`` never holds the original message (it may carry ID numbers): it holds a
    note saying so.
    """
    root = etree.Element(_q("CEB900Message"), nsmap={"ceb": CEB_NS})
    guid = new_guid()
    root.set("guid", guid)
    root.set("version", MESSAGE_VERSION)
    answer = etree.SubElement(root, _q("MessageReturn"))
    _sub(answer, "guid", guid)
    _sub(answer, "returnStatus", rejected.return_status[:10])
    _sub(answer, "returnInfo", rejected.return_info[:5000])
    _sub(answer, "returnTime", return_time(now))
    _sub(answer, "oriCopMsgId", rejected.ori_guid[:255])
    _sub(answer, "oriMessageType", rejected.ori_message_type[:15])
    original = etree.SubElement(answer, _q("oriBizMessage"))
    original.text = etree.CDATA(ORI_BIZ_MESSAGE_NOTE)
    return _serialize(root)
