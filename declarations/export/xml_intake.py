"""Export documents as signed customs XML: one message (CEB303, 403, 505, 507, 509, 603 or 607),
up to 100 documents, one result each.

1. The message is checked as customs would: size, no DTD or entity, the root the endpoint takes,
   the export schema (``export202205.xsd``); a message that fails is answered at once with a
   CEB900 (HTTP 400) and nothing is stored.
2. It is recorded (encrypted) as it came, so what an enterprise sent can be shown later and the
   gateway may forward a document as its sender signed it.
3. The signature must verify with a certificate the caller registered (customs checks that the
   signer is the enterprise that sends: -621015); otherwise every document is refused.
4. Each document then takes the JSON path: the same serializer and service, stored or refused on
   its own (a savepoint each), so one bad document never holds back the others.

The answer is customs' receipt message for the type (CEB304, 404, 506, 508, 510, 604, 608): per
document ``2`` (declaring; ``1`` for a draft) or the refusal — customs' code where it has one,
else ``-1`` — with ``[stable_code] message; field`` in ``returnInfo``.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.http import HttpResponse
from lxml import etree
from rest_framework import serializers

from core.audit import Actor
from core.errors import ApiError, FieldError
from declarations.customs import xml
from declarations.customs.spec import Kind
from declarations.export import services
from declarations.export.kinds import ExportKind
from declarations.export.spec import CANCELLATION, ExportSpec
from declarations.models import ExportList
from single_window import services as hub
from single_window.models import Enterprise, InboundMessage
from single_window.signatures import usable_certificates, verify_message_signature

XML_CONTENT_TYPE = "application/xml; charset=utf-8"
STORED, DECLARING, REFUSED = "1", "2", "-1"
# Customs' code for a message whose signature is missing, does not verify, or is not the sender's.
SIGNATURE_REFUSED = "-621029"
_NON_TEXT = (Kind.DECIMAL, Kind.INTEGER, Kind.DATE, Kind.TIMESTAMP)
# Return elements the export schema requires with a fixed shape: a placeholder when unknown.
_PRE_NO_NONE = "0" * 18


def _q(name: str) -> str:
    return f"{{{xml.CEB_NS}}}{name}"


def _fields(parent: etree._Element, spec_fields: Any) -> dict[str, Any]:
    by_tag: dict[str, str] = {}
    for child in parent.iterchildren():
        if isinstance(child.tag, str):
            by_tag.setdefault(child.tag, child.text or "")
    return {f.name: by_tag[_q(f.xml)] for f in spec_fields if _q(f.xml) in by_tag}


def documents_of(root: etree._Element, spec: ExportSpec) -> list[dict[str, Any]]:
    """Each document element as the dict the JSON serializer takes (empty optional non-text
    elements left out, as a missing JSON field)."""
    optional = {f.name for f in (*spec.head, *spec.lines) if f.kind in _NON_TEXT and not f.required}
    documents = []
    for element in root.iterchildren(_q(spec.element)):
        head = element.find(_q(spec.head_element)) if spec.head_element else element
        document = _fields(head, spec.head) if head is not None else {}
        if spec.line_element:
            document["items"] = [
                {k: v for k, v in _fields(line, spec.lines).items() if not (k in optional and v == "")}
                for line in element.iterchildren(_q(spec.line_element))
            ]
        documents.append({k: v for k, v in document.items() if not (k in optional and v == "")})
    return documents


def _problems(error: serializers.ValidationError) -> list[FieldError]:
    problems: list[FieldError] = []

    def walk(detail: Any, path: str) -> None:
        if isinstance(detail, dict):
            for key, value in detail.items():
                walk(value, f"{path}.{key}" if path else str(key))
        elif isinstance(detail, list):
            for index, value in enumerate(detail):
                if isinstance(value, dict | list):
                    walk(value, f"{path}[{index}]")
                else:
                    problems.append(FieldError(path or None, getattr(value, "code", "invalid"), str(value)))
        else:
            problems.append(FieldError(path or None, getattr(detail, "code", "invalid"), str(detail)))

    walk(error.detail, "")
    return problems


def _info(problems: list[FieldError]) -> str:
    return " | ".join(f"[{p.code}] {p.message}" + (f"; {p.field}" if p.field else "") for p in problems)


def _return(spec: ExportSpec, document: dict[str, Any], status: str, info: str, pre_no: str) -> dict[str, str]:
    values: dict[str, str] = {}
    for element, name in spec.receipt_keys:
        value = str(document.get(name) or "")
        if element == "guid" and len(value) != 36:
            value = xml.new_guid()
        elif element == "preNo":
            value = pre_no if len(pre_no) == 18 else (value if len(value) == 18 else _PRE_NO_NONE)
        elif element == "msgSeqNo":
            value = value if value.isdigit() and len(value) <= 9 else "1"
        elif element == "statisticsFlag":
            value = value if len(value) == 1 else "A"
        values[element] = value[:60]
    values["returnStatus"] = status[:10]
    values["returnTime"] = xml.return_time()
    values["returnInfo"] = (xml.redact(info).strip() or "accepted")[:1000]
    return values


def receipt_xml(spec: ExportSpec, returns: list[dict[str, str]]) -> bytes:
    """The receipt message answering ``spec``'s message: one return element per document."""
    root = etree.Element(_q(spec.receipt_message), nsmap={"ceb": xml.CEB_NS})
    root.set("guid", xml.new_guid())
    root.set("version", xml.MESSAGE_VERSION)
    for values in returns:
        element = etree.SubElement(root, _q(spec.receipt_element))
        for name, value in values.items():
            etree.SubElement(element, _q(name)).text = value
    body: bytes = etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)
    return body


def _take(
    kind: ExportKind, document: dict[str, Any], sender: Enterprise, inbound: InboundMessage, actor: Actor | None
) -> tuple[str, str, str]:
    """(returnStatus, returnInfo, preNo) of one document, stored or refused on its own."""
    serializer = kind.input_serializer(data=document)
    if not serializer.is_valid():
        return REFUSED, _info(_problems(serializers.ValidationError(serializer.errors))), ""
    try:
        with transaction.atomic():
            result = services.export_document_submit(
                kind=kind, data=dict(serializer.validated_data), sender=sender, source_message=inbound, actor=actor
            )
    except ApiError as error:
        problems = error.errors or [FieldError(None, error.code, str(error.detail))]
        return str(error.extra.get("customs_code", REFUSED)), _info(problems), ""
    stored = result.document
    status = STORED if stored.status == "draft" else DECLARING  # type: ignore[attr-defined]
    return status, f"accepted id={stored.pk}", xml.pre_no_for(stored.pk)


def submit_export_xml(*, kind: ExportKind, body: bytes, sender: Enterprise, actor: Actor | None = None) -> HttpResponse:
    """Take one signed export message (see the module's steps) and answer with its receipt."""
    spec = kind.spec
    # 1.
    try:
        root = xml.read_message(body, expected_message=spec.message)
    except xml.MessageRejected as rejected:
        return HttpResponse(
            xml.message_rejected_xml(rejected), status=rejected.status_code, content_type=XML_CONTENT_TYPE
        )
    documents = documents_of(root, spec)
    # 2.
    with transaction.atomic():
        inbound = hub.inbound_message_record(
            sender=sender,
            channel=InboundMessage.Channel.API_XML,
            message_type=spec.message,
            message_guid=root.get("guid", ""),
            body=body,
            outcome=[],
        )
    # 3.
    check = verify_message_signature(root=root, candidates=usable_certificates(enterprise=sender))
    returns: list[dict[str, str]] = []
    for document in documents:
        if not check.verified:
            info = _info([FieldError("Signature", check.code or "signature_invalid", check.message)])
            returns.append(_return(spec, document, SIGNATURE_REFUSED, info, ""))
            continue
        # 4.
        status, info, pre_no = _take(kind, document, sender, inbound, actor)
        returns.append(_return(spec, document, status, info, pre_no))
    hub.inbound_message_set_outcome(
        message=inbound, outcome=[{"status": r["returnStatus"], "info": r["returnInfo"]} for r in returns]
    )
    return HttpResponse(receipt_xml(spec, returns), status=200, content_type=XML_CONTENT_TYPE)


# Customs' codes for a cancellation (table 7-2): no such list (-623003), signature (-623029).
CANCEL_UNKNOWN_LIST = "-623003"
CANCEL_SIGNATURE_REFUSED = "-623029"


def submit_cancellation_xml(
    *, export_list: ExportList, body: bytes, sender: Enterprise, actor: Actor | None = None
) -> HttpResponse:
    """Take a signed CEB605 on the list's cancel endpoint: each ``InvtCancel`` must name this list
    (its ``invtNo`` and ``agentCode``) and be signed by its agent; answered with a CEB606."""
    try:
        root = xml.read_message(body, expected_message=CANCELLATION.message)
    except xml.MessageRejected as rejected:
        return HttpResponse(
            xml.message_rejected_xml(rejected), status=rejected.status_code, content_type=XML_CONTENT_TYPE
        )
    with transaction.atomic():
        inbound = hub.inbound_message_record(
            sender=sender,
            channel=InboundMessage.Channel.API_XML,
            message_type=CANCELLATION.message,
            message_guid=root.get("guid", ""),
            body=body,
            outcome=[],
        )
    check = verify_message_signature(root=root, candidates=usable_certificates(enterprise=sender))
    returns: list[dict[str, str]] = []
    for document in documents_of(root, CANCELLATION):
        if not check.verified:
            info = _info([FieldError("Signature", check.code or "signature_invalid", check.message)])
            returns.append(_return(CANCELLATION, document, CANCEL_SIGNATURE_REFUSED, info, ""))
            continue
        if (document.get("invt_no"), document.get("agent_code")) != (export_list.invt_no, export_list.agent_code):
            info = _info([FieldError("invtNo", "not_found", "The cancellation names another list.")])
            returns.append(_return(CANCELLATION, document, CANCEL_UNKNOWN_LIST, info, ""))
            continue
        try:
            with transaction.atomic():
                cancellation = services.export_list_cancel_request(
                    export_list=export_list,
                    reason=str(document.get("reason", "")),
                    requested_by=sender,
                    actor=actor,
                    guid=str(document.get("guid", ""))[:36],
                    cop_no=str(document.get("cop_no", ""))[:30],
                )
        except ApiError as error:
            problems = error.errors or [FieldError(None, error.code, str(error.detail))]
            returns.append(_return(CANCELLATION, document, REFUSED, _info(problems), ""))
            continue
        returns.append(_return(CANCELLATION, document, DECLARING, f"accepted id={cancellation.pk}", ""))
    hub.inbound_message_set_outcome(
        message=inbound, outcome=[{"status": r["returnStatus"], "info": r["returnInfo"]} for r in returns]
    )
    return HttpResponse(receipt_xml(CANCELLATION, returns), status=200, content_type=XML_CONTENT_TYPE)
