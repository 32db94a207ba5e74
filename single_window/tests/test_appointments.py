"""An agent acts for an e-commerce enterprise only with an appointment in force."""

from __future__ import annotations

import datetime
from collections.abc import Callable

import pytest
import time_machine
from django.utils import timezone
from rest_framework.test import APIClient

from core import errors
from core.models import AuditEntry
from single_window import selectors
from single_window.models import Appointment, Enterprise, Role
from tests.factories import AppointmentFactory, EnterpriseFactory, Persona, assert_problem

APPOINTMENTS = "/api/v1/appointments"
DAY = datetime.timedelta(days=1)


def _appoint(principal: Enterprise, agent: Enterprise, case: str) -> Appointment | None:
    """An appointment of ``agent`` by ``principal`` in the situation ``case`` names, today."""
    today = selectors.today()
    windows = {
        "valid": (today - 30 * DAY, today + 30 * DAY),
        "starts-today": (today, today + 30 * DAY),
        "ends-today": (today - 30 * DAY, today),
        "expired": (today - 60 * DAY, today - DAY),
        "not-yet-started": (today + DAY, today + 60 * DAY),
        "revoked": (today - 30 * DAY, today + 30 * DAY),
    }
    if case == "none":
        return None
    valid_from, valid_to = windows[case]
    appointment = AppointmentFactory.create(principal=principal, agent=agent, valid_from=valid_from, valid_to=valid_to)
    if case == "revoked":
        appointment.revoked_at = timezone.now()
        appointment.save(update_fields=["revoked_at"])
    return appointment


CASES = [
    pytest.param("valid", True, id="valid"),
    pytest.param("starts-today", True, id="starts-today"),
    pytest.param("ends-today", True, id="ends-today"),
    pytest.param("expired", False, id="expired"),
    pytest.param("not-yet-started", False, id="not-yet-started"),
    pytest.param("revoked", False, id="revoked"),
    pytest.param("none", False, id="no-appointment"),
]


@pytest.mark.parametrize(("case", "may_act"), CASES)
def test_an_agent_may_act_only_under_an_appointment_in_force(db: None, case: str, may_act: bool) -> None:
    principal = EnterpriseFactory.create(roles=[Role.EBC])
    agent = EnterpriseFactory.create(roles=[Role.AGENT])
    _appoint(principal, agent, case)

    assert selectors.appointment_valid(principal=principal, agent=agent) is may_act
    assert selectors.enterprise_may_act_for(actor=agent, principal=principal) is may_act
    # An appointment runs one way only.
    assert selectors.enterprise_may_act_for(actor=principal, principal=agent) is False


@pytest.mark.parametrize(("case", "may_act"), CASES)
def test_the_api_shows_the_principal_only_to_an_agent_in_force(
    case: str, may_act: bool, owner: Persona, outsider: Persona, client_for: Callable[[Persona], APIClient]
) -> None:
    # The outsider holds the agent role: only the appointment separates it from a partner.
    _appoint(owner.enterprise, outsider.enterprise, case)

    response = client_for(outsider).get(f"/api/v1/enterprises/{owner.code}")

    if may_act:
        assert response.status_code == 200
        assert response.json()["id"] == owner.enterprise.pk
    else:
        assert_problem(response, 404, errors.NOT_FOUND)


def test_an_enterprise_always_acts_for_itself(db: None) -> None:
    enterprise = EnterpriseFactory.create()

    assert selectors.enterprise_may_act_for(actor=enterprise, principal=enterprise) is True


def test_validity_is_judged_on_the_day_asked(db: None) -> None:
    appointment = AppointmentFactory.create(valid_from=datetime.date(2026, 1, 1), valid_to=datetime.date(2026, 6, 30))
    principal, agent = appointment.principal, appointment.agent

    assert selectors.appointment_valid(principal=principal, agent=agent, on=datetime.date(2026, 1, 1))
    assert selectors.appointment_valid(principal=principal, agent=agent, on=datetime.date(2026, 6, 30))
    assert not selectors.appointment_valid(principal=principal, agent=agent, on=datetime.date(2025, 12, 31))
    assert not selectors.appointment_valid(principal=principal, agent=agent, on=datetime.date(2026, 7, 1))


def test_today_is_the_china_calendar_day(db: None) -> None:
    appointment = AppointmentFactory.create(valid_from=datetime.date(2026, 3, 2), valid_to=datetime.date(2026, 3, 31))

    # 17:30 UTC on 1 March is 01:30 on 2 March in Shanghai: the appointment has started.
    with time_machine.travel(datetime.datetime(2026, 3, 1, 17, 30, tzinfo=datetime.UTC), tick=False):
        assert selectors.today() == datetime.date(2026, 3, 2)
        assert selectors.appointment_valid(principal=appointment.principal, agent=appointment.agent)


# --- Appointing over the API -------------------------------------------------------------


def test_the_principal_appoints_a_declaring_agent(owner: Persona, owner_client: APIClient) -> None:
    agent = EnterpriseFactory.create(roles=[Role.AGENT])

    response = owner_client.post(
        APPOINTMENTS,
        {"agent_code": agent.uscc, "valid_from": "2026-01-01", "valid_to": "2026-12-31"},
        format="json",
    )

    assert response.status_code == 201
    body = response.json()
    appointment = Appointment.objects.get(pk=body["id"])
    assert (appointment.principal_id, appointment.agent_id) == (owner.enterprise.pk, agent.pk)
    assert (appointment.valid_from, appointment.valid_to) == (datetime.date(2026, 1, 1), datetime.date(2026, 12, 31))
    assert body["agent"] == {"code": agent.code, "name": agent.name}
    entry = AuditEntry.objects.get(object_type="single_window.appointment", object_id=str(appointment.pk))
    assert entry.action == AuditEntry.Action.CREATE
    assert entry.actor_enterprise_id == owner.enterprise.pk


# The problem's own code is validation_failed, except where the view names the one field at
# fault (``ApiError.for_field``): then it is that field's code.
@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        pytest.param(
            {"agent_code": "9999999999"},
            ("agent_code", errors.UNKNOWN_ENTERPRISE, errors.UNKNOWN_ENTERPRISE),
            id="unknown-agent",
        ),
        pytest.param(
            {"agent_code": "<not-an-agent>"},
            ("agent_code", errors.ROLE_REQUIRED, errors.VALIDATION_FAILED),
            id="not-an-agent",
        ),
        pytest.param({"agent_code": "<self>"}, ("agent_code", errors.INVALID, errors.VALIDATION_FAILED), id="self"),
        pytest.param(
            {"valid_to": "2025-12-31"}, ("valid_to", errors.INVALID, errors.VALIDATION_FAILED), id="ends-before-start"
        ),
        pytest.param(
            {"valid_from": "tomorrow"}, ("valid_from", errors.INVALID, errors.VALIDATION_FAILED), id="not-a-date"
        ),
    ],
)
def test_it_refuses_an_invalid_appointment_and_stores_nothing(
    owner: Persona, owner_client: APIClient, payload: dict[str, str], expected: tuple[str, str, str]
) -> None:
    field, code, problem_code = expected
    agent = EnterpriseFactory.create(roles=[Role.AGENT])
    not_an_agent = EnterpriseFactory.create(roles=[Role.LOGISTICS])
    substitutes = {"<not-an-agent>": not_an_agent.code, "<self>": owner.code}
    data = {"agent_code": agent.code, "valid_from": "2026-01-01", "valid_to": "2026-12-31"}
    data.update({k: substitutes.get(v, v) for k, v in payload.items()})
    audit_count = AuditEntry.objects.count()

    response = owner_client.post(APPOINTMENTS, data, format="json")

    body = assert_problem(response, 400, problem_code)
    assert (field, code) in {(e["field"], e["code"]) for e in body["errors"]}
    assert not Appointment.objects.exists()
    assert AuditEntry.objects.count() == audit_count


def test_a_second_appointment_starting_the_same_day_conflicts(owner: Persona, owner_client: APIClient) -> None:
    agent = EnterpriseFactory.create(roles=[Role.AGENT])
    data = {"agent_code": agent.code, "valid_from": "2026-01-01", "valid_to": "2026-12-31"}
    assert owner_client.post(APPOINTMENTS, data, format="json").status_code == 201
    audit_count = AuditEntry.objects.count()

    response = owner_client.post(APPOINTMENTS, data, format="json")

    assert_problem(response, 409, errors.CONFLICT)
    assert Appointment.objects.count() == 1
    assert AuditEntry.objects.count() == audit_count
