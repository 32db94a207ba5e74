"""Customs XML for the API tests: messages built from document dicts, signed as the spec asks,
and the XML answers read back.

``message_xml(kind, documents, ...)`` writes the documents (dicts keyed by the JSON names of
``declarations.customs.spec``, as ``declarations.intake.examples`` holds them) as the customs message of their
kind. Elements follow the field table, which is the schema's order (``test_xml`` checks that).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from lxml import etree

from declarations.customs import xml
from declarations.customs.spec import SPECS, Field
from single_window.signatures import sign_message
from tests.certificates import KeyPair

SAMPLES = Path(xml.__file__).resolve().parent / "schemas" / "samples"
# The official sample of each document type.
SAMPLE_OF = {"order": "CEB311", "payment": "CEB411", "waybill": "CEB511", "inventory": "CEB621"}
# The answer to each message, and the element of one document's return in it.
ANSWER_OF = {
    "order": ("CEB312Message", "OrderReturn"),
    "payment": ("CEB412Message", "PaymentReturn"),
    "waybill": ("CEB512Message", "LogisticsReturn"),
    "inventory": ("CEB622Message", "InventoryReturn"),
}
XML_CONTENT_TYPE = "application/xml; charset=utf-8"


def ceb(name: str) -> str:
    return f"{{{xml.CEB_NS}}}{name}"


def sample(kind: str) -> bytes:
    """The official sample message of ``kind``, as published (signed with SM2-SM3)."""
    return (SAMPLES / f"{SAMPLE_OF[kind]}Message.xml").read_bytes()


# --- Writing messages ------------------------------------------------------------------------


def _add_fields(parent: etree._Element, fields: Iterable[Field], values: Mapping[str, Any]) -> None:
    for field in fields:
        value = values.get(field.name)
        if value is not None:
            etree.SubElement(parent, ceb(field.xml)).text = str(value)


def message_root(kind: str, documents: Sequence[Mapping[str, Any]], *, cop_code: str) -> etree._Element:
    """The unsigned message of ``kind`` holding ``documents``, sent by ``cop_code``."""
    spec = SPECS[kind]
    root = etree.Element(ceb(spec.message), nsmap={"ceb": xml.CEB_NS})
    root.set("guid", str(uuid.uuid4()).upper())
    root.set("version", xml.MESSAGE_VERSION)
    for document in documents:
        element = etree.SubElement(root, ceb(spec.element))
        _add_fields(etree.SubElement(element, ceb(spec.head_element)), spec.head, document)
        for line in document.get("items", []):
            _add_fields(etree.SubElement(element, ceb(spec.line_element)), spec.lines, line)
    transfer = etree.SubElement(root, ceb("BaseTransfer"))
    for name, value in (("copCode", cop_code), ("copName", ""), ("dxpMode", "DXP"), ("dxpId", f"DXPENT{cop_code}")):
        etree.SubElement(transfer, ceb(name)).text = value
    return root


def to_bytes(root: etree._Element) -> bytes:
    body: bytes = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    return body


def signed(root: etree._Element, keys: KeyPair) -> etree._Element:
    return sign_message(root=root, private_key_pem=keys.private_key_pem, certificate_pem=keys.certificate_pem)


def message_xml(
    kind: str, documents: Sequence[Mapping[str, Any]], *, cop_code: str, keys: KeyPair | None = None
) -> bytes:
    """``message_root`` as bytes, signed with ``keys`` when given (a list must be)."""
    root = message_root(kind, documents, cop_code=cop_code)
    return to_bytes(signed(root, keys) if keys is not None else root)


# --- Reading answers -------------------------------------------------------------------------


def read_answer(response: Any, *, status: int = 200) -> etree._Element:
    """The XML answer: ``status``, our content type, valid against the customs schema; its root."""
    assert response.status_code == status, (response.status_code, response.content[:2000])
    assert response["Content-Type"] == XML_CONTENT_TYPE
    root = etree.fromstring(response.content, etree.XMLParser(resolve_entities=False, no_network=True))
    schema = xml.customs_schema()
    assert schema.validate(root.getroottree()), schema.error_log
    return root


def returns(root: etree._Element) -> list[dict[str, str]]:
    """Each return element of a receipt (or the MessageReturn of a CEB900) as {element: text}."""
    return [{etree.QName(child).localname: child.text or "" for child in element} for element in root]
