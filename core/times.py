"""China Standard Time, as the product writes it (docs/conventions.md, "Times").

Answers, events and webhooks carry ISO 8601 with ``+08:00``; fields of the customs documents
carry the specification's ``YYYYMMDDhhmmss`` in China Standard Time. Writing either through
these helpers keeps the result independent of the process's current time zone (a
``timezone.activate`` somewhere would otherwise change what ``localtime`` gives).
"""

from __future__ import annotations

import datetime
from typing import Any
from zoneinfo import ZoneInfo

from django.core.serializers.json import DjangoJSONEncoder

CHINA_TZ = ZoneInfo("Asia/Shanghai")
CEB_TIME_FORMAT = "%Y%m%d%H%M%S"


def china_time(dt: datetime.datetime) -> datetime.datetime:
    """The same instant in Asia/Shanghai.

    A naive value is refused: ``astimezone`` would read it in the server's local zone and
    silently shift it by eight hours on a UTC host.
    """
    if dt.tzinfo is None or dt.utcoffset() is None:
        msg = f"china_time needs an aware datetime, got naive {dt!r}"
        raise ValueError(msg)
    return dt.astimezone(CHINA_TZ)


def iso_china(dt: datetime.datetime) -> str:
    """ISO 8601 with ``+08:00``; fractions of a second only when the value has them."""
    return china_time(dt).isoformat()


def ceb_time(dt: datetime.datetime, *, milliseconds: bool = False) -> str:
    """``YYYYMMDDhhmmss`` in China Standard Time, as customs messages write times.

    ``milliseconds=True`` appends ``SSS``, the form of a receipt's ``returnTime``.
    """
    local = china_time(dt)
    text = local.strftime(CEB_TIME_FORMAT)
    return f"{text}{local.microsecond // 1000:03d}" if milliseconds else text


def parse_ceb_time(text: str) -> datetime.datetime:
    """The aware instant of a ``YYYYMMDDhhmmss`` China Standard Time; ``ValueError`` otherwise."""
    if len(text) != len("YYYYMMDDhhmmss") or not (text.isascii() and text.isdigit()):
        msg = f"{text!r} is not YYYYMMDDhhmmss"
        raise ValueError(msg)
    return datetime.datetime.strptime(text, CEB_TIME_FORMAT).replace(tzinfo=CHINA_TZ)


class ChinaJSONEncoder(DjangoJSONEncoder):
    """``DjangoJSONEncoder`` writing an aware datetime as ``iso_china`` does.

    Django's encoder writes the value's own offset, and a datetime read from the database (or
    made by ``timezone.now()``) is in UTC, so a payload would carry ``Z``: event payloads are
    made plain with this encoder so that every time they carry has ``+08:00``.
    """

    def default(self, o: Any) -> Any:
        if isinstance(o, datetime.datetime) and o.tzinfo is not None and o.utcoffset() is not None:
            return iso_china(o)
        return super().default(o)
