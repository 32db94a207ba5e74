"""The customs simulator's own tax table and computation, for the CEB816 tax bill at release.

Deliberately small and independent of the product's rate table, so that the product's estimate
is reconciled against something it did not compute itself (and may differ from it):

- every tariff line: customs duty 0 (within the quotas), VAT 13%, no consumption tax; with the
  70% retail reduction that is 9.1% combined;
- the cosmetics lines in ``CONSUMPTION_TAX`` (by the first 8 digits of gcode): consumption tax
  15% ad valorem, whatever the unit price (the real rule taxes only above a unit-price
  threshold: a known, intended difference).

CT = dutiable x ct / (1 - ct); VAT = (dutiable + CT) x vat; both x 70%. Freight and insurance
are apportioned over the items by value, each share rounded half-up to the fen with the
remainder on the last item; each tax of each item is rounded half-up to the fen; totals are
sums of the item figures. Not modelled: the single-piece-over-5,000 full-tax exception,
specific and compound consumption taxes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

FEN = Decimal("0.01")
VAT_RATE = Decimal("0.13")
RETAIL_REDUCTION = Decimal("0.7")
CONSUMPTION_TAX: dict[str, Decimal] = {
    "33030000": Decimal("0.15"),  # perfumes and toilet waters
    "33041000": Decimal("0.15"),  # lip make-up
    "33042000": Decimal("0.15"),  # eye make-up
    "33049100": Decimal("0.15"),  # powders
    "33049900": Decimal("0.15"),  # other beauty and make-up preparations
}


def fen(value: Decimal) -> Decimal:
    return value.quantize(FEN, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Item:
    gnum: int
    gcode: str
    total_price: Decimal


@dataclass(frozen=True)
class ItemTax:
    gnum: int
    gcode: str
    dutiable: Decimal
    customs_tax: Decimal
    vat: Decimal
    consumption_tax: Decimal


def compute(items: Sequence[Item], *, freight: Decimal, insured_fee: Decimal) -> list[ItemTax]:
    extra = freight + insured_fee
    goods = sum((item.total_price for item in items), Decimal(0))
    shares: list[Decimal] = []
    for index, item in enumerate(items):
        if index == len(items) - 1:
            shares.append(extra - sum(shares, Decimal(0)))
        else:
            shares.append(fen(extra * item.total_price / goods) if goods else Decimal(0))
    taxes = []
    for item, share in zip(items, shares, strict=True):
        dutiable = item.total_price + share
        ct_rate = CONSUMPTION_TAX.get(item.gcode[:8], Decimal(0))
        ct_full = dutiable * ct_rate / (1 - ct_rate)
        vat_full = (dutiable + ct_full) * VAT_RATE
        taxes.append(
            ItemTax(
                gnum=item.gnum,
                gcode=item.gcode,
                dutiable=fen(dutiable),
                customs_tax=Decimal("0.00"),
                vat=fen(vat_full * RETAIL_REDUCTION),
                consumption_tax=fen(ct_full * RETAIL_REDUCTION),
            )
        )
    return taxes
