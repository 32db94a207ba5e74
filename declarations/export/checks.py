"""The export list's checks: it matches its order, its payment receipt (where the trade mode
requires one) and its waybill by the fields the specification names, item by item; and the
parcel's own state refuses some documents outright.

Matching rules, each with a stable name a failure carries (``export_list.match_failures`` and the
``export_list.check_result`` event):

- ``documents_present``: the order (ebpCode + orderNo), the payment receipt (ebcCode + orderNo;
  9610 and 1210 only) and the waybill (logisticsCode + logisticsNo) are stored and declared.
  Missing ones are waited for (``waiting_for``), not failed;
- ``order_enterprise_matches``: the order's ebcCode is the list's;
- ``order_type_fits_trade_mode``: 9610 and 1210 lists stand on a B2C order (E), 9710 on a B2B
  order (B), 9810 on an overseas-warehouse booking (W);
- ``list_items_match_order``: item by item by ``gnum`` (spec table 2-38, "与电子订单商品序号关联
  对应"): the same lines, each with the order line's itemNo, unit, currency, qty, price and
  totalPrice;
- ``receipt_matches_order``: the receipt names the list's e-commerce enterprise and platform, and
  its charge (in the order's currency) is the order's goodsValue + freight;
- ``waybill_matches_list``: the waybill's freight and currency are the list's freight and
  fCurrency, its grossWeight and packNo the list's, and an ebcCode it names is the list's;
- ``documents_not_refused_by_customs``: customs did not return (100, or a negative code) the
  order, receipt or waybill.

Refusals at intake (409, nothing stored), ``refusals``:

- ``export_parcel_departed``: a declared list for a parcel a departure (CEB509) already names;
- ``export_parcel_summarised``: a declared list for a parcel whose list was summarised into a
  customs declaration (CEB701) — the summary side adds its own test with
  ``register_summarised_check``;
- ``export_departure_not_arrived`` / ``export_departure_list_not_released``: a departure naming
  a parcel no arrival (CEB507) of the same logistics enterprise lists, or whose export list
  customs has not released;
- ``export_master_bill_unknown_list``: a master bill grouping a parcel its declaring agent has no
  export list for.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from core.errors import FieldError
from declarations.export import codes, declare, events, lifecycle
from declarations.export.kinds import ExportKind
from declarations.export.parcel import parcel_departed, parcel_summarised
from declarations.models import (
    DocumentStatus,
    ExportArrivalItem,
    ExportList,
    ExportListStatus,
    ExportOrder,
    ExportOrderType,
    ExportPaymentReceipt,
    ExportTradeMode,
    ExportWaybill,
)

DOCUMENTS_PRESENT = "documents_present"
ORDER_ENTERPRISE = "order_enterprise_matches"
ORDER_TYPE = "order_type_fits_trade_mode"
ITEMS_MATCH = "list_items_match_order"
RECEIPT_MATCHES = "receipt_matches_order"
WAYBILL_MATCHES = "waybill_matches_list"
CUSTOMS_REFUSED = "documents_not_refused_by_customs"

# The order type each trade mode stands on.
ORDER_TYPE_OF_MODE = {
    ExportTradeMode.DIRECT: ExportOrderType.B2C,
    ExportTradeMode.SPECIAL_ZONE: ExportOrderType.B2C,
    ExportTradeMode.B2B_DIRECT: ExportOrderType.B2B,
    ExportTradeMode.OVERSEAS_WAREHOUSE: ExportOrderType.WAREHOUSE,
}
# Retail (B2C) exports need the payment company's receipt; B2B and overseas-warehouse exports
# are paid outside the platform and declare none.
RECEIPT_REQUIRED = frozenset({ExportTradeMode.DIRECT, ExportTradeMode.SPECIAL_ZONE})
# The order line fields a list line must repeat (spec table 2-38).
ITEM_FIELDS = ("item_no", "unit", "currency", "qty", "price", "total_price")
# Receipts that say customs returned a document.
REFUSED = ("100",)
# Lists waiting or failed are checked again when a document of their parcel changes.
RECHECKED = (ExportListStatus.PENDING_DOCUMENTS, ExportListStatus.MATCH_FAILED)
# A parcel's list in these states has gone far enough for a departure.
RELEASED_STATES = (ExportListStatus.RELEASED, ExportListStatus.SUMMARISED, ExportListStatus.CLOSED)


@dataclass(frozen=True)
class Failure:
    rule: str
    field: str = ""
    gnum: int | None = None
    list_value: str = ""
    other_value: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {key: value for key, value in asdict(self).items() if value not in ("", None)}


# --- The parcel's documents ---------------------------------------------------------------------


def _declared(queryset: Any) -> Any:
    return queryset.filter(status=DocumentStatus.DECLARED).order_by("-id").first()


def parcel_documents(
    export_list: ExportList,
) -> tuple[ExportOrder | None, ExportPaymentReceipt | None, ExportWaybill | None]:
    order = _declared(
        ExportOrder.objects.filter(ebp_code=export_list.ebp_code, order_no=export_list.order_no).prefetch_related(
            "items"
        )
    )
    receipt = _declared(
        ExportPaymentReceipt.objects.filter(ebc_code=export_list.ebc_code, order_no=export_list.order_no)
    )
    waybill = _declared(
        ExportWaybill.objects.filter(logistics_code=export_list.logistics_code, logistics_no=export_list.logistics_no)
    )
    return order, receipt, waybill


def _refused_by_customs(status: str) -> bool:
    return status in REFUSED or status.startswith("-")


def _items(export_list: ExportList, order: ExportOrder) -> list[Failure]:
    ours = {line.gnum: line for line in export_list.items.all()}
    theirs = {line.gnum: line for line in order.items.all()}
    failures = [
        Failure(ITEMS_MATCH, field="gnum", gnum=gnum, list_value=str(gnum), other_value="")
        for gnum in sorted(ours.keys() - theirs.keys())
    ]
    failures += [
        Failure(ITEMS_MATCH, field="gnum", gnum=gnum, list_value="", other_value=str(gnum))
        for gnum in sorted(theirs.keys() - ours.keys())
    ]
    for gnum in sorted(ours.keys() & theirs.keys()):
        for name in ITEM_FIELDS:
            mine, other = getattr(ours[gnum], name), getattr(theirs[gnum], name)
            if mine != other:
                failures.append(
                    Failure(
                        ITEMS_MATCH,
                        field=f"items[gnum={gnum}].{name}",
                        gnum=gnum,
                        list_value=str(mine),
                        other_value=str(other),
                    )
                )
    return failures


def _receipt(order: ExportOrder, receipt: ExportPaymentReceipt, export_list: ExportList) -> list[Failure]:
    failures = []
    if receipt.ebp_code != export_list.ebp_code:
        failures.append(Failure(RECEIPT_MATCHES, "ebp_code", None, export_list.ebp_code, receipt.ebp_code))
    if receipt.currency != order.currency:
        failures.append(Failure(RECEIPT_MATCHES, "currency", None, order.currency, receipt.currency))
    expected = order.goods_value + order.freight
    if receipt.charge != expected:
        failures.append(
            Failure(RECEIPT_MATCHES, "charge", None, str(expected.normalize()), str(receipt.charge.normalize()))
        )
    return failures


def _waybill(waybill: ExportWaybill, export_list: ExportList) -> list[Failure]:
    pairs: list[tuple[str, object, object]] = [
        ("freight", export_list.freight, waybill.freight),
        ("f_currency", export_list.f_currency, waybill.currency),
        ("gross_weight", export_list.gross_weight, waybill.gross_weight),
        ("pack_no", export_list.pack_no, waybill.pack_no),
    ]
    if waybill.ebc_code:
        pairs.append(("ebc_code", export_list.ebc_code, waybill.ebc_code))
    return [
        Failure(WAYBILL_MATCHES, name, None, _text(mine), _text(other)) for name, mine, other in pairs if mine != other
    ]


def _text(value: object) -> str:
    return str(value.normalize()) if isinstance(value, Decimal) else str(value)


def evaluate(export_list: ExportList) -> tuple[list[str], list[Failure]]:
    """What the list waits for, and the rules it fails, against its parcel's documents as stored."""
    order, receipt, waybill = parcel_documents(export_list)
    waiting = []
    if order is None:
        waiting.append("order")
    if receipt is None and export_list.trade_mode in RECEIPT_REQUIRED:
        waiting.append("receipt")
    if waybill is None:
        waiting.append("waybill")
    failures: list[Failure] = []
    if order is not None:
        if order.ebc_code != export_list.ebc_code:
            failures.append(Failure(ORDER_ENTERPRISE, "ebc_code", None, export_list.ebc_code, order.ebc_code))
        wanted = ORDER_TYPE_OF_MODE.get(export_list.trade_mode)  # type: ignore[call-overload]
        if wanted is not None and order.order_type != wanted:
            failures.append(Failure(ORDER_TYPE, "trade_mode", None, export_list.trade_mode, order.order_type))
        failures += _items(export_list, order)
        if receipt is not None and export_list.trade_mode in RECEIPT_REQUIRED:
            failures += _receipt(order, receipt, export_list)
    if waybill is not None:
        failures += _waybill(waybill, export_list)
    for name, document in (("order", order), ("receipt", receipt), ("waybill", waybill)):
        if document is not None and _refused_by_customs(document.customs_status):
            failures.append(Failure(CUSTOMS_REFUSED, name, None, "", document.customs_status))
    return waiting, failures


def export_list_evaluate(*, export_list: ExportList) -> None:
    """Check a list waiting for its documents (or failed) and move it: waiting, failed, or
    matched and on to the declare step. Runs in the caller's transaction."""
    waiting, failures = evaluate(export_list)
    stored = [failure.as_dict() for failure in failures]
    if failures:
        target = ExportListStatus.MATCH_FAILED
    elif waiting:
        target = ExportListStatus.PENDING_DOCUMENTS
    else:
        target = ExportListStatus.MATCHED
    lifecycle.export_list_transition(
        export_list=export_list,
        to=target,
        note=", ".join(sorted({f.rule for f in failures})) or ("waiting for " + ", ".join(waiting) if waiting else ""),
        fields={"waiting_for": waiting, "match_failures": stored},
    )
    events.export_list_check_result(
        export_list=export_list, failed_rules=[f.rule for f in failures], waiting_for=waiting
    )
    if target == ExportListStatus.MATCHED:
        declare.export_list_declare(export_list=export_list)


def documents_changed(*, kind: ExportKind, document: Any) -> None:
    """An order, receipt or waybill of a parcel was stored: its lists still waiting (or failed)
    are checked again."""
    if kind.name in ("export_order", "export_receipt"):
        lookup = Q(ebp_code=document.ebp_code, order_no=document.order_no)
        if kind.name == "export_receipt":
            lookup = Q(ebc_code=document.ebc_code, order_no=document.order_no)
    elif kind.name == "export_waybill":
        lookup = Q(logistics_code=document.logistics_code, logistics_no=document.logistics_no)
    else:
        return
    for export_list in ExportList.objects.filter(lookup, status__in=RECHECKED).select_for_update().order_by("id"):
        export_list_evaluate(export_list=export_list)


# --- Refusals at intake ---------------------------------------------------------------------------


def _list_refusals(data: dict[str, Any]) -> list[FieldError]:
    if parcel_departed(logistics_code=data["logistics_code"], logistics_no=data["logistics_no"]):
        return [
            FieldError(
                "logistics_no",
                codes.EXPORT_PARCEL_DEPARTED,
                _("The parcel has left the country (a departure names it): no list may be declared for it."),
            )
        ]
    if parcel_summarised(
        ebp_code=data["ebp_code"],
        order_no=data["order_no"],
        logistics_code=data["logistics_code"],
        logistics_no=data["logistics_no"],
    ):
        return [
            FieldError(
                "order_no",
                codes.EXPORT_PARCEL_SUMMARISED,
                _("The parcel's list was summarised into a customs declaration: no list may be declared for it."),
            )
        ]
    return []


def _departure_refusals(data: dict[str, Any]) -> list[FieldError]:
    problems: list[FieldError] = []
    logistics_code = data["logistics_code"]
    numbers = [line["logistics_no"] for line in data.get("items", [])]
    arrived = set(
        ExportArrivalItem.objects.filter(
            logistics_no__in=numbers,
            arrival__logistics_code=logistics_code,
            arrival__status=DocumentStatus.DECLARED,
        )
        .exclude(arrival__customs_status__in=REFUSED)
        .exclude(arrival__customs_status__startswith="-")
        .values_list("logistics_no", flat=True)
    )
    released = set(
        ExportList.objects.filter(
            logistics_code=logistics_code, logistics_no__in=numbers, status__in=RELEASED_STATES
        ).values_list("logistics_no", flat=True)
    )
    for index, number in enumerate(numbers):
        field = f"items[{index}].logistics_no"
        if number not in arrived:
            problems.append(
                FieldError(
                    field,
                    codes.EXPORT_DEPARTURE_NOT_ARRIVED,
                    _("The parcel has not arrived at the supervised site (no arrival names it)."),
                )
            )
        elif number not in released:
            problems.append(
                FieldError(field, codes.EXPORT_DEPARTURE_NOT_RELEASED, _("Customs has not released the parcel's list."))
            )
    return problems


def _master_bill_refusals(data: dict[str, Any]) -> list[FieldError]:
    """Each parcel a master bill groups has an export list of its declaring agent."""
    numbers = [line["logistics_no"] for line in data.get("items", [])]
    listed = set(
        ExportList.objects.filter(
            agent_code=data["agent_code"], logistics_code=data["logistics_code"], logistics_no__in=numbers
        )
        .exclude(status=ExportListStatus.DELETED)
        .values_list("logistics_no", flat=True)
    )
    return [
        FieldError(
            f"items[{index}].logistics_no",
            codes.EXPORT_MASTER_BILL_UNKNOWN_LIST,
            _("The declaring agent has no export list for this parcel."),
        )
        for index, number in enumerate(numbers)
        if number not in listed
    ]


def refusals(*, kind: ExportKind, data: dict[str, Any], exclude_id: int | None) -> list[FieldError]:
    """What the parcel's state refuses of a declared (appStatus 2) document; empty when nothing."""
    if kind.is_list:
        return _list_refusals(data)
    if kind.name == "export_departure":
        return _departure_refusals(data)
    if kind.name == "export_master_bill":
        return _master_bill_refusals(data)
    return []
