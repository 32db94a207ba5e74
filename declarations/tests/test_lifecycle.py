"""The list's lifecycle (DOMAIN.md section 3): the table of moves, customs receipts, history.

The expected moves and receipt codes are written out here from DOMAIN.md, not read from the
code under test.
"""

from __future__ import annotations

import datetime
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext

from core.deferred import rows_deferred
from declarations.clearance import lifecycle
from declarations.clearance.lifecycle import ReceiptResult, TransitionNotAllowed, UnknownReceiptCode
from declarations.intake import codes, examples, services
from declarations.intake.identity import protect_id_number
from declarations.intake.serializers import InventoryInput
from declarations.models import Inventory, InventoryStatus, InventoryStatusChange, StatusChangeSource
from single_window.models import Enterprise, Role
from tests.factories import EnterpriseFactory, Persona

S = InventoryStatus
CST = ZoneInfo("Asia/Shanghai")
SINGLE_WINDOW = StatusChangeSource.SINGLE_WINDOW
# A later appTime than the example list's.
LATER = "20261125150000"

# DOMAIN.md section 3, "The list's lifecycle", as the single window runs it.
EXPECTED_MOVES: dict[str, set[str]] = {
    "draft": {"pending_documents", "deleted"},
    "pending_documents": {"matched", "match_failed", "deleted", "correction_requested"},
    "match_failed": {"pending_documents", "deleted", "correction_requested"},
    "matched": {"declared", "held", "risk_review", "risk_blocked", "match_failed", "deleted", "correction_requested"},
    "held": {
        "declared",
        "risk_review",
        "risk_blocked",
        "match_failed",
        "pending_documents",
        "deleted",
        "correction_requested",
    },
    "risk_review": {
        "declared",
        "held",
        "risk_blocked",
        "risk_rejected",
        "match_failed",
        "pending_documents",
        "deleted",
        "correction_requested",
    },
    "risk_rejected": {"pending_documents", "deleted"},
    "risk_blocked": {"pending_documents", "deleted"},
    "declared": {"accepted", "rejected", "send_failed", "correction_requested"},
    "send_failed": {"declared", "pending_documents", "deleted", "correction_requested"},
    # A regulator returned it to its enterprise before customs had it.
    "correction_requested": {"pending_documents", "draft", "deleted"},
    "accepted": {"manual_review", "inspection", "detained", "released", "rejected"},
    "manual_review": {"inspection", "detained", "released", "rejected", "returned"},
    "inspection": {"manual_review", "detained", "released", "rejected", "returned"},
    "detained": {"manual_review", "inspection", "released", "rejected", "returned"},
    "released": {"closed", "cancelled", "returned"},
    "rejected": {"pending_documents", "draft", "deleted"},
    "closed": set(),
    "cancelled": set(),
    "returned": set(),
    "deleted": set(),
}
ALLOWED = [(before, after) for before, afters in EXPECTED_MOVES.items() for after in sorted(afters)]
FORBIDDEN = [
    (before, after)
    for before in EXPECTED_MOVES
    for after in S.values
    if after != before and after not in EXPECTED_MOVES[before]
]

# CEB622 returnStatus -> the state it puts the list in (None: recorded, no move).
EXPECTED_RECEIPTS: dict[str, str | None] = {
    "1": None,
    "2": "declared",
    "3": "declared",
    "4": "send_failed",
    "100": "rejected",
    "120": "accepted",
    "300": "manual_review",
    "399": None,
    "500": "inspection",
    "501": "detained",
    "502": "detained",
    "503": "detained",
    "599": "detained",
    "700": "returned",
    "800": "released",
    "899": "closed",
    "-621005": "rejected",
    "-621018": "rejected",
}
# Every move of the table that a receipt makes, with a code that makes it.
# Before the declare step let a list through, customs holds nothing of its version: a receipt
# then is a late one of an earlier version.
NOT_SENT = {
    "draft",
    "pending_documents",
    "match_failed",
    "matched",
    "held",
    "risk_review",
    "risk_rejected",
    "risk_blocked",
    "correction_requested",
}
RECEIPT_MOVES = [
    (before, code, after)
    for before, afters in EXPECTED_MOVES.items()
    for code, after in EXPECTED_RECEIPTS.items()
    if after in afters and not code.startswith("-") and before not in NOT_SENT
]


def at(text: str) -> datetime.datetime:
    """A customs returnTime, YYYYMMDDhhmmss in China Standard Time."""
    return datetime.datetime.strptime(text, "%Y%m%d%H%M%S").replace(tzinfo=CST)


def validated(**changes: Any) -> dict[str, Any]:
    serializer = InventoryInput(data=examples.document("inventory", **changes))
    assert serializer.is_valid(), serializer.errors
    return dict(serializer.validated_data)


def make_list(sender: Enterprise, status: str, **changes: Any) -> Inventory:
    """The example list stored directly in ``status`` (no history: the test starts there)."""
    values = validated(**changes)
    values.pop("items")
    encrypted, digest = protect_id_number(values.pop("buyer_id_number"))
    return Inventory.objects.create(
        sender=sender, status=status, buyer_id_number_encrypted=encrypted, buyer_id_hash=digest, **values
    )


def history(inventory: Inventory) -> list[tuple[str, str, str, str, bool]]:
    return [
        (change.from_status, change.to_status, change.source, change.receipt_code, change.applied)
        for change in lifecycle.inventory_history(inventory=inventory)
    ]


def status_of(inventory: Inventory) -> str:
    return Inventory.objects.values_list("status", flat=True).get(pk=inventory.pk)


def receipt(
    inventory: Inventory, code: str, time: str, message_id: str = "", note: str = ""
) -> lifecycle.ReceiptOutcome:
    return lifecycle.inventory_apply_receipt(
        inventory=inventory, receipt_code=code, receipt_time=at(time), message_id=message_id, note=note
    )


@pytest.fixture
def sender(db: None) -> Enterprise:
    enterprise: Enterprise = EnterpriseFactory.create(roles=[Role.AGENT])
    return enterprise


# --- The table ----------------------------------------------------------------------------------


def test_the_table_is_the_lifecycle_of_domain_md() -> None:
    assert {state: set(afters) for state, afters in lifecycle.TRANSITIONS.items()} == EXPECTED_MOVES
    assert set(lifecycle.PROGRESS) == set(S.values)


@pytest.mark.parametrize(("code", "state"), EXPECTED_RECEIPTS.items())
def test_each_receipt_code_names_its_state(code: str, state: str | None) -> None:
    assert lifecycle.receipt_state(code) == state


@pytest.mark.parametrize(("before", "after"), ALLOWED, ids=[f"{b}->{a}" for b, a in ALLOWED])
def test_every_allowed_move_is_made_and_recorded(sender: Enterprise, before: str, after: str) -> None:
    inventory = make_list(sender, before)

    change = lifecycle.inventory_transition(inventory=inventory, to=after, source=SINGLE_WINDOW, note="why")

    assert change is not None
    assert (change.from_status, change.to_status, change.source, change.applied) == (before, after, SINGLE_WINDOW, True)
    assert (change.receipt_code, change.receipt_time, change.message_id, change.note) == ("", None, "", "why")
    assert inventory.status == status_of(inventory) == after
    assert history(inventory) == [(before, after, SINGLE_WINDOW, "", True)]


def test_a_list_the_caller_holds_locked_is_moved_without_reading_it_again(sender: Enterprise) -> None:
    make_list(sender, S.PENDING_DOCUMENTS)
    with transaction.atomic():
        inventory = Inventory.objects.select_related("sender").select_for_update().get(sender=sender)
        with CaptureQueriesContext(connection) as queries:
            lifecycle.inventory_transition(inventory=inventory, to=S.MATCHED, source=SINGLE_WINDOW, locked=True)

    reads = [q["sql"] for q in queries.captured_queries if q["sql"].startswith('SELECT "declarations_inventory"')]
    assert reads == []
    assert inventory.status == status_of(inventory) == S.MATCHED
    assert history(inventory) == [(S.PENDING_DOCUMENTS, S.MATCHED, SINGLE_WINDOW, "", True)]


def test_the_moves_of_a_deferred_block_are_recorded_together_in_their_order(sender: Enterprise) -> None:
    inventory = make_list(sender, S.PENDING_DOCUMENTS)
    with CaptureQueriesContext(connection) as queries, transaction.atomic(), rows_deferred():
        for to in (S.MATCHED, S.DECLARED):
            lifecycle.inventory_transition(inventory=inventory, to=to, source=SINGLE_WINDOW)
        assert history(inventory) == []

    inserts = [q for q in queries.captured_queries if 'INSERT INTO "declarations_inventorystatuschange"' in q["sql"]]
    assert len(inserts) == 1
    assert history(inventory) == [
        (S.PENDING_DOCUMENTS, S.MATCHED, SINGLE_WINDOW, "", True),
        (S.MATCHED, S.DECLARED, SINGLE_WINDOW, "", True),
    ]


def test_every_move_the_table_forbids_raises_and_changes_nothing(sender: Enterprise) -> None:
    inventory = make_list(sender, S.DRAFT)

    for before, after in FORBIDDEN:
        Inventory.objects.filter(pk=inventory.pk).update(status=before)
        with pytest.raises(TransitionNotAllowed) as raised:
            lifecycle.inventory_transition(inventory=inventory, to=after, source=SINGLE_WINDOW)

        assert raised.value.code == lifecycle.TRANSITION_NOT_ALLOWED == "transition_not_allowed"
        assert raised.value.status_code == 409
        assert raised.value.extra == {"inventory_id": inventory.pk, "from_status": before, "to_status": after}
        assert status_of(inventory) == before
    assert len(FORBIDDEN) == 21 * 20 - len(ALLOWED)
    assert not InventoryStatusChange.objects.exists()


def test_a_move_to_the_state_the_list_is_in_records_nothing(sender: Enterprise) -> None:
    inventory = make_list(sender, S.PENDING_DOCUMENTS)

    assert lifecycle.inventory_transition(inventory=inventory, to=S.PENDING_DOCUMENTS, source=SINGLE_WINDOW) is None

    assert status_of(inventory) == S.PENDING_DOCUMENTS
    assert not InventoryStatusChange.objects.exists()


def test_customs_moves_the_list_only_by_receipts(sender: Enterprise) -> None:
    inventory = make_list(sender, S.DECLARED)

    with pytest.raises(ValueError, match="inventory_apply_receipt"):
        lifecycle.inventory_transition(inventory=inventory, to=S.ACCEPTED, source=StatusChangeSource.CUSTOMS_RECEIPT)

    assert status_of(inventory) == S.DECLARED


# --- Receipts -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("before", "code", "after"), RECEIPT_MOVES, ids=[f"{b}-{c}" for b, c, _a in RECEIPT_MOVES])
def test_a_receipt_makes_each_move_of_the_table_that_customs_makes(
    sender: Enterprise, before: str, code: str, after: str
) -> None:
    inventory = make_list(sender, before)

    outcome = receipt(inventory, code, "20261125120000", message_id="RCPT-1", note="customs says")

    assert (outcome.result, outcome.status) == (ReceiptResult.APPLIED, after)
    assert inventory.status == status_of(inventory) == after
    change = outcome.change
    assert (change.from_status, change.to_status, change.receipt_code, change.applied) == (before, after, code, True)
    assert (change.receipt_time, change.message_id, change.note) == (at("20261125120000"), "RCPT-1", "customs says")
    assert change.source == StatusChangeSource.CUSTOMS_RECEIPT


def test_the_happy_path_through_receipts_ends_closed(sender: Enterprise) -> None:
    inventory = make_list(sender, S.DECLARED)

    outcomes = [
        receipt(inventory, code, time, message_id=f"R-{code}")
        for code, time in (("2", "20261125120000"), ("120", "20261125120500"), ("800", "20261125130000"))
    ]
    outcomes.append(receipt(inventory, "899", "20261126090000", message_id="R-899"))

    assert [outcome.result for outcome in outcomes] == [ReceiptResult.RECORDED] + [ReceiptResult.APPLIED] * 3
    assert [outcome.status for outcome in outcomes] == ["declared", "accepted", "released", "closed"]
    assert status_of(inventory) == S.CLOSED
    receipt_source = StatusChangeSource.CUSTOMS_RECEIPT
    assert history(inventory) == [
        ("declared", "declared", receipt_source, "2", True),
        ("declared", "accepted", receipt_source, "120", True),
        ("accepted", "released", receipt_source, "800", True),
        ("released", "closed", receipt_source, "899", True),
    ]


def test_a_late_120_after_800_is_recorded_and_changes_nothing(sender: Enterprise) -> None:
    inventory = make_list(sender, S.ACCEPTED)
    receipt(inventory, "800", "20261125130000", message_id="R-800")

    outcome = receipt(inventory, "120", "20261125120500", message_id="R-120")

    assert (outcome.result, outcome.reason, outcome.status) == (ReceiptResult.IGNORED, "backwards", S.RELEASED)
    assert status_of(inventory) == S.RELEASED
    assert (outcome.change.from_status, outcome.change.to_status, outcome.change.applied) == (
        "released",
        "accepted",
        False,
    )
    assert history(inventory)[-1] == ("released", "accepted", StatusChangeSource.CUSTOMS_RECEIPT, "120", False)
    assert InventoryStatusChange.objects.count() == 2


def test_an_800_that_overtakes_its_120_releases_the_list_and_the_120_is_ignored(sender: Enterprise) -> None:
    inventory = make_list(sender, S.DECLARED)

    released = receipt(inventory, "800", "20261125130000")
    late = receipt(inventory, "120", "20261125120500")

    assert (released.result, released.status) == (ReceiptResult.APPLIED, S.RELEASED)
    assert (late.result, late.reason, late.status) == (ReceiptResult.IGNORED, "backwards", S.RELEASED)
    assert [row[:2] for row in history(inventory)] == [("declared", "released"), ("released", "accepted")]


def test_a_receipt_sent_twice_with_one_message_id_is_recorded_once(sender: Enterprise) -> None:
    inventory = make_list(sender, S.DECLARED)
    first = receipt(inventory, "120", "20261125120500", message_id="GUID-1")

    again = receipt(inventory, "120", "20261125120500", message_id="GUID-1")
    # The same message guid, even if its content were read differently, is the same receipt.
    other_time = receipt(inventory, "120", "20261125120600", message_id="GUID-1")

    assert (again.result, other_time.result) == (ReceiptResult.DUPLICATE, ReceiptResult.DUPLICATE)
    assert again.change.pk == other_time.change.pk == first.change.pk
    assert (again.status, status_of(inventory)) == (S.ACCEPTED, S.ACCEPTED)
    assert InventoryStatusChange.objects.count() == 1


def test_the_same_code_and_return_time_in_another_message_is_recorded_once(sender: Enterprise) -> None:
    inventory = make_list(sender, S.DECLARED)
    first = receipt(inventory, "100", "20261125120500", message_id="GUID-1", note="退单")

    again = receipt(inventory, "100", "20261125120500", message_id="GUID-2", note="退单")

    assert (again.result, again.change.pk) == (ReceiptResult.DUPLICATE, first.change.pk)
    assert status_of(inventory) == S.REJECTED
    assert InventoryStatusChange.objects.count() == 1


def test_the_database_records_the_same_receipt_once(sender: Enterprise) -> None:
    inventory = make_list(sender, S.DECLARED)
    receipt(inventory, "120", "20261125120500", message_id="GUID-1")
    common = {"inventory": inventory, "from_status": "declared", "to_status": "accepted", "source": "customs_receipt"}

    for constraint, duplicate in (
        ("receipt_once", {"receipt_code": "120", "receipt_time": at("20261125120500"), "message_id": "GUID-2"}),
        ("message_once", {"receipt_code": "120", "receipt_time": at("20261125130000"), "message_id": "GUID-1"}),
    ):
        with pytest.raises(IntegrityError, match=f"inventory_change_{constraint}"), transaction.atomic():
            InventoryStatusChange.objects.create(**common, **duplicate)
    assert InventoryStatusChange.objects.count() == 1


def test_receipts_that_confirm_the_state_are_recorded_and_move_nothing(sender: Enterprise) -> None:
    inventory = make_list(sender, S.DECLARED)

    sent = receipt(inventory, "3", "20261125120000")
    concluded = receipt(inventory, "399", "20261125120100")

    assert [sent.result, concluded.result] == [ReceiptResult.RECORDED, ReceiptResult.RECORDED]
    assert status_of(inventory) == S.DECLARED
    assert [row[:4] for row in history(inventory)] == [
        ("declared", "declared", StatusChangeSource.CUSTOMS_RECEIPT, "3"),
        ("declared", "declared", StatusChangeSource.CUSTOMS_RECEIPT, "399"),
    ]


def test_a_processing_error_rejects_the_list(sender: Enterprise) -> None:
    inventory = make_list(sender, S.DECLARED)

    outcome = receipt(inventory, "-621005", "20261125120000", note="超过单次限值")

    assert (outcome.result, outcome.status) == (ReceiptResult.APPLIED, S.REJECTED)
    assert history(inventory) == [("declared", "rejected", StatusChangeSource.CUSTOMS_RECEIPT, "-621005", True)]


def test_a_receipt_for_a_list_never_sent_is_recorded_and_ignored(sender: Enterprise) -> None:
    inventory = make_list(sender, S.PENDING_DOCUMENTS)

    outcome = receipt(inventory, "120", "20261125120000")

    assert (outcome.result, outcome.reason, outcome.status) == (
        ReceiptResult.IGNORED,
        "not_allowed",
        S.PENDING_DOCUMENTS,
    )
    assert history(inventory) == [("pending_documents", "accepted", StatusChangeSource.CUSTOMS_RECEIPT, "120", False)]


@pytest.mark.parametrize("final", ["closed", "cancelled", "returned"])
def test_a_final_list_keeps_its_state_whatever_customs_sends_later(sender: Enterprise, final: str) -> None:
    inventory = make_list(sender, final)

    codes_later = [code for code in ("700", "800", "899", "100", "-621005") if EXPECTED_RECEIPTS[code] != final]
    results = {receipt(inventory, code, f"2026112613{i:02d}00").result for i, code in enumerate(codes_later)}

    assert results == {ReceiptResult.IGNORED}
    assert status_of(inventory) == final
    assert InventoryStatusChange.objects.filter(inventory=inventory, applied=False).count() == len(codes_later)


@pytest.mark.parametrize("code", ["121", "0", "abc", "", "-", "--621005", "800x"])
def test_an_unknown_receipt_code_is_refused_and_nothing_recorded(sender: Enterprise, code: str) -> None:
    inventory = make_list(sender, S.DECLARED)

    with pytest.raises(UnknownReceiptCode) as raised:
        receipt(inventory, code, "20261125120000")

    assert raised.value.code == "unknown_receipt_code"
    assert status_of(inventory) == S.DECLARED
    assert not InventoryStatusChange.objects.exists()


# --- History ------------------------------------------------------------------------------------


def test_history_is_in_the_order_things_happened(sender: Enterprise) -> None:
    inventory = make_list(sender, S.DECLARED)
    noon = datetime.datetime(2026, 11, 25, 12, tzinfo=CST)
    # Rows written out of time order (the clock set back): history follows time, not row ids.
    with time_machine.travel(noon + datetime.timedelta(minutes=5), tick=False):
        receipt(inventory, "120", "20261125120500", message_id="R-120")
    with time_machine.travel(noon, tick=False):
        receipt(inventory, "3", "20261125120000", message_id="R-3")
    with time_machine.travel(noon + datetime.timedelta(hours=1), tick=False):
        receipt(inventory, "800", "20261125130000", message_id="R-800")

    changes = list(lifecycle.inventory_history(inventory=inventory))

    assert [change.receipt_code for change in changes] == ["3", "120", "800"]
    assert [change.created_at for change in changes] == [
        noon,
        noon + datetime.timedelta(minutes=5),
        noon + datetime.timedelta(hours=1),
    ]
    assert changes[0].pk > changes[1].pk
    assert status_of(inventory) == S.RELEASED


def test_the_history_of_one_list_leaves_out_the_others(sender: Enterprise) -> None:
    first = make_list(sender, S.DECLARED)
    second = make_list(sender, S.DECLARED, cop_no="COP-OTHER", order_no="SW-OTHER")
    receipt(first, "120", "20261125120000", message_id="GUID-1")
    # The same guid and time may name another list: one message carries many lists.
    receipt(second, "120", "20261125120000", message_id="GUID-1")

    assert [row[:2] for row in history(first)] == [("declared", "accepted")]
    assert [row[:2] for row in history(second)] == [("declared", "accepted")]


# --- Through document intake --------------------------------------------------------------------


@pytest.fixture
def submit(parties: dict[str, Persona]) -> Any:
    """``submit(**changes)`` sends the example list through ``services.document_submit`` as the agent."""

    def call(**changes: Any) -> services.SubmitResult:
        return services.document_submit(kind="inventory", data=validated(**changes), sender=parties["agent"].enterprise)

    return call


ENTERPRISE = StatusChangeSource.ENTERPRISE
RECEIPT = StatusChangeSource.CUSTOMS_RECEIPT


@pytest.mark.parametrize(("app_status", "state"), [("1", "draft"), ("2", "pending_documents")])
def test_a_new_list_records_its_first_state(submit: Any, app_status: str, state: str) -> None:
    inventory = submit(app_status=app_status).document

    assert status_of(inventory) == state
    assert history(inventory) == [("", state, ENTERPRISE, "", True)]


def test_a_draft_declared_and_then_deleted_is_recorded_by_the_enterprise(submit: Any) -> None:
    inventory = submit(app_status="1").document

    submit(app_type="2", app_time=LATER, app_status="2")
    submit(app_type="3", app_time="20261125160000")

    assert status_of(inventory) == S.DELETED
    assert history(inventory) == [
        ("", "draft", ENTERPRISE, "", True),
        ("draft", "pending_documents", ENTERPRISE, "", True),
        ("pending_documents", "deleted", ENTERPRISE, "", True),
    ]


def test_a_rejected_list_changed_is_declared_again_as_a_new_version(submit: Any) -> None:
    inventory = submit().document
    lifecycle.inventory_transition(inventory=inventory, to=S.MATCHED, source=SINGLE_WINDOW)
    lifecycle.inventory_transition(inventory=inventory, to=S.DECLARED, source=SINGLE_WINDOW)
    assert receipt(inventory, "100", "20261125140000", message_id="R-100", note="申报要素不全").status == S.REJECTED

    changed = submit(app_type="2", app_time=LATER, gross_weight="1.25")

    assert not changed.created
    assert changed.document.pk == inventory.pk
    assert (changed.document.status, changed.document.version) == (S.PENDING_DOCUMENTS, 2)
    lifecycle.inventory_transition(inventory=inventory, to=S.MATCHED, source=SINGLE_WINDOW)
    lifecycle.inventory_transition(inventory=inventory, to=S.DECLARED, source=SINGLE_WINDOW)
    accepted = receipt(inventory, "120", "20261125153000", message_id="R-120")
    assert (accepted.result, status_of(inventory)) == (ReceiptResult.APPLIED, S.ACCEPTED)
    # The first version's rejection, delivered again, changes nothing.
    assert receipt(inventory, "100", "20261125140000", message_id="R-100").result == ReceiptResult.DUPLICATE
    assert status_of(inventory) == S.ACCEPTED
    assert history(inventory) == [
        ("", "pending_documents", ENTERPRISE, "", True),
        ("pending_documents", "matched", SINGLE_WINDOW, "", True),
        ("matched", "declared", SINGLE_WINDOW, "", True),
        ("declared", "rejected", RECEIPT, "100", True),
        ("rejected", "pending_documents", ENTERPRISE, "", True),
        ("pending_documents", "matched", SINGLE_WINDOW, "", True),
        ("matched", "declared", SINGLE_WINDOW, "", True),
        ("declared", "accepted", RECEIPT, "120", True),
    ]
    assert "version 2" in lifecycle.inventory_history(inventory=inventory)[4].note


def test_a_rejected_list_may_go_back_to_a_draft(submit: Any) -> None:
    inventory = submit().document
    Inventory.objects.filter(pk=inventory.pk).update(status=S.REJECTED)

    result = submit(app_type="2", app_time=LATER, app_status="1")

    assert (result.document.status, result.document.version) == (S.DRAFT, 2)
    assert history(inventory)[-1] == ("rejected", "draft", ENTERPRISE, "", True)


@pytest.mark.parametrize(
    ("state", "app_type", "app_status"),
    [
        pytest.param("pending_documents", "2", "1", id="waiting-back-to-draft"),
        pytest.param("matched", "2", "2", id="matched-changed"),
        pytest.param("send_failed", "2", "1", id="send-failed-back-to-draft"),
        pytest.param("accepted", "3", "2", id="accepted-deleted"),
    ],
)
def test_a_change_the_lifecycle_forbids_is_refused_with_the_customs_code(
    submit: Any, state: str, app_type: str, app_status: str
) -> None:
    inventory = submit().document
    Inventory.objects.filter(pk=inventory.pk).update(status=state)
    before = InventoryStatusChange.objects.count()

    with pytest.raises(services.DocumentConflict) as raised:
        submit(app_type=app_type, app_time=LATER, app_status=app_status)

    assert raised.value.code == codes.CHANGE_NOT_ALLOWED
    assert raised.value.extra == {"existing_id": inventory.pk, "customs_code": "-621012"}
    assert Inventory.objects.values_list("status", "version").get(pk=inventory.pk) == (state, 1)
    assert InventoryStatusChange.objects.count() == before


# --- At the same instant ------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_same_receipt_arriving_twice_at_once_is_recorded_once() -> None:
    inventory = make_list(EnterpriseFactory.create(roles=[Role.AGENT]), S.DECLARED)
    barrier = threading.Barrier(2)

    def deliver(message_id: str) -> ReceiptResult:
        try:
            barrier.wait(timeout=5)
            return receipt(Inventory.objects.get(pk=inventory.pk), "120", "20261125120500", message_id).result
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=2) as pool:
        results = sorted(pool.map(deliver, ["GUID-1", "GUID-2"]))

    assert results == [ReceiptResult.APPLIED, ReceiptResult.DUPLICATE]
    assert status_of(inventory) == S.ACCEPTED
    assert InventoryStatusChange.objects.filter(inventory=inventory).count() == 1


@pytest.mark.parametrize("code", ["2", "3", "120", "800"])
def test_a_receipt_for_a_held_list_is_a_late_one_and_moves_nothing(sender: Enterprise, code: str) -> None:
    inventory = make_list(sender, S.HELD)

    outcome = receipt(inventory, code, "20261125120000", message_id=f"R-{code}")

    assert (outcome.result, outcome.reason, outcome.status) == (ReceiptResult.IGNORED, "not_allowed", S.HELD)
    assert status_of(inventory) == S.HELD
    assert history(inventory) == [("held", outcome.change.to_status, StatusChangeSource.CUSTOMS_RECEIPT, code, False)]
