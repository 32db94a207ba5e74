"""Factories for the registry. Rows are made the way the product makes them where it matters:
keys through ``services.api_key_issue`` (so the plaintext exists only here), codes valid."""

from __future__ import annotations

import datetime
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import factory
from factory.django import DjangoModelFactory

from core.audit import Actor
from single_window import selectors, services
from single_window.codes import uscc_check_character
from single_window.models import ApiKey, Appointment, Enterprise, EnterpriseRole, Park, ParkKind, Role

TEST_ACTOR = Actor.system("tests")


def uscc_for(n: int) -> str:
    """A valid unified social credit code, different for every ``n``."""
    body = f"91330100MA{n:07d}"
    return body + uscc_check_character(body)


class ParkFactory(DjangoModelFactory[Park]):
    class Meta:
        model = Park

    code = factory.Sequence(lambda n: f"PARK-{n}")
    name = factory.Sequence(lambda n: f"Park {n}")
    city = "Hangzhou"
    customs_district = "2901"
    kind = ParkKind.BONDED_ZONE


class EnterpriseFactory(DjangoModelFactory[Enterprise]):
    """An active e-commerce enterprise unless told otherwise; ``roles=[...]`` sets its roles."""

    class Meta:
        model = Enterprise

    customs_code = factory.Sequence(lambda n: f"33019{n:05d}")
    uscc = factory.Sequence(uscc_for)
    name = factory.Sequence(lambda n: f"Enterprise {n}")
    status = Enterprise.Status.ACTIVE
    park = factory.SubFactory(ParkFactory)
    contact_name = "张三"
    contact_phone = "13812345678"
    contact_email = "zhangsan@example.com"

    @classmethod
    def _create(
        cls, model_class: type[Enterprise], *args: Any, roles: Iterable[str] = (Role.EBC,), **kwargs: Any
    ) -> Enterprise:
        enterprise: Enterprise = super()._create(model_class, *args, **kwargs)
        EnterpriseRole.objects.bulk_create(EnterpriseRole(enterprise=enterprise, role=role) for role in roles)
        return enterprise


def _today_plus(days: int) -> datetime.date:
    return selectors.today() + datetime.timedelta(days=days)


class AppointmentFactory(DjangoModelFactory[Appointment]):
    """An appointment in force today, from an e-commerce enterprise to a declaring agent."""

    class Meta:
        model = Appointment

    principal = factory.SubFactory(EnterpriseFactory, roles=[Role.EBC])
    agent = factory.SubFactory(EnterpriseFactory, roles=[Role.AGENT])
    valid_from = factory.LazyFunction(lambda: _today_plus(-30))
    valid_to = factory.LazyFunction(lambda: _today_plus(335))


class ApiKeyFactory(DjangoModelFactory[ApiKey]):
    """Issues a key through the service. ``ApiKeyFactory.issue(...)`` also returns the plaintext."""

    class Meta:
        model = ApiKey

    enterprise = factory.SubFactory(EnterpriseFactory)
    user = None
    name = factory.Sequence(lambda n: f"key {n}")
    throttle_rate = ""

    @classmethod
    def _create(cls, model_class: type[ApiKey], *args: Any, **kwargs: Any) -> ApiKey:  # noqa: ARG003 - factory_boy's hook
        api_key, raw_key = services.api_key_issue(
            enterprise=kwargs["enterprise"],
            user_id=kwargs["user"].pk if kwargs["user"] is not None else None,
            name=kwargs["name"],
            throttle_rate=kwargs["throttle_rate"],
            actor=TEST_ACTOR,
            enforce_limit=False,
        )
        api_key.raw_key = raw_key  # type: ignore[attr-defined]
        return api_key

    @classmethod
    def issue(cls, **kwargs: Any) -> tuple[ApiKey, str]:
        api_key = cls.create(**kwargs)
        return api_key, api_key.raw_key  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Persona:
    """An enterprise that calls the API, with a working key."""

    enterprise: Enterprise
    api_key: ApiKey
    raw_key: str

    @property
    def code(self) -> str:
        return self.enterprise.code

    @property
    def authorization(self) -> str:
        return f"Bearer {self.raw_key}"


def persona(**enterprise_fields: Any) -> Persona:
    enterprise = EnterpriseFactory.create(**enterprise_fields)
    api_key, raw_key = ApiKeyFactory.issue(enterprise=enterprise)
    return Persona(enterprise=enterprise, api_key=api_key, raw_key=raw_key)


# --- Assertions the API tests share ---------------------------------------------------------

PROBLEM_CONTENT_TYPE = "application/problem+json"


def assert_problem(response: Any, status: int, code: str) -> dict[str, Any]:
    """``response`` is RFC 9457 problem+json with this status and stable code; returns the body."""
    assert response.status_code == status, (response.status_code, response.content[:500])
    assert response["Content-Type"] == PROBLEM_CONTENT_TYPE
    body: dict[str, Any] = json.loads(response.content)
    assert {"type", "title", "status", "detail", "code"} <= body.keys(), body
    assert body["status"] == status
    assert body["code"] == code, body
    assert body["type"] == f"urn:single-window:problem:{code}"
    assert body["title"]
    assert body["detail"]
    return body
