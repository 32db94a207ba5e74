"""The parcel's locks: the documents of one parcel are stored and matched one at a time."""

from __future__ import annotations

from typing import Any

from django.db import connection


def parcel_lock(kind: str, data: dict[str, Any]) -> None:
    """Serialise the documents of one parcel until the transaction ends.

    Documents of a parcel may arrive at the same instant; without the lock each would look
    for the others before they commit, and a list would wait for documents it already has.
    A parcel is ebp_code + order_no; the waybill is found by its own key, so a list takes
    both locks (always in this order).
    """
    if connection.vendor != "postgresql":
        return
    keys = []
    if kind in ("order", "payment", "inventory"):
        keys.append(f"parcel:{data['ebp_code']}:{data['order_no']}")
    if kind in ("waybill", "inventory"):
        keys.append(f"waybill:{data['logistics_code']}:{data['logistics_no']}")
    with connection.cursor() as cursor:
        for key in keys:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", [key])
