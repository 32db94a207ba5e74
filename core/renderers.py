"""JSON answers, rendered by orjson: the bytes DRF's renderer writes (compact, UTF-8, no ASCII
escaping), in a fraction of the time."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from rest_framework import renderers
from rest_framework.utils.encoders import JSONEncoder

# DRF's own encoder for what orjson leaves to ``default``: dates and times (passed through, so
# they are written as DRF writes them), decimals, lazy translations, UUIDs, iterables.
_DRF_ENCODER = JSONEncoder()
_OPTIONS = orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATETIME


class JSONRenderer(renderers.JSONRenderer):
    """DRF's JSON renderer (media type, charset) with orjson doing the work; an indented answer,
    when a client asks for one, is left to DRF."""

    def render(
        self, data: Any, accepted_media_type: str | None = None, renderer_context: Mapping[str, Any] | None = None
    ) -> bytes:
        if data is None:
            return b""
        if self.get_indent(accepted_media_type or "", renderer_context or {}):
            return super().render(data, accepted_media_type, renderer_context)
        return orjson.dumps(data, default=_DRF_ENCODER.default, option=_OPTIONS)


class CSVRenderer(renderers.BaseRenderer):
    """Lets a view offer CSV (``Accept: text/csv`` or ``?format=csv``); the view builds the
    file itself (``core.csv.csv_response``), and an error is written as its JSON problem."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(
        self, data: Any, accepted_media_type: str | None = None, renderer_context: Mapping[str, Any] | None = None
    ) -> bytes:
        if data is None:
            return b""
        if isinstance(data, bytes):
            return data
        return orjson.dumps(data, default=_DRF_ENCODER.default, option=_OPTIONS)
