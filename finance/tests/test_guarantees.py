"""The guarantee in the declare step: finance judges ``ListFacts`` (it never sees a list) and
keeps each guarantor's account with one conditional UPDATE per change."""

from __future__ import annotations

import datetime
import itertools
import threading
from decimal import Decimal
from typing import Any

import pytest
from django.db import close_old_connections, connection, transaction
from django.test import override_settings
from django.utils import timezone

from core.audit import Actor
from core.models import AuditEntry
from credit.models import CustomsClass, CustomsClassDecision
from finance import guarantees
from finance.models import GuaranteeAccount, GuaranteeMovement, GuaranteeReservation, GuaranteeShortfall
from finance.models.guarantees import ReservationState
from single_window import declare
from single_window.declare import ItemFacts, ListFacts, ListRef, TaxFacts, Verdict
from single_window.models import Enterprise, Event, Role
from tests.factories import EnterpriseFactory

GUARANTOR = "3301960005"
_IDS = itertools.count(700_000)
ACTOR = Actor.system("test")

pytestmark = pytest.mark.django_db


def facts(tax: str = "30.00", *, assure: str = GUARANTOR, ref: ListRef | None = None) -> ListFacts:
    total = Decimal(tax)
    return ListFacts(
        ref=ref or ListRef(next(_IDS), 1),
        cop_no="COP1",
        trade_mode="9610",
        ebp_code="3301960001",
        ebc_code="3301960002",
        agent_code="3301960005",
        assure_code=assure,
        logistics_code="3301960004",
        area_code="",
        ems_no="",
        customs_code="2901",
        port_code="2901",
        park_code="",
        buyer_hash="b",
        consignee_phone_hash="p",
        consignee_address_hash="a",
        gross_weight=Decimal(1),
        net_weight=Decimal(1),
        freight=Decimal(0),
        insured_fee=Decimal(0),
        items=(
            ItemFacts(
                gnum=1,
                gcode="1901101000",
                item_record_no="",
                item_name="goods",
                qty=Decimal(1),
                unit="122",
                qty1=Decimal(1),
                unit1="035",
                qty2=None,
                unit2="",
                price=Decimal(300),
                total_price=Decimal(300),
                currency="142",
                country="502",
            ),
        ),
        tax=TaxFacts(
            mode="within_limits",
            dutiable_total=Decimal(300),
            customs_tax=Decimal(0),
            value_added_tax=total,
            consumption_tax=Decimal(0),
            tax_total=total,
        ),
        declared_at=timezone.now(),
    )


@pytest.fixture
def guarantor(db: None) -> Enterprise:
    enterprise: Enterprise = EnterpriseFactory.create(customs_code=GUARANTOR, roles=[Role.AGENT])
    return enterprise


def open_account(amount: str) -> GuaranteeAccount:
    return guarantees.account_create(
        code=GUARANTOR, name="担保企业", amount=Decimal(amount), actor=ACTOR, reason="bank guarantee BG-1"
    )


def figures(account: GuaranteeAccount) -> tuple[Decimal, Decimal, Decimal]:
    account.refresh_from_db()
    return account.reserved, account.used, account.available


def test_a_covered_list_passes_and_reserves_its_estimated_tax_once(guarantor: Enterprise) -> None:
    account = open_account("100.00")
    listed = facts("30.00")

    first = guarantees.list_reserve(facts=listed)
    again = guarantees.list_reserve(facts=listed)

    assert (first.verdict, again.verdict) == (Verdict.PASS, Verdict.PASS)
    assert figures(account) == (Decimal("30.00"), Decimal(0), Decimal("70.00"))
    reservation = GuaranteeReservation.objects.get()
    assert (reservation.amount, reservation.ratio, reservation.customs_class, reservation.state) == (
        Decimal("30.00"),
        Decimal("1.00"),
        "regular",
        ReservationState.RESERVED,
    )


def test_a_list_beyond_what_is_available_is_held_and_the_guarantor_told(guarantor: Enterprise) -> None:
    account = open_account("50.00")
    guarantees.list_reserve(facts=facts("30.00"))

    decision = guarantees.list_reserve(facts=facts("30.00"))

    assert decision.verdict == Verdict.HOLD
    (reason,) = decision.reasons
    assert reason.code == "guarantee_insufficient"
    assert dict(reason.evidence) | {} == {
        "assure_code": GUARANTOR,
        "required": "30.00",
        "available": "20.00",
        "estimated_tax": "30.00",
        "cover_ratio": "1.00",
    }
    assert figures(account) == (Decimal("30.00"), Decimal(0), Decimal("20.00"))
    assert GuaranteeShortfall.objects.get().required == Decimal("30.00")
    event = Event.objects.get(type="finance.guarantee_insufficient", enterprise=guarantor)
    assert (event.payload["required"], event.payload["available"]) == ("30.00", "20.00")


@override_settings(FINANCE_GUARANTEE_REQUIRED=True)
def test_a_guarantor_without_an_account_holds_its_lists(guarantor: Enterprise) -> None:
    decision = guarantees.list_reserve(facts=facts("30.00"))

    assert decision.verdict == Verdict.HOLD
    assert [r.code for r in decision.reasons] == ["guarantee_account_missing"]


@override_settings(FINANCE_GUARANTEE_REQUIRED=False)
def test_without_the_requirement_a_guarantor_without_an_account_passes(guarantor: Enterprise) -> None:
    assert guarantees.list_reserve(facts=facts("30.00")).verdict == Verdict.PASS
    assert not GuaranteeReservation.objects.exists()


def test_an_advanced_certified_guarantor_covers_half(guarantor: Enterprise) -> None:
    account = open_account("100.00")
    CustomsClassDecision.objects.create(
        enterprise=guarantor,
        customs_class=CustomsClass.objects.get(code="advanced_certified"),
        source="customs_decision",
        decision_reference="HZ-2026-1",
        decided_on=datetime.date(2026, 1, 1),
        effective_from=datetime.date(2026, 1, 1),
    )

    guarantees.list_reserve(facts=facts("30.00"))

    assert figures(account)[0] == Decimal("15.00")
    assert GuaranteeReservation.objects.get().ratio == Decimal("0.50")


def test_release_gives_back_what_was_not_billed_and_consume_keeps_it(guarantor: Enterprise) -> None:
    account = open_account("100.00")
    kept, dropped = facts("30.00"), facts("20.00")
    guarantees.list_reserve(facts=kept)
    guarantees.list_reserve(facts=dropped)

    guarantees.list_consume(ref=kept.ref)
    guarantees.list_release(ref=dropped.ref, outcome="rejected")
    guarantees.list_release(ref=dropped.ref, outcome="rejected")  # told twice: given back once

    assert figures(account) == (Decimal("30.00"), Decimal(0), Decimal("70.00"))
    states = dict(GuaranteeReservation.objects.values_list("inventory_id", "state"))
    assert states == {kept.ref.inventory_id: "consumed", dropped.ref.inventory_id: "released"}
    assert list(GuaranteeMovement.objects.filter(kind="release").values_list("reserved_change", flat=True)) == [
        Decimal("-20.00")
    ]


def test_a_billed_list_released_later_keeps_the_bill_s_use(guarantor: Enterprise) -> None:
    account = open_account("100.00")
    listed = facts("30.00")
    guarantees.list_reserve(facts=listed)
    guarantees.list_consume(ref=listed.ref)
    guarantees.bill_charge(
        tax_no="TAX1",
        tax_total=Decimal("31.00"),
        assure_code=GUARANTOR,
        inventory_id=listed.ref.inventory_id,
        version=1,
    )

    guarantees.list_release(ref=listed.ref, outcome="cancelled")

    # The tax stands until customs voids the bill (CEB818 status 3).
    assert figures(account) == (Decimal(0), Decimal("31.00"), Decimal("69.00"))
    assert GuaranteeReservation.objects.get().outcome == "cancelled"


def test_a_top_up_has_the_held_lists_judged_again(
    guarantor: Enterprise, monkeypatch: pytest.MonkeyPatch, django_capture_on_commit_callbacks: Any
) -> None:
    account = open_account("10.00")
    held = facts("30.00")
    guarantees.list_reserve(facts=held)
    judged: list[int] = []
    monkeypatch.setattr(declare, "_RECONSIDER", [judged.append])

    with django_capture_on_commit_callbacks(execute=True):
        guarantees.account_update(account=account, actor=ACTOR, reason="top-up BG-2", amount=Decimal("100.00"))
        assert judged == []  # after the change committed

    assert judged == [held.ref.inventory_id]
    entry = AuditEntry.objects.filter(object_type="finance.guaranteeaccount", action="update").get()
    assert entry.before is not None
    assert entry.after is not None
    assert (entry.reason, entry.before["amount"], entry.after["amount"]) == ("top-up BG-2", "10.00", "100.00")
    assert GuaranteeMovement.objects.filter(kind="adjust").count() == 2


def test_an_account_change_needs_a_reason_and_a_non_negative_amount(guarantor: Enterprise) -> None:
    account = open_account("10.00")

    with pytest.raises(guarantees.InvalidInput) as no_reason:
        guarantees.account_update(account=account, actor=ACTOR, reason=" ", amount=Decimal(20))
    with pytest.raises(guarantees.InvalidInput) as negative:
        guarantees.account_update(account=account, actor=ACTOR, reason="cut", amount=Decimal(-1))

    assert (no_reason.value.code, negative.value.code) == (
        "finance_reason_required",
        "finance_guarantee_amount_invalid",
    )
    account.refresh_from_db()
    assert account.amount == Decimal("10.00")


@pytest.mark.django_db(transaction=True)
def test_parallel_declarations_never_reserve_more_than_the_account_holds() -> None:
    """Twenty lists of 30.00 against 100.00, each in its own thread and transaction: three pass."""
    EnterpriseFactory.create(customs_code=GUARANTOR, roles=[Role.AGENT])
    account = open_account("100.00")
    lists = [facts("30.00") for _ in range(20)]
    verdicts: list[str] = []
    barrier = threading.Barrier(len(lists))
    lock = threading.Lock()

    def declare_one(listed: ListFacts) -> None:
        try:
            barrier.wait()
            with transaction.atomic():
                verdict = guarantees.list_reserve(facts=listed).verdict
            with lock:
                verdicts.append(verdict)
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=declare_one, args=(listed,)) for listed in lists]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(verdicts).count(Verdict.PASS) == 3
    assert figures(account) == (Decimal("90.00"), Decimal(0), Decimal("10.00"))
    assert GuaranteeReservation.objects.count() == 3
    assert GuaranteeShortfall.objects.count() == 17
