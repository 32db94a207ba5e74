"""Regulators in the credit admin: a grade overridden and lifted with reasons, penalties
recorded and annulled, all audited; each regulator sees the enterprises of its scope only."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from core.models import AuditEntry
from credit import selectors, services
from credit.models import CreditEvent, CreditGradeOverride, CreditProfile, ScoreTrigger
from credit.tests.conftest import regulator
from credit.tests.helpers import ListParties, score
from single_window.models import Enterprise, Role
from single_window.roles import CUSTOMS_OFFICER
from tests.factories import EnterpriseFactory, ParkFactory

pytestmark = pytest.mark.django_db

OVERRIDES = "/admin/credit/creditgradeoverride/"
EVENTS = "/admin/credit/creditevent/"
PROFILES = "/admin/credit/creditprofile/"


def audit_of(obj: object) -> list[AuditEntry]:
    return list(
        AuditEntry.objects.filter(object_type=obj._meta.label_lower, object_id=str(obj.pk)).order_by("id")  # type: ignore[attr-defined]
    )


@pytest.fixture
def seller(list_parties: ListParties) -> Enterprise:
    services.credit_score_recompute(enterprise_id=list_parties.ebc.pk, trigger=ScoreTrigger.MANUAL)
    return list_parties.ebc


def test_a_regulator_overrides_a_grade_with_a_reason_and_lifts_it(
    client: Client, analyst: User, seller: Enterprise
) -> None:
    client.force_login(analyst)

    response = client.post(
        f"{OVERRIDES}add/",
        {
            "enterprise": seller.pk,
            "grade": "BB",
            "reason": "serious smuggling case under investigation",
            "_save": "Save",
        },
    )

    assert response.status_code == 302, response.content[:2000]
    override = CreditGradeOverride.objects.get(enterprise=seller)
    assert (override.grade, override.set_by) == ("BB", "admin:analyst")
    entry = audit_of(override)[0]
    assert (entry.action, entry.actor_user_id, entry.reason) == (
        "create",
        analyst.pk,
        "serious smuggling case under investigation",
    )
    facts = selectors.score_of(seller.code)
    assert facts is not None
    assert (facts.grade, facts.computed_grade, facts.overridden) == ("BB", "A", True)

    lifted = client.post(
        f"{OVERRIDES}{override.pk}/change/", {"lift_reason": "case closed without charges", "_save": "Save"}
    )

    assert lifted.status_code == 302
    override.refresh_from_db()
    assert override.lifted_at is not None
    assert (override.lift_reason, override.lifted_by) == ("case closed without charges", "admin:analyst")
    assert audit_of(override)[-1].action == "revoke"
    facts = selectors.score_of(seller.code)
    assert facts is not None
    assert (facts.grade, facts.overridden) == ("A", False)


def test_an_override_without_a_reason_is_refused(client: Client, analyst: User, seller: Enterprise) -> None:
    client.force_login(analyst)

    response = client.post(f"{OVERRIDES}add/", {"enterprise": seller.pk, "grade": "BB", "reason": "", "_save": "Save"})

    assert response.status_code == 200
    assert "reason" in response.context["adminform"].form.errors
    assert not CreditGradeOverride.objects.exists()


def test_a_new_override_replaces_the_one_in_force(client: Client, analyst: User, seller: Enterprise) -> None:
    client.force_login(analyst)
    for grade, reason in (("BB", "first finding"), ("BBB", "finding reviewed")):
        client.post(f"{OVERRIDES}add/", {"enterprise": seller.pk, "grade": grade, "reason": reason, "_save": "Save"})

    standing = CreditGradeOverride.objects.filter(enterprise=seller)
    assert [(o.grade, o.lifted_at is None) for o in standing.order_by("id")] == [("BB", False), ("BBB", True)]


def test_a_customs_officer_may_not_override_a_grade(client: Client, officer: User, seller: Enterprise) -> None:
    client.force_login(officer)

    response = client.post(f"{OVERRIDES}add/", {"enterprise": seller.pk, "grade": "BB", "reason": "x", "_save": "Save"})

    assert response.status_code == 403
    assert not CreditGradeOverride.objects.exists()


def _penalty(enterprise: Enterprise, **changes: object) -> dict[str, object]:
    """The admin's add form of a penalty decided just now (so it has not decayed yet)."""
    now = timezone.localtime()
    form: dict[str, object] = {
        "enterprise": enterprise.pk,
        "kind": "penalty",
        "occurred_at_0": f"{now:%Y-%m-%d}",
        "occurred_at_1": f"{now:%H:%M:%S}",
        "weight": "",
        "source_reference": "HZ-CUSTOMS-PENALTY-2026-042",
        "note": "false declaration of value",
        "_save": "Save",
    }
    form.update(changes)
    return form


def test_a_regulator_records_a_penalty_that_lowers_the_score_audited(
    client: Client, officer: User, seller: Enterprise
) -> None:
    client.force_login(officer)

    response = client.post(f"{EVENTS}add/", _penalty(seller))

    assert response.status_code == 302, response.content[:2000]
    event = CreditEvent.objects.get(enterprise=seller)
    assert (event.kind, event.weight, event.source, event.recorded_by) == (
        "penalty",
        -150,
        "regulator",
        "admin:officer",
    )
    assert event.details == {"note": "false declaration of value"}
    assert audit_of(event)[0].actor_user_id == officer.pk
    assert score(seller) == 650


def test_a_penalty_outside_its_range_or_recorded_twice_is_refused(
    client: Client, officer: User, seller: Enterprise
) -> None:
    client.force_login(officer)
    client.post(f"{EVENTS}add/", _penalty(seller))

    too_heavy = client.post(f"{EVENTS}add/", _penalty(seller, weight="-900", source_reference="HZ-2"))
    twice = client.post(f"{EVENTS}add/", _penalty(seller))
    learned_kind = client.post(f"{EVENTS}add/", _penalty(seller, kind="customs_rejection", source_reference="HZ-3"))

    assert "weight" in too_heavy.context["adminform"].form.errors
    assert twice.context["adminform"].form.errors
    assert "kind" in learned_kind.context["adminform"].form.errors
    assert CreditEvent.objects.count() == 1


def test_a_regulator_annuls_its_entry_with_a_reason_and_the_score_comes_back(
    client: Client, officer: User, seller: Enterprise
) -> None:
    client.force_login(officer)
    client.post(f"{EVENTS}add/", _penalty(seller))
    event = CreditEvent.objects.get(enterprise=seller)

    response = client.post(
        f"{EVENTS}{event.pk}/change/", {"annul_reason": "overturned on administrative review", "_save": "Save"}
    )

    assert response.status_code == 302
    event.refresh_from_db()
    assert event.annulled_at is not None
    assert event.annul_reason == "overturned on administrative review"
    assert audit_of(event)[-1].reason == "overturned on administrative review"
    assert score(seller) == 800


def test_a_regulator_sees_the_profiles_of_its_scope_only_with_their_history(
    client: Client, analyst: User, seller: Enterprise
) -> None:
    far = EnterpriseFactory.create(park=ParkFactory.create(customs_district="3104"), roles=[Role.EBC])
    services.credit_score_recompute(enterprise_id=far.pk, trigger=ScoreTrigger.MANUAL)
    far_officer = regulator("far-officer", CUSTOMS_OFFICER, customs_district="3104")
    client.force_login(analyst)

    listed = client.get(PROFILES)
    near_page = client.get(f"{PROFILES}{CreditProfile.objects.get(enterprise=seller).pk}/change/")
    far_page = client.get(f"{PROFILES}{CreditProfile.objects.get(enterprise=far).pk}/change/")

    assert set(listed.context["cl"].queryset.values_list("enterprise_id", flat=True)) == {seller.pk}
    assert near_page.status_code == 200
    assert "recomputed on request" in near_page.content.decode()
    assert far_page.status_code == 302  # "does not exist": back to the index
    client.force_login(far_officer)
    assert set(client.get(PROFILES).context["cl"].queryset.values_list("enterprise_id", flat=True)) == {far.pk}
