"""The parcel's locks: the documents of one parcel are stored and matched one at a time."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator, Mapping
from contextvars import ContextVar
from typing import Any

from django.db import connection

from declarations.kinds import DocumentType, kind_of

# Every lock is taken in the order of its key's hash, by single documents and batches alike, so
# two requests never wait on each other's locks in a circle.
_LOCK_SQL = """
SELECT pg_advisory_xact_lock(key) FROM (
    SELECT DISTINCT hashtextextended(name, 0) AS key FROM unnest(%s::text[]) AS name
) AS keys ORDER BY key
"""

# The lock names a batch's chunk took at its start (``parcel_locks_held``): held to its commit.
_held: ContextVar[frozenset[str]] = ContextVar("parcel_locks_held", default=frozenset())


def lock_names(kind: DocumentType | str, data: Mapping[str, Any]) -> list[str]:
    """The names of the locks a document of ``kind`` with ``data`` takes."""
    return [key.lock_name(data) for key in kind_of(kind).parcel_keys]


def parcel_lock(kind: DocumentType | str, data: Mapping[str, Any]) -> None:
    """Serialise the documents of one parcel until the transaction ends.

    Documents of a parcel may arrive at the same instant; without the lock each would look
    for the others before they commit, and a list would wait for documents it already has.
    A parcel is ebp_code + order_no; the waybill is found by its own key, so a list takes
    both locks. ``kind`` may be a name. Locks a batch took already are not asked for again.
    """
    names = [name for name in lock_names(kind, data) if name not in _held.get()]
    parcel_locks_take(names)


def parcel_locks_take(names: Iterable[str]) -> None:
    """Take many documents' locks in one statement (a batch's chunk, whose transaction holds
    them to its commit); then ``parcel_locks_held`` tells ``parcel_lock`` not to ask again."""
    names = list(names)
    if connection.vendor != "postgresql" or not names:
        return
    with connection.cursor() as cursor:
        cursor.execute(_LOCK_SQL, [names])


@contextlib.contextmanager
def parcel_locks_held(names: Iterable[str]) -> Iterator[None]:
    """Inside the block ``parcel_lock`` skips ``names``: the transaction holds them already."""
    token = _held.set(_held.get() | frozenset(names))
    try:
        yield
    finally:
        _held.reset(token)
