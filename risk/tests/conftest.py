"""Facts for risk's tests, built directly (risk sees lists only as ``ListFacts``), and the
default rules, one of which a test switches on alone."""

from __future__ import annotations

import datetime
import itertools
from collections.abc import Callable
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest
from django.utils import timezone

from risk import credit_classes
from risk.defaults import RULES
from risk.models import RiskRule
from single_window import hashes
from single_window.declare import ItemFacts, ListFacts, ListRef

_IDS = itertools.count(900_000)
BUYER = "330106198501010013"
EBC = "3301960002"


def item(gcode: str = "1901101000", *, qty: str = "1", price: str = "100", qty1: str = "1") -> ItemFacts:
    return ItemFacts(
        gnum=1,
        gcode=gcode,
        item_record_no="",
        item_name="goods",
        qty=Decimal(qty),
        unit="122",
        qty1=Decimal(qty1),
        unit1="035",
        qty2=None,
        unit2="",
        price=Decimal(price),
        total_price=Decimal(price) * Decimal(qty),
        currency="142",
        country="502",
    )


def make_facts(
    *,
    buyer: str = BUYER,
    ebc: str = EBC,
    phone: str = "13800138000",
    address: str = "浙江省杭州市西湖区文三路1号",
    items: tuple[ItemFacts, ...] | None = None,
    gross: str = "1.2",
    trade_mode: str = "9610",
    customs: str = "2901",
    park: str = "P01",
    at: datetime.datetime | None = None,
    ref: ListRef | None = None,
) -> ListFacts:
    return ListFacts(
        ref=ref or ListRef(next(_IDS), 1),
        cop_no="COP1",
        trade_mode=trade_mode,
        ebp_code="3301960001",
        ebc_code=ebc,
        agent_code="3301960005",
        assure_code="3301960005",
        logistics_code="3301960004",
        area_code="",
        ems_no="",
        customs_code=customs,
        port_code=customs,
        park_code=park,
        buyer_hash=hashes.id_number_hash(buyer),
        consignee_phone_hash=hashes.phone_hash(phone),
        consignee_address_hash=hashes.address_hash(address),
        gross_weight=Decimal(gross),
        net_weight=Decimal(gross),
        freight=Decimal(0),
        insured_fee=Decimal(0),
        items=items or (item(),),
        tax=None,
        declared_at=at or timezone.now(),
    )


@pytest.fixture
def default_rules(db: None) -> None:
    """The seeded rules (a flush in a committing test may have emptied the table)."""
    for code, name, kind, outcome, parameters in RULES:
        RiskRule.objects.get_or_create(
            code=code, defaults={"name": name, "kind": kind, "outcome": outcome, "parameters": parameters}
        )


@pytest.fixture
def only(default_rules: None) -> Callable[..., RiskRule]:
    """Switch on one rule alone (others off), with parameters or an outcome of the test's."""

    def switch(code: str, **changes: Any) -> RiskRule:
        RiskRule.objects.exclude(code=code).update(enabled=False)
        rule = RiskRule.objects.get(code=code)
        rule.enabled = True
        for name, value in changes.items():
            setattr(rule, name, value)
        rule.save()
        return rule

    return switch


@pytest.fixture
def credit(monkeypatch: pytest.MonkeyPatch) -> dict[str, tuple[str, Decimal]]:
    """A stand-in for ``credit.selectors``: enterprise code -> (class, inspection rate)."""
    classes: dict[str, tuple[str, Decimal]] = {}

    def customs_class_of(code: str) -> Any:
        found = classes.get(code)
        return None if found is None else SimpleNamespace(code=found[0], inspection_rate=found[1])

    monkeypatch.setattr(credit_classes, "credit", SimpleNamespace(customs_class_of=customs_class_of))
    monkeypatch.setattr(credit_classes, "CACHE_SECONDS", 0)
    return classes
