"""The estimated tax, against figures worked out by hand (DOMAIN.md section 4).

Every expected figure is computed in the comment above it, never by the code under test.
Within limits: duty 0, CT and VAT at 70%; ordinary goods at 13% VAT pay 13% x 70% = 9.1%.
No database: these are pure functions.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

import pytest

from declarations.reference.tables import tax_rates_for
from declarations.tax.calculation import (
    SINGLE_LIMIT_EXCEEDED,
    YEAR_LIMIT_EXCEEDED,
    CtQuantityMissing,
    ItemTax,
    Mode,
    RateMissing,
    RatesLike,
    Refusal,
    TaxError,
    TaxItem,
    TaxRates,
    apportion,
    tax_estimate,
    tax_mode,
)

if TYPE_CHECKING:
    from declarations.models import TaxRate

    def _a_tax_rate_row_serves_as_rates(rate: TaxRate) -> RatesLike:
        """Checked by mypy only: the model fits the protocol the functions take."""
        return rate


D = Decimal
PIECE, KG, LITRE, CAN, BOTTLE = "007", "035", "095", "122", "142"

ORDINARY = TaxRates(duty_rate=D("0.08"), vat_rate=D("0.13"))
# Cosmetics: ct 15%, only at or above 10,000 CNY per kg (10 CNY per g), as in the sample table.
COSMETICS = TaxRates(duty_rate=D("0.01"), vat_rate=D("0.13"), ct_rate=D("0.15"), ct_threshold_unit_price=D(10000))
# Beer: 0.25304 CNY per litre, no ad valorem part.
BEER = TaxRates(duty_rate=D(0), vat_rate=D("0.13"), ct_amount_per_unit=D("0.25304"), ct_unit=LITRE)
# Whisky: compound, 20% plus 1 CNY per litre.
WHISKY = TaxRates(duty_rate=D("0.05"), vat_rate=D("0.13"), ct_rate=D("0.20"), ct_amount_per_unit=D(1), ct_unit=LITRE)
# A high-end watch: duty 10%, ct 20%.
WATCH = TaxRates(duty_rate=D("0.10"), vat_rate=D("0.13"), ct_rate=D("0.20"))


def item(
    gcode: str,
    total_price: str,
    *,
    gnum: int = 1,
    qty: str = "1",
    unit: str = PIECE,
    qty1: str = "1",
    unit1: str = PIECE,
    qty2: str | None = None,
    unit2: str | None = None,
) -> TaxItem:
    return TaxItem(
        gnum=gnum,
        gcode=gcode,
        qty=D(qty),
        unit=unit,
        total_price=D(total_price),
        qty1=D(qty1),
        unit1=unit1,
        qty2=None if qty2 is None else D(qty2),
        unit2=unit2,
    )


def estimate_one(
    line: TaxItem, rates: RatesLike, *, mode: Mode = Mode.WITHIN_LIMITS, freight: str = "0", insured_fee: str = "0"
) -> ItemTax:
    estimate = tax_estimate(
        items=[line], rates={line.gcode: rates}, freight=D(freight), insured_fee=D(insured_fee), mode=mode
    )
    assert len(estimate.items) == 1
    return estimate.items[0]


# -- Ordinary goods -------------------------------------------------------------------------


def test_ordinary_goods_within_limits_pay_vat_at_9_1_percent_and_no_duty() -> None:
    estimate = tax_estimate(
        items=[item("6109100000", "100.00")],
        rates={"6109100000": ORDINARY},
        freight=D(0),
        insured_fee=D(0),
        mode=Mode.WITHIN_LIMITS,
    )

    # duty: 0 within limits (the 8% rate is not applied); CT: none on the line
    # VAT: 100.00 x 0.13 x 0.7 = 9.10
    line = estimate.items[0]
    assert (line.dutiable_value, line.customs_tax, line.consumption_tax, line.value_added_tax, line.total) == (
        D("100.00"),
        D("0.00"),
        D("0.00"),
        D("9.10"),
        D("9.10"),
    )
    assert (estimate.customs_tax, estimate.consumption_tax, estimate.value_added_tax, estimate.total) == (
        D("0.00"),
        D("0.00"),
        D("9.10"),
        D("9.10"),
    )
    assert estimate.dutiable_total == D("100.00")
    assert estimate.mode is Mode.WITHIN_LIMITS


def test_it_rounds_each_tax_half_up_to_the_fen() -> None:
    # VAT: 15.00 x 0.091 = 1.365 -> 1.37 half-up (half-even would give 1.36)
    assert estimate_one(item("6109100000", "15.00"), ORDINARY).value_added_tax == D("1.37")


def test_list_totals_are_sums_of_the_rounded_item_figures() -> None:
    lines = [item("6109100000", "5.00", gnum=n) for n in (1, 2, 3)]

    estimate = tax_estimate(
        items=lines, rates={"6109100000": ORDINARY}, freight=D(0), insured_fee=D(0), mode=Mode.WITHIN_LIMITS
    )

    # each item: 5.00 x 0.091 = 0.455 -> 0.46; the list: 3 x 0.46 = 1.38
    # (rounding the list's 15.00 x 0.091 = 1.365 would give 1.37)
    assert [line.value_added_tax for line in estimate.items] == [D("0.46")] * 3
    assert estimate.value_added_tax == D("1.38")
    assert estimate.total == D("1.38")


# -- Cosmetics: ad valorem CT with a threshold ------------------------------------------------


def test_cosmetics_above_the_threshold_match_domain_example() -> None:
    # 50 g of face cream, price 990.00 + freight 10.00 = dutiable 1,000.00
    # unit price: 1,000.00 / 0.05 kg = 20,000 CNY per kg >= 10,000: CT applies
    line = estimate_one(item("3304990000", "990.00", qty1="0.05", unit1=KG), COSMETICS, freight="10.00")

    # statutory CT: 1,000.00 x 0.15 / 0.85 = 176.470588...; x 0.7 = 123.529411... -> 123.53
    # VAT: (1,000.00 + 176.470588...) x 0.13 = 152.941176...; x 0.7 = 107.058823... -> 107.06
    # the total is 0 + 123.53 + 107.06 = 230.59
    assert line.dutiable_value == D("1000.00")
    assert (line.customs_tax, line.consumption_tax, line.value_added_tax, line.total) == (
        D("0.00"),
        D("123.53"),
        D("107.06"),
        D("230.59"),
    )


def test_cosmetics_below_the_threshold_pay_no_consumption_tax() -> None:
    # 50 g at 300.00: 300.00 / 0.05 kg = 6,000 CNY per kg < 10,000: no CT
    line = estimate_one(item("3304990000", "300.00", qty1="0.05", unit1=KG), COSMETICS)

    # VAT: 300.00 x 0.091 = 27.30
    assert (line.consumption_tax, line.value_added_tax, line.total) == (D("0.00"), D("27.30"), D("27.30"))


def test_cosmetics_exactly_at_the_threshold_pay_consumption_tax() -> None:
    # 50 g at 500.00: 500.00 / 0.05 kg = 10,000 CNY per kg, at the threshold: CT applies
    line = estimate_one(item("3304990000", "500.00", qty1="0.05", unit1=KG), COSMETICS)

    # statutory CT: 500.00 x 0.15 / 0.85 = 88.235294...; x 0.7 = 61.764705... -> 61.76
    # VAT: (500.00 + 88.235294...) x 0.091 = 53.529411... -> 53.53
    assert (line.consumption_tax, line.value_added_tax, line.total) == (D("61.76"), D("53.53"), D("115.29"))


def test_threshold_compares_the_dutiable_value_with_freight() -> None:
    # price 495.00 alone is 9,900 CNY per kg; with freight 5.00 the dutiable 500.00 is 10,000: CT applies
    line = estimate_one(item("3304990000", "495.00", qty1="0.05", unit1=KG), COSMETICS, freight="5.00")

    # same figures as at the threshold: CT 61.76, VAT 53.53
    assert (line.consumption_tax, line.value_added_tax) == (D("61.76"), D("53.53"))


# -- Per-unit and compound CT ----------------------------------------------------------------


def test_beer_pays_consumption_tax_per_litre_of_its_legal_quantity() -> None:
    # 24 cans of 0.5 l: declared 24 cans, legal quantity 12 litres, price 120.00
    line = estimate_one(item("2203000000", "120.00", qty="24", unit=CAN, qty1="12", unit1=LITRE), BEER)

    # statutory CT: 12 l x 0.25304 = 3.03648; x 0.7 = 2.125536 -> 2.13
    # VAT: (120.00 + 3.03648) x 0.13 x 0.7 = 123.03648 x 0.091 = 11.19631968 -> 11.20
    # the total is 2.13 + 11.20 = 13.33
    assert (line.customs_tax, line.consumption_tax, line.value_added_tax, line.total) == (
        D("0.00"),
        D("2.13"),
        D("11.20"),
        D("13.33"),
    )


def test_per_unit_consumption_tax_finds_the_litres_in_the_second_legal_quantity() -> None:
    # legal quantities: 12.4 kg first, 12 l second
    line = estimate_one(
        item("2203000000", "120.00", qty="24", unit=CAN, qty1="12.4", unit1=KG, qty2="12", unit2=LITRE), BEER
    )

    # same figures as above: CT 2.13, VAT 11.20
    assert (line.consumption_tax, line.value_added_tax) == (D("2.13"), D("11.20"))


def test_per_unit_consumption_tax_without_a_quantity_in_its_unit_is_an_error() -> None:
    line = item("2203000000", "120.00", gnum=3, qty="24", unit=CAN, qty1="12.4", unit1=KG)

    with pytest.raises(CtQuantityMissing) as caught:
        estimate_one(line, BEER)

    assert (caught.value.gnum, caught.value.gcode, caught.value.ct_unit) == (3, "2203000000", LITRE)
    assert isinstance(caught.value, TaxError)


def test_spirits_pay_compound_consumption_tax_within_limits() -> None:
    # one 0.7 l bottle of whisky at 500.00; duty 5% is not applied within limits
    line = estimate_one(item("2208300000", "500.00", unit=BOTTLE, qty1="0.7", unit1=LITRE), WHISKY)

    # per-unit part: 0.7 l x 1.00 = 0.70
    # statutory CT: (500.00 + 0 + 0.70) / (1 - 0.20) x 0.20 + 0.70 = 625.875 x 0.20 + 0.70 = 125.175 + 0.70 = 125.875
    #   x 0.7 = 88.1125 -> 88.11
    # VAT: (500.00 + 125.875) x 0.13 x 0.7 = 625.875 x 0.091 = 56.954625 -> 56.95
    # the total is 88.11 + 56.95 = 145.06
    assert (line.customs_tax, line.consumption_tax, line.value_added_tax, line.total) == (
        D("0.00"),
        D("88.11"),
        D("56.95"),
        D("145.06"),
    )


def test_spirits_pay_compound_consumption_tax_with_duty_in_the_base_at_full_tax() -> None:
    # one 0.7 l bottle at 5,600.00: the one-piece exception
    line = estimate_one(item("2208300000", "5600.00", unit=BOTTLE, qty1="0.7", unit1=LITRE), WHISKY, mode=Mode.FULL_TAX)

    # duty: 5,600.00 x 0.05 = 280.00
    # CT: (5,600.00 + 280.00 + 0.70) / 0.80 x 0.20 + 0.70 = 5,880.70 / 4 + 0.70 = 1,470.175 + 0.70
    #   = 1,470.875 -> 1,470.88
    # VAT: (5,600.00 + 280.00 + 1,470.875) x 0.13 = 7,350.875 x 0.13 = 955.61375 -> 955.61
    # the total is 280.00 + 1,470.88 + 955.61 = 2,706.49
    assert (line.customs_tax, line.consumption_tax, line.value_added_tax, line.total) == (
        D("280.00"),
        D("1470.88"),
        D("955.61"),
        D("2706.49"),
    )


# -- The one-piece exception -----------------------------------------------------------------


def test_one_piece_above_the_single_limit_pays_full_duty_consumption_tax_and_vat() -> None:
    watch = item("9101110000", "5980.00")
    # dutiable: 5,980.00 + freight 15.00 + insurance 5.00 = 6,000.00, one piece, nothing used this year
    assert tax_mode(dutiable_total=D("6000.00"), piece_count=1, year_used=D(0)) is Mode.FULL_TAX

    estimate = tax_estimate(
        items=[watch], rates={"9101110000": WATCH}, freight=D("15.00"), insured_fee=D("5.00"), mode=Mode.FULL_TAX
    )

    # duty: 6,000.00 x 0.10 = 600.00
    # CT: (6,000.00 + 600.00) x 0.20 / 0.80 = 6,600.00 x 0.25 = 1,650.00
    # VAT: (6,000.00 + 600.00 + 1,650.00) x 0.13 = 8,250.00 x 0.13 = 1,072.50
    # the total is 600.00 + 1,650.00 + 1,072.50 = 3,322.50
    assert estimate.items[0].dutiable_value == D("6000.00")
    assert (estimate.customs_tax, estimate.consumption_tax, estimate.value_added_tax, estimate.total) == (
        D("600.00"),
        D("1650.00"),
        D("1072.50"),
        D("3322.50"),
    )
    assert estimate.dutiable_total == D("6000.00")
    assert estimate.mode is Mode.FULL_TAX


# -- The mode from the quota -----------------------------------------------------------------


def test_a_list_within_both_limits_is_taxed_within_limits() -> None:
    # 5,000.00 is not above 5,000; 21,000.00 + 5,000.00 = 26,000.00 is not above 26,000
    assert tax_mode(dutiable_total=D("5000.00"), piece_count=3, year_used=D("21000.00")) is Mode.WITHIN_LIMITS


def test_several_pieces_above_the_single_limit_are_refused_with_621005() -> None:
    refusal = tax_mode(dutiable_total=D("5000.01"), piece_count=2, year_used=D(0))

    assert isinstance(refusal, Refusal)
    assert refusal.customs_code == SINGLE_LIMIT_EXCEEDED == "-621005"
    assert (refusal.limit, refusal.amount) == (D(5000), D("5000.01"))


def test_the_single_limit_is_reported_before_the_year() -> None:
    # 6,000.00 with 2 pieces is over the single limit; 21,000.00 + 6,000.00 = 27,000.00 over the year too
    refusal = tax_mode(dutiable_total=D("6000.00"), piece_count=2, year_used=D("21000.00"))

    assert isinstance(refusal, Refusal)
    assert refusal.customs_code == "-621005"


def test_a_list_that_would_cross_26000_in_the_year_is_refused_with_621018() -> None:
    # 23,000.01 + 3,000.00 = 26,000.01 > 26,000
    refusal = tax_mode(dutiable_total=D("3000.00"), piece_count=2, year_used=D("23000.01"))

    assert isinstance(refusal, Refusal)
    assert refusal.customs_code == YEAR_LIMIT_EXCEEDED == "-621018"
    assert (refusal.limit, refusal.amount) == (D(26000), D("26000.01"))


def test_one_piece_above_the_single_limit_within_the_year_is_taxed_in_full() -> None:
    # 20,000.00 + 6,000.00 = 26,000.00, not above 26,000
    assert tax_mode(dutiable_total=D("6000.00"), piece_count=1, year_used=D("20000.00")) is Mode.FULL_TAX


def test_one_piece_above_the_single_limit_beyond_the_year_is_refused_with_621018() -> None:
    # 20,000.01 + 6,000.00 = 26,000.01 > 26,000
    refusal = tax_mode(dutiable_total=D("6000.00"), piece_count=1, year_used=D("20000.01"))

    assert isinstance(refusal, Refusal)
    assert refusal.customs_code == "-621018"
    assert refusal.amount == D("26000.01")


def test_limits_can_be_handed_in() -> None:
    # 1,500.00 > 1,000 with 2 pieces
    refusal = tax_mode(dutiable_total=D("1500.00"), piece_count=2, year_used=D(0), limit_single=D(1000))

    assert isinstance(refusal, Refusal)
    assert (refusal.customs_code, refusal.limit) == ("-621005", D(1000))


# -- Freight and insurance --------------------------------------------------------------------


def test_freight_over_three_equal_items_leaves_the_remainder_on_the_last() -> None:
    # 10.00 / 3 = 3.333... -> 3.33, 3.33; last: 10.00 - 6.66 = 3.34
    assert apportion(D("10.00"), [D(1), D(1), D(1)]) == [D("3.33"), D("3.33"), D("3.34")]
    # 10.00 x 33.33 / 100.00 = 3.333 -> 3.33, twice; last: 10.00 - 6.66 = 3.34
    assert apportion(D("10.00"), [D("33.33"), D("33.33"), D("33.34")]) == [D("3.33"), D("3.33"), D("3.34")]


def test_freight_shares_round_half_up() -> None:
    # 1.00 x 1 / 8 = 0.125 -> 0.13 (half-even would give 0.12); last: 1.00 - 0.13 = 0.87
    assert apportion(D("1.00"), [D(1), D(7)]) == [D("0.13"), D("0.87")]


def test_freight_and_insurance_make_each_items_dutiable_value() -> None:
    lines = [item("6109100000", "1.00", gnum=n) for n in (1, 2, 3)]

    estimate = tax_estimate(
        items=lines,
        rates={"6109100000": ORDINARY},
        freight=D("10.00"),
        insured_fee=D("1.00"),
        mode=Mode.WITHIN_LIMITS,
    )

    # freight: 3.33, 3.33, 3.34; insurance: 1.00 / 3 = 0.333... -> 0.33, 0.33, last 1.00 - 0.66 = 0.34
    # dutiable: 1.00 + 3.33 + 0.33 = 4.66, 4.66, 1.00 + 3.34 + 0.34 = 4.68; list 14.00
    # VAT: 4.66 x 0.091 = 0.42406 -> 0.42, 0.42; 4.68 x 0.091 = 0.42588 -> 0.43; list 1.27
    assert [line.dutiable_value for line in estimate.items] == [D("4.66"), D("4.66"), D("4.68")]
    assert [line.value_added_tax for line in estimate.items] == [D("0.42"), D("0.42"), D("0.43")]
    assert estimate.dutiable_total == D("14.00")
    assert estimate.value_added_tax == D("1.27")


def test_freight_is_apportioned_by_value_across_different_rates() -> None:
    lines = [
        item("6109100000", "300.00", gnum=1),
        item("3304990000", "700.00", gnum=2, qty1="0.05", unit1=KG),
    ]

    estimate = tax_estimate(
        items=lines,
        rates={"6109100000": ORDINARY, "3304990000": COSMETICS},
        freight=D("20.00"),
        insured_fee=D(0),
        mode=Mode.WITHIN_LIMITS,
    )

    # freight: 20.00 x 300 / 1,000 = 6.00; last 20.00 - 6.00 = 14.00
    # item 1: dutiable 306.00, VAT 306.00 x 0.091 = 27.846 -> 27.85
    # item 2: dutiable 714.00 / 0.05 kg = 14,280 per kg >= 10,000: CT applies
    #   statutory CT 714.00 x 0.15 / 0.85 = 126.0; x 0.7 = 88.20
    #   VAT (714.00 + 126.00) x 0.091 = 840.00 x 0.091 = 76.44
    # list: CT 88.20; VAT 27.85 + 76.44 = 104.29; total 192.49
    first, second = estimate.items
    assert (first.dutiable_value, first.value_added_tax) == (D("306.00"), D("27.85"))
    assert (second.dutiable_value, second.consumption_tax, second.value_added_tax) == (
        D("714.00"),
        D("88.20"),
        D("76.44"),
    )
    assert (estimate.consumption_tax, estimate.value_added_tax, estimate.total) == (
        D("88.20"),
        D("104.29"),
        D("192.49"),
    )


# -- Errors and the CEB816 shape --------------------------------------------------------------


def test_an_item_without_a_rate_is_an_error() -> None:
    with pytest.raises(RateMissing) as caught:
        tax_estimate(
            items=[item("6109100000", "100.00", gnum=2)], rates={}, freight=D(0), insured_fee=D(0), mode=Mode.FULL_TAX
        )

    assert (caught.value.gnum, caught.value.gcode) == (2, "6109100000")


def test_the_estimate_reads_as_a_ceb816_tax_bill() -> None:
    estimate = tax_estimate(
        items=[item("9101110000", "5980.00")],
        rates={"9101110000": WATCH},
        freight=D("15.00"),
        insured_fee=D("5.00"),
        mode=Mode.FULL_TAX,
    )

    # the figures of the one-piece exception above
    assert estimate.as_ceb816() == {
        "head": {"customsTax": "600.00", "valueAddedTax": "1072.50", "consumptionTax": "1650.00"},
        "list": [
            {
                "gnum": 1,
                "gcode": "9101110000",
                "taxPrice": "6000.00",
                "customsTax": "600.00",
                "valueAddedTax": "1072.50",
                "consumptionTax": "1650.00",
            }
        ],
    }


@pytest.mark.django_db
@pytest.mark.parametrize("gcode", ["7113119000", "7113191100", "7113191900"])
def test_the_sample_rates_charge_no_import_consumption_tax_on_gold_silver_and_diamond_jewellery(gcode: str) -> None:
    from_table = tax_rates_for([gcode])
    # A gold ring of 3,000.00 with no freight: 3,000.00 x 13% x 70% = 273.00 VAT, and nothing else.
    item = TaxItem(gnum=1, gcode=gcode, qty=D(1), unit="007", total_price=D("3000.00"), qty1=D("0.01"), unit1="035")

    estimate = tax_estimate(items=[item], rates=from_table, freight=D(0), insured_fee=D(0), mode=Mode.WITHIN_LIMITS)

    assert (estimate.consumption_tax, estimate.customs_tax, estimate.value_added_tax) == (
        D("0.00"),
        D("0.00"),
        D("273.00"),
    )


# -- Thresholds in the line's own units ---------------------------------------------------------

MASKS = TaxRates(duty_rate=D("0.01"), ct_rate=D("0.15"), ct_threshold_unit_price=D(15), ct_threshold_unit="020")


def _masks(total: str) -> TaxItem:
    # A box of 10 masks (020: slice), 0.25 kg.
    return TaxItem(gnum=1, gcode="3304990010", qty=D(10), unit="020", total_price=D(total), qty1=D("0.25"), unit1="035")


def test_masks_below_15_cny_a_piece_pay_no_consumption_tax() -> None:
    # 120.00 for 10 masks: 12.00 a piece. VAT only: 120.00 x 13% x 70% = 10.92.
    estimate = tax_estimate(
        items=[_masks("120.00")], rates={"3304990010": MASKS}, freight=D(0), insured_fee=D(0), mode=Mode.WITHIN_LIMITS
    )

    assert (estimate.consumption_tax, estimate.value_added_tax) == (D("0.00"), D("10.92"))


def test_masks_at_15_cny_a_piece_or_more_pay_consumption_tax() -> None:
    # 200.00 for 10 masks: 20.00 a piece. CT 200 x 0.15 / 0.85 = 35.294 x 70% = 24.71;
    # VAT (200 + 35.294) x 13% x 70% = 21.41.
    estimate = tax_estimate(
        items=[_masks("200.00")], rates={"3304990010": MASKS}, freight=D(0), insured_fee=D(0), mode=Mode.WITHIN_LIMITS
    )

    assert (estimate.consumption_tax, estimate.value_added_tax) == (D("24.71"), D("21.41"))


def test_a_threshold_per_kilogram_judges_a_quantity_given_in_grams() -> None:
    cream = TaxRates(ct_rate=D("0.15"), ct_threshold_unit_price=D(10000), ct_threshold_unit="035")
    # 50 g at 600.00: 12,000 CNY a kilogram, above the threshold, though 12 "per gram unit" is not.
    item = TaxItem(gnum=1, gcode="3304990099", qty=D(1), unit="007", total_price=D("600.00"), qty1=D(50), unit1="036")

    estimate = tax_estimate(
        items=[item], rates={"3304990099": cream}, freight=D(0), insured_fee=D(0), mode=Mode.WITHIN_LIMITS
    )

    assert estimate.consumption_tax > 0


@pytest.mark.django_db
def test_the_sample_rates_give_face_masks_their_per_piece_threshold_and_creams_their_legal_unit() -> None:
    rates = tax_rates_for(["3304990010", "3304990099"])

    masks, cream = rates["3304990010"], rates["3304990099"]
    assert (masks.ct_threshold_unit_price, masks.ct_threshold_unit, masks.legal_unit1) == (D(15), "020", "035")
    assert (cream.ct_threshold_unit_price, cream.ct_threshold_unit, cream.legal_unit1) == (D(10000), "", "035")


def test_the_dutiable_total_is_the_sum_of_the_items_dutiable_values_as_shown() -> None:
    # Two items of 10.005: each shown as 10.01, so the list's dutiable value is 20.02, not 20.01.
    items = [
        TaxItem(gnum=n, gcode="1901101000", qty=D(1), unit="007", total_price=D("10.005"), qty1=D("0.8"), unit1="035")
        for n in (1, 2)
    ]

    estimate = tax_estimate(
        items=items, rates={"1901101000": TaxRates()}, freight=D(0), insured_fee=D(0), mode=Mode.WITHIN_LIMITS
    )

    assert [item.dutiable_value for item in estimate.items] == [D("10.01"), D("10.01")]
    assert estimate.dutiable_total == D("20.02")
