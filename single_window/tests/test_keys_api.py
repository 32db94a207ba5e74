"""An enterprise lists, creates and revokes its own keys over the API."""

from __future__ import annotations

from collections.abc import Callable

from pytest_django.fixtures import Settings
from rest_framework.test import APIClient

from core import errors
from core.models import AuditEntry
from single_window import services
from single_window.authentication import KEY_PATTERN
from single_window.models import ApiKey
from tests.factories import TEST_ACTOR, ApiKeyFactory, Persona, assert_problem

KEYS = "/api/v1/keys"
ME = "/api/v1/enterprises/me"


def _key_state() -> list[tuple[int, object]]:
    return list(ApiKey.objects.order_by("pk").values_list("pk", "revoked_at"))


def test_it_lists_only_the_callers_keys(owner: Persona, outsider: Persona, owner_client: APIClient) -> None:
    revoked = ApiKeyFactory.create(enterprise=owner.enterprise, name="old ERP")
    services.api_key_revoke(api_key=revoked, actor=TEST_ACTOR)

    response = owner_client.get(KEYS)

    assert response.status_code == 200
    listed = {item["id"]: item for item in response.json()}
    assert set(listed) == {owner.api_key.pk, revoked.pk}
    assert set(listed) == set(ApiKey.objects.filter(enterprise=owner.enterprise).values_list("pk", flat=True))
    assert listed[revoked.pk]["revoked_at"] is not None
    assert listed[owner.api_key.pk]["prefix"] == owner.api_key.prefix
    for item in listed.values():
        assert "key" not in item
        assert "digest" not in item


def test_it_creates_a_key_shown_once_and_stores_only_its_digest(owner: Persona, owner_client: APIClient) -> None:
    response = owner_client.post(KEYS, {"name": "ERP production"}, format="json")

    assert response.status_code == 201
    body = response.json()
    raw_key = body["key"]
    assert KEY_PATTERN.fullmatch(raw_key)
    created = ApiKey.objects.get(pk=body["id"])
    assert created.enterprise_id == owner.enterprise.pk
    assert created.name == "ERP production"
    assert created.created_by == f"api:{owner.api_key.prefix}"
    assert created.digest == services.api_key_digest(raw_key)
    assert raw_key.startswith(f"{created.prefix}_")
    assert not ApiKey.objects.filter(digest=raw_key).exists()
    # Never shown again.
    assert all("key" not in item for item in owner_client.get(KEYS).json())
    # And it works.
    fresh = APIClient()
    fresh.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key}")
    assert fresh.get(ME).json()["id"] == owner.enterprise.pk
    entry = AuditEntry.objects.get(object_type="single_window.apikey", object_id=str(created.pk))
    assert entry.action == AuditEntry.Action.ISSUE
    assert entry.actor == f"api:{owner.api_key.prefix}"
    assert entry.actor_enterprise_id == owner.enterprise.pk
    assert entry.after is not None
    assert "digest" not in entry.after
    assert raw_key not in str(entry.after)


def test_it_refuses_a_key_without_a_name(owner: Persona, owner_client: APIClient) -> None:
    before, audit_count = _key_state(), AuditEntry.objects.count()

    response = owner_client.post(KEYS, {}, format="json")

    body = assert_problem(response, 400, errors.VALIDATION_FAILED)
    assert body["errors"] == [{"field": "name", "code": errors.REQUIRED, "message": "This field is required."}]
    assert _key_state() == before
    assert AuditEntry.objects.count() == audit_count


def test_it_refuses_a_key_beyond_the_limit(owner: Persona, owner_client: APIClient, settings: Settings) -> None:
    settings.API_KEY_MAX_ACTIVE_PER_ENTERPRISE = 2
    assert owner_client.post(KEYS, {"name": "second"}, format="json").status_code == 201
    before, audit_count = _key_state(), AuditEntry.objects.count()

    response = owner_client.post(KEYS, {"name": "third"}, format="json")

    body = assert_problem(response, 409, errors.API_KEY_LIMIT_REACHED)
    assert body["limit"] == 2
    assert _key_state() == before
    assert not ApiKey.objects.filter(name="third").exists()
    assert AuditEntry.objects.count() == audit_count


def test_revoked_keys_do_not_count_towards_the_limit(
    owner: Persona, owner_client: APIClient, settings: Settings
) -> None:
    settings.API_KEY_MAX_ACTIVE_PER_ENTERPRISE = 2
    spare = ApiKeyFactory.create(enterprise=owner.enterprise)
    services.api_key_revoke(api_key=spare, actor=TEST_ACTOR)

    response = owner_client.post(KEYS, {"name": "replacement"}, format="json")

    assert response.status_code == 201
    assert ApiKey.objects.filter(enterprise=owner.enterprise, revoked_at__isnull=True).count() == 2


def test_it_revokes_an_own_key_which_then_stops_working(
    owner: Persona, owner_client: APIClient, client_for: Callable[[Persona], APIClient]
) -> None:
    spare, spare_raw = ApiKeyFactory.issue(enterprise=owner.enterprise, name="spare")
    spare_client = client_for(Persona(enterprise=owner.enterprise, api_key=spare, raw_key=spare_raw))
    assert spare_client.get(ME).status_code == 200

    response = owner_client.delete(f"{KEYS}/{spare.pk}")

    assert response.status_code == 204
    assert response.content == b""
    spare.refresh_from_db()
    assert spare.revoked_at is not None
    assert_problem(spare_client.get(ME), 401, errors.API_KEY_REVOKED)
    assert owner_client.get(ME).status_code == 200
    entry = AuditEntry.objects.get(object_type="single_window.apikey", object_id=str(spare.pk), action="revoke")
    assert entry.actor == f"api:{owner.api_key.prefix}"
    assert entry.before == {"revoked_at": None}
    assert entry.after is not None
    assert entry.after["revoked_at"] == spare.revoked_at.isoformat()


def test_revoking_a_key_twice_is_harmless(owner: Persona, owner_client: APIClient) -> None:
    spare = ApiKeyFactory.create(enterprise=owner.enterprise)
    assert owner_client.delete(f"{KEYS}/{spare.pk}").status_code == 204
    revoked_at = ApiKey.objects.get(pk=spare.pk).revoked_at

    response = owner_client.delete(f"{KEYS}/{spare.pk}")

    assert response.status_code == 204
    assert ApiKey.objects.get(pk=spare.pk).revoked_at == revoked_at
    assert AuditEntry.objects.filter(object_id=str(spare.pk), action="revoke").count() == 1


def test_a_key_can_revoke_itself(owner: Persona, owner_client: APIClient) -> None:
    response = owner_client.delete(f"{KEYS}/{owner.api_key.pk}")

    assert response.status_code == 204
    assert_problem(owner_client.get(ME), 401, errors.API_KEY_REVOKED)


def test_it_hides_another_enterprises_key_and_leaves_it_active(
    owner: Persona, outsider: Persona, outsider_client: APIClient, client_for: Callable[[Persona], APIClient]
) -> None:
    before, audit_count = _key_state(), AuditEntry.objects.count()

    response = outsider_client.delete(f"{KEYS}/{owner.api_key.pk}")

    assert_problem(response, 404, errors.NOT_FOUND)
    assert _key_state() == before
    assert AuditEntry.objects.count() == audit_count
    assert client_for(owner).get(ME).status_code == 200


def test_an_unknown_key_id_is_not_found(owner_client: APIClient) -> None:
    assert_problem(owner_client.delete(f"{KEYS}/999999999"), 404, errors.NOT_FOUND)
