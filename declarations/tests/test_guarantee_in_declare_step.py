"""The guarantee in the declare step, end to end through the API: a list whose guarantor's
account does not cover its tax is held, a top-up in the admin's service declares it, and a
list customs rejects gives its reservation back."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from core.audit import Actor
from declarations.models import DeclareDecision, InventoryStatus, TaxEstimate
from declarations.tests.helpers import Send
from declarations.tests.parcels import list_of, parcel, receipt, submit
from finance import guarantees
from finance.models import GuaranteeAccount, GuaranteeReservation, GuaranteeShortfall
from finance.participant import FinanceParticipant
from single_window import declare as contract
from single_window.models import Event

S = InventoryStatus
GUARANTOR = "3301960002"  # the example list's assureCode
ACTOR = Actor.system("test")

pytestmark = pytest.mark.usefixtures("parties")


@pytest.fixture
def finance(db: None) -> Iterator[None]:
    contract.register_participant(FinanceParticipant())
    yield
    contract.unregister_participant("finance")


def account(amount: str) -> GuaranteeAccount:
    return guarantees.account_create(
        code=GUARANTOR, name="担保企业", amount=Decimal(amount), actor=ACTOR, reason="bank guarantee"
    )


@pytest.mark.usefixtures("finance")
def test_a_list_its_guarantee_does_not_cover_is_held_until_a_top_up(
    send: Send, django_capture_on_commit_callbacks: Any
) -> None:
    held_account = account("1.00")
    docs = parcel(61)

    submit(send, docs)

    inventory = list_of(docs)
    assert inventory.status == S.HELD
    decision = DeclareDecision.objects.get(inventory=inventory, system="finance")
    assert decision.verdict == "hold"
    assert decision.reasons[0]["code"] == "guarantee_insufficient"
    assert GuaranteeShortfall.objects.get(inventory_id=inventory.pk).resolved_at is None
    assert Event.objects.filter(type="finance.guarantee_insufficient", enterprise__customs_code=GUARANTOR).exists()

    with django_capture_on_commit_callbacks(execute=True):
        guarantees.account_update(account=held_account, actor=ACTOR, reason="top-up", amount=Decimal("1000.00"))

    inventory.refresh_from_db()
    assert inventory.status == S.DECLARED
    tax = TaxEstimate.objects.get(inventory=inventory).tax_total
    held_account.refresh_from_db()
    assert held_account.reserved == tax
    assert GuaranteeShortfall.objects.get(inventory_id=inventory.pk).resolved_at is not None


@pytest.mark.usefixtures("finance")
def test_customs_rejecting_the_list_gives_its_reservation_back(send: Send) -> None:
    covering = account("1000.00")
    docs = parcel(62)
    submit(send, docs)
    inventory = list_of(docs)
    assert inventory.status == S.DECLARED
    covering.refresh_from_db()
    assert covering.reserved > 0

    receipt(inventory, "100", inventory.updated_at)

    covering.refresh_from_db()
    assert covering.reserved == Decimal(0)
    reservation = GuaranteeReservation.objects.get(inventory_id=inventory.pk)
    assert (reservation.state, reservation.outcome) == ("released", "rejected")
