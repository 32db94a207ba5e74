"""The trace of one export parcel (platform code + order number): its order, payment receipt,
waybill, arrival at the supervised site, export list (with every move and receipt of its
lifecycle), cancellations, master bill and departure, as far as the caller may see each.

Other parts of the export side add their own sections with ``register_trace_section`` (the
summary declaration a list went into, an export return): each is called with the parcel's list
(or None) and the viewer, and answers a JSON-ready value or None.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from declarations.export import kinds, services
from declarations.export.outputs import (
    ExportArrivalOutput,
    ExportDepartureOutput,
    ExportListCancellationOutput,
    ExportListOutput,
    ExportMasterBillOutput,
    ExportOrderOutput,
    ExportReceiptOutput,
    ExportWaybillOutput,
)
from declarations.intake.outputs import ChinaTime
from declarations.models import DocumentStatus, ExportList, ExportListStatus
from single_window.models import Enterprise

TraceSection = Callable[[ExportList | None, Enterprise], Any]
_SECTIONS: dict[str, TraceSection] = {}


def register_trace_section(name: str, section: TraceSection) -> None:
    """Add a section to every export trace (called once per name, at start-up)."""
    if name in _SECTIONS:
        msg = f"the export trace section {name!r} is already registered"
        raise ValueError(msg)
    _SECTIONS[name] = section


def unregister_trace_section(name: str) -> None:
    """Remove a section (its part is being unloaded, or a test is done with it)."""
    _SECTIONS.pop(name, None)


def _latest(queryset: Any) -> Any:
    return queryset.exclude(status=DocumentStatus.DELETED).order_by("-id").first()


def _history(export_list: ExportList) -> list[dict[str, Any]]:
    time = ChinaTime()
    return [
        {
            "from_status": change.from_status,
            "to_status": change.to_status,
            "source": change.source,
            "receipt_code": change.receipt_code,
            "applied": change.applied,
            "note": change.note,
            "at": time.to_representation(change.created_at),
        }
        for change in export_list.status_changes.order_by("created_at", "id")
    ]


def export_parcel_trace(*, viewer: Enterprise, ebp_code: str, order_no: str) -> dict[str, Any] | None:
    """The parcel as ``viewer`` may see it; None when it may see none of its documents."""
    context = {"viewer": viewer}
    order = _latest(services.visible_to(kinds.ORDER, viewer).filter(ebp_code=ebp_code, order_no=order_no))
    export_list: ExportList | None = _latest(
        services.visible_to(kinds.LIST, viewer).filter(ebp_code=ebp_code, order_no=order_no)
    )
    # The list names the waybill; without one visible, the order's own seller's receipt still shows.
    any_list = (
        ExportList.objects.filter(ebp_code=ebp_code, order_no=order_no)
        .exclude(status=ExportListStatus.DELETED)
        .order_by("-id")
        .first()
    )
    named = export_list or order or any_list
    ebc_code = named.ebc_code if named is not None else ""
    receipt = _latest(services.visible_to(kinds.RECEIPT, viewer).filter(ebc_code=ebc_code, order_no=order_no))
    waybill = arrival = departure = master_bill = None
    if any_list is not None:
        parcel = {"logistics_code": any_list.logistics_code, "logistics_no": any_list.logistics_no}
        waybill = _latest(services.visible_to(kinds.WAYBILL, viewer).filter(**parcel))
        arrival = _latest(
            services.visible_to(kinds.ARRIVAL, viewer).filter(
                logistics_code=any_list.logistics_code, items__logistics_no=any_list.logistics_no
            )
        )
        departure = _latest(
            services.visible_to(kinds.DEPARTURE, viewer).filter(
                logistics_code=any_list.logistics_code, items__logistics_no=any_list.logistics_no
            )
        )
        master_bill = _latest(
            services.visible_to(kinds.MASTER_BILL, viewer).filter(
                agent_code=any_list.agent_code, items__logistics_no=any_list.logistics_no
            )
        )
    found = (order, receipt, waybill, arrival, export_list, departure, master_bill)
    if all(document is None for document in found):
        return None
    list_answer = None
    if export_list is not None:
        list_answer = {
            **ExportListOutput(export_list, context=context).data,
            "history": _history(export_list),
            "cancellations": [
                ExportListCancellationOutput(cancellation).data
                for cancellation in export_list.cancellations.order_by("id")
            ],
        }
    trace: dict[str, Any] = {
        "ebp_code": ebp_code,
        "order_no": order_no,
        "order": ExportOrderOutput(order, context=context).data if order else None,
        "receipt": ExportReceiptOutput(receipt, context=context).data if receipt else None,
        "waybill": ExportWaybillOutput(waybill, context=context).data if waybill else None,
        "arrival": ExportArrivalOutput(arrival, context=context).data if arrival else None,
        "export_list": list_answer,
        "master_bill": ExportMasterBillOutput(master_bill, context=context).data if master_bill else None,
        "departure": ExportDepartureOutput(departure, context=context).data if departure else None,
    }
    for name, section in _SECTIONS.items():
        trace[name] = section(export_list, viewer)
    return trace
