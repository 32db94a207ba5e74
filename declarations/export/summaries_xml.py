"""Small helpers for the export messages of summary declarations and returns (CEB701/702/792,
CEB213-216): element names in the customs namespace, and the export schema's verdict on a
message (``declarations.customs.xml`` reads and checks export messages against
``export202205.xsd``)."""

from __future__ import annotations

from lxml import etree

from declarations.customs import xml

_MAX_SCHEMA_ERRORS = 10


def schema_problems(root: etree._Element) -> list[str]:
    """What the export schema says of ``root`` (line and text, at most ten); empty when valid."""
    schema = xml.customs_schema(export=True)
    if schema.validate(etree.ElementTree(root)):
        return []
    return [xml.redact(f"line {entry.line}: {entry.message}") for entry in list(schema.error_log)[:_MAX_SCHEMA_ERRORS]]


def q(name: str) -> str:
    """An element name in the customs namespace."""
    return f"{{{xml.CEB_NS}}}{name}"


def text(element: etree._Element, name: str) -> str:
    return (element.findtext(q(name)) or "").strip()


def sub(parent: etree._Element, name: str, value: str) -> etree._Element:
    child = etree.SubElement(parent, q(name))
    child.text = value
    return child
