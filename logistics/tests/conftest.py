from __future__ import annotations

import pytest

from logistics.tests.fakes import AGENT, CARRIER, EBC, FakeHub, install
from single_window.models import Enterprise, Role
from tests.factories import EnterpriseFactory


@pytest.fixture
def hub(monkeypatch: pytest.MonkeyPatch) -> FakeHub:
    return install(monkeypatch)


@pytest.fixture
def carrier(db: None) -> Enterprise:
    return EnterpriseFactory.create(customs_code=CARRIER, roles=[Role.LOGISTICS], name="Carrier Ltd")


@pytest.fixture
def seller(db: None) -> Enterprise:
    return EnterpriseFactory.create(customs_code=EBC, roles=[Role.EBC], name="Seller Ltd")


@pytest.fixture
def agent(db: None) -> Enterprise:
    return EnterpriseFactory.create(customs_code=AGENT, roles=[Role.AGENT], name="Broker Ltd")
