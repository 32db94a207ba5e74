"""The work queues: each shows the lists of its state in the regulator's scope, and nothing
else; each filters by failed rule (where rules fail), enterprise, park, district, age and
declaration date."""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django.utils.html import escape
from pytest_django.fixtures import Settings

from declarations.clearance.rule_names import rule_name
from declarations.models import Inventory, InventoryStatusChange, PositiveListEntry
from declarations.tests.helpers import Send
from declarations.tests.parcels import list_of, parcel, submit
from declarations.tests.workbench import S, client_of, make_list, regulator
from finance.models import TaxBill
from risk.defaults import RULES
from risk.models import RiskRule, WatchListEntry
from risk.participant import RiskParticipant
from single_window import declare as contract
from single_window import services as hub
from single_window.models import Park, PartnerKind
from single_window.roles import AUDITOR, CUSTOMS_OFFICER
from tests.factories import TEST_ACTOR, EnterpriseFactory, Persona

pytestmark = pytest.mark.usefixtures("parties")

WAITING = "/admin/declarations/listwaitingfordocuments/"
FAILURES = "/admin/declarations/listmatchfailure/"
SEND_FAILURES = "/admin/declarations/listsendfailure/"
TAX_BILLS = "/admin/declarations/listtaxbilldifference/"
REVIEW = "/admin/declarations/inventoryinreview/"


@pytest.fixture
def officer(db: None) -> User:
    return regulator("officer-2901", CUSTOMS_OFFICER, customs_district="2901")


@pytest.fixture
def far_officer(db: None) -> User:
    return regulator("officer-3104", CUSTOMS_OFFICER, customs_district="3104")


@pytest.fixture
def risk(db: None) -> Iterator[None]:
    for code, name, kind, outcome, parameters in RULES:
        RiskRule.objects.get_or_create(
            code=code, defaults={"name": name, "kind": kind, "outcome": outcome, "parameters": parameters}
        )
    RiskRule.objects.exclude(code="watch_list").update(enabled=False)
    RiskRule.objects.filter(code="watch_list").update(outcome="review")
    contract.register_participant(RiskParticipant())
    yield
    contract.unregister_participant("risk")


def shown(client: Client, page: str, **query: Any) -> set[int]:
    response = client.get(page, query)
    assert response.status_code == 200, response
    return {row.pk for row in response.context["cl"].queryset}


def aged(inventory: Inventory, *, hours: float) -> None:
    """The list entered its current state ``hours`` ago."""
    InventoryStatusChange.objects.filter(inventory=inventory).update(
        created_at=timezone.now() - datetime.timedelta(hours=hours)
    )


def waiting(send: Send, n: int, *, hours: float = 0) -> Inventory:
    docs = parcel(n)
    submit(send, docs, arrival=("order", "payment", "inventory"))
    inventory = list_of(docs)
    aged(inventory, hours=hours)
    return inventory


def elsewhere(agent: Persona, n: int, status: str, *, hours: float = 2) -> Inventory:
    """A list declared in district 3104, entered ``status`` ``hours`` ago."""
    inventory = make_list(
        agent.enterprise,
        cop_no=f"COP-FAR-{n}",
        order_no=f"SW-FAR-{n}",
        guid=f"7C3D4E5F-0000-4000-8000-{n:012d}",
        customs_code="3104",
        port_code="3104",
    )
    Inventory.objects.filter(pk=inventory.pk).update(
        status=status, created_at=timezone.now() - datetime.timedelta(hours=hours)
    )
    return inventory


# --- Waiting for documents ---------------------------------------------------------------------


def test_the_waiting_queue_shows_lists_waiting_longer_than_the_setting(
    send: Send, settings: Settings, officer: User, far_officer: User, agent: Persona
) -> None:
    settings.WORKBENCH_WAITING_AFTER_MINUTES = 60
    old, recent = waiting(send, 1, hours=2), waiting(send, 2, hours=0.5)
    docs = parcel(3)
    submit(send, docs)
    declared = list_of(docs)
    aged(declared, hours=5)
    far = elsewhere(agent, 4, S.PENDING_DOCUMENTS)

    assert shown(client_of(officer), WAITING) == {old.pk}
    assert shown(client_of(far_officer), WAITING) == {far.pk}
    assert declared.pk not in shown(client_of(officer), WAITING)
    settings.WORKBENCH_WAITING_AFTER_MINUTES = 10
    assert shown(client_of(officer), WAITING) == {old.pk, recent.pk}


def test_a_queue_filters_by_enterprise_park_district_age_and_declaration_date(
    send: Send, settings: Settings, officer: User, park: Park, parties: dict[str, Persona]
) -> None:
    settings.WORKBENCH_WAITING_AFTER_MINUTES = 0
    week_old, day_old = waiting(send, 5, hours=24 * 8), waiting(send, 6, hours=3)
    client = client_of(officer)
    stranger = EnterpriseFactory.create(park=park)
    ebc = parties["ebc"].enterprise
    declared_on = week_old.decl_time

    assert shown(client, WAITING, enterprise=ebc.pk) == {week_old.pk, day_old.pk}
    assert shown(client, WAITING, enterprise=stranger.pk) == set()
    assert shown(client, WAITING, park=park.pk) == {week_old.pk, day_old.pk}
    assert shown(client, WAITING, customs_code="2901") == {week_old.pk, day_old.pk}
    assert shown(client, WAITING, customs_code="3104") == set()
    assert shown(client, WAITING, age="older") == {week_old.pk}
    assert shown(client, WAITING, age="day") == {day_old.pk}
    assert shown(client, WAITING, decl_time__gte=str(declared_on)) == {week_old.pk, day_old.pk}
    after = declared_on + datetime.timedelta(days=1)
    assert shown(client, WAITING, decl_time__gte=str(after)) == set()


# --- Matching failures --------------------------------------------------------------------------


def failing(send: Send, n: int, *, off_the_list: bool) -> Inventory:
    docs = parcel(n)
    if not off_the_list:
        docs["payment"]["amount_paid"] = "1.00"
    submit(send, docs, arrival=("order", "payment", "inventory"))
    if off_the_list:
        PositiveListEntry.objects.filter(tariff_line="33049900").delete()
    submit(send, docs, arrival=("waybill",))
    inventory = list_of(docs)
    assert inventory.status == S.MATCH_FAILED
    return inventory


def test_the_failures_queue_shows_failed_lists_by_the_rule_they_failed(
    send: Send, officer: User, far_officer: User
) -> None:
    pending = waiting(send, 9)
    amounts = failing(send, 7, off_the_list=False)
    positive_list = failing(send, 8, off_the_list=True)
    client = client_of(officer)

    everything = shown(client, FAILURES)
    by_rule = shown(client, FAILURES, failed_rule="positive_list")
    offered = {value for value, _label in client.get(FAILURES).context["cl"].filter_specs[0].lookup_choices}

    assert everything == {amounts.pk, positive_list.pk}
    assert pending.pk not in everything
    assert by_rule == {positive_list.pk}
    assert "positive_list" in offered
    assert shown(client_of(far_officer), FAILURES) == set()


# --- Risk reviews -------------------------------------------------------------------------------


@pytest.mark.usefixtures("risk")
def test_the_risk_review_queue_takes_the_workbench_filters(send: Send, officer: User) -> None:
    found = []
    for n, hours in ((10, 30.0), (11, 0.1)):
        docs = parcel(n)
        WatchListEntry.objects.get_or_create(kind="enterprise", value=docs["inventory"]["ebc_code"], label="x")
        submit(send, docs)
        inventory = list_of(docs)
        assert inventory.status == S.RISK_REVIEW
        aged(inventory, hours=hours)
        found.append(inventory)
    client = client_of(officer)

    assert shown(client, REVIEW) == {found[0].pk, found[1].pk}
    assert shown(client, REVIEW, age="week") == {found[0].pk}
    assert shown(client, REVIEW, age="hour") == {found[1].pk}


def test_the_failures_queue_reads_the_rules_of_a_page_at_once_and_names_them(send: Send, officer: User) -> None:
    client = client_of(officer)
    failing(send, 31, off_the_list=False)
    with CaptureQueriesContext(connection) as one_row:
        first = client.get(FAILURES)
    failing(send, 32, off_the_list=False)
    failing(send, 33, off_the_list=False)
    with CaptureQueriesContext(connection) as three_rows:
        page = client.get(FAILURES)

    assert first.status_code == page.status_code == 200
    assert len(page.context["cl"].result_list) == 3
    # The rules' column costs the same whatever the page holds: no query per row.
    assert len(three_rows.captured_queries) == len(one_row.captured_queries)
    assert page.content.decode().count(escape(rule_name("payment_amount_equals_order"))) >= 3


# --- Send failures ------------------------------------------------------------------------------


def test_the_send_failures_queue_shows_lists_customs_never_got_and_why(
    send: Send, settings: Settings, officer: User, far_officer: User
) -> None:
    settings.CUSTOMS_GATEWAY_ENABLED = True
    settings.CUSTOMS_PARTNER_CODE = "CUSTOMS-TEST"
    hub.partner_register(code="CUSTOMS-TEST", name="Test customs", kind=PartnerKind.CUSTOMS, actor=TEST_ACTOR)
    docs = parcel(12)
    submit(send, docs)  # the agent has no signing key: nothing can be signed
    failed = list_of(docs)
    assert failed.status == S.SEND_FAILED
    pending = waiting(send, 13)
    client = client_of(officer)

    page = client.get(SEND_FAILURES)

    assert {row.pk for row in page.context["cl"].queryset} == {failed.pk}
    assert pending.pk not in {row.pk for row in page.context["cl"].queryset}
    assert "signing key" in page.content.decode()
    assert shown(client_of(far_officer), SEND_FAILURES) == set()


# --- Tax-bill differences -----------------------------------------------------------------------


def bill(inventory: Inventory, *, differs: bool, status: str = "1") -> TaxBill:
    differences = {"value_added_tax": {"estimate": "37.13", "bill": "37.20"}} if differs else {}
    return TaxBill.objects.create(
        tax_no=f"TAX-{inventory.pk}",
        invt_no=f"{inventory.pk}",
        inventory_id=inventory.pk,
        list_version=inventory.version,
        customs_code=inventory.customs_code,
        status=status,
        customs_tax=Decimal(0),
        value_added_tax=Decimal("37.20"),
        consumption_tax=Decimal(0),
        tax_total=Decimal("37.20"),
        issued_at=timezone.now(),
        differences=differences,
    )


def test_the_tax_bill_queue_shows_lists_whose_bill_in_force_differs(
    send: Send, officer: User, far_officer: User
) -> None:
    lists = []
    for n in (14, 15, 16):
        docs = parcel(n)
        submit(send, docs)
        lists.append(list_of(docs))
    differing, as_estimated, voided = lists
    bill(differing, differs=True)
    bill(as_estimated, differs=False)
    bill(voided, differs=True, status="3")
    client = client_of(officer)

    page = client.get(TAX_BILLS)

    assert {row.pk for row in page.context["cl"].queryset} == {differing.pk}
    assert "value_added_tax" in page.content.decode()
    assert shown(client_of(far_officer), TAX_BILLS) == set()


# --- Who sees the queues ------------------------------------------------------------------------


def test_every_queue_is_a_page_of_its_own_that_the_auditor_reads_too(db: None) -> None:
    auditor = regulator("auditor", AUDITOR, customs_district="2901")
    client = client_of(auditor)

    for page in (WAITING, FAILURES, SEND_FAILURES, TAX_BILLS, REVIEW):
        assert client.get(page).status_code == 200, page


def test_a_queue_row_opens_the_list_masked_and_out_of_scope_rows_do_not(
    send: Send, settings: Settings, officer: User, far_officer: User
) -> None:
    settings.WORKBENCH_WAITING_AFTER_MINUTES = 0
    inventory = waiting(send, 17)

    mine = client_of(officer).get(f"{WAITING}{inventory.pk}/change/")
    theirs = client_of(far_officer).get(f"{WAITING}{inventory.pk}/change/")

    assert mine.status_code == 200
    assert inventory.cop_no in mine.content.decode()
    assert inventory.buyer_name not in mine.content.decode()
    assert theirs.status_code == 302
