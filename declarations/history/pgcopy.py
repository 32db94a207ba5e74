"""COPY into PostgreSQL: rows written in its text format, and ids taken from the tables' sequences.

A table's rows are given as text lines, columns in the order of ``columns`` (Django's column
names), separated by tabs, ``\\N`` for NULL. ``text`` escapes what the format reserves; the
values the history writes itself (digits, codes, CJK text) need no escaping.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

from django.db import connection, models, transaction

NULL = "\\N"
# What COPY's text format reserves in a value.
_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
# Bytes handed to the server at a time.
COPY_READ_SIZE = 1 << 20


class IdBlockError(RuntimeError):
    """A sequence does not count one by one, so a block of its ids can't be taken."""


def text(value: str) -> str:
    """``value`` as a COPY text field."""
    return value.translate(_ESCAPES)


def columns_of(model: type[models.Model]) -> tuple[str, ...]:
    """Every column of ``model``'s table, in the model's field order."""
    return tuple(f.column for f in model._meta.concrete_fields if f.column)


def quoted(name: str) -> str:
    return connection.ops.quote_name(name)


_sequences: dict[str, str] = {}


def _sequence(table: str) -> str:
    if table not in _sequences:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [quoted(table)])
            (name,) = cursor.fetchone()
        _sequences[table] = name
    return _sequences[table]


def reserve_ids(model: type[models.Model], count: int) -> int:
    """The first of ``count`` consecutive ids of ``model`` that no other session will be given.

    ALTER SEQUENCE locks the sequence against ``nextval`` in every other session until this
    transaction ends: no id can be handed out between reading the next value and moving the
    sequence past the block. The lock lasts three statements (its own transaction, unless the
    caller is in one already). 0 when ``count`` is 0.
    """
    if count <= 0:
        return 0
    sequence = _sequence(model._meta.db_table)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT seqincrement FROM pg_sequence WHERE seqrelid = %s::regclass", [sequence])
        (increment,) = cursor.fetchone()
        if increment != 1:
            msg = f"{sequence} counts by {increment}; a block of ids needs a sequence that counts by 1"
            raise IdBlockError(msg)
        # The sequence name comes from pg_get_serial_sequence, quoted as an identifier.
        cursor.execute(f"ALTER SEQUENCE {sequence} INCREMENT BY 1")
        cursor.execute("SELECT nextval(%s)", [sequence])
        (first,) = cursor.fetchone()
        cursor.execute("SELECT setval(%s, %s)", [sequence, first + count - 1])
    return int(first)


def encode(lines: Sequence[str]) -> bytes:
    """Lines as COPY data."""
    return ("\n".join(lines) + "\n").encode() if lines else b""


def copy_data(cursor: Any, *, table: str, columns: Sequence[str], data: bytes) -> None:
    """COPY ``data`` (``encode``) into ``table`` through ``cursor`` (a psycopg2 cursor)."""
    if not data:
        return
    names = ", ".join(quoted(c) for c in columns)
    cursor.copy_expert(f"COPY {quoted(table)} ({names}) FROM STDIN", io.BytesIO(data), size=COPY_READ_SIZE)
