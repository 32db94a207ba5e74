from __future__ import annotations

import datetime

import pytest
from django.core.exceptions import ImproperlyConfigured

from single_window import lookups

NOW = datetime.datetime(2026, 11, 25, tzinfo=datetime.UTC)


def test_a_second_payment_lookup_is_refused() -> None:
    with pytest.raises(ImproperlyConfigured, match="already registered"):
        lookups.register_payment_lookup(lookups.payments_of)


def test_without_a_registered_lookup_payments_are_not_read_as_none(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lookups, "_PAYMENT_LOOKUP", [])

    with pytest.raises(ImproperlyConfigured, match="no payment lookup"):
        lookups.payments_of(pay_code="3301960003", start=NOW, end=NOW)
