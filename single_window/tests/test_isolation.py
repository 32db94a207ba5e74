"""Every enterprise sees only itself and what it is named in: owner, partner, outsider."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from rest_framework.test import APIClient

from core import errors
from core.models import AuditEntry
from single_window.models import Appointment
from tests.factories import Persona, assert_problem

ME = "/api/v1/enterprises/me"
APPOINTMENTS = "/api/v1/appointments"


def enterprise_url(code: str) -> str:
    return f"/api/v1/enterprises/{code}"


@pytest.mark.parametrize("who", ["owner", "partner", "outsider"])
def test_me_is_the_calling_enterprise_and_no_other(
    who: str, request: pytest.FixtureRequest, client_for: Callable[[Persona], APIClient]
) -> None:
    persona: Persona = request.getfixturevalue(who)
    request.getfixturevalue("partner")  # everyone exists in every case
    request.getfixturevalue("outsider")

    response = client_for(persona).get(ME)

    assert response.status_code == 200
    body = response.json()
    enterprise = persona.enterprise
    assert body["id"] == enterprise.pk
    assert body["code"] == enterprise.customs_code
    assert body["uscc"] == enterprise.uscc
    assert body["roles"] == sorted(enterprise.roles)
    assert enterprise.park is not None
    assert body["park"]["code"] == enterprise.park.code
    # Contact details are personal data; they are not part of the answer.
    assert "contact_phone" not in body


def test_the_owner_sees_itself_by_customs_code_and_by_uscc(owner: Persona, owner_client: APIClient) -> None:
    for code in (owner.enterprise.customs_code, owner.enterprise.uscc):
        assert code is not None
        response = owner_client.get(enterprise_url(code))
        assert response.status_code == 200
        assert response.json()["id"] == owner.enterprise.pk


def test_the_appointed_partner_sees_its_principal(owner: Persona, partner: Persona, partner_client: APIClient) -> None:
    response = partner_client.get(enterprise_url(owner.code))

    assert response.status_code == 200
    assert response.json()["id"] == owner.enterprise.pk


def test_the_outsider_cannot_tell_the_owner_from_an_unknown_code(owner: Persona, outsider_client: APIClient) -> None:
    known = assert_problem(outsider_client.get(enterprise_url(owner.code)), 404, errors.NOT_FOUND)
    unknown = assert_problem(outsider_client.get(enterprise_url("9999999999")), 404, errors.NOT_FOUND)

    assert {k: v for k, v in known.items() if k != "instance"} == {k: v for k, v in unknown.items() if k != "instance"}


def test_an_appointment_does_not_let_the_principal_see_its_agent(owner_client: APIClient, partner: Persona) -> None:
    assert_problem(owner_client.get(enterprise_url(partner.code)), 404, errors.NOT_FOUND)


def test_the_partner_cannot_see_the_outsider(partner_client: APIClient, outsider: Persona) -> None:
    assert_problem(partner_client.get(enterprise_url(outsider.code)), 404, errors.NOT_FOUND)


@pytest.mark.parametrize(("who", "sees_it"), [("owner", True), ("partner", True), ("outsider", False)])
def test_appointments_are_listed_only_to_the_enterprises_named_in_them(
    who: str,
    sees_it: bool,
    appointment: Appointment,
    request: pytest.FixtureRequest,
    client_for: Callable[[Persona], APIClient],
) -> None:
    persona: Persona = request.getfixturevalue(who)
    request.getfixturevalue("outsider")

    response = client_for(persona).get(APPOINTMENTS)

    assert response.status_code == 200
    assert [item["id"] for item in response.json()] == ([appointment.pk] if sees_it else [])


@pytest.mark.parametrize(("who", "sees_it"), [("owner", True), ("partner", True), ("outsider", False)])
def test_an_appointment_is_shown_only_to_the_enterprises_named_in_it(
    who: str,
    sees_it: bool,
    appointment: Appointment,
    request: pytest.FixtureRequest,
    client_for: Callable[[Persona], APIClient],
) -> None:
    persona: Persona = request.getfixturevalue(who)

    response = client_for(persona).get(f"{APPOINTMENTS}/{appointment.pk}")

    if sees_it:
        assert response.status_code == 200
        body = response.json()
        assert body["principal"]["code"] == appointment.principal.code
        assert body["agent"]["code"] == appointment.agent.code
        assert body["in_force"] is True
    else:
        assert_problem(response, 404, errors.NOT_FOUND)


def test_the_principal_revokes_its_appointment(
    owner: Persona, partner: Persona, appointment: Appointment, owner_client: APIClient, partner_client: APIClient
) -> None:
    response = owner_client.delete(f"{APPOINTMENTS}/{appointment.pk}")

    assert response.status_code == 204
    appointment.refresh_from_db()
    assert appointment.revoked_at is not None
    entry = AuditEntry.objects.get(object_type="single_window.appointment", object_id=str(appointment.pk))
    assert entry.action == AuditEntry.Action.REVOKE
    assert entry.actor == f"api:{owner.api_key.prefix}"
    # The agent may no longer act for the principal, but still sees the (revoked) appointment.
    assert_problem(partner_client.get(enterprise_url(owner.code)), 404, errors.NOT_FOUND)
    listed = partner_client.get(APPOINTMENTS).json()
    assert [(item["id"], item["in_force"]) for item in listed] == [(appointment.pk, False)]


def test_the_agent_may_not_revoke_its_appointment(
    partner: Persona, appointment: Appointment, partner_client: APIClient
) -> None:
    audit_count = AuditEntry.objects.count()

    response = partner_client.delete(f"{APPOINTMENTS}/{appointment.pk}")

    assert_problem(response, 403, errors.PERMISSION_DENIED)
    appointment.refresh_from_db()
    assert appointment.revoked_at is None
    assert AuditEntry.objects.count() == audit_count


def test_the_outsider_cannot_find_the_appointment_to_revoke(
    appointment: Appointment, outsider_client: APIClient
) -> None:
    audit_count = AuditEntry.objects.count()

    response = outsider_client.delete(f"{APPOINTMENTS}/{appointment.pk}")

    assert_problem(response, 404, errors.NOT_FOUND)
    appointment.refresh_from_db()
    assert appointment.revoked_at is None
    assert AuditEntry.objects.count() == audit_count
