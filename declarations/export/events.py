"""What the export side tells the enterprises concerned, through the hub's event feed.

Each helper runs inside the transaction of the change it reports. Payloads carry ids, business
keys, statuses and rule names only. An export list concerns its sender (the declaring agent) and
the e-commerce enterprise it names; both hear of it, in enterprise-id order.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.utils.translation import gettext_lazy as _

from declarations.models import ExportList, ExportListStatus
from single_window.event_types import register_event_type
from single_window.events import event_publish
from single_window.models import Enterprise
from single_window.selectors import enterprise_get_by_code

# The single window stored an export document (new, changed or deleted).
EXPORT_DOCUMENT_ACCEPTED = "export.document_accepted"
# Customs answered an export document the single window forwarded (CEB304/404/506/508/510/608).
EXPORT_DOCUMENT_ANSWERED = "export.document_answered"
EXPORT_LIST_STATUS_CHANGED = "export_list.status_changed"
EXPORT_LIST_CHECK_RESULT = "export_list.check_result"
EXPORT_LIST_CANCELLATION_ANSWERED = "export_list.cancellation_answered"


def register() -> None:
    """Called once, from ``DeclarationsConfig.ready``."""
    register_event_type(EXPORT_DOCUMENT_ACCEPTED, _("export document accepted"))
    register_event_type(EXPORT_DOCUMENT_ANSWERED, _("export document answered by customs"))
    register_event_type(EXPORT_LIST_STATUS_CHANGED, _("export list status changed"))
    register_event_type(EXPORT_LIST_CHECK_RESULT, _("export list check result"))
    register_event_type(EXPORT_LIST_CANCELLATION_ANSWERED, _("export list cancellation answered"))


def _list_parties(export_list: ExportList) -> list[Enterprise]:
    parties = {export_list.sender_id: export_list.sender}
    ebc = enterprise_get_by_code(code=export_list.ebc_code) if export_list.ebc_code else None
    if ebc is not None:
        parties.setdefault(ebc.pk, ebc)
    return [parties[pk] for pk in sorted(parties)]


def list_keys(export_list: ExportList) -> dict[str, Any]:
    return {
        "export_list_id": export_list.pk,
        "agent_code": export_list.agent_code,
        "cop_no": export_list.cop_no,
        "invt_no": export_list.invt_no,
        "ebp_code": export_list.ebp_code,
        "order_no": export_list.order_no,
        "ebc_code": export_list.ebc_code,
        "logistics_code": export_list.logistics_code,
        "logistics_no": export_list.logistics_no,
        "trade_mode": export_list.trade_mode,
    }


def _to_parties(export_list: ExportList, event_type: str, payload: dict[str, Any]) -> None:
    for enterprise in _list_parties(export_list):
        event_publish(enterprise=enterprise, type=event_type, payload=payload, subject=f"export_list:{export_list.pk}")


def goods_values(export_list: ExportList) -> dict[str, str]:
    """The list's goods value by currency (customs code): the sum of its items' total prices,
    as decimal strings. One query."""
    totals: dict[str, Decimal] = {}
    for currency, total_price in export_list.items.values_list("currency", "total_price"):
        totals[currency] = totals.get(currency, Decimal(0)) + total_price
    return {currency: str(totals[currency]) for currency in sorted(totals)}


def export_list_status_changed(*, export_list: ExportList, from_status: str, to_status: str) -> None:
    payload: dict[str, Any] = {**list_keys(export_list), "from_status": from_status, "to_status": to_status}
    if to_status == ExportListStatus.RELEASED:
        # What the goods released are worth, for the settlement figures of the proceeds.
        payload["goods_values"] = goods_values(export_list)
    _to_parties(export_list, EXPORT_LIST_STATUS_CHANGED, payload)


def export_list_check_result(*, export_list: ExportList, failed_rules: list[str], waiting_for: list[str]) -> None:
    payload = {
        **list_keys(export_list),
        "passed": not failed_rules and not waiting_for,
        "failed_rules": sorted(set(failed_rules)),
        "waiting_for": waiting_for,
    }
    _to_parties(export_list, EXPORT_LIST_CHECK_RESULT, payload)


def export_list_cancellation_answered(*, export_list: ExportList, cancellation_id: int, return_status: str) -> None:
    payload = {**list_keys(export_list), "cancellation_id": cancellation_id, "return_status": return_status}
    _to_parties(export_list, EXPORT_LIST_CANCELLATION_ANSWERED, payload)


def export_document_accepted(*, kind: str, document: Any, created: bool) -> None:
    payload = {
        "kind": kind,
        "document_id": document.pk,
        "key": str(document),
        "version": document.version,
        "app_type": document.app_type,
        "status": document.status,
        "created": created,
    }
    event_publish(
        enterprise=document.sender, type=EXPORT_DOCUMENT_ACCEPTED, payload=payload, subject=f"{kind}:{document.pk}"
    )


def export_document_answered(*, kind: str, document: Any, return_status: str) -> None:
    payload = {
        "kind": kind,
        "document_id": document.pk,
        "key": str(document),
        "version": document.version,
        "return_status": return_status,
    }
    event_publish(
        enterprise=document.sender, type=EXPORT_DOCUMENT_ANSWERED, payload=payload, subject=f"{kind}:{document.pk}"
    )
