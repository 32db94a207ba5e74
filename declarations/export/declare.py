"""The export list's declare step: a matched list is declared to customs.

1. The parcel is looked at again: a departure or a summary that came in since refuses it
   (match_failed, with the rule named);
2. a special-zone (1210) list draws its goods from the zone warehouse's account book
   (``declarations.export.stock``): a book, item or quantity it does not hold fails it
   (``export_stock_short``, with logistics' reason);
3. the list moves to ``declared`` and is handed to the gateway (signed CEB603 after commit).
"""

from __future__ import annotations

from declarations.export import codes, gateway, lifecycle, parcel, stock
from declarations.models import ExportList, ExportListStatus


def _fail(export_list: ExportList, rule: str, note: str) -> None:
    failure = {"rule": rule, "note": note[:500]} if note else {"rule": rule}
    lifecycle.export_list_transition(
        export_list=export_list,
        to=ExportListStatus.MATCH_FAILED,
        note=note,
        fields={"match_failures": [failure], "waiting_for": []},
    )


def export_list_declare(*, export_list: ExportList) -> None:
    """Declare a matched list (in the caller's transaction); see the module's steps."""
    # 1.
    if parcel.parcel_departed(logistics_code=export_list.logistics_code, logistics_no=export_list.logistics_no):
        _fail(export_list, codes.EXPORT_PARCEL_DEPARTED, "the parcel has departed")
        return
    if (
        parcel.parcel_summarised(
            ebp_code=export_list.ebp_code,
            order_no=export_list.order_no,
            logistics_code=export_list.logistics_code,
            logistics_no=export_list.logistics_no,
        )
        and export_list.status != ExportListStatus.SUMMARISED
    ):
        _fail(export_list, codes.EXPORT_PARCEL_SUMMARISED, "the parcel's list was summarised")
        return
    # 2.
    shortage = stock.draw_down(export_list=export_list)
    if shortage:
        _fail(export_list, codes.EXPORT_STOCK_SHORT, shortage)
        return
    # 3.
    lifecycle.export_list_transition(export_list=export_list, to=ExportListStatus.DECLARED, note="declared")
    gateway.export_document_mark(kind_name="export_list", document=export_list)
