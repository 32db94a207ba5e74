"""Reads of the import documents: who may see which, and in what form."""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone

from core.crypto import decrypt_text
from core.masking import mask_value
from declarations.customs.spec import SPECS, Kind
from declarations.intake.identity import masked_id_number
from declarations.intake.serializers import CST
from declarations.intake.services import BUSINESS_KEYS, MODELS
from declarations.models import Declaration, Inventory, InventoryStatusChange, RuleResult, TaxEstimate
from single_window.models import Enterprise

# The codes in a document that name the enterprises allowed to read it.
PARTY_FIELDS: dict[str, tuple[str, ...]] = {
    "order": ("ebp_code", "ebc_code", "pay_code"),
    "payment": ("pay_code", "ebp_code"),
    "waybill": ("logistics_code",),
    "inventory": ("ebp_code", "ebc_code", "logistics_code", "agent_code", "assure_code"),
}


def documents_visible_to(*, kind: str, enterprise: Enterprise) -> QuerySet[Any]:
    """What the enterprise sent, and what names it as a party; nothing else."""
    model, _lines = MODELS[kind]
    own_codes = [c for c in (enterprise.customs_code, enterprise.uscc) if c]
    named = Q()
    for field in PARTY_FIELDS[kind]:
        named |= Q(**{f"{field}__in": own_codes})
    queryset: QuerySet[Any] = model._default_manager.filter(Q(sender=enterprise) | named)
    if MODELS[kind][1] is not None:
        queryset = queryset.prefetch_related("items")
    if kind == "inventory":
        # Lists show their tax estimate: load it with them, not one query per list.
        queryset = queryset.select_related("tax_estimate").prefetch_related("tax_estimate__items")
    return queryset


def document_by_key(*, kind: str, enterprise: Enterprise, first: str, second: str) -> Declaration | None:
    """The live (or latest) document of a business key, if the enterprise may see it."""
    a, b = BUSINESS_KEYS[kind]
    queryset = documents_visible_to(kind=kind, enterprise=enterprise).filter(**{a: first, b: second})
    ordering = "-generation" if kind == "waybill" else "-created_at"
    return queryset.order_by(ordering, "-id").first()


def document_list(
    *, kind: str, enterprise: Enterprise, status: str | None = None, updated_since: datetime.datetime | None = None
) -> QuerySet[Any]:
    queryset = documents_visible_to(kind=kind, enterprise=enterprise)
    if status:
        queryset = queryset.filter(status=status)
    if updated_since:
        queryset = queryset.filter(updated_at__gt=updated_since)
    return queryset


def _plain(value: Any, kind: Kind) -> Any:
    if value is None:
        return None
    if kind is Kind.DECIMAL and isinstance(value, Decimal):
        return format(value.normalize(), "f") if value == value.to_integral() else format(value, "f").rstrip("0")
    if kind is Kind.TIMESTAMP and isinstance(value, datetime.datetime):
        return value.astimezone(CST).strftime("%Y%m%d%H%M%S")
    if kind is Kind.DATE and isinstance(value, datetime.date):
        return value.strftime("%Y%m%d")
    return value


def document_representation(*, kind: str, document: Declaration, viewer: Enterprise) -> dict[str, Any]:
    """The document as its API shows it to ``viewer``.

    ID numbers are always masked (no answer carries one in full). Names, phones and
    addresses are shown to the sender only and masked for the other parties.
    """
    spec = SPECS[kind]
    is_sender = document.sender_id == viewer.pk
    data: dict[str, Any] = {"id": document.pk, "status": document.status}  # type: ignore[attr-defined]
    if isinstance(document, Inventory):
        data["waiting_for"] = document.waiting_for
    else:
        # Customs' last answer to the forwarded CEB311/411/511 (blank: not forwarded or no answer yet).
        data["customs_status"] = document.customs_status  # type: ignore[attr-defined]
    data["version"] = document.version
    for field in spec.head:
        if field.name.endswith("_id_number"):
            data[field.name] = masked_id_number(decrypt_text(getattr(document, f"{field.name}_encrypted")))
            continue
        value = _plain(getattr(document, field.name), field.kind)
        data[field.name] = mask_value(field.name, value) if field.personal and not is_sender else value
    if spec.lines:
        data["items"] = [
            {f.name: _plain(getattr(line, f.name), f.kind) for f in spec.lines}
            for line in document.items.all()  # type: ignore[attr-defined]
        ]
    if isinstance(document, Inventory):
        try:
            estimate = document.tax_estimate  # loaded with the list by documents_visible_to
        except TaxEstimate.DoesNotExist:
            estimate = None
        data["tax_estimate"] = _estimate_representation(estimate) if estimate else None
    data["created_at"] = timezone.localtime(document.created_at).isoformat()
    data["updated_at"] = timezone.localtime(document.updated_at).isoformat()
    return data


def inventory_for_cancel(*, enterprise: Enterprise, inventory_id: int) -> Inventory | None:
    """A list its declaring enterprise or e-commerce enterprise may ask to cancel."""
    own_codes = [c for c in (enterprise.customs_code, enterprise.uscc) if c]
    return (
        Inventory.objects.filter(pk=inventory_id)
        .filter(Q(sender=enterprise) | Q(agent_code__in=own_codes) | Q(ebc_code__in=own_codes))
        .first()
    )


def _estimate_representation(estimate: Any) -> dict[str, Any]:
    return {
        "mode": estimate.mode,
        "dutiable_total": str(estimate.dutiable_total),
        "customs_tax": str(estimate.customs_tax),
        "value_added_tax": str(estimate.value_added_tax),
        "consumption_tax": str(estimate.consumption_tax),
        "tax_total": str(estimate.tax_total),
        "items": [
            {
                "gnum": i.gnum,
                "gcode": i.gcode,
                "dutiable_value": str(i.dutiable_value),
                "customs_tax": str(i.customs_tax),
                "value_added_tax": str(i.value_added_tax),
                "consumption_tax": str(i.consumption_tax),
            }
            for i in estimate.items.all()
        ],
    }


def _without(row: Mapping[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k != key}


def parcel_trace(*, enterprise: Enterprise, ebp_code: str, order_no: str) -> dict[str, Any] | None:
    """Everything about one parcel the enterprise may see, events in time order.

    A party named on the parcel's list (platform, e-commerce enterprise, logistics, declaring
    agent, guarantor) sees all four documents, personal data masked in those it did not send;
    any other enterprise sees only the documents that name it. None when it may see none.
    """
    inventory = (
        documents_visible_to(kind="inventory", enterprise=enterprise)
        .filter(ebp_code=ebp_code, order_no=order_no)
        .order_by("-created_at", "-id")
        .first()
    )

    def scope(kind: str) -> QuerySet[Any]:
        if inventory is None:
            return documents_visible_to(kind=kind, enterprise=enterprise)
        model, lines = MODELS[kind]
        queryset: QuerySet[Any] = model._default_manager.all()
        return queryset.prefetch_related("items") if lines is not None else queryset

    order = scope("order").filter(ebp_code=ebp_code, order_no=order_no).order_by("-created_at", "-id").first()
    payment = scope("payment").filter(ebp_code=ebp_code, order_no=order_no).order_by("-created_at", "-id").first()
    waybill = None
    if inventory is not None:
        waybill = (
            scope("waybill")
            .filter(logistics_code=inventory.logistics_code, logistics_no=inventory.logistics_no)
            .order_by("-generation", "-id")
            .first()
        )
    if order is None and inventory is None and payment is None:
        return None

    documents = {"order": order, "payment": payment, "waybill": waybill, "inventory": inventory}
    trace: dict[str, Any] = {"ebp_code": ebp_code, "order_no": order_no}
    events: list[dict[str, Any]] = []
    for kind, document in documents.items():
        trace[kind] = (
            None if document is None else document_representation(kind=kind, document=document, viewer=enterprise)
        )
        if document is not None:
            events.append({"at": document.created_at, "type": "document_received", "document": f"{kind}:{document.pk}"})
    trace["tax_estimate"] = None
    if inventory is not None:
        # The list's representation carries its estimate (loaded with it); the trace repeats it on top.
        trace["tax_estimate"] = trace["inventory"]["tax_estimate"]
        changes = InventoryStatusChange.objects.filter(inventory=inventory).values(
            "created_at", "from_status", "to_status", "source", "receipt_code", "applied", "note"
        )
        events += [{"type": "status_change", "at": c["created_at"], **_without(c, "created_at")} for c in changes]
        results = RuleResult.objects.filter(inventory=inventory).values(
            "created_at",
            "run",
            "rule",
            "outcome",
            "field",
            "list_value",
            "other_value",
            "documents",
            "customs_code",
            "note",
        )
        events += [{"type": "rule_result", "at": r["created_at"], **_without(r, "created_at")} for r in results]
    events.sort(key=lambda event: event["at"])  # stable: same-instant events keep their order
    trace["events"] = [{**event, "at": timezone.localtime(event["at"]).isoformat()} for event in events]
    return trace
