"""Customs XML submissions: one message, up to 100 documents, one result each.

The message is checked as customs would (size, no DTD, schema, and for lists the signature of
the declaring enterprise); the documents then take the path of a JSON batch
(``declarations.intake.batches``): the same validation and service as a JSON submission, each
document stored or refused on its own, so one bad document never holds back the others. The
answer is XML: a receipt per document in the manner of CEB312/412/512/622, or a CEB900 when the
message as a whole is refused.

A return request (CEB625) is taken on its list's endpoint (``submit_return_xml_message``): each
``InvtRefund`` must name that list and be signed by its declaring agent, and goes through
``declarations.intake.returns`` as a JSON request does; the answer is a CEB626 per return.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.http import HttpResponse

from core.audit import Actor
from core.errors import ApiError, FieldError
from declarations.customs import xml
from declarations.customs.spec import INVENTORY_RETURN_SPEC, Kind
from declarations.intake import batches, codes, returns
from declarations.kinds import DocumentType
from declarations.models import Inventory, InventoryStatus
from single_window import services as hub
from single_window.models import Enterprise, InboundMessage
from single_window.signatures import (
    SignatureCheck,
    SignatureOutcome,
    usable_certificates,
    verify_message_signature,
)

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


def _result(kind: DocumentType, keys: dict[str, str], outcome: batches.BatchOutcome) -> xml.DocumentResult:
    if outcome.result is None:
        error: ApiError = outcome.error  # type: ignore[assignment]
        problems = error.errors or [FieldError(None, error.code, error.detail)]
        return _refused(keys, problems, str(error.extra.get("customs_code", "-1")))
    document = outcome.result.document
    if not kind.is_list:
        return xml.DocumentResult.accepted_as(keys=keys, document_id=document.pk)
    # CEB622 answers a stored list with the single window's preNo, and a draft (appStatus 1) with
    # 1, stored: the single window keeps it and declares nothing (table 3-35).
    keys = {**keys, "pre_no": xml.pre_no_for(document.pk)}
    draft = isinstance(document, Inventory) and document.status == InventoryStatus.DRAFT
    status = STORED if draft else DECLARING
    return xml.DocumentResult.accepted_as(keys=keys, document_id=document.pk, return_status=status)


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
    # A document whose signature customs would refuse is answered at once; the others go
    # through the batch path together, each stored or refused on its own.
    results: list[xml.DocumentResult | None] = []
    taken: list[tuple[int, dict[str, str], batches.BatchDocument]] = []
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
        taken.append((len(results), keys, batches.BatchDocument(kind=kind, body=_as_input(kind, document))))
        results.append(None)
    outcomes = batches.batch_submit(
        documents=[document for _place, _keys, document in taken], sender=sender, actor=actor, source_message=inbound
    )
    for (place, keys, _document), outcome in zip(taken, outcomes, strict=True):
        results[place] = _result(kind, keys, outcome)
    answered = [result for result in results if result is not None]

    hub.inbound_message_set_outcome(
        message=inbound, outcome=[{"status": r.return_status, "info": xml.redact(r.return_info)} for r in answered]
    )
    return HttpResponse(
        xml.receipt_xml(message=spec.message, results=answered), status=200, content_type=XML_CONTENT_TYPE
    )


# Customs' codes for a return request's signature (table 7-2): empty (-625028), does not verify
# (-625005), not the declaring enterprise's certificate (-625013).
RETURN_SIGNATURE_CODES = {SignatureOutcome.MISSING: "-625028", SignatureOutcome.CERTIFICATE_NOT_REGISTERED: "-625013"}
RETURN_SIGNATURE_INVALID = "-625005"
RETURN_DUPLICATE = "-625033"
RETURN_DECLARING = "2"


def _return_refusal(
    check: SignatureCheck, document: dict[str, Any], inventory: Inventory, sender: Enterprise
) -> tuple[str, str, str, str | None] | None:
    """(code, message, customs code, field) when the return may not go on, else None."""
    if not check.verified:
        customs_code = RETURN_SIGNATURE_CODES.get(check.outcome, RETURN_SIGNATURE_INVALID)
        return check.code, check.message, customs_code, "Signature"
    if document.get("agent_code") not in {sender.customs_code, sender.uscc}:
        return "signature_not_by_declarant", "signer is not the declaring enterprise", "-625013", "Signature"
    if document.get("invt_no") != inventory.invt_no or document.get("agent_code") != inventory.agent_code:
        customs_code = codes.RETURN_CUSTOMS_CODES[codes.RETURN_OTHER_LIST]
        return codes.RETURN_OTHER_LIST, "the return names another list than this one", customs_code, "invtNo"
    return None


def submit_return_xml_message(
    *, inventory: Inventory, body: bytes, sender: Enterprise, actor: Actor | None = None
) -> HttpResponse:
    """Take one CEB625 of return requests of ``inventory``: each stored or refused on its own,
    answered by a CEB626 (a CEB900 when the message as a whole is refused). A message holding
    one return is forwarded to customs as it came (it carries the agent's own signature)."""
    spec = INVENTORY_RETURN_SPEC
    try:
        parsed = xml.parse_message(body, expected_message=spec.message)
    except xml.MessageRejected as rejected:
        return HttpResponse(
            xml.message_rejected_xml(rejected), status=rejected.status_code, content_type=XML_CONTENT_TYPE
        )
    with transaction.atomic():
        inbound = hub.inbound_message_record(
            sender=sender,
            channel=InboundMessage.Channel.API_XML,
            message_type=spec.message,
            message_guid=parsed.guid,
            body=body,
            outcome=[],
        )
    check = verify_message_signature(root=parsed.root, candidates=usable_certificates(enterprise=sender))
    alone = len(parsed.documents) == 1
    results: list[xml.DocumentResult] = []
    for document in parsed.documents:
        keys = {**xml.receipt_keys(message=spec.message, document=document), "pre_no": xml.pre_no_for(inventory.pk)}
        refusal = _return_refusal(check, document, inventory, sender)
        if refusal is not None:
            code, message, customs_code, field = refusal
            results.append(
                xml.DocumentResult.refused(
                    keys=keys, code=code, message=message, field=field, return_status=customs_code
                )
            )
            continue
        lines = [
            returns.ReturnLine(gnum=int(line["gnum"]), qty=Decimal(line["qty"])) for line in document.get("items", [])
        ]
        try:
            with transaction.atomic():
                taken = returns.inventory_return_request(
                    inventory=inventory,
                    reason=document.get("reason", ""),
                    lines=lines,
                    requested_by=sender,
                    actor=actor,
                    guid=document.get("guid"),
                    signed_body=body if alone else None,
                )
        except IntegrityError:
            results.append(
                xml.DocumentResult.refused(
                    keys=keys,
                    code=codes.DUPLICATE,
                    message="a return with this guid was filed before",
                    field="guid",
                    return_status=RETURN_DUPLICATE,
                )
            )
            continue
        except ApiError as error:
            problems = error.errors or [FieldError(None, error.code, error.detail)]
            customs_code = error.extra.get("customs_code") or codes.RETURN_CUSTOMS_CODES.get(problems[0].code, "-1")
            results.append(_refused(keys, problems, str(customs_code)))
            continue
        results.append(xml.DocumentResult.accepted_as(keys=keys, document_id=taken.pk, return_status=RETURN_DECLARING))
    hub.inbound_message_set_outcome(
        message=inbound, outcome=[{"status": r.return_status, "info": xml.redact(r.return_info)} for r in results]
    )
    return HttpResponse(
        xml.receipt_xml(message=spec.message, results=results), status=200, content_type=XML_CONTENT_TYPE
    )
