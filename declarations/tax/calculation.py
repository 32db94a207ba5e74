"""The single window's estimated tax of a retail import list (DOMAIN.md section 4).

Pure functions: no database, no settings. The caller hands in the items, the list's freight
and insurance, the rates by goods code (``declarations.reference.tables.tax_rates_for``) and the mode
(``tax_mode``, from the buyer's quota). The result has the shape of the customs tax bill CEB816
(``TaxEstimate.as_ceb816``), so the estimate can be reconciled against the bill customs issues.

The formulas, with D the item's dutiable value, d the duty rate, c the ad valorem CT rate,
A = quantity in the CT unit x CT amount per unit (0 when the line has no per-unit CT), v the VAT rate:

    duty = D x d                                     (FULL_TAX; 0 within limits)
    CT   = (D + duty + A) / (1 - c) x c + A          (ad valorem: A = 0; per unit: c = 0; compound: both)
    VAT  = (D + duty + CT) x v

Within limits the statutory CT and VAT are computed as above with duty 0 and each is then taken
at 70%; the VAT base holds the statutory CT, not the reduced one (DOMAIN.md's example: cosmetics,
ct 15%, D 1,000.00 -> CT 123.53, VAT 107.06). Intermediate figures are kept exact (28 significant
digits); only the final duty, CT and VAT of each item are rounded half-up to the fen, and every
total is the sum of the rounded item figures.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Protocol

FEN = Decimal("0.01")
ZERO = Decimal(0)
# Within limits, VAT and CT are levied at 70% of the statutory amount.
WITHIN_LIMITS_SHARE = Decimal("0.7")
SINGLE_LIMIT = Decimal(5000)
YEAR_LIMIT = Decimal(26000)

# Customs' codes for the refusals (message specification, section 7).
SINGLE_LIMIT_EXCEEDED = "-621005"
YEAR_LIMIT_EXCEEDED = "-621018"


def to_fen(amount: Decimal) -> Decimal:
    """``amount`` rounded half-up to the fen (0.01)."""
    return amount.quantize(FEN, rounding=ROUND_HALF_UP)


# -- Errors ---------------------------------------------------------------------------------


class TaxError(ValueError):
    """The estimate cannot be computed from what was handed in."""


class RateMissing(TaxError):
    """No rate was handed in for an item's goods code."""

    def __init__(self, *, gnum: int, gcode: str) -> None:
        self.gnum = gnum
        self.gcode = gcode
        super().__init__(f"item {gnum}: no tax rate for goods code {gcode}")


class CtQuantityMissing(TaxError):
    """A per-unit consumption tax needs a quantity in its unit, and the item declares none."""

    def __init__(self, *, gnum: int, gcode: str, ct_unit: str) -> None:
        self.gnum = gnum
        self.gcode = gcode
        self.ct_unit = ct_unit
        super().__init__(
            f"item {gnum} ({gcode}): the consumption tax is charged per unit {ct_unit}, "
            f"but neither unit, unit1 nor unit2 is {ct_unit}"
        )


class UnitPriceUndefined(TaxError):
    """A consumption tax threshold needs a unit price, and the item's legal quantity is not above 0."""

    def __init__(self, *, gnum: int, gcode: str) -> None:
        self.gnum = gnum
        self.gcode = gcode
        super().__init__(f"item {gnum} ({gcode}): qty1 must be above 0 to compare its unit price with the threshold")


# -- Inputs ---------------------------------------------------------------------------------


class Mode(enum.StrEnum):
    WITHIN_LIMITS = "within_limits"  # duty 0, CT and VAT at 70%
    FULL_TAX = "full_tax"  # the one-piece exception: full duty, CT and VAT


@dataclass(frozen=True)
class Refusal:
    """The list does not fit the buyer's quota; ``customs_code`` is what customs would answer."""

    customs_code: str
    message: str
    limit: Decimal
    amount: Decimal  # the figure that went over ``limit``: the list's value, or the year's with it


@dataclass(frozen=True)
class TaxItem:
    """One line of the list: its declared quantity and its legal quantities.

    ``qty1``/``unit1`` is the first legal quantity (always there), ``qty2``/``unit2`` the second
    where the tariff line has one.
    """

    gnum: int
    gcode: str
    qty: Decimal
    unit: str
    total_price: Decimal
    qty1: Decimal
    unit1: str
    qty2: Decimal | None = None
    unit2: str | None = None


class RatesLike(Protocol):
    """The rates of a tariff line, as ``declarations.models.TaxRate`` holds them (fractions: 0.13 for 13%)."""

    @property
    def duty_rate(self) -> Decimal: ...
    @property
    def vat_rate(self) -> Decimal: ...
    @property
    def ct_rate(self) -> Decimal: ...
    @property
    def ct_amount_per_unit(self) -> Decimal: ...
    @property
    def ct_unit(self) -> str: ...
    @property
    def ct_threshold_unit_price(self) -> Decimal | None: ...
    @property
    def ct_threshold_unit(self) -> str: ...


@dataclass(frozen=True)
class TaxRates:
    """Rates handed in by hand (tests, previews); a ``TaxRate`` row serves as well."""

    duty_rate: Decimal = ZERO
    vat_rate: Decimal = Decimal("0.13")
    ct_rate: Decimal = ZERO
    ct_amount_per_unit: Decimal = ZERO
    ct_unit: str = ""
    ct_threshold_unit_price: Decimal | None = None
    ct_threshold_unit: str = ""


# -- Outputs --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ItemTax:
    gnum: int
    gcode: str
    dutiable_value: Decimal  # total price + its shares of freight and insurance (CEB816 taxPrice)
    customs_tax: Decimal
    consumption_tax: Decimal
    value_added_tax: Decimal
    total: Decimal

    def as_ceb816(self) -> dict[str, int | str]:
        """The item as a CEB816 ``TaxListRd``; amounts as decimal strings (JSON-safe, exact)."""
        return {
            "gnum": self.gnum,
            "gcode": self.gcode,
            "taxPrice": str(self.dutiable_value),
            "customsTax": str(self.customs_tax),
            "valueAddedTax": str(self.value_added_tax),
            "consumptionTax": str(self.consumption_tax),
        }


@dataclass(frozen=True)
class TaxEstimate:
    mode: Mode
    items: tuple[ItemTax, ...]
    customs_tax: Decimal
    consumption_tax: Decimal
    value_added_tax: Decimal
    total: Decimal
    dutiable_total: Decimal

    def as_ceb816(self) -> dict[str, object]:
        """The estimate as CEB816's taxes: ``head`` (``TaxHeadRd``'s three taxes) and ``list`` (``TaxListRd``).

        Only CEB816's field names: the bill has no total, nor identifiers (guid, taxNo, invtNo) of
        an estimate; ``total`` and ``mode`` are on the estimate itself.
        """
        return {
            "head": {
                "customsTax": str(self.customs_tax),
                "valueAddedTax": str(self.value_added_tax),
                "consumptionTax": str(self.consumption_tax),
            },
            "list": [item.as_ceb816() for item in self.items],
        }


# -- Quota ----------------------------------------------------------------------------------


def tax_mode(
    *,
    dutiable_total: Decimal,
    piece_count: int,
    year_used: Decimal,
    limit_single: Decimal = SINGLE_LIMIT,
    limit_year: Decimal = YEAR_LIMIT,
) -> Mode | Refusal:
    """How a list is taxed, or why it is refused, from the buyer's quota.

    ``dutiable_total`` is the list's dutiable value (goods + freight + insurance), ``piece_count``
    the pieces of the order as the caller counts them, ``year_used`` what the buyer has already
    used (reserved or consumed) in the calendar year. Both limits are inclusive.

    1. Above the single limit with more than one piece: refused, -621005 (checked first: no
       quota could admit it).
    2. The year's total with this list above the annual limit: refused, -621018.
    3. Above the single limit with exactly one piece: the exception, FULL_TAX.
    4. Otherwise WITHIN_LIMITS.
    """
    if piece_count < 1:
        raise ValueError(f"piece_count must be at least 1, not {piece_count}")
    over_single = dutiable_total > limit_single
    if over_single and piece_count != 1:
        return Refusal(
            customs_code=SINGLE_LIMIT_EXCEEDED,
            message=(
                f"the dutiable value {dutiable_total} is above the single transaction limit {limit_single} "
                f"and the order has {piece_count} pieces, not one"
            ),
            limit=limit_single,
            amount=dutiable_total,
        )
    year_total = year_used + dutiable_total
    if year_total > limit_year:
        return Refusal(
            customs_code=YEAR_LIMIT_EXCEEDED,
            message=(
                f"the buyer has used {year_used} this year; with {dutiable_total} the year would reach "
                f"{year_total}, above the annual limit {limit_year}"
            ),
            limit=limit_year,
            amount=year_total,
        )
    return Mode.FULL_TAX if over_single else Mode.WITHIN_LIMITS


# -- Tax ------------------------------------------------------------------------------------


def apportion(amount: Decimal, weights: Sequence[Decimal]) -> list[Decimal]:
    """``amount`` shared by ``weights``: each share but the last rounded half-up to the fen, the last the remainder.

    With no weight at all (every price 0) the whole amount falls on the last item.
    """
    if not weights:
        return []
    total_weight = sum(weights, ZERO)
    if total_weight == 0:
        return [ZERO] * (len(weights) - 1) + [amount]
    shares = [to_fen(amount * weight / total_weight) for weight in weights[:-1]]
    return [*shares, amount - sum(shares, ZERO)]


def _ct_quantity(item: TaxItem, ct_unit: str) -> Decimal:
    """The item's quantity in ``ct_unit``: the legal quantities first (qty1, qty2), then the declared one."""
    for quantity, unit in ((item.qty1, item.unit1), (item.qty2, item.unit2), (item.qty, item.unit)):
        if quantity is not None and unit == ct_unit:
            return quantity
    raise CtQuantityMissing(gnum=item.gnum, gcode=item.gcode, ct_unit=ct_unit)


# Units of one measure a quantity may be given in, and how many of the first make one of the
# second: a threshold per kilogram judges a quantity declared in grams.
UNIT_FACTORS: Mapping[tuple[str, str], Decimal] = {
    ("036", "035"): Decimal("0.001"),  # gram -> kilogram
    ("035", "036"): Decimal(1000),
    ("096", "095"): Decimal("0.001"),  # millilitre -> litre
    ("095", "096"): Decimal(1000),
}


def _quantity_in(item: TaxItem, unit: str) -> Decimal | None:
    """The item's quantity in ``unit``: the legal quantities first (qty1, qty2), then the declared
    one, converted where the item gives it in another unit of the same measure."""
    given = ((item.qty1, item.unit1), (item.qty2, item.unit2), (item.qty, item.unit))
    for quantity, given_unit in given:
        if quantity is not None and given_unit == unit:
            return quantity
    for quantity, given_unit in given:
        factor = UNIT_FACTORS.get((given_unit or "", unit))
        if quantity is not None and factor is not None:
            return quantity * factor
    return None


def _ct_applies(item: TaxItem, rates: RatesLike, dutiable: Decimal) -> bool:
    """Whether the line's threshold lets CT apply: the unit price, dutiable value per unit of the
    threshold (``ct_threshold_unit``: 15 CNY a mask; by default the first legal unit, 10,000 CNY
    a kilogram of cream), at or above the threshold.

    "At or above" as the law and ``reference_data/tax_rates.csv`` have it (10 CNY per ml or g
    "及以上"); a line without a threshold always pays CT.
    """
    threshold = rates.ct_threshold_unit_price
    if threshold is None:
        return True
    unit = rates.ct_threshold_unit or item.unit1
    quantity = _quantity_in(item, unit)
    if quantity is None:
        raise CtQuantityMissing(gnum=item.gnum, gcode=item.gcode, ct_unit=unit)
    if quantity <= 0:
        raise UnitPriceUndefined(gnum=item.gnum, gcode=item.gcode)
    return dutiable / quantity >= threshold


def _item_tax(item: TaxItem, rates: RatesLike, dutiable: Decimal, mode: Mode) -> ItemTax:
    """One item's taxes (the formulas are in the module's docstring)."""
    duty = dutiable * rates.duty_rate if mode is Mode.FULL_TAX else ZERO
    ct = ZERO
    has_ct = rates.ct_rate > 0 or rates.ct_amount_per_unit > 0
    if has_ct and _ct_applies(item, rates, dutiable):
        per_unit = ZERO
        if rates.ct_amount_per_unit > 0:
            per_unit = _ct_quantity(item, rates.ct_unit) * rates.ct_amount_per_unit
        ct = (dutiable + duty + per_unit) * rates.ct_rate / (1 - rates.ct_rate) + per_unit
    vat = (dutiable + duty + ct) * rates.vat_rate
    if mode is Mode.WITHIN_LIMITS:
        ct *= WITHIN_LIMITS_SHARE
        vat *= WITHIN_LIMITS_SHARE
    customs_tax, consumption_tax, value_added_tax = to_fen(duty), to_fen(ct), to_fen(vat)
    return ItemTax(
        gnum=item.gnum,
        gcode=item.gcode,
        dutiable_value=dutiable,
        customs_tax=customs_tax,
        consumption_tax=consumption_tax,
        value_added_tax=value_added_tax,
        total=customs_tax + consumption_tax + value_added_tax,
    )


def tax_estimate(
    *,
    items: Sequence[TaxItem],
    rates: Mapping[str, RatesLike],
    freight: Decimal,
    insured_fee: Decimal,
    mode: Mode,
) -> TaxEstimate:
    """The estimated tax of a list, per item and in total.

    ``rates`` maps each item's goods code to its rates (``tax_rates_for`` returns such a
    mapping); ``mode`` comes from ``tax_mode``.

    1. Freight and insurance are each apportioned over the items by total price (``apportion``),
       in the order the items are given (the last takes the remainder).
    2. Each item's dutiable value is its total price plus its two shares, rounded to the fen.
    3. Each item's duty, CT and VAT are computed and rounded half-up to the fen.
    4. The list's figures are sums of the item figures.

    Raises ``RateMissing``, ``CtQuantityMissing`` or ``UnitPriceUndefined`` (all ``TaxError``),
    and ``TaxError`` for a list without items (its freight would have nowhere to go).
    """
    if not items:
        raise TaxError("a list without items has no tax to estimate")
    prices = [item.total_price for item in items]
    freight_shares = apportion(freight, prices)
    insurance_shares = apportion(insured_fee, prices)
    taxed: list[ItemTax] = []
    for item, freight_share, insurance_share in zip(items, freight_shares, insurance_shares, strict=True):
        item_rates = rates.get(item.gcode)
        if item_rates is None:
            raise RateMissing(gnum=item.gnum, gcode=item.gcode)
        # At the fen, as customs' bill states it (taxPrice): the list's total is then the sum of
        # the items' figures as shown, and each tax is computed on the value shown.
        dutiable = to_fen(item.total_price + freight_share + insurance_share)
        taxed.append(_item_tax(item, item_rates, dutiable, mode))
    customs_tax = sum((item.customs_tax for item in taxed), ZERO)
    consumption_tax = sum((item.consumption_tax for item in taxed), ZERO)
    value_added_tax = sum((item.value_added_tax for item in taxed), ZERO)
    return TaxEstimate(
        mode=mode,
        items=tuple(taxed),
        customs_tax=customs_tax,
        consumption_tax=consumption_tax,
        value_added_tax=value_added_tax,
        total=customs_tax + consumption_tax + value_added_tax,
        dutiable_total=sum((item.dutiable_value for item in taxed), ZERO),
    )
