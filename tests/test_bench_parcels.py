"""The benchmark's parcels (``bench/parcels.py``) are what the product takes and matches.

The generator shares no code with the product; these tests hold it to the product's own input
serializers, reference tables and matching rules.
"""

from __future__ import annotations

import datetime
import random
from collections import Counter
from decimal import Decimal

import pytest

from bench.parcels import KINDS, ParcelGenerator, Parties, Zipf, is_valid_id_number, load_catalogue, person
from declarations.intake import examples
from declarations.intake.identity import is_valid_resident_id
from declarations.kinds import KINDS as DOCUMENT_TYPES
from declarations.models import Inventory, InventoryStatus, PositiveListEntry, TaxRate
from declarations.tests.helpers import Send

# The demo parcel's parties, whom the declarations' fixtures register.
DEMO = Parties(
    ebp_code=examples.ORDER["ebp_code"],
    ebp_name=examples.ORDER["ebp_name"],
    ebc_code=examples.ORDER["ebc_code"],
    ebc_name=examples.ORDER["ebc_name"],
    pay_code=examples.PAYMENT["pay_code"],
    pay_name=examples.PAYMENT["pay_name"],
    logistics_code=examples.WAYBILL["logistics_code"],
    logistics_name=examples.WAYBILL["logistics_name"],
    agent_code=examples.INVENTORY["agent_code"],
    agent_name=examples.INVENTORY["agent_name"],
)


# One base time for every generator of the module: two generators of one seed make the same parcels.
BASE_TIME = datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=5)


def generator(
    seed: int = 7, *, mismatch_share: float = 0.02, family_share: float = 0.03, over_limit_share: float = 0.005
) -> ParcelGenerator:
    return ParcelGenerator(
        seed=seed,
        parties=DEMO,
        base_time=BASE_TIME,
        run_tag="T1",
        mismatch_share=mismatch_share,
        family_share=family_share,
        over_limit_share=over_limit_share,
    )


def test_every_document_passes_the_products_input_serializers() -> None:
    made = generator()
    for parcel in made.parcels(0, 300):
        for kind in KINDS:
            serializer = DOCUMENT_TYPES[kind].input_serializer(data=parcel.documents[kind])
            assert serializer.is_valid(), (parcel.index, kind, serializer.errors)


def test_buyers_and_payers_have_valid_distinct_resident_id_numbers() -> None:
    numbers = [person(n, seed=3).id_number for n in range(5000)]
    assert all(is_valid_resident_id(number) and is_valid_id_number(number) for number in numbers)
    assert len(set(numbers)) == len(numbers)
    assert not is_valid_id_number(numbers[0][:17] + ("0" if numbers[0][17] != "0" else "1"))


@pytest.mark.django_db
def test_goods_are_on_the_seeded_positive_list_in_their_legal_unit() -> None:
    catalogue = load_catalogue()
    lines = {entry.tariff_line: entry for entry in PositiveListEntry.objects.all()}
    legal = {rate.tariff_line: rate.legal_unit1 for rate in TaxRate.objects.all()}
    assert len(catalogue) >= 30
    for product in catalogue:
        entry = lines.get(product.gcode[:8])
        assert entry is not None, product.gcode
        assert not entry.bonded_only
        assert legal.get(product.gcode[:8]) in ("", None, product.unit1), product


def test_the_same_seed_makes_the_same_parcels_and_another_seed_others() -> None:
    first, again, other = generator(seed=11), generator(seed=11), generator(seed=12)
    assert [p.documents for p in first.parcels(0, 50)] == [p.documents for p in again.parcels(0, 50)]
    assert first.parcel(40).documents == again.parcel(40).documents  # parcel n alone is the same too
    assert [p.documents["order"]["buyer_id_number"] for p in first.parcels(0, 50)] != [
        p.documents["order"]["buyer_id_number"] for p in other.parcels(0, 50)
    ]


def test_buyers_are_drawn_by_a_zipf_law() -> None:
    zipf = Zipf(10_000, 1.0)
    rng = random.Random(5)  # noqa: S311 - a repeatable draw, not a secret
    draws = Counter(zipf.draw(rng) for _ in range(100_000))
    # Rank 1 is bought by about twice as often as rank 2 and ten times as often as rank 10.
    assert draws[0] / 100_000 == pytest.approx(zipf.share(0), rel=0.05)
    assert draws[0] / draws[1] == pytest.approx(2, rel=0.15)
    assert draws[0] / draws[9] == pytest.approx(10, rel=0.3)
    # A heavy head: the top 1% of buyers place about half of the orders.
    assert sum(draws[rank] for rank in range(100)) / 100_000 == pytest.approx(0.53, abs=0.03)


def test_frequent_buyers_exceed_the_annual_quota_within_a_run() -> None:
    made = generator(mismatch_share=0, family_share=0, over_limit_share=0)
    spent: Counter[int] = Counter()
    for parcel in made.parcels(0, 3000):
        spent[parcel.buyer_rank] += int(parcel.dutiable)
    assert spent.most_common(1)[0][0] == 0
    assert spent[0] > 26_000


def test_a_small_share_is_broken_on_purpose() -> None:
    parcels = list(generator().parcels(0, 4000))
    broken = Counter(parcel.broken for parcel in parcels)
    assert 0.015 < sum(n for reason, n in broken.items() if reason) / len(parcels) < 0.05
    assert {"payment_amount", "consignee_telephone", "item_price", "freight", "single_limit"} <= broken.keys()
    over = next(p for p in parcels if p.broken == "single_limit")
    assert over.dutiable > Decimal(5000)
    clear = [p for p in parcels if not p.broken]
    assert all(p.dutiable <= Decimal(5000) or len(p.documents["order"]["items"]) == 1 for p in clear)


@pytest.mark.django_db
def test_parcels_sent_through_the_api_are_declared_and_mismatches_fail_matching(send: Send) -> None:
    made = generator(family_share=0, over_limit_share=0)
    parcels = list(made.parcels(0, 400))
    sound = [p for p in parcels if not p.broken and p.buyer_rank > 10][:4]
    mismatched = next(p for p in parcels if p.broken == "payment_amount")
    for parcel in [*sound, mismatched]:
        for kind in parcel.arrival:
            response = send(kind, parcel.documents[kind])
            assert response.status_code == 201, (kind, response.content)
    for parcel in sound:
        assert Inventory.objects.get(order_no=parcel.order_no).status == InventoryStatus.DECLARED
    assert Inventory.objects.get(order_no=mismatched.order_no).status == InventoryStatus.MATCH_FAILED
