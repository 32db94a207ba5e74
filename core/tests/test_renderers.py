"""The API's JSON renderer writes what DRF's own would."""

from __future__ import annotations

import datetime
import decimal
import json
import uuid
from typing import Any

import pytest
from django.utils.translation import gettext_lazy
from rest_framework.renderers import JSONRenderer as DrfJSONRenderer

from core.renderers import JSONRenderer

VALUES: list[Any] = [
    {"amount": decimal.Decimal("12.50"), "name": "张三", "nested": [1, 2.5, None, True]},
    {"at": datetime.datetime(2026, 11, 25, 10, 2, 11, 123456, tzinfo=datetime.UTC)},
    {"at": datetime.datetime(2026, 11, 25, 10, 2, 11, tzinfo=datetime.timezone(datetime.timedelta(hours=8)))},
    {"day": datetime.date(2026, 11, 25), "wait": datetime.timedelta(seconds=90)},
    {"message": gettext_lazy("Not found."), "id": uuid.UUID("12345678-1234-5678-1234-567812345678")},
    {"codes": ("a", "b"), 7: "seven"},
]


@pytest.mark.parametrize("value", VALUES)
def test_it_writes_the_same_json_as_drf(value: Any) -> None:
    ours = JSONRenderer().render(value)

    assert json.loads(ours) == json.loads(DrfJSONRenderer().render(value))
    assert b"\\u" not in ours  # UTF-8, not escaped


def test_it_writes_nothing_for_no_data() -> None:
    assert JSONRenderer().render(None) == b""
