"""The JSON parser of every endpoint."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework import parsers
from rest_framework.exceptions import ParseError


class JSONParser(parsers.JSONParser):
    """DRF's, with JSON nested deeper than Python can recurse refused as a parse error (400).

    ``json`` raises ``RecursionError`` for such a body (``[[[[...`` ten thousand deep), which
    DRF does not catch: every endpoint that reads JSON would answer 500.
    """

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError as exc:
            raise ParseError(_("The JSON body is nested too deeply.")) from exc
