"""Who may call: bearer API keys, their digests, and the enterprise behind them."""

from __future__ import annotations

import datetime
import hashlib
import hmac
from collections.abc import Callable

import pytest
import time_machine
from django.conf import settings
from django.contrib.auth.models import User
from pytest_django.fixtures import Settings
from rest_framework.test import APIClient

from core import errors
from core.models import AuditEntry
from single_window import services
from single_window.models import ApiKey, Enterprise
from tests.factories import TEST_ACTOR, ApiKeyFactory, Persona, assert_problem

ME = "/api/v1/enterprises/me"
SHANGHAI = datetime.timezone(datetime.timedelta(hours=8))


def _key_rows() -> list[tuple[int, datetime.datetime | None, datetime.datetime | None]]:
    return list(ApiKey.objects.order_by("pk").values_list("pk", "last_used_at", "revoked_at"))


def test_it_answers_a_call_with_a_valid_key(owner: Persona, owner_client: APIClient) -> None:
    response = owner_client.get(ME)

    assert response.status_code == 200
    assert response.json()["code"] == owner.enterprise.customs_code
    assert ApiKey.objects.get(pk=owner.api_key.pk).last_used_at is not None


def test_it_accepts_the_scheme_in_any_case(owner: Persona, api_client: APIClient) -> None:
    api_client.credentials(HTTP_AUTHORIZATION=f"bearer {owner.raw_key}")

    assert api_client.get(ME).status_code == 200


def test_it_rejects_a_call_without_a_key(owner: Persona, api_client: APIClient) -> None:
    before = _key_rows()

    response = api_client.get(ME)

    assert_problem(response, 401, errors.NOT_AUTHENTICATED)
    assert response["WWW-Authenticate"] == 'Bearer realm="single-window"'
    assert _key_rows() == before


@pytest.mark.parametrize(
    "header",
    [
        pytest.param("Token sw_abcdefgh_0123456789abcdefghijkl", id="other-scheme"),
        pytest.param("Basic dXNlcjpwYXNzd29yZA==", id="basic"),
        pytest.param("Bearer", id="no-key"),
        pytest.param("Bearer sw_abcdefgh_0123456789abcdefghijkl extra", id="three-parts"),
        pytest.param("Bearer garbage", id="garbage-key"),
        pytest.param("Bearer sw_ABCDEFGH_0123456789abcdefghijkl", id="bad-prefix-alphabet"),
        pytest.param("Bearer sw_abcdefgh_short", id="secret-too-short"),
        pytest.param("Bearer sw_abcdefgh_" + "é" * 30, id="not-ascii"),
    ],
)
def test_it_rejects_a_malformed_authorization_header(owner: Persona, api_client: APIClient, header: str) -> None:
    before = _key_rows()
    api_client.credentials(HTTP_AUTHORIZATION=header)

    response = api_client.get(ME)

    assert_problem(response, 401, errors.AUTHENTICATION_MALFORMED)
    assert _key_rows() == before


def test_it_rejects_an_unknown_key(owner: Persona, api_client: APIClient) -> None:
    before = _key_rows()
    # Right shape, right prefix even, wrong secret.
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {owner.api_key.prefix}_{'x' * 43}")

    response = api_client.get(ME)

    assert_problem(response, 401, errors.API_KEY_INVALID)
    assert _key_rows() == before


def test_it_rejects_a_revoked_key(owner: Persona, owner_client: APIClient) -> None:
    services.api_key_revoke(api_key=owner.api_key, actor=TEST_ACTOR)
    before = _key_rows()

    response = owner_client.get(ME)

    assert_problem(response, 401, errors.API_KEY_REVOKED)
    assert _key_rows() == before


def test_it_forbids_a_suspended_enterprise(owner: Persona, owner_client: APIClient) -> None:
    Enterprise.objects.filter(pk=owner.enterprise.pk).update(status=Enterprise.Status.SUSPENDED)

    response = owner_client.get(ME)

    assert_problem(response, 403, errors.ENTERPRISE_SUSPENDED)
    assert Enterprise.objects.get(pk=owner.enterprise.pk).status == Enterprise.Status.SUSPENDED


def test_it_forbids_an_enterprise_not_yet_active(owner: Persona, owner_client: APIClient) -> None:
    Enterprise.objects.filter(pk=owner.enterprise.pk).update(status=Enterprise.Status.PENDING)

    response = owner_client.get(ME)

    assert_problem(response, 403, errors.ENTERPRISE_NOT_ACTIVE)


def test_it_keeps_a_regulators_key_off_the_enterprise_endpoints(
    django_user_model: type[User], client_for: Callable[[Persona], APIClient], owner: Persona
) -> None:
    regulator = django_user_model.objects.create_user(username="officer", is_staff=True)
    api_key, raw_key = ApiKeyFactory.issue(enterprise=None, user=regulator)

    response = client_for(Persona(enterprise=owner.enterprise, api_key=api_key, raw_key=raw_key)).get(ME)

    assert_problem(response, 403, errors.PERMISSION_DENIED)


def test_it_writes_last_used_at_at_most_once_a_minute(owner: Persona, owner_client: APIClient) -> None:
    start = datetime.datetime(2026, 11, 25, 10, 0, 0, tzinfo=SHANGHAI)

    with time_machine.travel(start, tick=False):
        assert owner_client.get(ME).status_code == 200
    assert ApiKey.objects.get(pk=owner.api_key.pk).last_used_at == start

    with time_machine.travel(start + datetime.timedelta(seconds=59), tick=False):
        assert owner_client.get(ME).status_code == 200
    assert ApiKey.objects.get(pk=owner.api_key.pk).last_used_at == start

    later = start + datetime.timedelta(minutes=1, seconds=1)
    with time_machine.travel(later, tick=False):
        assert owner_client.get(ME).status_code == 200
    assert ApiKey.objects.get(pk=owner.api_key.pk).last_used_at == later


def test_it_stores_an_hmac_sha256_digest_and_a_visible_prefix_never_the_key(owner: Persona) -> None:
    stored = ApiKey.objects.get(pk=owner.api_key.pk)
    expected = hmac.new(settings.API_KEY_HMAC_SECRET.encode(), owner.raw_key.encode(), hashlib.sha256).hexdigest()

    assert stored.digest == expected
    assert len(stored.digest) == 64
    assert owner.raw_key.startswith(f"{stored.prefix}_")
    assert stored.prefix.startswith("sw_")
    secret_part = owner.raw_key.removeprefix(f"{stored.prefix}_")
    for value in ApiKey.objects.filter(pk=stored.pk).values().get().values():
        assert secret_part not in str(value)
    assert not AuditEntry.objects.filter(after__icontains=secret_part).exists()
    assert not AuditEntry.objects.filter(after__has_key="digest").exists()


def test_a_digest_depends_on_the_server_secret(owner: Persona, settings: Settings) -> None:
    digest = services.api_key_digest(owner.raw_key)
    settings.API_KEY_HMAC_SECRET = "another-secret"

    assert services.api_key_digest(owner.raw_key) != digest
