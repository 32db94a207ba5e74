"""The regulators' console: every change audited, each regulator scoped, auditors read-only."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client
from rest_framework.test import APIClient

from core.models import AuditEntry
from single_window import services
from single_window.authentication import KEY_PATTERN
from single_window.models import ApiKey, Enterprise, Park, RegulatorScope, Role
from single_window.roles import AUDITOR, CUSTOMS_OFFICER
from tests.factories import ApiKeyFactory, EnterpriseFactory, ParkFactory

ENTERPRISES = "/admin/single_window/enterprise/"
PASSWORD = "a-long-test-password"


@pytest.fixture
def superuser(db: None) -> User:
    return User.objects.create_superuser(username="root", email="root@example.com", password=PASSWORD)


@pytest.fixture
def admin(client: Client, superuser: User) -> Client:
    assert client.login(username="root", password=PASSWORD)
    return client


def _regulator(username: str, group: str, **scope: Any) -> User:
    user = User.objects.create_user(username=username, password=PASSWORD, is_staff=True)
    user.groups.add(Group.objects.get(name=group))
    RegulatorScope.objects.create(user=user, **scope)
    return user


def _enterprise_form(park: Park, **overrides: str) -> dict[str, Any]:
    data: dict[str, Any] = {
        "customs_code": "3301960777",
        "uscc": "",
        "name": "Admin Added Ltd",
        "status": Enterprise.Status.ACTIVE,
        "park": park.pk,
        "contact_name": "李四",
        "contact_phone": "13700001111",
        "contact_email": "lisi@example.com",
        "role_set-TOTAL_FORMS": "1",
        "role_set-INITIAL_FORMS": "0",
        "role_set-MIN_NUM_FORMS": "0",
        "role_set-MAX_NUM_FORMS": "1000",
        "role_set-0-role": Role.EBC,
        "role_set-0-id": "",
        "role_set-0-enterprise": "",
        "_save": "Save",
    }
    data.update(overrides)
    return data


def test_adding_an_enterprise_with_a_role_is_audited(admin: Client, park: Park) -> None:
    response = admin.post(f"{ENTERPRISES}add/", _enterprise_form(park))

    assert response.status_code == 302, response.content[:2000]
    enterprise = Enterprise.objects.get(customs_code="3301960777")
    assert enterprise.uscc is None
    assert enterprise.roles == {Role.EBC}
    entry = AuditEntry.objects.get(object_type="single_window.enterprise", object_id=str(enterprise.pk))
    assert entry.action == AuditEntry.Action.CREATE
    assert entry.actor == "admin:root"
    assert entry.actor_user is not None
    assert entry.actor_user.username == "root"
    assert entry.after is not None
    assert entry.after["roles"] == ["ebc"]
    assert entry.after["contact_phone"] == "137****1111"
    assert entry.after["contact_name"] == "李*"


def test_changing_an_enterprise_records_before_and_after(admin: Client, park: Park) -> None:
    admin.post(f"{ENTERPRISES}add/", _enterprise_form(park))
    enterprise = Enterprise.objects.get(customs_code="3301960777")
    role = enterprise.role_set.get()
    form = _enterprise_form(
        park,
        name="Renamed Ltd",
        contact_phone="13700002222",
        **{"role_set-INITIAL_FORMS": "1", "role_set-0-id": str(role.pk), "role_set-0-enterprise": str(enterprise.pk)},
    )

    response = admin.post(f"{ENTERPRISES}{enterprise.pk}/change/", form)

    assert response.status_code == 302
    entry = AuditEntry.objects.get(object_id=str(enterprise.pk), action=AuditEntry.Action.UPDATE)
    assert entry.before == {"name": "Admin Added Ltd", "contact_phone": "137****1111"}
    assert entry.after == {"name": "Renamed Ltd", "contact_phone": "137****2222"}


def test_the_admin_refuses_a_bad_uscc_and_stores_nothing(admin: Client, park: Park) -> None:
    count, audit_count = Enterprise.objects.count(), AuditEntry.objects.count()

    response = admin.post(f"{ENTERPRISES}add/", _enterprise_form(park, uscc="91350100M000100Y44"))

    assert response.status_code == 200
    assert "check character" in response.content.decode()
    assert (Enterprise.objects.count(), AuditEntry.objects.count()) == (count, audit_count)


def test_a_regulator_sees_only_the_enterprises_of_its_district(client: Client, db: None) -> None:
    mine = EnterpriseFactory.create(park=ParkFactory.create(customs_district="2901"), name="In 2901")
    theirs = EnterpriseFactory.create(park=ParkFactory.create(customs_district="3104"), name="In 3104")
    EnterpriseFactory.create(park=None, name="Without a park")
    client.force_login(_regulator("officer", CUSTOMS_OFFICER, customs_district="2901"))

    response = client.get(ENTERPRISES)

    assert response.status_code == 200
    assert [e.pk for e in response.context["cl"].result_list] == [mine.pk]
    assert client.get(f"{ENTERPRISES}{theirs.pk}/change/").status_code == 302  # "does not exist", to the index


def test_a_regulator_scoped_to_a_park_sees_that_park_only(client: Client, db: None) -> None:
    park = ParkFactory.create(customs_district="2901")
    mine = EnterpriseFactory.create(park=park)
    EnterpriseFactory.create(park=ParkFactory.create(customs_district="2901"))
    client.force_login(_regulator("park-officer", CUSTOMS_OFFICER, park=park))

    response = client.get(ENTERPRISES)

    assert [e.pk for e in response.context["cl"].result_list] == [mine.pk]


def test_an_auditor_may_look_but_not_change(client: Client, db: None) -> None:
    park = ParkFactory.create(customs_district="2901")
    enterprise = EnterpriseFactory.create(park=park, name="Looked At Ltd")
    client.force_login(_regulator("auditor", AUDITOR, customs_district="2901"))
    audit_count = AuditEntry.objects.count()

    assert client.get(f"{ENTERPRISES}{enterprise.pk}/change/").status_code == 200
    response = client.post(f"{ENTERPRISES}{enterprise.pk}/change/", _enterprise_form(park, name="Changed"))

    # The admin answers people: an HTML page, not the API's problem+json.
    assert response.status_code == 403
    assert response["Content-Type"].startswith("text/html")
    assert Enterprise.objects.get(pk=enterprise.pk).name == "Looked At Ltd"
    assert AuditEntry.objects.count() == audit_count
    assert client.get("/admin/core/auditentry/").status_code == 200


def test_issuing_a_key_in_the_admin_shows_it_once_and_stores_its_digest(admin: Client, db: None) -> None:
    enterprise = EnterpriseFactory.create()

    response = admin.post(
        "/admin/single_window/apikey/add/",
        {"enterprise": enterprise.pk, "user": "", "name": "from the console", "_save": "Save"},
        follow=True,
    )

    assert response.status_code == 200
    api_key = ApiKey.objects.get(enterprise=enterprise)
    messages = [str(m.message) for m in response.context["messages"]]
    shown = [m for m in messages if "not shown again" in m]
    assert len(shown) == 1
    raw_key = shown[0].rsplit(" ", 1)[-1]
    assert KEY_PATTERN.fullmatch(raw_key)
    assert raw_key.startswith(f"{api_key.prefix}_")
    assert api_key.digest == services.api_key_digest(raw_key)
    assert api_key.created_by == "admin:root"
    # The confirmation names the key by its prefix, as the list does.
    assert any(api_key.prefix in m and "added successfully" in m for m in messages)
    entry = AuditEntry.objects.get(object_type="single_window.apikey", object_id=str(api_key.pk))
    assert entry.action == AuditEntry.Action.ISSUE
    assert raw_key not in str(entry.after)
    # Never again: not on the next page, nor on the key's own page.
    assert raw_key not in admin.get("/admin/single_window/apikey/").content.decode()
    assert raw_key not in admin.get(f"/admin/single_window/apikey/{api_key.pk}/change/").content.decode()
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key}")
    assert api.get("/api/v1/enterprises/me").status_code == 200


def test_revoking_keys_in_the_admin_is_audited(admin: Client, db: None) -> None:
    api_key = ApiKeyFactory.create(name="to revoke")

    response = admin.post(
        "/admin/single_window/apikey/", {"action": "revoke", "_selected_action": [api_key.pk], "index": "0"}
    )

    assert response.status_code == 302
    api_key.refresh_from_db()
    assert api_key.revoked_at is not None
    entry = AuditEntry.objects.get(object_id=str(api_key.pk), action=AuditEntry.Action.REVOKE)
    assert entry.actor == "admin:root"


def test_the_audit_log_cannot_be_edited_even_by_a_superuser(admin: Client, db: None) -> None:
    EnterpriseFactory.create()
    entry = AuditEntry.objects.create(
        actor="system:tests", action="create", object_type="x.y", object_id="1", object_repr="x"
    )

    assert admin.get("/admin/core/auditentry/").status_code == 200
    assert admin.get("/admin/core/auditentry/add/").status_code == 403
    assert admin.post(f"/admin/core/auditentry/{entry.pk}/change/", {"actor": "forger"}).status_code == 403
    assert admin.post(f"/admin/core/auditentry/{entry.pk}/delete/", {"post": "yes"}).status_code == 403
    assert AuditEntry.objects.get(pk=entry.pk).actor == "system:tests"
