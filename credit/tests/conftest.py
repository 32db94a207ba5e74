"""Fixtures of the credit tests: a list's parties, a financial institution, regulators."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, User

from credit.tests.helpers import ListParties
from single_window.models import Park, RegulatorScope, Role
from single_window.roles import COMMERCE_BUREAU, CUSTOMS_OFFICER
from tests.factories import EnterpriseFactory, Persona, persona


@pytest.fixture
def list_parties(park: Park) -> ListParties:
    """The e-commerce enterprise, its declaring agent and the platform of a list, in ``park``."""
    return ListParties(
        ebc=EnterpriseFactory.create(roles=[Role.EBC], park=park, name="Seller Ltd"),
        agent=EnterpriseFactory.create(roles=[Role.AGENT], park=park, name="Broker Ltd"),
        ebp=EnterpriseFactory.create(roles=[Role.EBP], park=park, name="Platform Ltd"),
    )


@pytest.fixture
def bank(park: Park) -> Persona:
    """A financial institution with a key."""
    return persona(park=park, roles=[Role.FINANCE], name="Example Bank")


def regulator(username: str, group: str, **scope: object) -> User:
    user = User.objects.create_user(username=username, is_staff=True)
    user.groups.add(Group.objects.get(name=group))
    RegulatorScope.objects.create(user=user, **scope)
    return user


@pytest.fixture
def officer(park: Park) -> User:
    """A customs officer of the park's district."""
    return regulator("officer", CUSTOMS_OFFICER, customs_district=park.customs_district)


@pytest.fixture
def analyst(park: Park) -> User:
    """A commerce-bureau analyst of the park."""
    return regulator("analyst", COMMERCE_BUREAU, park=park)
