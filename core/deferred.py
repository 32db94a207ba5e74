"""Append-only rows written together at the end of a block, in the caller's transaction.

A batch's chunk, or a customs message's receipts, records many rows no one reads back in the
same transaction: audit entries, a list's status history. Inside ``rows_deferred()`` they are
kept in memory (``row_insert``) and inserted at the block's end with one statement per model,
instead of one per row; outside such a block ``row_insert`` saves the row at once.

Only rows nothing reads in the transaction that writes them go through here; a row read back
(a receipt's duplicate check reads the receipts recorded) is saved at once.

A part of the block rolled back to a savepoint drops its rows too: take ``mark()`` before it
and call ``discard_after(mark)`` when it rolls back (``single_window.events.atomic_with_events``
does both for the events, the audit entries and these rows together).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TypeVar

from django.db import models

ModelT = TypeVar("ModelT", bound=models.Model)


@dataclass
class RowBuffer:
    """The rows recorded inside ``rows_deferred()``, not inserted yet, in the order recorded."""

    pending: list[models.Model] = field(default_factory=list)

    def mark(self) -> int:
        """A point to go back to (``discard_after``) when the work after it is rolled back."""
        return len(self.pending)

    def discard_after(self, mark: int) -> None:
        """Forget the rows recorded after ``mark`` (the change they record was rolled back)."""
        del self.pending[mark:]

    def flush(self) -> None:
        """Insert the pending rows: one ``bulk_create`` per model, each in the order recorded."""
        pending, self.pending = self.pending, []
        by_model: dict[type[models.Model], list[models.Model]] = {}
        for row in pending:
            by_model.setdefault(type(row), []).append(row)
        for model, rows in by_model.items():
            model._default_manager.bulk_create(rows)


_deferred: ContextVar[RowBuffer | None] = ContextVar("rows_deferred", default=None)


def current_row_buffer() -> RowBuffer | None:
    """The buffer of the ``rows_deferred`` block this runs in (None: outside any)."""
    return _deferred.get()


def row_insert(row: ModelT) -> ModelT:
    """Insert ``row`` (a new instance) now, or with the others when the ``rows_deferred`` block
    ends. A deferred row has no primary key until then."""
    buffer = _deferred.get()
    if buffer is None:
        row.save(force_insert=True)
    else:
        buffer.pending.append(row)
    return row


@contextlib.contextmanager
def rows_deferred() -> Iterator[RowBuffer]:
    """Insert the rows recorded inside the block together when it ends, in the caller's
    transaction. Nested, the outer block inserts them; an exception inserts nothing (its
    transaction rolls back the change they record)."""
    current = _deferred.get()
    if current is not None:
        yield current
        return
    buffer = RowBuffer()
    token = _deferred.set(buffer)
    try:
        yield buffer
    finally:
        _deferred.reset(token)
    buffer.flush()
