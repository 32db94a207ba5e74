"""The parcel's locks: the documents of one parcel are stored and matched one at a time."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import connection

from declarations.kinds import DocumentType, kind_of


def parcel_lock(kind: DocumentType | str, data: Mapping[str, Any]) -> None:
    """Serialise the documents of one parcel until the transaction ends.

    Documents of a parcel may arrive at the same instant; without the lock each would look
    for the others before they commit, and a list would wait for documents it already has.
    A parcel is ebp_code + order_no; the waybill is found by its own key, so a list takes
    both locks (always in this order: ``DocumentType.parcel_keys``). ``kind`` may be a name.
    """
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        for key in kind_of(kind).parcel_keys:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", [key.lock_name(data)])
