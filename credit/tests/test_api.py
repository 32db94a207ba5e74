"""The credit API: who may read an enterprise's report (itself, a financial institution under
its consent, a regulator covering it; nobody else, not even to learn it exists), consents
granted and revoked at once, and the log of who read the report."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

import pytest
import time_machine
from django.contrib.auth.models import User
from django.utils import timezone
from rest_framework.test import APIClient

from core import errors
from core.audit import Actor
from core.models import AuditEntry
from credit import codes, services
from credit.models import (
    ClassDecisionSource,
    CreditConsent,
    CreditEventKind,
    CreditReportRead,
    CustomsClass,
    CustomsClassDecision,
    ScoreTrigger,
)
from credit.tests.conftest import regulator
from credit.tests.schema import assert_documented
from single_window.models import Role
from single_window.roles import CUSTOMS_OFFICER
from tests.clients import CommittingAPIClient
from tests.factories import ApiKeyFactory, ParkFactory, Persona, assert_problem, persona

pytestmark = pytest.mark.django_db

CONSENTS = "/api/v1/credit/consents"
ACCESS_LOG = "/api/v1/credit/access-log"
ACTOR = Actor.system("tests")


def report_url(code: str) -> str:
    return f"/api/v1/credit/enterprises/{code}"


def in_days(days: float) -> str:
    return (timezone.now() + datetime.timedelta(days=days)).isoformat()


def key_of(user: User) -> APIClient:
    """A client with a regulator's API key."""
    _api_key, raw_key = ApiKeyFactory.issue(enterprise=None, user=user)
    client = CommittingAPIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key}")
    return client


@pytest.fixture
def seller(owner: Persona) -> Persona:
    """The owner, with a score computed from a customs rejection and a commendation, and a
    customs decision on record."""
    enterprise = owner.enterprise
    services.credit_event_learn(
        enterprise=enterprise,
        kind=CreditEventKind.CUSTOMS_REJECTION,
        occurred_at=timezone.now(),
        source_reference="event:9001",
        source_event_id=9001,
        subject="inventory:81",
        details={"inventory_id": 81, "from_status": "declared", "to_status": "rejected"},
    )
    services.credit_event_record(
        enterprise=enterprise,
        kind=CreditEventKind.COMMENDATION,
        occurred_at=timezone.now(),
        reference="HZ-COMMERCE-2026-12",
        actor=ACTOR,
    )
    CustomsClassDecision.objects.create(
        enterprise=enterprise,
        customs_class=CustomsClass.objects.get(code="certified"),
        source=ClassDecisionSource.CUSTOMS_DECISION,
        decision_reference="HZ-CUSTOMS-2026-018",
        decided_on=datetime.date(2026, 3, 2),
        effective_from=datetime.date(2026, 3, 15),
    )
    return owner


@pytest.fixture
def grant(client_for: Callable[[Persona], APIClient]) -> Callable[..., Any]:
    def post(grantor: Persona, grantee: Persona, purpose: str = "credit_report", days: float = 180) -> Any:
        return client_for(grantor).post(
            CONSENTS, {"grantee": grantee.code, "purpose": purpose, "expires_at": in_days(days)}, format="json"
        )

    return post


# --- The report --------------------------------------------------------------------------------------------


def test_an_enterprise_reads_its_own_report_unlogged(seller: Persona, owner_client: APIClient) -> None:
    response = owner_client.get(report_url(seller.code))

    assert response.status_code == 200, response.content
    assert_documented("credit_report_retrieve", response)
    body = response.json()
    assert body["enterprise"] == {"code": seller.code, "name": seller.enterprise.name}
    assert body["customs_class"] == {
        "code": "certified",
        "name": "Certified enterprise",
        "recorded": True,
        "source": "customs_decision",
        "decision_reference": "HZ-CUSTOMS-2026-018",
        "decided_on": "2026-03-02",
        "effective_from": "2026-03-15",
    }
    assert (body["score"], body["grade"], body["computed_grade"]) == (835, "A", "A")
    assert (body["base_score"], body["half_life_days"], body["override"]) == (800, 180, None)
    assert body["explanation"] == [
        {"kind": "commendation", "label": "commendation", "count": 1, "contribution": 50.0, "rate": None},
        {"kind": "customs_rejection", "label": "customs rejection", "count": 1, "contribution": -15.0, "rate": None},
    ]
    # Kinds and counts only: nothing of the list, the rule or the evidence behind them.
    assert "inventory" not in response.content.decode()
    assert CreditReportRead.objects.count() == 0


def test_a_report_names_the_class_in_the_language_asked_for(seller: Persona, owner_client: APIClient) -> None:
    response = owner_client.get(report_url(seller.code), HTTP_ACCEPT_LANGUAGE="zh-Hans")

    assert response.json()["customs_class"]["name"] == "一般认证企业"


def test_an_enterprise_with_nothing_on_record_has_the_default_class_and_no_score_yet(
    owner: Persona, owner_client: APIClient
) -> None:
    body = owner_client.get(report_url(owner.code)).json()

    assert body["customs_class"]["code"] == "regular"
    assert body["customs_class"]["recorded"] is False
    assert (body["score"], body["grade"], body["computed_at"], body["explanation"]) == (None, None, None, [])


def test_a_financial_institution_reads_the_report_under_a_consent_and_the_read_is_logged(
    seller: Persona, bank: Persona, client_for: Callable[[Persona], APIClient], grant: Callable[..., Any]
) -> None:
    granted = grant(seller, bank)
    assert granted.status_code == 201, granted.content
    assert_documented("credit_consents_create", granted)

    response = client_for(bank).get(report_url(seller.code))

    assert response.status_code == 200, response.content
    assert response.json()["score"] == 835
    read = CreditReportRead.objects.get()
    assert (read.enterprise_id, read.reader_enterprise_id, read.consent_id) == (
        seller.enterprise.pk,
        bank.enterprise.pk,
        granted.json()["id"],
    )


def test_the_report_by_either_code_of_the_enterprise(
    seller: Persona, bank: Persona, client_for: Callable[[Persona], APIClient], grant: Callable[..., Any]
) -> None:
    grant(seller, bank)

    response = client_for(bank).get(report_url(seller.enterprise.uscc or ""))

    assert response.status_code == 200
    assert response.json()["enterprise"]["code"] == seller.code


def test_an_expired_consent_reads_nothing(
    seller: Persona, bank: Persona, client_for: Callable[[Persona], APIClient], grant: Callable[..., Any]
) -> None:
    assert grant(seller, bank, days=30).status_code == 201

    with time_machine.travel(timezone.now() + datetime.timedelta(days=31)):
        response = client_for(bank).get(report_url(seller.code))
        listed = client_for(seller).get(CONSENTS).json()

    assert_problem(response, 404, errors.NOT_FOUND)
    assert CreditReportRead.objects.count() == 0
    assert listed[0]["status"] == "expired"
    assert listed[0]["revoked_at"] is None


def test_a_revoked_consent_reads_nothing_from_the_next_request(
    seller: Persona, bank: Persona, client_for: Callable[[Persona], APIClient], grant: Callable[..., Any]
) -> None:
    consent_id = grant(seller, bank).json()["id"]
    bank_client = client_for(bank)
    assert bank_client.get(report_url(seller.code)).status_code == 200

    revoked = client_for(seller).delete(f"{CONSENTS}/{consent_id}")
    response = bank_client.get(report_url(seller.code))

    assert revoked.status_code == 204
    assert_problem(response, 404, errors.NOT_FOUND)
    consent = CreditConsent.objects.get(pk=consent_id)
    assert consent.revoked_at is not None
    assert AuditEntry.objects.filter(
        object_type="credit.creditconsent", object_id=str(consent_id), action=AuditEntry.Action.REVOKE
    ).exists()
    shown = client_for(seller).get(f"{CONSENTS}/{consent_id}")
    assert_documented("credit_consents_retrieve", shown)
    assert shown.json()["status"] == "revoked"


def test_a_consent_for_trade_financing_does_not_open_the_report(
    seller: Persona, bank: Persona, client_for: Callable[[Persona], APIClient], grant: Callable[..., Any]
) -> None:
    assert grant(seller, bank, purpose="trade_financing").status_code == 201

    assert_problem(client_for(bank).get(report_url(seller.code)), 404, errors.NOT_FOUND)


def test_anyone_else_is_told_the_report_does_not_exist(
    seller: Persona, outsider_client: APIClient, partner_client: APIClient, bank: Persona, client_for: Any
) -> None:
    nobody = outsider_client.get(report_url("3399999999"))

    for client in (outsider_client, partner_client, client_for(bank)):
        response = client.get(report_url(seller.code))
        body = assert_problem(response, 404, errors.NOT_FOUND)
        assert {k: v for k, v in body.items() if k != "instance"} == {
            k: v for k, v in nobody.json().items() if k != "instance"
        }
    assert CreditReportRead.objects.count() == 0


def test_a_finance_role_taken_away_ends_the_reading(
    seller: Persona, bank: Persona, client_for: Callable[[Persona], APIClient], grant: Callable[..., Any]
) -> None:
    grant(seller, bank)
    bank.enterprise.role_set.filter(role=Role.FINANCE).delete()

    assert_problem(client_for(bank).get(report_url(seller.code)), 404, errors.NOT_FOUND)


# --- Regulators ---------------------------------------------------------------------------------------


def test_a_regulator_covering_the_enterprise_reads_its_report_and_the_enterprise_sees_a_regulator_read(
    seller: Persona, officer: User, owner_client: APIClient
) -> None:
    response = key_of(officer).get(report_url(seller.code))

    assert response.status_code == 200, response.content
    read = CreditReportRead.objects.get()
    assert (read.reader_user_id, read.reader_enterprise_id, read.consent_id) == (officer.pk, None, None)
    log = owner_client.get(ACCESS_LOG).json()["results"]
    assert log[0]["reader"] == {"kind": "regulator", "code": None, "name": None}


def test_a_regulator_of_another_district_or_without_the_permission_is_told_nothing(seller: Persona) -> None:
    elsewhere = regulator("far-officer", CUSTOMS_OFFICER, customs_district="3104")
    no_group = User.objects.create_user(username="visitor", is_staff=True)

    for user in (elsewhere, no_group):
        assert_problem(key_of(user).get(report_url(seller.code)), 404, errors.NOT_FOUND)
    assert CreditReportRead.objects.count() == 0


def test_the_key_of_a_regulator_whose_account_was_closed_is_refused(seller: Persona, officer: User) -> None:
    client = key_of(officer)
    officer.is_active = False
    officer.save(update_fields=["is_active"])

    assert_problem(client.get(report_url(seller.code)), 403, errors.PERMISSION_DENIED)
    assert CreditReportRead.objects.count() == 0


def test_a_regulators_key_is_still_kept_off_the_enterprises_consents(officer: User) -> None:
    assert_problem(key_of(officer).get(CONSENTS), 403, errors.PERMISSION_DENIED)


# --- Consents --------------------------------------------------------------------------------------------


def test_only_a_financial_institution_may_be_granted_a_consent(
    seller: Persona, partner: Persona, grant: Callable[..., Any], client_for: Callable[[Persona], APIClient]
) -> None:
    refused = grant(seller, partner)
    to_self = grant(seller, seller)
    unknown = client_for(seller).post(
        CONSENTS, {"grantee": "3399999999", "purpose": "credit_report", "expires_at": in_days(30)}, format="json"
    )

    body = assert_problem(refused, 400, errors.VALIDATION_FAILED)
    assert body["errors"][0]["field"] == "grantee"
    assert body["errors"][0]["code"] == codes.CONSENT_GRANTEE_NOT_FINANCE
    assert assert_problem(to_self, 400, errors.VALIDATION_FAILED)["errors"][0]["code"] == codes.CONSENT_TO_SELF
    assert assert_problem(unknown, 400, errors.UNKNOWN_ENTERPRISE)["errors"][0]["field"] == "grantee"
    assert CreditConsent.objects.count() == 0


def test_a_refusal_is_explained_in_the_language_asked_for(
    seller: Persona, partner: Persona, client_for: Callable[[Persona], APIClient]
) -> None:
    response = client_for(seller).post(
        CONSENTS,
        {"grantee": partner.code, "purpose": "credit_report", "expires_at": in_days(30)},
        format="json",
        HTTP_ACCEPT_LANGUAGE="zh-Hans",
    )

    body = assert_problem(response, 400, errors.VALIDATION_FAILED)
    assert body["detail"] == "授权无效。"
    assert body["errors"][0]["message"] == "只能向金融机构授权。"


@pytest.mark.parametrize(
    ("days", "code"),
    [(-1, codes.CONSENT_EXPIRY_PAST), (0, codes.CONSENT_EXPIRY_PAST), (366, codes.CONSENT_EXPIRY_TOO_LATE)],
)
def test_a_consent_expires_in_the_future_within_a_year(
    seller: Persona, bank: Persona, grant: Callable[..., Any], days: float, code: str
) -> None:
    body = assert_problem(grant(seller, bank, days=days), 400, errors.VALIDATION_FAILED)

    assert [(e["field"], e["code"]) for e in body["errors"]] == [("expires_at", code)]
    assert CreditConsent.objects.count() == 0


def test_a_purpose_outside_the_list_is_refused(seller: Persona, bank: Persona, grant: Callable[..., Any]) -> None:
    body = assert_problem(grant(seller, bank, purpose="marketing"), 400, errors.VALIDATION_FAILED)

    assert body["errors"][0]["field"] == "purpose"
    assert CreditConsent.objects.count() == 0


def test_a_second_consent_while_one_is_in_force_is_a_conflict_and_after_it_expired_a_new_one(
    seller: Persona, bank: Persona, grant: Callable[..., Any]
) -> None:
    first = grant(seller, bank, days=10).json()

    again = grant(seller, bank)

    body = assert_problem(again, 409, codes.CONSENT_IN_FORCE)
    assert body["consent_id"] == first["id"]
    with time_machine.travel(timezone.now() + datetime.timedelta(days=11)):
        renewed = grant(seller, bank)
    assert renewed.status_code == 201
    expired = CreditConsent.objects.get(pk=first["id"])
    assert expired.ended_at == expired.expires_at
    assert CreditConsent.objects.filter(ended_at__isnull=True).count() == 1


def test_the_enterprise_lists_and_reads_its_own_consents_only(
    seller: Persona, bank: Persona, grant: Callable[..., Any], client_for: Callable[[Persona], APIClient]
) -> None:
    consent_id = grant(seller, bank).json()["id"]
    other_seller = persona(park=ParkFactory.create(), roles=[Role.EBC], name="Other Seller Ltd")

    listed = client_for(seller).get(CONSENTS)

    assert_documented("credit_consents_list", listed)
    assert [c["id"] for c in listed.json()] == [consent_id]
    assert listed.json()[0]["grantee"] == {"code": bank.code, "name": "Example Bank"}
    assert client_for(other_seller).get(CONSENTS).json() == []
    for who in (other_seller, bank):
        assert_problem(client_for(who).get(f"{CONSENTS}/{consent_id}"), 404, errors.NOT_FOUND)
        assert_problem(client_for(who).delete(f"{CONSENTS}/{consent_id}"), 404, errors.NOT_FOUND)
    assert CreditConsent.objects.get(pk=consent_id).ended_at is None


def test_a_consent_post_replays_with_its_idempotency_key(
    seller: Persona, bank: Persona, client_for: Callable[[Persona], APIClient]
) -> None:
    body = {"grantee": bank.code, "purpose": "credit_report", "expires_at": in_days(30)}
    client = client_for(seller)

    first = client.post(CONSENTS, body, format="json", HTTP_IDEMPOTENCY_KEY="consent-1")
    second = client.post(CONSENTS, body, format="json", HTTP_IDEMPOTENCY_KEY="consent-1")

    assert (first.status_code, second.status_code) == (201, 201)
    assert second["Idempotent-Replayed"] == "true"
    assert CreditConsent.objects.count() == 1


# --- The access log ------------------------------------------------------------------------------------


def test_the_enterprise_reads_who_read_its_report_newest_first(
    seller: Persona,
    bank: Persona,
    officer: User,
    client_for: Callable[[Persona], APIClient],
    grant: Callable[..., Any],
) -> None:
    owner_client = client_for(seller)
    consent_id = grant(seller, bank).json()["id"]
    client_for(bank).get(report_url(seller.code))
    key_of(officer).get(report_url(seller.code))
    owner_client.get(report_url(seller.code))  # its own: not logged

    response = owner_client.get(ACCESS_LOG)

    assert response.status_code == 200
    assert_documented("credit_access_log", response)
    results = response.json()["results"]
    assert [r["reader"]["kind"] for r in results] == ["regulator", "financial_institution"]
    assert results[1]["reader"] == {"kind": "financial_institution", "code": bank.code, "name": "Example Bank"}
    assert (results[1]["consent_id"], results[1]["purpose"]) == (consent_id, "credit_report")
    # The bank's own log is empty: nobody read the bank's report.
    assert client_for(bank).get(ACCESS_LOG).json()["results"] == []


def test_an_override_shows_in_the_report_with_its_reason(seller: Persona, owner_client: APIClient) -> None:
    services.credit_score_recompute(enterprise_id=seller.enterprise.pk, trigger=ScoreTrigger.MANUAL)
    services.credit_grade_override_set(
        enterprise=seller.enterprise, grade="BBB", reason="under investigation for undervaluation", actor=ACTOR
    )

    body = owner_client.get(report_url(seller.code)).json()

    assert (body["grade"], body["computed_grade"]) == ("BBB", "A")
    assert body["override"]["grade"] == "BBB"
    assert body["override"]["reason"] == "under investigation for undervaluation"
