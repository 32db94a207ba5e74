"""Fixtures for every test directory (core/, single_window/, tests/ and the other apps).

Personas, after healthchecks' ``hc/test.py``: an ``owner`` (an active e-commerce enterprise),
its ``partner`` (the declaring agent it appointed, in the same trade) and an ``outsider`` who
must see nothing of either. Each holds a working key; ``client_for(persona)`` calls as it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from declarations.reference import tables
from declarations.tests import conftest as declaration_fixtures
from finance import guarantees
from risk import credit_classes, rulebook
from single_window import registry_cache
from single_window.models import Appointment, Park, Role
from tests.clients import CommittingAPIClient
from tests.factories import ApiKeyFactory, AppointmentFactory, ParkFactory, Persona, persona
from tests.fake_receiver import FakeReceiver, fake_receiver

# What the root conftest.py re-exports to the other test directories.
__all__ = [
    "api_client",
    "appointment",
    "client_for",
    "django_db_serialized_rollback",
    "empty_cache",
    "outsider",
    "outsider_client",
    "owner",
    "owner_client",
    "park",
    "partner",
    "partner_client",
    "webhook_receiver",
]


@pytest.fixture(autouse=True)
def django_db_serialized_rollback() -> None:
    """Every test that commits (``transaction=True``, ``live_server``) gives back the data the
    migrations made (regulators' groups, the sample reference tables) when it ends.

    Without it the flush after such a test empties those tables and the next test that commits
    finds the groups recreated under other ids. pytest-django serialises the rollback for any
    test that has this fixture; autouse gives it to all (tests that don't commit ignore it).
    """


@pytest.fixture(autouse=True)
def empty_cache() -> Iterator[None]:
    """Throttle counters live in the (Redis) cache; registry rows, reference tables, credit
    classes, guarantors' cover and risk's rulebook in the process's own: every test starts with none (rows another
    test rolled back are never served)."""
    caches = (
        registry_cache.CACHE,
        tables.REFERENCE_CACHE,
        credit_classes.CACHE,
        guarantees.COVER_CACHE,
        rulebook.CACHE,
    )
    cache.clear()
    for kept in caches:
        kept.reset()
    yield
    cache.clear()
    for kept in caches:
        kept.reset()


@pytest.fixture
def api_client() -> APIClient:
    """A client without credentials."""
    return CommittingAPIClient()


@pytest.fixture
def client_for() -> Callable[[Persona], APIClient]:
    """``client_for(persona)``: a client that sends the persona's key."""

    def make(who: Persona) -> APIClient:
        client = CommittingAPIClient()
        client.credentials(HTTP_AUTHORIZATION=who.authorization)
        return client

    return make


@pytest.fixture
def park(db: None) -> Park:
    return ParkFactory.create(customs_district="2901")


@pytest.fixture
def owner(park: Park) -> Persona:
    """An active e-commerce enterprise with a key."""
    return persona(park=park, roles=[Role.EBC], name="Owner Seller Ltd")


@pytest.fixture
def appointment(owner: Persona, park: Park) -> Appointment:
    """The owner's appointment of its declaring agent, in force today."""
    return AppointmentFactory.create(principal=owner.enterprise, agent__park=park, agent__name="Partner Broker Ltd")


@pytest.fixture
def partner(appointment: Appointment) -> Persona:
    """The declaring agent the owner appointed, with a key."""
    api_key, raw_key = ApiKeyFactory.issue(enterprise=appointment.agent)
    return Persona(enterprise=appointment.agent, api_key=api_key, raw_key=raw_key)


@pytest.fixture
def outsider(db: None) -> Persona:
    """An active enterprise in another park, named in nothing of the owner's."""
    return persona(park=ParkFactory.create(customs_district="3104"), roles=[Role.EBC, Role.AGENT], name="Outsider Ltd")


@pytest.fixture
def owner_client(owner: Persona, client_for: Callable[[Persona], APIClient]) -> APIClient:
    return client_for(owner)


@pytest.fixture
def partner_client(partner: Persona, client_for: Callable[[Persona], APIClient]) -> APIClient:
    return client_for(partner)


@pytest.fixture
def outsider_client(outsider: Persona, client_for: Callable[[Persona], APIClient]) -> APIClient:
    return client_for(outsider)


@pytest.fixture
def webhook_receiver() -> Iterator[FakeReceiver]:
    """A local HTTP server that records requests and answers scripted statuses (``answer(...)``)."""
    with fake_receiver() as receiver:
        yield receiver


# The declaration tests' fixtures, for the cross-app tests here (not re-exported by the root
# conftest): the demo parcel's parties, a client for each and ``send`` (posts a document as its sender).
agent = declaration_fixtures.agent
agent_appointment = declaration_fixtures.agent_appointment
clients = declaration_fixtures.clients
ebc = declaration_fixtures.ebc
ebp = declaration_fixtures.ebp
logistics = declaration_fixtures.logistics
parties = declaration_fixtures.parties
pay = declaration_fixtures.pay
reference_data = declaration_fixtures.reference_data
reseed_after_flush = declaration_fixtures.reseed_after_flush
send = declaration_fixtures.send
