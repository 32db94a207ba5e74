"""The demo parcel's parties, as ``declarations/examples.py`` names them, and clients for each.

- ``ebp`` 3301960001 (platform), ``ebc`` 3301960002 (e-commerce enterprise), ``pay``
  3301960003 (payment), ``logistics`` 3301960004 (logistics), ``agent`` 3301960005 (the
  declaring agent ``ebc`` appointed, ``agent_appointment``);
- ``outsider`` (from the root conftest): an active enterprise named in none of the documents.

``send(kind, ...)`` posts a document as the party responsible for it; the reference rows the
examples need exist in every test that uses a party.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import pytest
from django.db import connections
from pytest_django import DjangoDbBlocker
from rest_framework.test import APIClient

from declarations.intake import examples
from declarations.models import CountryCode, PositiveListEntry, UnitCode
from declarations.tests.helpers import AGENT_CODE, EBC_CODE, EBP_CODE, LOGISTICS_CODE, PAY_CODE, SENDER_OF, Send, url
from single_window import selectors
from single_window.models import Appointment, Park, Role
from tests.factories import ApiKeyFactory, AppointmentFactory, EnterpriseFactory, Persona

if TYPE_CHECKING:
    from rest_framework.response import _MonkeyPatchedResponse as ApiResponse


@pytest.fixture(scope="session")
def reseed_after_flush(django_db_setup: None, django_db_blocker: DjangoDbBlocker) -> Iterator[None]:
    """For tests that commit (``transaction=True``, ``serialized_rollback=True``).

    Such a test ends with a flush, which also empties the tables the migrations seed (the
    sample reference data); ``serialized_rollback`` restores them only when the next such test
    starts. Restore them when the session ends too, or a run with ``--reuse-db`` starts without.
    """
    yield
    with django_db_blocker.unblock():
        for alias in connections:
            contents = getattr(connections[alias], "_test_serialized_contents", None)
            if contents:
                connections[alias].creation.deserialize_db_from_string(contents)


@pytest.fixture
def reference_data(db: None) -> None:
    """The code table rows and positive list lines the example documents use.

    The sample seed (migration 0002) may hold them already; ``get_or_create`` adds what is missing.
    """
    for tariff_line, name in (("33049900", "其他美容品或化妆品 Other beauty products"), ("19011010", "婴幼儿配方奶粉")):
        PositiveListEntry.objects.get_or_create(tariff_line=tariff_line, defaults={"name": name})
    for code, zh, en in (("007", "个", "piece"), ("035", "千克", "kilogram")):
        UnitCode.objects.get_or_create(code=code, defaults={"name_zh": zh, "name_en": en})
    for code, zh, en in (("116", "日本", "Japan"), ("601", "澳大利亚", "Australia"), ("142", "中国", "China")):
        CountryCode.objects.get_or_create(code=code, defaults={"name_zh": zh, "name_en": en})


def _party(park: Park, code: str, role: str, name: str) -> Persona:
    enterprise = EnterpriseFactory.create(customs_code=code, roles=[role], name=name, park=park)
    api_key, raw_key = ApiKeyFactory.issue(enterprise=enterprise)
    return Persona(enterprise=enterprise, api_key=api_key, raw_key=raw_key)


@pytest.fixture
def ebp(park: Park, reference_data: None) -> Persona:
    return _party(park, EBP_CODE, Role.EBP, examples.ORDER["ebp_name"])


@pytest.fixture
def ebc(park: Park, reference_data: None) -> Persona:
    return _party(park, EBC_CODE, Role.EBC, examples.ORDER["ebc_name"])


@pytest.fixture
def pay(park: Park, reference_data: None) -> Persona:
    return _party(park, PAY_CODE, Role.PAY, examples.PAYMENT["pay_name"])


@pytest.fixture
def logistics(park: Park, reference_data: None) -> Persona:
    return _party(park, LOGISTICS_CODE, Role.LOGISTICS, examples.WAYBILL["logistics_name"])


@pytest.fixture
def agent(park: Park, reference_data: None) -> Persona:
    return _party(park, AGENT_CODE, Role.AGENT, examples.INVENTORY["agent_name"])


@pytest.fixture
def agent_appointment(ebc: Persona, agent: Persona) -> Appointment:
    """``ebc`` appointed ``agent`` to declare its lists; in force today."""
    today = selectors.today()
    return AppointmentFactory.create(
        principal=ebc.enterprise,
        agent=agent.enterprise,
        valid_from=today - datetime.timedelta(days=30),
        valid_to=today + datetime.timedelta(days=335),
    )


@pytest.fixture
def parties(request: pytest.FixtureRequest, agent_appointment: Appointment) -> dict[str, Persona]:
    """Every party of the demo parcel, by role name; the agent holds its appointment."""
    return {name: request.getfixturevalue(name) for name in ("ebp", "ebc", "pay", "logistics", "agent")}


@pytest.fixture
def ebp_client(ebp: Persona, client_for: Callable[[Persona], APIClient]) -> APIClient:
    return client_for(ebp)


@pytest.fixture
def ebc_client(ebc: Persona, client_for: Callable[[Persona], APIClient]) -> APIClient:
    return client_for(ebc)


@pytest.fixture
def pay_client(pay: Persona, client_for: Callable[[Persona], APIClient]) -> APIClient:
    return client_for(pay)


@pytest.fixture
def logistics_client(logistics: Persona, client_for: Callable[[Persona], APIClient]) -> APIClient:
    return client_for(logistics)


@pytest.fixture
def agent_client(agent: Persona, client_for: Callable[[Persona], APIClient]) -> APIClient:
    return client_for(agent)


@pytest.fixture
def clients(
    parties: dict[str, Persona], outsider: Persona, client_for: Callable[[Persona], APIClient]
) -> dict[str, APIClient]:
    """An authenticated client per party, and one for the ``outsider``."""
    made = {name: client_for(who) for name, who in parties.items()}
    made["outsider"] = client_for(outsider)
    return made


@pytest.fixture
def send(clients: dict[str, APIClient]) -> Send:
    """``send(kind)`` posts the example document as its sender.

    ``data`` replaces the whole document, ``**changes`` change fields of the example's head,
    ``by`` names another caller (a party or ``"outsider"``), ``key`` sets ``Idempotency-Key``."""

    def post(
        kind: str, data: dict[str, Any] | None = None, *, by: str | None = None, key: str | None = None, **changes: Any
    ) -> ApiResponse:
        body = data if data is not None else examples.document(kind, **changes)
        headers: dict[str, Any] = {"HTTP_IDEMPOTENCY_KEY": key} if key is not None else {}
        return clients[by or SENDER_OF[kind]].post(url(kind), body, format="json", **headers)

    return post
