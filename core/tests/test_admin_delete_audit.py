"""Deletes in the admin are audited with the delete itself.

``AuditedModelAdmin`` writes one audit entry per deleted row, from the object's page and from
the changelist's "delete selected" action alike. Django runs the object's delete page in a
transaction but not the action: the deletes and their entries must still commit together, or
a failure half-way leaves rows deleted without a trace. Parks (``single_window``) stand for any
audited model here.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from core import admin as core_admin
from core.models import AuditEntry
from single_window.models import Park
from tests.factories import ParkFactory

PARKS = "/admin/single_window/park/"
PASSWORD = "a-long-test-password"


@pytest.fixture
def admin(client: Client, db: None) -> Client:
    User.objects.create_superuser(username="root", email="root@example.com", password=PASSWORD)
    assert client.login(username="root", password=PASSWORD)
    return client


def delete_selected(admin: Client, parks: list[Park]) -> Any:
    return admin.post(
        PARKS, {"action": "delete_selected", "_selected_action": [p.pk for p in parks], "post": "yes"}, follow=False
    )


def test_deleting_selected_rows_audits_each_with_its_last_state(admin: Client) -> None:
    parks = ParkFactory.create_batch(2)

    response = delete_selected(admin, parks)

    assert response.status_code == 302, response.content[:500]
    assert not Park.objects.filter(pk__in=[p.pk for p in parks]).exists()
    deleted = AuditEntry.objects.filter(object_type="single_window.park", action=AuditEntry.Action.DELETE)
    assert sorted(e.object_id for e in deleted) == sorted(str(p.pk) for p in parks)
    codes = {str(p.pk): p.code for p in parks}
    for entry in deleted:
        assert entry.actor == "admin:root"
        assert entry.before is not None
        assert entry.before["code"] == codes[entry.object_id]
        assert entry.after is None


def test_deleting_one_row_from_its_page_is_audited(admin: Client) -> None:
    park = ParkFactory.create()

    response = admin.post(f"{PARKS}{park.pk}/delete/", {"post": "yes"})

    assert response.status_code == 302, response.content[:500]
    [entry] = AuditEntry.objects.filter(object_type="single_window.park", object_id=str(park.pk))
    assert (entry.action, entry.actor) == (AuditEntry.Action.DELETE, "admin:root")
    assert entry.before is not None
    assert entry.before["code"] == park.code


def test_a_delete_that_cannot_be_audited_deletes_nothing(admin: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    parks = ParkFactory.create_batch(2)
    written: list[str] = []
    audit_record = core_admin.audit_record

    def fail_on_the_second(**kwargs: Any) -> AuditEntry:
        written.append(str(kwargs["instance"].pk))
        if len(written) == 2:
            msg = "the audit log is unavailable"
            raise RuntimeError(msg)
        return audit_record(**kwargs)

    monkeypatch.setattr(core_admin, "audit_record", fail_on_the_second)

    with pytest.raises(RuntimeError):
        delete_selected(admin, parks)

    assert Park.objects.filter(pk__in=[p.pk for p in parks]).count() == 2
    assert not AuditEntry.objects.filter(object_type="single_window.park", action=AuditEntry.Action.DELETE).exists()
