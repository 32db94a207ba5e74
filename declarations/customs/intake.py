"""Customs XML submissions: one message, up to 100 documents, one result each.

The message is checked as customs would (size, no DTD, schema, and for lists the
signature of the declaring enterprise); each document then goes through the same
validation and service as a JSON submission, in its own transaction, so one bad document
never holds back the others. The answer is XML: a receipt per document in the manner of
CEB312/412/512/622, or a CEB900 when the message as a whole is refused.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.http import HttpResponse

from core.audit import Actor
from core.errors import ApiError, FieldError
from core.problems import flatten_validation
from declarations.customs import xml
from declarations.customs.spec import Kind
from declarations.intake import services
from declarations.kinds import DocumentType
from declarations.models import Inventory, InventoryStatus
from single_window import services as hub
from single_window.models import Enterprise, InboundMessage
from single_window.signatures import SignatureCheck, usable_certificates, verify_message_signature

XML_CONTENT_TYPE = "application/xml; charset=utf-8"
# CEB622 returnStatus of a list taken: 1 stored (a draft), 2 declaring.
STORED, DECLARING = "1", "2"
_NON_TEXT = (Kind.DECIMAL, Kind.INTEGER, Kind.DATE, Kind.TIMESTAMP)


def _as_input(kind: DocumentType, document: dict[str, Any]) -> dict[str, Any]:
    """An empty optional element means "not given", as a missing JSON field does."""
    spec = kind.spec
    optional = {f.name for f in spec.head if f.kind in _NON_TEXT and not f.required}
    line_optional = {f.name for f in spec.lines if f.kind in _NON_TEXT and not f.required}
    data = {k: v for k, v in document.items() if not (k in optional and v == "")}
    if "items" in data:
        data["items"] = [
            {k: v for k, v in line.items() if not (k in line_optional and v == "")} for line in data["items"]
        ]
    return data


def _refused(keys: dict[str, str], problems: list[FieldError], return_status: str = "-1") -> xml.DocumentResult:
    """A refusal naming every broken rule, as ``[code] message; field``, the same for both paths."""
    info = " | ".join(f"[{p.code}] {p.message}" + (f"; {p.field}" if p.field else "") for p in problems)
    return xml.DocumentResult(keys=keys, accepted=False, return_status=return_status, return_info=info)


def _submit_one(
    kind: DocumentType,
    document: dict[str, Any],
    sender: Enterprise,
    keys: dict[str, str],
    message: InboundMessage,
    *,
    actor: Actor | None,
) -> xml.DocumentResult:
    serializer = kind.input_serializer(data=_as_input(kind, document))
    if not serializer.is_valid():
        return _refused(keys, list(flatten_validation(serializer.errors)))
    try:
        result = services.document_submit(
            kind=kind,
            data=dict(serializer.validated_data),
            sender=sender,
            source_message=message,
            actor=actor,
        )
    except ApiError as exc:
        problems = exc.errors or [FieldError(None, exc.code, exc.detail)]
        return _refused(keys, problems, str(exc.extra.get("customs_code", "-1")))
    if not kind.is_list:
        return xml.DocumentResult.accepted_as(keys=keys, document_id=result.document.pk)
    # CEB622 answers a stored list with the single window's preNo, and a draft (appStatus 1) with
    # 1, stored: the single window keeps it and declares nothing (table 3-35).
    keys = {**keys, "pre_no": xml.pre_no_for(result.document.pk)}
    draft = isinstance(result.document, Inventory) and result.document.status == InventoryStatus.DRAFT
    status = STORED if draft else DECLARING
    return xml.DocumentResult.accepted_as(keys=keys, document_id=result.document.pk, return_status=status)


def _signature_refusal(check: SignatureCheck, document: dict[str, Any], sender: Enterprise) -> tuple[str, str] | None:
    """Why a list may not go on under this message's signature, or None when it may.

    Customs checks that the signer is the declaring enterprise (``agent_code``), so the
    signature must verify with a certificate the declaring enterprise registered.
    """
    if not check.verified:
        return check.code, check.customs_code
    if document.get("agent_code") not in {sender.customs_code, sender.uscc}:
        return "signature_not_by_declarant", "-621015"
    return None


def submit_xml_message(
    *, kind: DocumentType, body: bytes, sender: Enterprise, actor: Actor | None = None
) -> HttpResponse:
    """Take one customs XML message: each document stored or refused on its own; ``actor`` is
    who sent it, for the audit log (None: the sender itself)."""
    spec = kind.spec
    try:
        parsed = xml.parse_message(body, expected_message=spec.message)
    except xml.MessageRejected as rejected:
        return HttpResponse(
            xml.message_rejected_xml(rejected), status=rejected.status_code, content_type=XML_CONTENT_TYPE
        )

    # Recorded first: a list that becomes declared while its document is processed is linked
    # to the message, which the gateway may forward as it came.
    with transaction.atomic():
        inbound = hub.inbound_message_record(
            sender=sender,
            channel=InboundMessage.Channel.API_XML,
            message_type=spec.message,
            message_guid=parsed.guid,
            body=body,
            outcome=[],
        )
    check = None
    if kind.is_list:
        # Customs takes a list only signed by its declarant (-621015): refuse it here already.
        check = verify_message_signature(root=parsed.root, candidates=usable_certificates(enterprise=sender))
    results: list[xml.DocumentResult] = []
    for document in parsed.documents:
        keys = xml.receipt_keys(message=spec.message, document=document)
        refusal = _signature_refusal(check, document, sender) if check is not None else None
        if refusal is not None:
            code, customs_code = refusal
            message = (
                check.message if check is not None and not check.verified else "signer is not the declaring enterprise"
            )
            results.append(
                xml.DocumentResult.refused(
                    keys=keys, code=code, message=message, field="Signature", return_status=customs_code
                )
            )
            continue
        results.append(_submit_one(kind, document, sender, keys, inbound, actor=actor))

    hub.inbound_message_set_outcome(
        message=inbound, outcome=[{"status": r.return_status, "info": xml.redact(r.return_info)} for r in results]
    )
    return HttpResponse(
        xml.receipt_xml(message=spec.message, results=results), status=200, content_type=XML_CONTENT_TYPE
    )
