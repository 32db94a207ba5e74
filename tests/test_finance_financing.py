"""Trade financing over the API: an enterprise applies to a financial institution; the
institution reads the application with the applicant's record only while the applicant's
``trade_financing`` consent is in force (each read logged), and decides; the applicant hears
of it, or withdraws first. Nobody else sees an application."""

from __future__ import annotations

import datetime
import functools
import threading
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from django.db import close_old_connections, connection
from django.test import Client as AdminClient
from django.utils import timezone
from rest_framework.test import APIClient

from core import errors
from core.audit import Actor
from core.errors import Conflict
from core.models import AuditEntry
from core.times import CHINA_TZ
from credit.models import CreditProfile, CreditVolume
from finance import bills, codes, event_types, figures, financing
from finance.models import FinancingApplication, FinancingRecordRead, FinancingState
from single_window.models import Enterprise, Event, RegulatorScope, Role
from single_window.roles import AUDITOR, COMMERCE_BUREAU, CUSTOMS_OFFICER
from tests.factories import ParkFactory, Persona, assert_problem, persona

APPLICATIONS = "/api/v1/finance/applications"
CONSENTS = "/api/v1/credit/consents"

pytestmark = pytest.mark.django_db

Client = Callable[[Persona], APIClient]


@pytest.fixture
def seller(db: None) -> Persona:
    return persona(roles=[Role.EBC], name="杭州示例跨境电商有限公司")


@pytest.fixture
def bank(db: None) -> Persona:
    return persona(roles=[Role.FINANCE], name="杭州示例银行股份有限公司")


@pytest.fixture
def other_bank(db: None) -> Persona:
    return persona(roles=[Role.FINANCE], name="Another Bank")


def apply(client: APIClient, institution: str, **changes: Any) -> Any:
    body = {"institution": institution, "amount": "500000.00", "term_months": 12, "purpose": "Spring stock", **changes}
    return client.post(APPLICATIONS, body, format="json")


def consent(client: APIClient, grantee: str, purpose: str = "trade_financing") -> Any:
    expires = (timezone.now() + datetime.timedelta(days=90)).isoformat()
    answer = client.post(CONSENTS, {"grantee": grantee, "purpose": purpose, "expires_at": expires}, format="json")
    assert answer.status_code == 201, answer.content
    return answer.json()


def events_of(enterprise: Enterprise, type_: str) -> list[Event]:
    return list(Event.objects.filter(enterprise=enterprise, type=type_).order_by("sequence"))


def a_bill(tax_no: str, ebc_code: str, issued: datetime.datetime, *, value: str, vat: str, status: str = "1") -> None:
    bills.bill_receive(
        facts=bills.BillFacts(
            message_guid=f"GUID-{tax_no}",
            tax_no=tax_no,
            invt_no=f"2901{tax_no[-14:]}",
            status=status,
            ent_duty_no="",
            customs_tax=Decimal(0),
            value_added_tax=Decimal(vat),
            consumption_tax=Decimal(0),
            issued_at=issued,
            note="",
            assure_code="",
            ebc_code=ebc_code,
            logistics_code="",
            agent_code="",
            customs_code="2901",
            order_no=f"ORDER-{tax_no}",
            logistics_no="",
            items=(
                bills.BillItemFacts(
                    gnum=1,
                    gcode="3304990099",
                    tax_price=Decimal(value),
                    customs_tax=Decimal(0),
                    value_added_tax=Decimal(vat),
                    consumption_tax=Decimal(0),
                ),
            ),
        )
    )


def this_month(day: int = 2) -> datetime.datetime:
    now = timezone.now().astimezone(CHINA_TZ)
    return datetime.datetime(now.year, now.month, day, 10, tzinfo=CHINA_TZ)


# --- The whole flow ---------------------------------------------------------------------------------


def test_an_institution_reads_the_record_under_consent_approves_and_the_applicant_hears(
    seller: Persona, bank: Persona, client_for: Client
) -> None:
    applicant, institution = client_for(seller), client_for(bank)
    CreditProfile.objects.create(enterprise=seller.enterprise, score=812, grade="A", computed_at=timezone.now())
    today = this_month().date()
    CreditVolume.objects.create(enterprise=seller.enterprise, day=today, released=40, returned=2, last_event_id=1)
    a_bill("TAX00000000000000001", seller.code, this_month(), value="1000.00", vat="91.00")
    a_bill("TAX00000000000000002", seller.code, this_month(), value="500.50", vat="45.55")
    a_bill("TAX00000000000000003", seller.code, this_month(), value="9999.00", vat="900.00", status="3")  # voided

    created = apply(applicant, bank.code, amount="500000.00")
    assert created.status_code == 201, created.content
    application_id = created.json()["id"]
    assert created.json()["state"] == "submitted"
    assert created.json()["decision"] is None
    assert [e.payload["application_id"] for e in events_of(bank.enterprise, event_types.APPLICATION_SUBMITTED)] == [
        application_id
    ]
    granted = consent(applicant, bank.code)

    read = institution.get(f"{APPLICATIONS}/{application_id}")

    assert read.status_code == 200, read.content
    body = read.json()
    assert body["record_reason"] is None
    record = body["record"]
    assert record["consent"]["id"] == granted["id"]
    assert record["credit"] == {
        "customs_class": "regular",
        "score": 812,
        "grade": "A",
        "computed_at": record["credit"]["computed_at"],
    }
    trade = record["trade"]
    assert len(trade["months"]) == figures.MONTHS
    assert trade["months"][-1] == {
        "month": f"{today:%Y-%m}",
        "dutiable_value": "1500.50",
        "bills": 2,
        "tax": "136.55",
        "lists_released": 40,
        "lists_returned": 2,
    }
    assert all(month["bills"] == 0 for month in trade["months"][:-1])
    assert (trade["lists_released"], trade["lists_returned"], trade["return_rate"]) == (40, 2, "0.0500")
    assert trade["tax_paid"] == "136.55"
    reads = list(FinancingRecordRead.objects.filter(application_id=application_id))
    assert [(r.institution_id, r.consent_id) for r in reads] == [(bank.enterprise.pk, granted["id"])]

    decided = institution.post(
        f"{APPLICATIONS}/{application_id}/decision",
        {"decision": "approve", "amount": "400000.00", "annual_rate": "0.0435"},
        format="json",
    )

    assert decided.status_code == 200, decided.content
    assert decided.json()["state"] == "approved"
    assert decided.json()["decision"]["approved_amount"] == "400000.00"
    assert decided.json()["decision"]["annual_rate"] == "0.04350"
    row = FinancingApplication.objects.get(pk=application_id)
    assert (row.state, row.approved_amount, row.annual_rate, row.decided_by_id) == (
        FinancingState.APPROVED,
        Decimal("400000.00"),
        Decimal("0.0435"),
        bank.enterprise.pk,
    )
    heard = events_of(seller.enterprise, event_types.APPLICATION_DECIDED)
    assert [(e.payload["application_id"], e.payload["state"], e.payload["approved_amount"]) for e in heard] == [
        (application_id, "approved", "400000.00")
    ]
    audited = AuditEntry.objects.filter(object_type="finance.financingapplication", object_id=str(application_id))
    assert sorted(audited.values_list("action", flat=True)) == ["create", "update"]
    # The applicant sees its application decided, no record of its own, and who read it.
    own = applicant.get(f"{APPLICATIONS}/{application_id}").json()
    assert (own["state"], own["record"]) == ("approved", None)
    assert [r["consent_id"] for r in own["record_reads"]] == [granted["id"]]
    assert FinancingRecordRead.objects.count() == 1


def test_without_a_consent_the_institution_reads_the_application_and_no_record(
    seller: Persona, bank: Persona, client_for: Client
) -> None:
    application_id = apply(client_for(seller), bank.code).json()["id"]
    # A consent for another purpose does not open the record.
    consent(client_for(seller), bank.code, purpose="credit_report")

    read = client_for(bank).get(f"{APPLICATIONS}/{application_id}")

    assert read.status_code == 200
    assert read.json()["record"] is None
    assert read.json()["record_reason"] == "no trade_financing consent in force"
    assert read.json()["amount"] == "500000.00"
    assert not FinancingRecordRead.objects.exists()


def test_a_revoked_consent_takes_the_record_away_at_the_next_read(
    seller: Persona, bank: Persona, client_for: Client
) -> None:
    applicant, institution = client_for(seller), client_for(bank)
    application_id = apply(applicant, bank.code).json()["id"]
    granted = consent(applicant, bank.code)
    assert institution.get(f"{APPLICATIONS}/{application_id}").json()["record"] is not None

    assert applicant.delete(f"{CONSENTS}/{granted['id']}").status_code == 204
    read = institution.get(f"{APPLICATIONS}/{application_id}")

    assert read.json()["record"] is None
    assert read.json()["record_reason"] == "no trade_financing consent in force"
    assert FinancingRecordRead.objects.count() == 1


def test_a_trade_financing_consent_goes_to_financial_institutions_only(seller: Persona, client_for: Client) -> None:
    merchant = persona(roles=[Role.EBC])
    expires = (timezone.now() + datetime.timedelta(days=30)).isoformat()

    answer = client_for(seller).post(
        CONSENTS, {"grantee": merchant.code, "purpose": "trade_financing", "expires_at": expires}, format="json"
    )

    body = assert_problem(answer, 400, errors.VALIDATION_FAILED)
    assert [(e["field"], e["code"]) for e in body["errors"]] == [("grantee", "credit_consent_grantee_not_finance")]


# --- Who sees an application --------------------------------------------------------------------------


def test_an_outsider_and_another_institution_get_404_on_read_and_decision(
    seller: Persona, bank: Persona, other_bank: Persona, client_for: Client
) -> None:
    application_id = apply(client_for(seller), bank.code).json()["id"]
    consent(client_for(seller), other_bank.code)
    outsider = persona(roles=[Role.EBC])

    for who in (outsider, other_bank):
        client = client_for(who)
        assert_problem(client.get(f"{APPLICATIONS}/{application_id}"), 404, errors.NOT_FOUND)
        decided = client.post(
            f"{APPLICATIONS}/{application_id}/decision",
            {"decision": "approve", "amount": "1.00", "annual_rate": "0.05"},
            format="json",
        )
        assert_problem(decided, 404, errors.NOT_FOUND)
        assert_problem(client.post(f"{APPLICATIONS}/{application_id}/withdraw"), 404, errors.NOT_FOUND)
        assert client.get(APPLICATIONS).json()["results"] == []

    assert FinancingApplication.objects.get(pk=application_id).state == FinancingState.SUBMITTED
    assert not FinancingRecordRead.objects.exists()


def test_the_applicant_cannot_decide_its_own_application(seller: Persona, bank: Persona, client_for: Client) -> None:
    application_id = apply(client_for(seller), bank.code).json()["id"]

    answer = client_for(seller).post(
        f"{APPLICATIONS}/{application_id}/decision", {"decision": "reject", "reason": "no"}, format="json"
    )

    assert_problem(answer, 404, errors.NOT_FOUND)
    assert FinancingApplication.objects.get(pk=application_id).state == FinancingState.SUBMITTED


def test_each_party_lists_its_own_applications(
    seller: Persona, bank: Persona, other_bank: Persona, client_for: Client
) -> None:
    first = apply(client_for(seller), bank.code).json()["id"]
    second = apply(client_for(seller), other_bank.code).json()["id"]
    third = apply(client_for(seller), bank.code, amount="1000.00").json()["id"]

    assert [a["id"] for a in client_for(seller).get(APPLICATIONS).json()["results"]] == [third, second, first]
    assert [a["id"] for a in client_for(bank).get(APPLICATIONS).json()["results"]] == [third, first]
    page = client_for(bank).get(APPLICATIONS, {"page_size": 1}).json()
    assert [a["id"] for a in page["results"]] == [third]
    assert [a["id"] for a in client_for(bank).get(page["next"]).json()["results"]] == [first]


# --- Decisions and withdrawals ---------------------------------------------------------------------------


def test_a_second_decision_is_a_conflict_and_changes_nothing(
    seller: Persona, bank: Persona, client_for: Client
) -> None:
    application_id = apply(client_for(seller), bank.code).json()["id"]
    institution = client_for(bank)
    url = f"{APPLICATIONS}/{application_id}/decision"
    assert (
        institution.post(url, {"decision": "reject", "reason": "Too short a history"}, format="json").status_code == 200
    )

    again = institution.post(url, {"decision": "approve", "amount": "1.00", "annual_rate": "0.05"}, format="json")

    body = assert_problem(again, 409, codes.FINANCING_NOT_SUBMITTED)
    assert body["state"] == "rejected"
    row = FinancingApplication.objects.get(pk=application_id)
    assert (row.state, row.decision_reason) == ("rejected", "Too short a history")
    assert row.approved_amount is None
    assert len(events_of(seller.enterprise, event_types.APPLICATION_DECIDED)) == 1


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"decision": "approve", "annual_rate": "0.05"}, [("amount", errors.REQUIRED)]),
        ({"decision": "approve"}, [("amount", errors.REQUIRED), ("annual_rate", errors.REQUIRED)]),
        ({"decision": "reject"}, [("reason", errors.REQUIRED)]),
        ({"decision": "approve", "amount": 400000, "annual_rate": "0.05"}, [("amount", "not_a_string")]),
        (
            {"decision": "approve", "amount": "500000.01", "annual_rate": "0.05"},
            [("amount", codes.FINANCING_APPROVED_ABOVE_REQUEST)],
        ),
        ({"decision": "approve", "amount": "1.00", "annual_rate": "1.5"}, [("annual_rate", "max_value")]),
        ({"decision": "maybe"}, [("decision", "invalid_choice")]),
    ],
)
def test_a_bad_decision_is_refused_with_the_field_and_nothing_changes(
    seller: Persona, bank: Persona, client_for: Client, body: dict[str, Any], expected: list[tuple[str, str]]
) -> None:
    application_id = apply(client_for(seller), bank.code).json()["id"]

    answer = client_for(bank).post(f"{APPLICATIONS}/{application_id}/decision", body, format="json")

    problem = assert_problem(answer, 400, errors.VALIDATION_FAILED)
    assert sorted((e["field"], e["code"]) for e in problem["errors"]) == sorted(expected)
    row = FinancingApplication.objects.get(pk=application_id)
    assert (row.state, row.decided_at) == (FinancingState.SUBMITTED, None)
    assert not events_of(seller.enterprise, event_types.APPLICATION_DECIDED)


def test_the_applicant_withdraws_while_submitted_and_not_after(
    seller: Persona, bank: Persona, client_for: Client
) -> None:
    applicant = client_for(seller)
    application_id = apply(applicant, bank.code).json()["id"]

    withdrawn = applicant.post(f"{APPLICATIONS}/{application_id}/withdraw")

    assert withdrawn.status_code == 200, withdrawn.content
    assert withdrawn.json()["state"] == "withdrawn"
    assert FinancingApplication.objects.get(pk=application_id).state == FinancingState.WITHDRAWN
    assert [e.payload["state"] for e in events_of(bank.enterprise, event_types.APPLICATION_WITHDRAWN)] == ["withdrawn"]
    assert_problem(applicant.post(f"{APPLICATIONS}/{application_id}/withdraw"), 409, codes.FINANCING_NOT_SUBMITTED)
    decided = client_for(bank).post(
        f"{APPLICATIONS}/{application_id}/decision", {"decision": "reject", "reason": "late"}, format="json"
    )
    assert_problem(decided, 409, codes.FINANCING_NOT_SUBMITTED)
    assert FinancingApplication.objects.get(pk=application_id).state == FinancingState.WITHDRAWN


# --- Applying ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"institution": "3309999999"}, [("institution", errors.UNKNOWN_ENTERPRISE)]),
        ({"amount": "0.00"}, [("amount", "min_value")]),
        ({"amount": 500000}, [("amount", "not_a_string")]),
        ({"amount": "12.345"}, [("amount", "max_decimal_places")]),
        ({"term_months": 0}, [("term_months", "min_value")]),
        ({"term_months": 61}, [("term_months", "max_value")]),
        ({"purpose": ""}, [("purpose", "blank")]),
        ({"amount": "-1", "term_months": 100}, [("amount", "min_value"), ("term_months", "max_value")]),
    ],
)
def test_a_bad_application_is_refused_with_the_field_and_nothing_is_stored(
    seller: Persona, bank: Persona, client_for: Client, changes: dict[str, Any], expected: list[tuple[str, str]]
) -> None:
    changes = {"institution": bank.code, **changes}

    answer = apply(client_for(seller), **changes)

    # A code nobody registered is the problem's code; DRF's field checks are validation_failed.
    unknown = expected == [("institution", errors.UNKNOWN_ENTERPRISE)]
    problem = assert_problem(answer, 400, errors.UNKNOWN_ENTERPRISE if unknown else errors.VALIDATION_FAILED)
    assert sorted((e["field"], e["code"]) for e in problem["errors"]) == sorted(expected)
    assert not FinancingApplication.objects.exists()
    assert not events_of(bank.enterprise, event_types.APPLICATION_SUBMITTED)


def test_an_application_to_an_enterprise_that_is_no_financial_institution_is_refused(
    seller: Persona, client_for: Client
) -> None:
    merchant = persona(roles=[Role.EBC])

    answer = apply(client_for(seller), merchant.code)

    problem = assert_problem(answer, 400, codes.FINANCING_INSTITUTION_NOT_FINANCE)
    assert [(e["field"], e["code"]) for e in problem["errors"]] == [
        ("institution", codes.FINANCING_INSTITUTION_NOT_FINANCE)
    ]
    assert not FinancingApplication.objects.exists()


def test_the_refusal_speaks_the_language_asked_and_the_code_does_not_change(
    seller: Persona, client_for: Client
) -> None:
    merchant = persona(roles=[Role.EBC])
    body = {"institution": merchant.code, "amount": "1.00", "term_months": 1, "purpose": "stock"}

    answer = client_for(seller).post(APPLICATIONS, body, format="json", headers={"accept-language": "zh-Hans"})

    problem = assert_problem(answer, 400, codes.FINANCING_INSTITUTION_NOT_FINANCE)
    assert problem["errors"][0]["message"] == "只能向已启用的金融机构提交申请。"


def test_an_institution_does_not_apply_to_itself(bank: Persona, client_for: Client) -> None:
    answer = apply(client_for(bank), bank.code)

    assert_problem(answer, 400, codes.FINANCING_TO_SELF)
    assert not FinancingApplication.objects.exists()


def test_an_application_sent_again_with_its_key_is_stored_once(
    seller: Persona, bank: Persona, client_for: Client
) -> None:
    client = client_for(seller)
    body = {"institution": bank.code, "amount": "1000.00", "term_months": 6, "purpose": "Stock"}

    first = client.post(APPLICATIONS, body, format="json", HTTP_IDEMPOTENCY_KEY="apply-1")
    second = client.post(APPLICATIONS, body, format="json", HTTP_IDEMPOTENCY_KEY="apply-1")

    assert (first.status_code, second.status_code) == (201, 201)
    assert first.json() == second.json()
    assert FinancingApplication.objects.count() == 1


# --- Races -----------------------------------------------------------------------------------------------


def race(*moves: Callable[[], object]) -> list[str]:
    """Run each move in its own thread and transaction, released together; what each did:
    the state it left, or "conflict"."""
    outcomes: list[str] = []
    barrier = threading.Barrier(len(moves))
    lock = threading.Lock()

    def run(move: Callable[[], object]) -> None:
        try:
            barrier.wait()
            try:
                moved = move()
                outcome = moved.state if isinstance(moved, FinancingApplication) else "?"
            except Conflict:
                outcome = "conflict"
            with lock:
                outcomes.append(outcome)
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=run, args=(move,)) for move in moves]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


@pytest.mark.django_db(transaction=True)
def test_a_decision_and_a_withdrawal_racing_leave_one_of_them_a_conflict() -> None:
    """Ten rounds: the institution approves while the applicant withdraws; exactly one wins,
    the row agrees with the winner, and only the winner is told."""
    seller, bank = persona(roles=[Role.EBC]), persona(roles=[Role.FINANCE])
    actor = Actor.system("test")
    for _ in range(10):
        application = financing.application_submit(
            applicant=seller.enterprise,
            institution=bank.enterprise,
            amount=Decimal("100.00"),
            term_months=6,
            purpose="stock",
            actor=actor,
        )

        outcomes = race(
            functools.partial(
                financing.application_decide,
                application=application,
                institution=bank.enterprise,
                decision=financing.APPROVE,
                amount=Decimal("50.00"),
                annual_rate=Decimal("0.05"),
                actor=actor,
            ),
            functools.partial(
                financing.application_withdraw, application=application, applicant=seller.enterprise, actor=actor
            ),
        )

        assert sorted(outcomes) in (["approved", "conflict"], ["conflict", "withdrawn"])
        winner = next(outcome for outcome in outcomes if outcome != "conflict")
        assert FinancingApplication.objects.get(pk=application.pk).state == winner
    decided = len(events_of(seller.enterprise, event_types.APPLICATION_DECIDED))
    withdrawn = len(events_of(bank.enterprise, event_types.APPLICATION_WITHDRAWN))
    assert decided + withdrawn == 10


# --- The admin -----------------------------------------------------------------------------------------------


def regulator(username: str, group: str, district: str) -> AdminClient:
    user = User.objects.create_user(username=username, is_staff=True)
    user.groups.add(Group.objects.get(name=group))
    RegulatorScope.objects.create(user=user, customs_district=district)
    client = AdminClient()
    client.force_login(user)
    return client


def test_regulators_read_the_applications_of_their_parks_and_change_nothing(bank: Persona) -> None:
    near = persona(roles=[Role.EBC], park=ParkFactory.create(customs_district="2901"), name="Near Seller")
    far = persona(roles=[Role.EBC], park=ParkFactory.create(customs_district="2902"), name="Far Seller")
    actor = Actor.system("test")
    found = {
        who.code: financing.application_submit(
            applicant=who.enterprise,
            institution=bank.enterprise,
            amount=Decimal("1000.00"),
            term_months=3,
            purpose="stock",
            actor=actor,
        )
        for who in (near, far)
    }
    pages = "/admin/finance/financingapplication/"

    for index, group in enumerate((CUSTOMS_OFFICER, COMMERCE_BUREAU, AUDITOR)):
        client = regulator(f"regulator{index}", group, "2901")
        listing = client.get(pages)
        assert listing.status_code == 200
        assert "Near Seller" in listing.content.decode()
        assert "Far Seller" not in listing.content.decode()
        assert client.get(f"{pages}{found[near.code].pk}/change/").status_code == 200
        assert client.get(f"{pages}{found[far.code].pk}/change/").status_code in {302, 404}
        assert client.get(f"{pages}add/").status_code == 403
        refused = client.post(f"{pages}{found[near.code].pk}/change/", {"state": "approved"})
        assert refused.status_code == 403

    assert set(FinancingApplication.objects.values_list("state", flat=True)) == {FinancingState.SUBMITTED}


# --- The figures ---------------------------------------------------------------------------------------------


def test_the_figures_count_twelve_months_in_china_time_from_bills_and_credits_counts(seller: Persona) -> None:
    now = datetime.datetime(2026, 11, 20, 12, tzinfo=CHINA_TZ)
    # The first minute of 1 November in Shanghai is still October in UTC: it counts in November.
    a_bill(
        "TAX00000000000000011",
        seller.code,
        datetime.datetime(2026, 11, 1, 0, 1, tzinfo=CHINA_TZ),
        value="100.00",
        vat="9.10",
    )
    a_bill(
        "TAX00000000000000012",
        seller.code,
        datetime.datetime(2026, 10, 31, 23, 59, tzinfo=CHINA_TZ),
        value="50.00",
        vat="4.55",
    )
    # The first month of the twelve counts; the month before it does not.
    a_bill(
        "TAX00000000000000013",
        seller.code,
        datetime.datetime(2025, 12, 1, 8, tzinfo=CHINA_TZ),
        value="10.00",
        vat="0.91",
    )
    a_bill(
        "TAX00000000000000014",
        seller.code,
        datetime.datetime(2025, 11, 30, 8, tzinfo=CHINA_TZ),
        value="7.00",
        vat="0.64",
    )
    # Another enterprise's bill does not count.
    a_bill(
        "TAX00000000000000015",
        "3301969999",
        datetime.datetime(2026, 11, 5, tzinfo=CHINA_TZ),
        value="999.00",
        vat="1.00",
    )
    for day, released, returned in ((datetime.date(2026, 11, 3), 10, 1), (datetime.date(2025, 11, 30), 50, 50)):
        CreditVolume.objects.create(
            enterprise=seller.enterprise, day=day, released=released, returned=returned, last_event_id=day.toordinal()
        )

    found = figures.trade_figures_of(enterprise=seller.enterprise, now=now)

    assert found.since == datetime.date(2025, 12, 1)
    assert [m.month for m in found.months][:2] == ["2025-12", "2026-01"]
    assert found.months[-1].month == "2026-11"
    by_month = {
        m.month: (m.dutiable_value, m.bills, m.tax, m.lists_released)
        for m in found.months
        if m.bills or m.lists_released
    }
    assert by_month == {
        "2025-12": (Decimal("10.00"), 1, Decimal("0.91"), 0),
        "2026-10": (Decimal("50.00"), 1, Decimal("4.55"), 0),
        "2026-11": (Decimal("100.00"), 1, Decimal("9.10"), 10),
    }
    assert (found.lists_released, found.lists_returned, found.return_rate) == (10, 1, Decimal("0.1000"))
    assert found.tax_paid == Decimal("14.56")


def test_with_nothing_released_the_return_rate_is_null(seller: Persona) -> None:
    found = figures.trade_figures_of(enterprise=seller.enterprise)

    assert (found.lists_released, found.return_rate, found.tax_paid) == (0, None, Decimal("0.00"))
    assert len(found.months) == figures.MONTHS
