"""Documents and lists arriving at the same instant, in parallel transactions on PostgreSQL.

Each request runs in its own thread with its own database connection; a barrier releases
them together. The tests commit, so they run with ``transaction=True`` (and restore the
seeded reference data afterwards).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar

import pytest
from django.db import connections
from rest_framework.test import APIClient

from declarations.models import BuyerYearQuota, Inventory, InventoryStatus, QuotaReservation, RuleResult
from declarations.models.decisions import ANNUAL_LIMIT
from declarations.tests.helpers import SENDER_OF, url
from declarations.tests.parcels import (
    INFANT_FOOD,
    KINDS,
    OTHER_DOCUMENTS,
    Goods,
    assert_declared,
    buyer_hash,
    buyer_id,
    failed_results,
    formula,
    list_of,
    parcel,
)
from tests.factories import Persona

if TYPE_CHECKING:
    from rest_framework.response import _MonkeyPatchedResponse as ApiResponse

pytestmark = [
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.usefixtures("reseed_after_flush"),
]

T = TypeVar("T")
ROUNDS = 10
Post = Callable[[str, dict[str, Any]], "ApiResponse"]


def at_once(calls: list[Callable[[], T]]) -> list[T]:
    """Run the calls in threads released together; each thread closes its connections."""
    barrier = threading.Barrier(len(calls))

    def run(call: Callable[[], T]) -> T:
        try:
            barrier.wait(timeout=10)
            return call()
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(run, calls))


@pytest.fixture
def post(parties: dict[str, Persona], client_for: Callable[[Persona], APIClient]) -> Post:
    """``post(kind, body)`` as the document's sender, with a client of its own (one per thread)."""

    def call(kind: str, body: dict[str, Any]) -> ApiResponse:
        return client_for(parties[SENDER_OF[kind]]).post(url(kind), body, format="json")

    return call


def test_four_documents_arriving_at_the_same_instant_leave_the_list_declared(post: Post) -> None:
    for n in range(1, ROUNDS + 1):
        docs = parcel(n)

        responses = at_once([partial(post, kind, docs[kind]) for kind in KINDS])

        assert [r.status_code for r in responses] == [201] * 4, [r.content for r in responses]
        inventory = list_of(docs)
        assert_declared(inventory)
        # Matched once, when the last document was there: one run, every rule held.
        assert set(RuleResult.objects.filter(inventory=inventory).values_list("run", "outcome")) == {(1, "passed")}
    assert Inventory.objects.filter(status=InventoryStatus.DECLARED).count() == ROUNDS
    assert not Inventory.objects.exclude(status=InventoryStatus.DECLARED).exists()
    assert QuotaReservation.objects.filter(state=QuotaReservation.State.RESERVED).count() == ROUNDS


FOUR_THOUSAND = [formula("3990.00")]  # + 10.00 freight
ONE_PIECE_OF_FOURTEEN_THOUSAND = [Goods(INFANT_FOOD, "婴儿米粉 Infant cereal", "1", "13990.00")]


@pytest.mark.parametrize(
    ("used", "goods", "amount"),
    [("20000", FOUR_THOUSAND, Decimal(4000)), (None, ONE_PIECE_OF_FOURTEEN_THOUSAND, Decimal(14000))],
    ids=["used-20000-two-lists-of-4000", "nothing-used-two-single-pieces-of-14000"],
)
def test_two_lists_of_one_buyer_declared_at_once_never_overshoot_the_year(
    post: Post, used: str | None, goods: list[Goods], amount: Decimal
) -> None:
    """Each list fits the year alone, not both: exactly one is declared. Without a quota row yet,
    both transactions also race to create it."""
    for round_ in range(3):
        buyer = buyer_id(100 + round_)
        if used is not None:
            BuyerYearQuota.objects.create(buyer_id_hash=buyer_hash(buyer), year=2026, consumed=Decimal(used))
        both = [parcel(10 * round_ + i, goods=goods, buyer=buyer) for i in (1, 2)]
        for docs in both:
            for kind in OTHER_DOCUMENTS:
                assert post(kind, docs[kind]).status_code == 201

        responses = at_once([partial(post, "inventory", docs["inventory"]) for docs in both])

        assert [r.status_code for r in responses] == [201, 201], [r.content for r in responses]
        assert sorted(r.json()["status"] for r in responses) == ["declared", "match_failed"]
        lists = [list_of(docs) for docs in both]
        declared = next(i for i in lists if i.status == InventoryStatus.DECLARED)
        refused = next(i for i in lists if i.status == InventoryStatus.MATCH_FAILED)
        assert_declared(declared)
        assert [(r[0], r[4]) for r in failed_results(refused)] == [("quota_annual", "-621018")]
        assert not QuotaReservation.objects.filter(inventory=refused).exists()
        year = BuyerYearQuota.objects.get(buyer_id_hash=buyer_hash(buyer), year=2026)
        assert (year.reserved, year.consumed) == (amount, Decimal(used or 0))
        assert year.reserved + year.consumed <= ANNUAL_LIMIT
