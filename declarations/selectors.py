"""Reads of the import documents: who may see which.

How a document looks to its reader is its output serializer's (``declarations.intake.outputs``).
"""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.db.models import OuterRef, Q, QuerySet, Subquery

from declarations.kinds import INVENTORY, ORDER, PAYMENT, WAYBILL, DocumentType
from declarations.models import (
    ArrivalManifest,
    Declaration,
    DocumentStatus,
    Inventory,
    InventoryReturn,
    InventoryStatusChange,
    Order,
    Payment,
    RuleResult,
    TaxEstimate,
    Waybill,
    WaybillDeliveryNotice,
)
from finance import selectors as finance
from logistics import selectors as logistics
from single_window import selectors as registry
from single_window.lookups import PaymentFacts
from single_window.models import Enterprise


def _stored_code(code: str) -> str:
    """The code documents store an enterprise under (``Enterprise.code``, as intake normalises
    them), so a reader may name it by its customs code or its USCC."""
    enterprise = registry.enterprise_get_by_code(code=code)
    return enterprise.code if enterprise is not None else code


def documents_visible_to(*, kind: DocumentType, enterprise: Enterprise) -> QuerySet[Any]:
    """What the enterprise sent, and what names it as a party; nothing else."""
    own_codes = [c for c in (enterprise.customs_code, enterprise.uscc) if c]
    named = Q()
    for field in kind.party_fields:
        named |= Q(**{f"{field}__in": own_codes})
    queryset: QuerySet[Any] = kind.model._default_manager.filter(Q(sender=enterprise) | named)
    return _with_answer_relations(kind, queryset)


def _with_answer_relations(kind: DocumentType, queryset: QuerySet[Any]) -> QuerySet[Any]:
    """Load what the answer shows with the documents (items, a list's tax estimate), not one
    query per document."""
    if kind.line_model is not None:
        queryset = queryset.prefetch_related("items")
    if kind.is_list:
        queryset = queryset.select_related("tax_estimate").prefetch_related("tax_estimate__items")
    return queryset


def document_by_key(*, kind: DocumentType, enterprise: Enterprise, first: str, second: str) -> Declaration | None:
    """The live (or latest) document of a business key, if the enterprise may see it."""
    a, b = kind.business_key
    queryset = documents_visible_to(kind=kind, enterprise=enterprise).filter(**{a: _stored_code(first), b: second})
    ordering = "-generation" if kind.reusable_key else "-created_at"
    return queryset.order_by(ordering, "-id").first()


def document_list(
    *,
    kind: DocumentType,
    enterprise: Enterprise,
    status: str | None = None,
    updated_since: datetime.datetime | None = None,
) -> QuerySet[Any]:
    queryset = documents_visible_to(kind=kind, enterprise=enterprise)
    if status:
        queryset = queryset.filter(status=status)
    if updated_since:
        queryset = queryset.filter(updated_at__gt=updated_since)
    return queryset


def inventory_for_cancel(*, enterprise: Enterprise, inventory_id: int) -> Inventory | None:
    """A list its declaring enterprise or e-commerce enterprise may ask to cancel."""
    own_codes = [c for c in (enterprise.customs_code, enterprise.uscc) if c]
    return (
        Inventory.objects.filter(pk=inventory_id)
        .filter(Q(sender=enterprise) | Q(agent_code__in=own_codes) | Q(ebc_code__in=own_codes))
        .first()
    )


def inventory_for_return(*, enterprise: Enterprise, inventory_id: int) -> Inventory | None:
    """A list whose declaring agent (``agent_code``) is the enterprise: only it files or reads
    the list's returns; anyone else gets what a list that does not exist gets."""
    own_codes = [c for c in (enterprise.customs_code, enterprise.uscc) if c]
    return Inventory.objects.filter(pk=inventory_id, agent_code__in=own_codes).first()


def inventory_returns(*, inventory: Inventory) -> QuerySet[InventoryReturn]:
    """The list's return requests, oldest first, with their lines."""
    return InventoryReturn.objects.filter(inventory=inventory).prefetch_related("items").order_by("created_at", "id")


def _return_event(inventory_return: InventoryReturn) -> dict[str, Any]:
    return {
        "type": "return",
        "at": inventory_return.created_at,
        "return_id": inventory_return.pk,
        "status": inventory_return.status,
        "whole_list": inventory_return.whole_list,
        "items": [{"gnum": item.gnum, "qty": item.qty} for item in inventory_return.items.all()],
        "dutiable_value": inventory_return.dutiable_value,
        "quota_given_back": inventory_return.quota_given_back,
        "return_status": inventory_return.return_status,
        "return_info": inventory_return.return_info,
        "answered_at": inventory_return.answered_at,
    }


def arrival_for_operator(*, enterprise: Enterprise, arrival_id: int) -> ArrivalManifest | None:
    """An arrival manifest the enterprise filed (its operator), with its lines; None otherwise."""
    return ArrivalManifest.objects.filter(pk=arrival_id, operator=enterprise).prefetch_related("lines").first()


def _delivery_event(notice: WaybillDeliveryNotice) -> dict[str, Any]:
    """The waybill's delivery notice (CEB513) with its state now; the place is left out (it may
    be the consignee's address)."""
    return {
        "type": "delivery_notice",
        "at": notice.delivered_at,
        "notice_id": notice.pk,
        "status": notice.status,
        "delivered_at": notice.delivered_at,
        "return_status": notice.return_status,
        "return_info": notice.return_info,
        "answered_at": notice.answered_at,
    }


def _without(row: Mapping[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k != key}


@dataclass(frozen=True)
class ParcelTrace:
    """One parcel's documents as far as the enterprise may see them, and what happened to it.

    ``events`` are in time order, each a dict with its ``type`` and ``at`` (an aware datetime):
    ``document_received``, the list's ``status_change`` rows, ``rule_result`` rows, its tax
    bills' ``tax_bill`` (issued) and ``tax_bill_status`` (summarised, paid, void) rows, its
    return requests (``return``, at the time each was filed, with its state now), and the
    waybill's delivery notice to customs (``delivery_notice``, at the delivery, with its state now).
    """

    ebp_code: str
    order_no: str
    order: Order | None
    payment: Payment | None
    waybill: Waybill | None
    inventory: Inventory | None
    events: list[dict[str, Any]]
    # Customs' tax bills of the list (finance's), oldest first.
    tax_bills: list[finance.BillView] = dataclasses.field(default_factory=list)
    # The carriers' tracking of the waybill (logistics'), or None when no carrier reported on it.
    tracking: logistics.Timeline | None = None

    @property
    def tax_estimate(self) -> TaxEstimate | None:
        """The list's estimate, loaded with the list."""
        if self.inventory is None:
            return None
        try:
            return self.inventory.tax_estimate
        except TaxEstimate.DoesNotExist:
            return None


# Where the parcel is at these statuses is the consignee's door: the trace leaves the place out.
PRIVATE_PLACES = frozenset({"out_for_delivery", "delivered"})


def _tracking_event(event: logistics.TimelineEvent) -> dict[str, Any]:
    return {
        "type": "tracking",
        "at": event.occurred_at,
        "status": event.status,
        "place": "" if event.status in PRIVATE_PLACES else event.place,
        "transport_mode": event.transport_mode,
        "leg": event.leg,
    }


def parcel_trace(*, enterprise: Enterprise, ebp_code: str, order_no: str) -> ParcelTrace | None:
    """Everything about one parcel the enterprise may see, events in time order.

    A document shows to the enterprise that sent it and to the parties it names
    (``documents_visible_to``), and to the parties of a list matched to it: a list of the
    order's own e-commerce enterprise (the order's ``ebc_code`` is the list's, as matching
    requires: ``clearance.matching.parcel_documents``). Through that list its parties
    (platform, e-commerce enterprise, logistics, declaring agent, guarantor) see the order, its
    payment and the waybill the list names when that waybill carries the order's number,
    personal data masked in what they did not send. A list that names another enterprise's
    order shows that order to nobody: any enterprise may declare a list in its own name. None
    when the enterprise may see nothing of the parcel.
    """
    ebp_code = _stored_code(ebp_code)
    orders = Order.objects.filter(ebp_code=ebp_code, order_no=order_no)
    order_ebc = orders.exclude(status=DocumentStatus.DELETED).values_list("ebc_code", flat=True).first()
    lists = list(
        documents_visible_to(kind=INVENTORY, enterprise=enterprise)
        .filter(ebp_code=ebp_code, order_no=order_no)
        .order_by("-created_at", "-id")
    )
    # The list of the order's own e-commerce enterprise when the enterprise sees it; else its latest.
    inventory = next((i for i in lists if i.ebc_code == order_ebc), lists[0] if lists else None)
    matched = inventory is not None and orders.filter(ebc_code=inventory.ebc_code).exists()

    def scope(kind: DocumentType) -> QuerySet[Any]:
        if not matched:
            return documents_visible_to(kind=kind, enterprise=enterprise)
        return _with_answer_relations(kind, kind.model._default_manager.all())

    order_scope = scope(ORDER).filter(ebp_code=ebp_code, order_no=order_no)
    if matched:
        order_scope = order_scope.filter(ebc_code=inventory.ebc_code)  # type: ignore[union-attr]
    order = order_scope.order_by("-created_at", "-id").first()
    payment = scope(PAYMENT).filter(ebp_code=ebp_code, order_no=order_no).order_by("-created_at", "-id").first()
    waybill = None
    if inventory is not None:
        waybills = scope(WAYBILL).filter(logistics_code=inventory.logistics_code, logistics_no=inventory.logistics_no)
        if matched:
            waybills = waybills.filter(order_no=order_no)
        waybill = waybills.order_by("-generation", "-id").first()
    if order is None and inventory is None and payment is None:
        return None

    documents = {ORDER: order, PAYMENT: payment, WAYBILL: waybill, INVENTORY: inventory}
    events: list[dict[str, Any]] = [
        {"at": document.created_at, "type": "document_received", "document": f"{kind.name}:{document.pk}"}
        for kind, document in documents.items()
        if document is not None
    ]
    tax_bills: list[finance.BillView] = []
    if inventory is not None:
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
        tax_bills = finance.tax_bills_of_list(inventory_id=inventory.pk)
        for bill in tax_bills:
            events += [
                {
                    "type": "tax_bill" if change.status == "1" else "tax_bill_status",
                    "at": change.at,
                    "tax_no": bill.tax_no,
                    "status": change.status,
                    "ent_duty_no": change.ent_duty_no,
                    "tax_total": bill.tax_total,
                    "differs_from_estimate": bill.differs,
                }
                for change in bill.changes
            ]
        events += [_return_event(r) for r in inventory_returns(inventory=inventory)]
    tracking = None
    if waybill is not None:
        events += [_delivery_event(n) for n in WaybillDeliveryNotice.objects.filter(waybill=waybill)]
        tracking = logistics.timeline_of(waybill.logistics_code, waybill.logistics_no)
        if tracking is not None:
            events += [_tracking_event(event) for event in tracking.events]
    events.sort(key=lambda event: event["at"])  # stable: same-instant events keep their order
    return ParcelTrace(
        ebp_code=ebp_code,
        order_no=order_no,
        order=order,
        payment=payment,
        waybill=waybill,
        inventory=inventory,
        events=events,
        tax_bills=tax_bills,
        tracking=tracking,
    )


def payment_facts_of(*, pay_code: str, start: datetime.datetime, end: datetime.datetime) -> list[PaymentFacts]:
    """The hub's payment lookup (``single_window.lookups``), registered in ``DeclarationsConfig.ready``.

    The declared payments of ``pay_code`` (its stored code) paid from ``start`` to before
    ``end``, with the e-commerce enterprise of the live order each pays, in one query. A payment
    is one row per business key, changed in place, so its row is its latest version; a draft
    (app_status 1) has not been declared and a deleted one no longer stands: neither is here.
    The scan is on the business key's ``pay_code`` prefix.
    """
    order_ebc = Order.objects.filter(ebp_code=OuterRef("ebp_code"), order_no=OuterRef("order_no")).exclude(
        status=DocumentStatus.DELETED
    )
    rows = (
        Payment.objects.filter(pay_code=pay_code, status=DocumentStatus.DECLARED, pay_time__gte=start, pay_time__lt=end)
        .annotate(order_ebc_code=Subquery(order_ebc.values("ebc_code")[:1]))
        .order_by("pay_time", "id")
        .values_list(
            "pay_code",
            "pay_transaction_id",
            "order_no",
            "ebp_code",
            "order_ebc_code",
            "amount_paid",
            "currency",
            "pay_time",
            "status",
        )
    )
    return [
        PaymentFacts(
            pay_code=row[0],
            pay_transaction_id=row[1],
            order_no=row[2],
            ebp_code=row[3],
            ebc_code=row[4] or "",
            amount_paid=row[5],
            currency=row[6],
            pay_time=row[7],
            status=row[8],
        )
        for row in rows
    ]
