"""Each rule kind fires on one side of its edge and not on the other."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone

from risk import services
from risk.models import GoodsRestriction, ListObservation, PriceObservation, RiskHit, RiskRule, WatchListEntry
from risk.tests.conftest import BUYER, EBC, item, make_facts
from single_window import hashes
from single_window.declare import ListFacts, Verdict

pytestmark = pytest.mark.django_db

Only = Callable[..., RiskRule]


def fired(facts: ListFacts) -> dict[str, dict[str, Any]]:
    """The rules that fire on ``facts``; what the judging records (the list's own observations)
    is rolled back, so each call judges the same history."""
    with transaction.atomic():
        services.list_assess(facts=facts)
        hits = {
            h.rule_code: h.evidence
            for h in RiskHit.objects.filter(inventory_id=facts.ref.inventory_id, list_version=facts.ref.version)
        }
        transaction.set_rollback(True)
    return hits


def seen(
    n: int,
    *,
    buyer: str | None = None,
    ebc: str = EBC,
    phone: str = "13800138000",
    address: str | None = None,
    value: str = "100",
    hours_ago: float = 1,
    distinct_buyers: bool = False,
    distinct_addresses: bool = False,
) -> None:
    """``n`` earlier lists in risk's history."""
    at = timezone.now() - datetime.timedelta(hours=hours_ago)
    ListObservation.objects.bulk_create(
        [
            ListObservation(
                inventory_id=10_000 + i + ListObservation.objects.count() * 1000,
                list_version=1,
                buyer_hash=hashes.id_number_hash(f"buyer-{i}" if distinct_buyers else (buyer or BUYER)),
                ebc_code=ebc,
                phone_hash=hashes.phone_hash(phone),
                address_hash=hashes.address_hash(
                    f"西湖区文三路{i}号" if distinct_addresses else (address or "文三路1号")
                ),
                goods_value=Decimal(value),
                observed_at=at,
            )
            for i in range(n)
        ]
    )


# --- Restricted goods ---------------------------------------------------------------------------


def test_bonded_only_goods_fire_on_a_direct_mail_list_and_not_on_a_bonded_one(only: Only) -> None:
    only("restricted_goods")
    GoodsRestriction.objects.create(gcode_prefix="3004", restriction="bonded_only")
    medicine = (item("3004909099"),)

    assert fired(make_facts(items=medicine, trade_mode="9610"))["restricted_goods"]["restriction"] == "bonded_only"
    assert fired(make_facts(items=medicine, trade_mode="1210")) == {}
    assert fired(make_facts(items=(item("1901101000"),), trade_mode="9610")) == {}


def test_a_quantity_limit_fires_above_the_limit_only(only: Only) -> None:
    only("restricted_goods")
    GoodsRestriction.objects.create(gcode_prefix="190110", restriction="max_qty", max_qty=Decimal(6))

    assert fired(make_facts(items=(item(qty="6"),))) == {}
    assert fired(make_facts(items=(item(qty="7"),)))["restricted_goods"]["max_qty"] == "6.00000"


# --- Price anomaly ------------------------------------------------------------------------------


def prices(n: int, gcode: str = "1901101000") -> None:
    at = timezone.now() - datetime.timedelta(days=1)
    PriceObservation.objects.bulk_create(
        [
            PriceObservation(
                gcode=gcode, unit_price=Decimal(95 + i % 11), inventory_id=1 + i, list_version=1, observed_at=at
            )
            for i in range(n)
        ]
    )


def test_a_price_far_from_the_codes_history_is_flagged_once_there_are_enough_samples(only: Only) -> None:
    only("price_anomaly")  # k = 5, at least 30 samples; history 95..105 three times: median 100, MAD 3
    prices(33)

    assert fired(make_facts(items=(item(price="114"),))) == {}  # 14 from the median: 4.7 MAD
    hit = fired(make_facts(items=(item(price="116"),)))["price_anomaly"]  # 16: 5.3 MAD
    assert (hit["median"], hit["mad"], hit["samples"]) == ("100.00", "3.0000", "33")


def test_too_few_samples_judge_no_price(only: Only) -> None:
    only("price_anomaly")
    prices(29)

    assert fired(make_facts(items=(item(price="1000"),))) == {}


# --- Order splitting ----------------------------------------------------------------------------


def test_one_buyers_lists_from_one_seller_summing_above_5000_in_a_day_are_a_split_order(only: Only) -> None:
    only("order_splitting")
    seen(1, value="2500")

    assert fired(make_facts(items=(item(price="2500"),))) == {}  # 5,000: at the limit
    assert fired(make_facts(items=(item(price="2500.01"),)))["order_splitting"]["total"] == "5000.01"


def test_a_split_counts_only_the_same_seller_within_the_window_and_lists_that_may_still_clear(only: Only) -> None:
    only("order_splitting")
    seen(1, value="3000", ebc="3301969999")  # another seller
    seen(1, value="3000", hours_ago=25)  # outside the day
    seen(1, value="3000")
    ListObservation.objects.filter(ebc_code=EBC, observed_at__gte=timezone.now() - datetime.timedelta(hours=2)).update(
        released_at=timezone.now()
    )

    assert fired(make_facts(items=(item(price="3000"),))) == {}


# --- Identity farming ---------------------------------------------------------------------------


def test_one_phone_receiving_for_ten_buyers_in_a_day_is_farming(only: Only) -> None:
    only("identity_farming_phone")
    seen(8, distinct_buyers=True, phone="138 0013 8000")

    assert fired(make_facts(phone="+86 13800138000")) == {}  # 9 buyers with this one
    seen(1, buyer="the ninth", phone="13800138000")

    full_width = "".join(chr(ord(digit) + 0xFEE0) for digit in "13800138000")
    assert fired(make_facts(phone=full_width))["identity_farming_phone"]["buyers"] == "10"


def test_one_address_receiving_for_ten_buyers_in_a_day_is_farming(only: Only) -> None:
    only("identity_farming_address")
    seen(9, distinct_buyers=True, address="杭州市西湖区 文三路1号")

    assert fired(make_facts(address="浙江省杭州市西湖区文三路1号"))["identity_farming_address"]["buyers"] == "10"
    assert fired(make_facts(address="浙江省杭州市西湖区文三路2号")) == {}


def test_one_buyer_sending_to_five_addresses_in_a_day_is_flagged_for_review(only: Only) -> None:
    only("buyer_addresses")
    seen(3, distinct_addresses=True)

    assert fired(make_facts(address="西湖区文三路3号")) == {}  # 4 addresses
    seen(1, address="西湖区文三路9号")
    assert fired(make_facts(address="西湖区文三路3号"))["buyer_addresses"]["addresses"] == "5"


# --- Buyer velocity -----------------------------------------------------------------------------


def test_more_than_ten_parcels_for_one_buyer_in_a_day_is_velocity(only: Only) -> None:
    only("buyer_velocity")
    seen(9)

    assert fired(make_facts()) == {}  # the 10th
    seen(1)
    assert fired(make_facts())["buyer_velocity"]["lists"] == "11"


# --- Weight -------------------------------------------------------------------------------------


def test_a_gross_weight_outside_the_chapters_norm_is_flagged(only: Only) -> None:
    only("weight")  # chapter 19: 1.0 to 2.5 kg per kg net, tolerance 20 %: 0.8 to 3.0 kg
    formula = (item(qty1="1"),)

    assert fired(make_facts(items=formula, gross="3.0")) == {}
    assert fired(make_facts(items=formula, gross="0.8")) == {}
    assert fired(make_facts(items=formula, gross="3.01"))["weight"]["expected_max"] == "3.000"
    assert "weight" in fired(make_facts(items=formula, gross="0.79"))
    assert fired(make_facts(items=(item("9503000090"),), gross="50")) == {}  # no norm for chapter 95


# --- Watch lists --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "typed", "facts_kwargs"),
    [
        ("enterprise", EBC, {}),
        ("buyer", BUYER.lower(), {}),
        ("phone", "+86 138-0013-8000", {}),
        ("address", "杭州市 西湖区文三路１号", {}),
    ],
)
def test_a_watched_enterprise_buyer_phone_or_address_blocks_the_list(
    only: Only, kind: str, typed: str, facts_kwargs: dict[str, Any]
) -> None:
    only("watch_list")
    value, label = services.watch_value(kind, typed)
    entry = WatchListEntry.objects.create(kind=kind, value=value, label=label)

    decision = services.list_assess(facts=make_facts(**facts_kwargs))

    assert decision.verdict is Verdict.BLOCK
    assert [r.code for r in decision.reasons] == ["watch_list"]
    entry.active = False
    entry.save()
    assert services.list_assess(facts=make_facts(**facts_kwargs)).verdict is Verdict.PASS


def test_personal_watch_list_values_are_stored_only_as_keyed_hashes() -> None:
    value, label = services.watch_value("phone", "138 0013 8000")

    assert value == hashes.phone_hash("13800138000")
    assert "0013" not in label


def test_an_unwatched_list_passes(only: Only) -> None:
    only("watch_list")
    WatchListEntry.objects.create(kind="enterprise", value="3301969999", label="3301969999")

    assert services.list_assess(facts=make_facts()).verdict is Verdict.PASS


# --- Credit class -------------------------------------------------------------------------------


def test_an_enterprise_of_a_dishonest_class_sends_the_list_to_review(
    only: Only, credit: dict[str, tuple[str, Decimal]]
) -> None:
    only("credit_class")
    credit[EBC] = ("regular", Decimal("0.0244"))
    assert services.list_assess(facts=make_facts()).verdict is Verdict.PASS

    credit[EBC] = ("dishonest", Decimal("0.8476"))
    decision = services.list_assess(facts=make_facts())
    assert decision.verdict is Verdict.REVIEW
    assert dict(decision.reasons[0].evidence) == {"enterprise": EBC, "class": "dishonest"}


# --- Scope --------------------------------------------------------------------------------------


def test_a_rule_scoped_to_a_district_judges_only_that_districts_lists(only: Only) -> None:
    only("watch_list", scope="district", scope_value="3104")
    WatchListEntry.objects.create(kind="enterprise", value=EBC, label=EBC)

    assert services.list_assess(facts=make_facts(customs="2901")).verdict is Verdict.PASS
    assert services.list_assess(facts=make_facts(customs="3104")).verdict is Verdict.BLOCK
