"""Fixtures of the finance tests: the demo parcel's parties (declarations' fixtures), a second
payment company, the exchange rates the examples use, and payments to reconcile."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from declarations.tests import conftest as declaration_fixtures
from declarations.tests.helpers import Send
from finance.models import ExchangeRate
from finance.tests.helpers import DemoPayments
from single_window.models import Park, Role
from tests.factories import Persona, persona

agent = declaration_fixtures.agent
agent_appointment = declaration_fixtures.agent_appointment
clients = declaration_fixtures.clients
ebc = declaration_fixtures.ebc
ebp = declaration_fixtures.ebp
logistics = declaration_fixtures.logistics
parties = declaration_fixtures.parties
pay = declaration_fixtures.pay
reference_data = declaration_fixtures.reference_data
send = declaration_fixtures.send


@pytest.fixture
def other_pay(park: Park) -> Persona:
    """Another payment company of the area, with payments of its own."""
    return persona(park=park, roles=[Role.PAY], name="Other Pay Ltd")


@pytest.fixture
def usd_rate(db: None) -> ExchangeRate:
    """502 USD: 7.1234 CNY on 2026-11-24 (the payments' day, 11-25, has none of its own)."""
    return ExchangeRate.objects.create(
        currency="502", rate_date=datetime.date(2026, 11, 24), rate=Decimal("7.1234"), source="test"
    )


@pytest.fixture
def payments(
    parties: dict[str, Persona],
    other_pay: Persona,
    send: Send,
    client_for: Callable[[Persona], APIClient],
) -> DemoPayments:
    """Three payments of ``pay`` on 2026-11-25, each of an order of ``ebp`` sold by ``ebc``, and
    one of ``other_pay`` for an order of the same platform."""
    return DemoPayments.declare(send=send, other=client_for(other_pay), other_code=other_pay.code)
