"""The regulators' actions on lists: each one audited with its reason, in the transaction of its
effect; holds keep a list from customs until released; a list at customs can be neither held
nor returned; a return for correction tells the enterprise, which sends a corrected version;
matching runs again. Refused: the analyst and the auditor (who change nothing), an officer of
another district (who sees nothing of the list), and an action without a reason.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.test import Client
from pytest_django.fixtures import DjangoCaptureOnCommitCallbacks, Settings

from declarations.customs import gateway
from declarations.models import (
    CustomsMessageDocument,
    Inventory,
    InventoryStatusChange,
    ListAssignment,
    ListHold,
    ListNote,
    PositiveListEntry,
    QuotaReservation,
    WorkbenchAction,
)
from declarations.tests.helpers import Send
from declarations.tests.parcels import list_of, parcel, submit
from declarations.tests.workbench import LISTS, S, act, actions_on, choose, client_of, regulator, status
from declarations.workbench import services
from risk.defaults import RULES
from risk.models import RiskRule, WatchListEntry
from risk.participant import RiskParticipant
from single_window import declare as contract
from single_window import services as hub
from single_window.models import Event, OutboxMessage, Park, PartnerKind
from single_window.roles import AUDITOR, COMMERCE_BUREAU, CUSTOMS_OFFICER
from tests.certificates import make_key_pair
from tests.factories import TEST_ACTOR, Persona

pytestmark = pytest.mark.usefixtures("parties")

CUSTOMS_CODE = "CUSTOMS-TEST"
LATER = "20261125150000"


@pytest.fixture
def officer(db: None) -> User:
    return regulator("officer-2901", CUSTOMS_OFFICER, customs_district="2901")


@pytest.fixture
def colleague(db: None) -> User:
    return regulator("colleague-2901", CUSTOMS_OFFICER, customs_district="2901")


@pytest.fixture
def far_officer(db: None) -> User:
    return regulator("officer-3104", CUSTOMS_OFFICER, customs_district="3104")


@pytest.fixture
def analyst(park: Park) -> User:
    return regulator("analyst", COMMERCE_BUREAU, park=park)


@pytest.fixture
def auditor(db: None) -> User:
    return regulator("auditor", AUDITOR, customs_district="2901")


@pytest.fixture
def gateway_on(settings: Settings, agent: Persona) -> None:
    """The gateway sends to a customs partner; the agent signs its lists."""
    settings.CUSTOMS_GATEWAY_ENABLED = True
    settings.CUSTOMS_PARTNER_CODE = CUSTOMS_CODE
    settings.CUSTOMS_DXP_ID = "DXPENT0000TEST01"
    hub.partner_register(code=CUSTOMS_CODE, name="Test customs", kind=PartnerKind.CUSTOMS, actor=TEST_ACTOR)
    keys = make_key_pair(common_name="Demo Customs Broker")
    hub.signing_key_register(
        enterprise=agent.enterprise,
        private_key_pem=keys.private_key_pem.decode(),
        certificate_pem=keys.certificate_text,
        actor=TEST_ACTOR,
    )


@pytest.fixture
def risk(db: None) -> Iterator[None]:
    """Risk's participant with only its watch-list rule on."""
    for code, name, kind, outcome, parameters in RULES:
        RiskRule.objects.get_or_create(
            code=code, defaults={"name": name, "kind": kind, "outcome": outcome, "parameters": parameters}
        )
    RiskRule.objects.exclude(code="watch_list").update(enabled=False, outcome="review")
    RiskRule.objects.filter(code="watch_list").update(outcome="review")
    contract.register_participant(RiskParticipant())
    yield
    contract.unregister_participant("risk")


def waiting(send: Send, n: int) -> Inventory:
    """A list of parcel ``n`` waiting for its waybill."""
    docs = parcel(n)
    submit(send, docs, arrival=("order", "payment", "inventory"))
    inventory = list_of(docs)
    assert inventory.status == S.PENDING_DOCUMENTS
    return inventory


def customs_messages(inventory: Inventory) -> list[int]:
    return list(CustomsMessageDocument.objects.filter(inventory=inventory).values_list("message_id", flat=True))


# --- Notes and assignments --------------------------------------------------------------------


def test_a_note_taken_from_the_list_page_is_kept_and_audited_with_its_lists(
    send: Send, officer: User, auditor: User
) -> None:
    first, second = waiting(send, 1), waiting(send, 2)
    client = client_of(officer)

    asked = choose(client, LISTS, "note", [first, second])
    done = act(client, LISTS, "note", [first, second], reason="Seller called: the waybill is on its way")

    assert asked.status_code == 200
    assert "reason" in asked.context["form"].fields
    assert done.status_code == 302
    notes = ListNote.objects.order_by("inventory_id")
    assert [(n.inventory_id, n.author_id, n.text) for n in notes] == [
        (first.pk, officer.pk, "Seller called: the waybill is on its way"),
        (second.pk, officer.pk, "Seller called: the waybill is on its way"),
    ]
    [action] = WorkbenchAction.objects.all()
    assert (action.action, action.user_id, action.actor, action.reason) == (
        "note",
        officer.pk,
        "admin:officer-2901",
        "Seller called: the waybill is on its way",
    )
    assert set(action.lists.values_list("pk", flat=True)) == {first.pk, second.pk}
    assert action.at is not None


def test_assigning_a_list_to_a_colleague_ends_the_earlier_assignment(
    send: Send, officer: User, colleague: User, auditor: User
) -> None:
    inventory = waiting(send, 3)
    client = client_of(officer)

    asked = choose(client, LISTS, "assign", [inventory])
    act(client, LISTS, "assign", [inventory], reason="mine first", assignee=str(officer.pk))
    act(client, LISTS, "assign", [inventory], reason="you know this seller", assignee=str(colleague.pk))

    offered = set(asked.context["form"].fields["assignee"].queryset.values_list("username", flat=True))
    assert offered == {"officer-2901", "colleague-2901"}
    assignments = ListAssignment.objects.filter(inventory=inventory).order_by("id")
    assert [(a.assignee_id, a.ended_at is None) for a in assignments] == [(officer.pk, False), (colleague.pk, True)]
    assert [(a.action, a.reason, a.detail["assignee"]) for a in actions_on(inventory)] == [
        ("assign", "mine first", "officer-2901"),
        ("assign", "you know this seller", "colleague-2901"),
    ]


def test_a_list_is_not_assigned_to_someone_outside_its_scope_or_who_may_not_act(
    send: Send, officer: User, far_officer: User, auditor: User
) -> None:
    inventory = waiting(send, 4)

    for someone in (far_officer, auditor):
        with pytest.raises(services.ActionRefused) as refused:
            services.lists_assign(user=officer, inventory_ids=[inventory.pk], assignee=someone, reason="please")
        assert refused.value.code == services.ASSIGNEE_NOT_ALLOWED

    assert not ListAssignment.objects.exists()
    assert not WorkbenchAction.objects.exists()


# --- Holds -------------------------------------------------------------------------------------


@pytest.mark.usefixtures("gateway_on")
def test_a_held_list_is_not_sent_to_customs_until_its_hold_is_released(
    send: Send, officer: User, django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks
) -> None:
    docs = parcel(5)
    submit(send, docs, arrival=("order", "payment", "inventory"))
    inventory = list_of(docs)
    client = client_of(officer)

    act(client, LISTS, "hold", [inventory], reason="Check the seller's licence first")
    submit(send, docs, arrival=("waybill",))
    gateway.dispatch_sweep(older_than=datetime.timedelta(0))

    inventory.refresh_from_db()
    assert (inventory.status, inventory.dispatch_requested_at) == (S.DECLARED, None)
    assert customs_messages(inventory) == []
    assert not OutboxMessage.objects.filter(destination_kind="customs").exists()
    hold = ListHold.objects.get(inventory=inventory)
    assert (hold.held_by_id, hold.reason, hold.released_at) == (officer.pk, "Check the seller's licence first", None)

    with django_capture_on_commit_callbacks(execute=True):
        response = act(client, LISTS, "release", [inventory], reason="Licence seen")

    assert response.status_code == 302
    [message_id] = customs_messages(inventory)
    assert OutboxMessage.objects.get(pk=message_id).message_type == "CEB621Message"
    hold.refresh_from_db()
    assert (hold.released_by_id, hold.release_reason) == (officer.pk, "Licence seen")
    assert hold.released_at is not None
    assert [(a.action, a.reason) for a in actions_on(inventory)] == [
        ("hold", "Check the seller's licence first"),
        ("release", "Licence seen"),
    ]
    assert actions_on(inventory)[1].detail == {"dispatched": [inventory.pk]}


@pytest.mark.usefixtures("gateway_on")
def test_a_list_sent_to_customs_can_be_neither_held_nor_returned(send: Send, officer: User) -> None:
    docs = parcel(6)
    submit(send, docs)
    sent = list_of(docs)
    assert sent.status == S.DECLARED
    assert customs_messages(sent)
    accepted = waiting(send, 7)
    Inventory.objects.filter(pk=accepted.pk).update(status=S.ACCEPTED)

    for inventory in (sent, accepted):
        for service in (services.lists_hold, services.lists_return_for_correction):
            with pytest.raises(services.ActionRefused) as refused:
                service(user=officer, inventory_ids=[inventory.pk], reason="too late")
            assert refused.value.code == services.AT_CUSTOMS
            assert "reached customs" in str(refused.value)

    assert not ListHold.objects.exists()
    assert status(sent) == S.DECLARED
    assert not WorkbenchAction.objects.exists()


def test_one_list_that_cannot_be_held_refuses_the_whole_selection(send: Send, officer: User) -> None:
    free, accepted = waiting(send, 8), waiting(send, 9)
    Inventory.objects.filter(pk=accepted.pk).update(status=S.ACCEPTED)
    client = client_of(officer)

    response = act(client, LISTS, "hold", [free, accepted], reason="a closer look")

    assert response.status_code == 302
    messages = [str(m) for m in response.wsgi_request._messages]
    assert any("reached customs" in m and str(accepted) in m for m in messages), messages
    assert not ListHold.objects.exists()
    assert not WorkbenchAction.objects.exists()


def test_a_list_is_held_once_and_released_only_when_held(send: Send, officer: User) -> None:
    inventory = waiting(send, 10)
    services.lists_hold(user=officer, inventory_ids=[inventory.pk], reason="first")

    with pytest.raises(services.ActionRefused) as twice:
        services.lists_hold(user=officer, inventory_ids=[inventory.pk], reason="again")
    services.lists_release(user=officer, inventory_ids=[inventory.pk], reason="done")
    with pytest.raises(services.ActionRefused) as not_held:
        services.lists_release(user=officer, inventory_ids=[inventory.pk], reason="done again")

    assert twice.value.code == services.ALREADY_HELD
    assert not_held.value.code == services.NOT_HELD
    assert ListHold.objects.filter(inventory=inventory).count() == 1
    assert [a.action for a in actions_on(inventory)] == ["hold", "release"]


# --- Return for correction ---------------------------------------------------------------------


def test_a_list_returned_for_correction_tells_its_enterprise_and_takes_a_corrected_version(
    send: Send, officer: User
) -> None:
    docs = parcel(11)
    submit(send, docs, arrival=("order", "payment", "inventory"))
    inventory = list_of(docs)

    act(client_of(officer), LISTS, "return", [inventory], reason="The gross weight is lighter than the goods")

    inventory.refresh_from_db()
    assert inventory.status == S.CORRECTION_REQUESTED
    change = InventoryStatusChange.objects.filter(inventory=inventory).order_by("-id").first()
    assert change is not None
    assert (change.from_status, change.to_status) == (S.PENDING_DOCUMENTS, S.CORRECTION_REQUESTED)
    assert "The gross weight is lighter than the goods" in change.note
    told = Event.objects.filter(type="inventory.returned_for_correction", subject=f"inventory:{inventory.pk}")
    assert {e.enterprise_id for e in told} >= {inventory.sender_id}
    assert {e.payload["reason"] for e in told} == {"The gross weight is lighter than the goods"}
    [action] = actions_on(inventory)
    assert (action.action, action.detail) == ("return", {"statuses": {str(inventory.pk): S.PENDING_DOCUMENTS}})

    corrected = {**docs["inventory"], "app_type": "2", "app_time": LATER}
    assert send("inventory", corrected).status_code in {200, 201}
    submit(send, docs, arrival=("waybill",))

    inventory.refresh_from_db()
    assert (inventory.status, inventory.version) == (S.DECLARED, 2)


@pytest.mark.usefixtures("risk")
def test_returning_a_list_in_risk_review_releases_the_buyers_quota(send: Send, officer: User) -> None:
    docs = parcel(12)
    WatchListEntry.objects.create(kind="enterprise", value=docs["inventory"]["ebc_code"], label="x")
    submit(send, docs)
    inventory = list_of(docs)
    assert inventory.status == S.RISK_REVIEW
    assert QuotaReservation.objects.get(inventory=inventory).state == "reserved"

    services.lists_return_for_correction(user=officer, inventory_ids=[inventory.pk], reason="Wrong goods code")

    assert status(inventory) == S.CORRECTION_REQUESTED
    assert QuotaReservation.objects.get(inventory=inventory).state == "released"


# --- Matching again ----------------------------------------------------------------------------


def test_matching_runs_again_on_a_list_that_failed_it(send: Send, officer: User) -> None:
    docs = parcel(13)
    submit(send, docs, arrival=("order", "payment", "inventory"))
    entry = PositiveListEntry.objects.get(tariff_line="33049900")
    name = entry.name
    entry.delete()
    submit(send, docs, arrival=("waybill",))
    inventory = list_of(docs)
    assert inventory.status == S.MATCH_FAILED
    PositiveListEntry.objects.create(tariff_line="33049900", name=name)

    act(client_of(officer), LISTS, "rematch", [inventory], reason="The line is back on the positive list")

    assert status(inventory) == S.DECLARED
    [action] = actions_on(inventory)
    assert action.detail == {
        "before": {str(inventory.pk): S.MATCH_FAILED},
        "after": {str(inventory.pk): S.DECLARED},
    }


def test_matching_does_not_run_again_on_a_declared_list(send: Send, officer: User) -> None:
    docs = parcel(14)
    submit(send, docs)
    inventory = list_of(docs)

    with pytest.raises(services.ActionRefused) as refused:
        services.lists_rematch(user=officer, inventory_ids=[inventory.pk], reason="again")

    assert refused.value.code == services.NOT_REMATCHABLE
    assert not WorkbenchAction.objects.exists()


# --- Refusals ----------------------------------------------------------------------------------


def test_an_action_without_a_reason_is_refused_and_changes_nothing(send: Send, officer: User) -> None:
    inventory = waiting(send, 15)

    page = act(client_of(officer), LISTS, "hold", [inventory], reason="   ")
    with pytest.raises(services.ActionRefused) as refused:
        services.lists_hold(user=officer, inventory_ids=[inventory.pk], reason="")

    assert page.status_code == 200
    assert page.context["form"].errors["reason"]
    assert refused.value.code == services.REASON_REQUIRED
    assert not ListHold.objects.exists()
    assert not WorkbenchAction.objects.exists()


def test_the_analyst_and_the_auditor_take_no_action(send: Send, analyst: User, auditor: User, client: Client) -> None:
    inventory = waiting(send, 16)

    auditor_page = client_of(auditor).get(LISTS)
    forged = act(client_of(auditor), LISTS, "hold", [inventory], reason="I should not")
    analyst_page = act(client_of(analyst), LISTS, "hold", [inventory], reason="I should not")
    for user in (analyst, auditor):
        with pytest.raises(PermissionDenied):
            services.lists_hold(user=user, inventory_ids=[inventory.pk], reason="I should not")

    assert auditor_page.status_code == 200
    assert not any(
        name.startswith("workbench_")
        for name in auditor_page.context["cl"].model_admin.get_actions(auditor_page.wsgi_request)
    )
    assert forged.status_code == 200
    assert analyst_page.status_code == 200
    assert not ListHold.objects.exists()
    assert not WorkbenchAction.objects.exists()


def test_an_officer_of_another_district_neither_sees_nor_acts_on_the_list(send: Send, far_officer: User) -> None:
    inventory = waiting(send, 17)
    client = client_of(far_officer)

    listed = client.get(LISTS).context["cl"].queryset
    forged = act(client, LISTS, "hold", [inventory], reason="not mine")
    with pytest.raises(PermissionDenied):
        services.lists_return_for_correction(user=far_officer, inventory_ids=[inventory.pk], reason="not mine")

    assert inventory.pk not in {row.pk for row in listed}
    assert client.get(f"{LISTS}{inventory.pk}/change/").status_code == 302
    assert forged.status_code == 302
    messages = [str(m) for m in forged.wsgi_request._messages]
    assert not any("done for" in m for m in messages), messages
    assert status(inventory) == S.PENDING_DOCUMENTS
    assert not ListHold.objects.exists()
    assert not WorkbenchAction.objects.exists()


def test_a_selection_with_a_list_out_of_scope_is_refused_whole(send: Send, officer: User, far_officer: User) -> None:
    inventory = waiting(send, 18)
    services.lists_hold(user=officer, inventory_ids=[inventory.pk], reason="mine")

    with pytest.raises(PermissionDenied):
        services.lists_release(user=far_officer, inventory_ids=[inventory.pk], reason="not mine")

    assert ListHold.objects.get(inventory=inventory).released_at is None
    assert [a.action for a in actions_on(inventory)] == ["hold"]


def test_the_lists_page_shows_its_holds_and_notes(send: Send, officer: User, auditor: User) -> None:
    inventory = waiting(send, 19)
    services.lists_hold(user=officer, inventory_ids=[inventory.pk], reason="Check the seller's licence first")
    services.lists_note(user=officer, inventory_ids=[inventory.pk], text="Seller asked for a day")

    page = client_of(auditor).get(f"{LISTS}{inventory.pk}/change/")

    assert page.status_code == 200
    content = page.content.decode()
    assert "Check the seller&#x27;s licence first" in content
    assert "Seller asked for a day" in content


def test_a_regulator_finds_the_lists_assigned_to_it(send: Send, officer: User, colleague: User) -> None:
    given, kept = waiting(send, 20), waiting(send, 21)
    services.lists_assign(user=officer, inventory_ids=[given.pk], assignee=colleague, reason="yours")
    services.lists_assign(user=officer, inventory_ids=[kept.pk], assignee=officer, reason="mine")

    page = client_of(colleague).get("/admin/declarations/listassignment/", {"mine": "current"})

    assert {row.inventory_id for row in page.context["cl"].queryset} == {given.pk}
