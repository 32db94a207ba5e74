"""What a declared list waits for. Every document of a parcel that arrives lands here."""

from __future__ import annotations

from django.db.models import Q

from declarations.models import Declaration, DocumentStatus, Inventory, InventoryStatus, Order, Payment, Waybill


def missing_documents(inventory: Inventory) -> list[str]:
    """The documents of the list's parcel not yet declared: order, payment, waybill."""
    declared = Q(status=DocumentStatus.DECLARED)
    missing = []
    if not Order.objects.filter(declared, ebp_code=inventory.ebp_code, order_no=inventory.order_no).exists():
        missing.append("order")
    if not Payment.objects.filter(declared, ebp_code=inventory.ebp_code, order_no=inventory.order_no).exists():
        missing.append("payment")
    if not Waybill.objects.filter(
        declared, logistics_code=inventory.logistics_code, logistics_no=inventory.logistics_no
    ).exists():
        missing.append("waybill")
    return missing


def documents_changed(*, kind: str, document: Declaration) -> None:
    """Refresh ``waiting_for`` of the lists a new or changed document belongs to."""
    pending = Inventory.objects.filter(status=InventoryStatus.PENDING_DOCUMENTS)
    if kind == "inventory":
        lists = pending.filter(pk=document.pk)
    elif kind == "waybill":
        lists = pending.filter(logistics_code=document.logistics_code, logistics_no=document.logistics_no)  # type: ignore[attr-defined]
    else:
        lists = pending.filter(ebp_code=document.ebp_code, order_no=document.order_no)  # type: ignore[attr-defined]
    for inventory in lists.select_for_update():
        waiting_for = missing_documents(inventory)
        if waiting_for != inventory.waiting_for:
            inventory.waiting_for = waiting_for
            inventory.save(update_fields=["waiting_for", "updated_at"])
    if kind == "inventory" and document.status != InventoryStatus.PENDING_DOCUMENTS:  # type: ignore[attr-defined]
        Inventory.objects.filter(pk=document.pk).exclude(waiting_for=[]).update(waiting_for=[])
