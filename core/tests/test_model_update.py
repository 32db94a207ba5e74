"""``model_update``: apply what differs, save those columns, audit the change in its transaction.

The rows are the registry's enterprises and partners: they have what the helper must handle
(an ``updated_at``, masked personal data, a secret left out of the audit view).
"""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction
from pytest_django import DjangoAssertNumQueries

from core.audit import Actor
from core.models import AuditEntry
from core.services import model_update
from single_window.models import Enterprise, Partner, PartnerKind
from single_window.services import partner_register
from tests.factories import TEST_ACTOR, EnterpriseFactory


def _entries(instance: Enterprise | Partner) -> list[AuditEntry]:
    return list(
        AuditEntry.objects.filter(object_type=instance._meta.label_lower, object_id=str(instance.pk)).order_by("id")
    )


@pytest.fixture
def enterprise(db: None) -> Enterprise:
    return EnterpriseFactory.create(status=Enterprise.Status.ACTIVE, name="Before Ltd")


def test_it_saves_what_differs_and_audits_its_before_and_after(enterprise: Enterprise) -> None:
    stamped = enterprise.updated_at

    updated, changed = model_update(
        instance=enterprise,
        data={"status": Enterprise.Status.SUSPENDED, "name": "Before Ltd"},
        actor=TEST_ACTOR,
        reason="customs notice 12",
    )

    assert (updated, changed) == (enterprise, True)
    stored = Enterprise.objects.get(pk=enterprise.pk)
    assert (stored.status, stored.name) == (Enterprise.Status.SUSPENDED, "Before Ltd")
    assert stored.updated_at > stamped
    (entry,) = _entries(enterprise)
    assert (entry.action, entry.actor, entry.reason) == (AuditEntry.Action.UPDATE, "system:tests", "customs notice 12")
    assert (entry.before, entry.after) == ({"status": "active"}, {"status": "suspended"})


def test_it_writes_only_the_changed_columns_so_a_parallel_write_survives(enterprise: Enterprise) -> None:
    Enterprise.objects.filter(pk=enterprise.pk).update(name="Renamed Meanwhile Ltd")

    model_update(instance=enterprise, data={"status": Enterprise.Status.SUSPENDED}, actor=TEST_ACTOR)

    stored = Enterprise.objects.get(pk=enterprise.pk)
    assert (stored.status, stored.name) == (Enterprise.Status.SUSPENDED, "Renamed Meanwhile Ltd")


def test_nothing_is_written_when_nothing_differs(
    enterprise: Enterprise, django_assert_num_queries: DjangoAssertNumQueries
) -> None:
    stamped = enterprise.updated_at

    with django_assert_num_queries(0):
        updated, changed = model_update(
            instance=enterprise,
            data={"status": Enterprise.Status.ACTIVE, "name": "Before Ltd"},
            actor=TEST_ACTOR,
        )

    assert (updated, changed) == (enterprise, False)
    assert Enterprise.objects.get(pk=enterprise.pk).updated_at == stamped
    assert _entries(enterprise) == []


def test_fields_limits_which_keys_of_data_may_change(enterprise: Enterprise) -> None:
    _updated, changed = model_update(
        instance=enterprise,
        data={"status": Enterprise.Status.SUSPENDED, "name": "Not Applied Ltd"},
        actor=TEST_ACTOR,
        fields=["status"],
    )

    assert changed is True
    stored = Enterprise.objects.get(pk=enterprise.pk)
    assert (stored.status, stored.name) == (Enterprise.Status.SUSPENDED, "Before Ltd")
    (entry,) = _entries(enterprise)
    assert entry.after == {"status": "suspended"}


def test_it_refuses_a_name_that_is_not_a_field_and_writes_nothing(enterprise: Enterprise) -> None:
    with pytest.raises(ValueError, match="no concrete field stauts"):
        model_update(instance=enterprise, data={"stauts": Enterprise.Status.SUSPENDED}, actor=TEST_ACTOR)

    assert Enterprise.objects.get(pk=enterprise.pk).status == Enterprise.Status.ACTIVE
    assert _entries(enterprise) == []


def test_personal_data_is_audited_masked_and_the_action_is_the_callers(enterprise: Enterprise) -> None:
    model_update(
        instance=enterprise,
        data={"contact_phone": "13900001111"},
        actor=TEST_ACTOR,
        action=AuditEntry.Action.REVOKE,
    )

    (entry,) = _entries(enterprise)
    assert entry.action == AuditEntry.Action.REVOKE
    assert (entry.before, entry.after) == ({"contact_phone": "138****5678"}, {"contact_phone": "139****1111"})


def test_a_change_the_audit_view_cannot_show_is_still_audited(db: None) -> None:
    partner, _secret = partner_register(code="PAY-M", name="Pay M", kind=PartnerKind.PAYMENT, actor=TEST_ACTOR)

    _updated, changed = model_update(
        instance=partner,
        data={"signing_secret_encrypted": "another ciphertext"},
        actor=TEST_ACTOR,
        reason="signing secret rotated",
    )

    assert changed is True
    assert Partner.objects.get(pk=partner.pk).signing_secret_encrypted == "another ciphertext"
    _created, entry = _entries(partner)
    assert (entry.action, entry.before, entry.after) == (AuditEntry.Action.UPDATE, None, None)
    assert entry.reason == "signing secret rotated"


def test_the_audit_entry_belongs_to_the_callers_transaction(enterprise: Enterprise) -> None:
    written: list[int] = []

    @transaction.atomic
    def change_then_fail() -> None:
        model_update(instance=enterprise, data={"status": Enterprise.Status.SUSPENDED}, actor=TEST_ACTOR)
        written.append(len(_entries(enterprise)))
        raise RuntimeError("the caller's change failed after the update")

    with pytest.raises(RuntimeError):
        change_then_fail()

    # The entry was written before the caller's commit, and went with its rollback,
    # together with the change it recorded.
    assert written == [1]
    assert Enterprise.objects.get(pk=enterprise.pk).status == Enterprise.Status.ACTIVE
    assert _entries(enterprise) == []


@pytest.mark.django_db(transaction=True)
def test_alone_it_saves_and_audits_in_one_transaction() -> None:
    enterprise = EnterpriseFactory.create(status=Enterprise.Status.ACTIVE)
    # The audit entry names a user who does not exist; PostgreSQL checks that (deferred)
    # foreign key at commit, so the entry fails to commit and must take the save with it.
    ghost = Actor(label="admin:ghost", user_id=2_000_000_000)

    with pytest.raises(IntegrityError):
        model_update(instance=enterprise, data={"status": Enterprise.Status.SUSPENDED}, actor=ghost)

    assert Enterprise.objects.get(pk=enterprise.pk).status == Enterprise.Status.ACTIVE
    assert _entries(enterprise) == []
