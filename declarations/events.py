"""What the declarations tell the enterprises concerned, through the hub's event feed.

Each helper runs inside the transaction of the change it reports (``event_publish`` asserts
it), so an event exists exactly when its change committed. Payloads carry ids, business keys,
statuses and rule codes, never the buyer's name, phone, address or ID number.

A list concerns its sender (the declaring agent or the e-commerce enterprise itself) and the
e-commerce enterprise it names; both hear of it, in enterprise-id order so that two
transactions lock the enterprises' event counters in the same order.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from declarations.event_types import (
    ARRIVAL_ANSWERED,
    DOCUMENT_ACCEPTED,
    INVENTORY_CANCELLATION_ANSWERED,
    INVENTORY_MATCHING_RESULT,
    INVENTORY_RETURN_ANSWERED,
    INVENTORY_RETURNED_FOR_CORRECTION,
    INVENTORY_RISK_BLOCKED,
    INVENTORY_RISK_CLEARED,
    INVENTORY_RISK_REVIEW,
    INVENTORY_STATUS_CHANGED,
    WAYBILL_DELIVERY_ANSWERED,
)
from declarations.models import ArrivalManifest, Inventory, InventoryReturn, WaybillDeliveryNotice
from single_window.events import event_publish
from single_window.models import Enterprise
from single_window.selectors import enterprise_get_by_code

if TYPE_CHECKING:
    # For the annotation only: the registry imports the intake's codes, whose lifecycle
    # reports through this module.
    from declarations.kinds import DocumentType


def _inventory_parties(inventory: Inventory) -> list[Enterprise]:
    parties = {inventory.sender_id: inventory.sender}
    ebc = enterprise_get_by_code(code=inventory.ebc_code) if inventory.ebc_code else None
    if ebc is not None:
        parties.setdefault(ebc.pk, ebc)
    return [parties[pk] for pk in sorted(parties)]


def _inventory_keys(inventory: Inventory) -> dict[str, Any]:
    return {
        "inventory_id": inventory.pk,
        "cop_no": inventory.cop_no,
        "invt_no": inventory.invt_no,
        "ebp_code": inventory.ebp_code,
        "order_no": inventory.order_no,
        "ebc_code": inventory.ebc_code,
        "agent_code": inventory.agent_code,
    }


def _publish_to_parties(inventory: Inventory, event_type: str, payload: dict[str, Any]) -> None:
    for enterprise in _inventory_parties(inventory):
        event_publish(enterprise=enterprise, type=event_type, payload=payload, subject=f"inventory:{inventory.pk}")


def inventory_status_changed(*, inventory: Inventory, from_status: str, to_status: str) -> None:
    payload = {**_inventory_keys(inventory), "from_status": from_status, "to_status": to_status}
    _publish_to_parties(inventory, INVENTORY_STATUS_CHANGED, payload)


def inventory_matching_result(*, inventory: Inventory, failed_rules: list[str]) -> None:
    payload = {**_inventory_keys(inventory), "passed": not failed_rules, "failed_rules": sorted(set(failed_rules))}
    _publish_to_parties(inventory, INVENTORY_MATCHING_RESULT, payload)


def document_accepted(*, kind: DocumentType, document: Any, created: bool) -> None:
    """The single window stored a submission (a new document, a change or a deletion)."""
    payload = {
        "kind": kind.name,
        "document_id": document.pk,
        "key": str(document),
        "version": document.version,
        "app_type": document.app_type,
        "status": document.status,
        "created": created,
    }
    event_publish(
        enterprise=document.sender, type=DOCUMENT_ACCEPTED, payload=payload, subject=f"{kind.name}:{document.pk}"
    )


def inventory_cancellation_answered(
    *, inventory: Inventory, cancellation_id: int, status: str, return_status: str, return_info: str
) -> None:
    """Customs answered a cancellation (CEB624): ``status`` is accepted or rejected; after a
    refusal the list stays released and a new cancellation may be asked for."""
    payload = {
        **_inventory_keys(inventory),
        "cancellation_id": cancellation_id,
        "status": status,
        "return_status": return_status,
        "return_info": return_info,
    }
    _publish_to_parties(inventory, INVENTORY_CANCELLATION_ANSWERED, payload)


def inventory_return_answered(*, inventory_return: InventoryReturn, return_status: str) -> None:
    """Customs answered a return request (CEB626): ``status`` is entered, concluded or refused;
    the list stays released. Told to the list's declaring agent and its e-commerce enterprise
    (and its sender, when another)."""
    inventory = inventory_return.inventory
    payload = {
        **_inventory_keys(inventory),
        "return_id": inventory_return.pk,
        "status": inventory_return.status,
        "return_status": return_status,
        "return_info": inventory_return.return_info[:200],
        "dutiable_value": str(inventory_return.dutiable_value),
        "quota_given_back": inventory_return.quota_given_back,
    }
    parties = {enterprise.pk: enterprise for enterprise in _inventory_parties(inventory)}
    agent = enterprise_get_by_code(code=inventory.agent_code)
    if agent is not None:
        parties.setdefault(agent.pk, agent)
    for pk in sorted(parties):
        event_publish(
            enterprise=parties[pk],
            type=INVENTORY_RETURN_ANSWERED,
            payload=payload,
            subject=f"inventory:{inventory.pk}",
        )


def inventory_risk_review(*, inventory: Inventory, reasons: list[str]) -> None:
    """A system of the declare step asked a regulator to look at the list first; ``reasons``
    are the codes of the rules that asked (no figures: those stay with the regulators)."""
    payload = {**_inventory_keys(inventory), "version": inventory.version, "reasons": reasons}
    _publish_to_parties(inventory, INVENTORY_RISK_REVIEW, payload)


def inventory_risk_blocked(*, inventory: Inventory, reasons: list[str]) -> None:
    """A system of the declare step blocked the list: it will not go to customs in this version."""
    payload = {**_inventory_keys(inventory), "version": inventory.version, "reasons": reasons}
    _publish_to_parties(inventory, INVENTORY_RISK_BLOCKED, payload)


def inventory_risk_cleared(*, inventory: Inventory) -> None:
    """A regulator approved the list in review; it is judged again and normally declared. The
    regulator's reason stays in the audit log."""
    payload = {**_inventory_keys(inventory), "version": inventory.version}
    _publish_to_parties(inventory, INVENTORY_RISK_CLEARED, payload)


def inventory_returned_for_correction(*, inventory: Inventory, reason: str) -> None:
    """A regulator returned the list for correction before it reached customs: its parties may
    send a change (appType 2), matched and judged afresh. ``reason`` is the regulator's, written
    for the enterprise."""
    payload = {**_inventory_keys(inventory), "version": inventory.version, "reason": reason[:300]}
    _publish_to_parties(inventory, INVENTORY_RETURNED_FOR_CORRECTION, payload)


def waybill_delivery_answered(*, notice: WaybillDeliveryNotice) -> None:
    """Customs answered a delivery notice (CEB514): ``status`` is answered or refused. Told to
    the logistics enterprise (by the waybill's code, else the waybill's sender)."""
    payload = {
        "notice_id": notice.pk,
        "waybill_id": notice.waybill_id,
        "logistics_code": notice.logistics_code,
        "logistics_no": notice.logistics_no,
        "status": notice.status,
        "return_status": notice.return_status,
        "return_info": notice.return_info[:200],
    }
    enterprise = enterprise_get_by_code(code=notice.logistics_code) or notice.waybill.sender
    event_publish(
        enterprise=enterprise,
        type=WAYBILL_DELIVERY_ANSWERED,
        payload=payload,
        subject=f"waybill:{notice.waybill_id}",
    )


def arrival_answered(*, manifest: ArrivalManifest) -> None:
    """Customs answered an arrival manifest (CEB712): ``status`` is answered (with customs'
    ``rkd_no``) or refused. Told to the site operator."""
    payload = {
        "arrival_id": manifest.pk,
        "cop_no": manifest.cop_no,
        "operator_code": manifest.operator_code,
        "status": manifest.status,
        "rkd_no": manifest.rkd_no,
        "return_status": manifest.return_status,
        "return_info": manifest.return_info[:200],
    }
    event_publish(
        enterprise=manifest.operator, type=ARRIVAL_ANSWERED, payload=payload, subject=f"arrival:{manifest.pk}"
    )
