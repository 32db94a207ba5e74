"""``history_generate``: complete historical parcels written with COPY, for the benchmark's
scale curve (docs/bench.md, "History for the scale curve").

Each parcel is what the single window would hold once its documents had gone all the way:
an order and its items, a payment, a waybill, a declaration list and its items, the list's
status history (its own moves and customs' receipts 2, 120, 300, 500, 800, 899, 100, 700 as
they came), its tax estimate, what it took of its buyer's annual quota, customs' tax bill
once released, and the cancellation of the few cancelled. Most lists end released, some
rejected, cancelled, returned or refused by the quota; the last hours' are still with customs.
Everything matches as matching would require (sums, parties, consignee, items, freight,
positive list, rates, legal units, quotas), so the product reads and changes them as its own.

What the history leaves out: the rule results and the declare step's decisions of each run,
events and webhooks (history is delivered already), the outbox, and the other systems'
tables.

Parcels are planned and written a chunk at a time, one transaction per chunk, with COPY into
each table; ids come from the tables' own sequences (``pgcopy.reserve_ids``), so documents
stored later get higher ids. Business keys carry ``H`` and the two digits of the seed, and a
seed already used is refused: histories of other seeds and live traffic never collide with it.
"""

from __future__ import annotations

import bisect
import datetime
import enum
import itertools
import math
import queue
import random
import threading
import time
import zlib
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, NamedTuple

from django.db import connection, models, transaction
from django.utils import timezone

from core.audit import Actor
from declarations.history import pgcopy
from declarations.history.goods import Catalogue, Product, catalogue_build, goods_info, legal_qty
from declarations.history.parties import Appointed, Parties, Party, history_parties
from declarations.history.people import Buyer, BuyerPool
from declarations.history.pgcopy import NULL
from declarations.models import (
    BuyerYearQuota,
    DocumentStatus,
    IdentityVerification,
    Inventory,
    InventoryCancellation,
    InventoryItem,
    InventoryStatus,
    InventoryStatusChange,
    Order,
    OrderItem,
    Payment,
    QuotaReservation,
    StatusChangeSource,
    TaxEstimate,
    TaxEstimateItem,
    Waybill,
)
from declarations.tax import calculation as tax
from finance.models import TaxBill

S = InventoryStatus
CUSTOMS = StatusChangeSource.CUSTOMS_RECEIPT
SYSTEM = StatusChangeSource.SINGLE_WINDOW
SEEDS = range(100)
DAY = 86400.0
HOUR = 3600.0
CHINA_OFFSET = 8 * 3600  # China Standard Time has no daylight saving
# The history ends this long before the command runs: its last lists are still with customs.
QUIET_BEFORE_NOW = 120.0
# How many buyers per list the pool holds (a Zipf draw leaves most of them with few lists).
LISTS_PER_BUYER = 5

# Shares of the lists (the rest go the default way: 120 then 800).
REJECTED_SHARE = 0.03  # 100
REVIEW_SHARE = 0.04  # 120, 300, 800
INSPECTION_SHARE = 0.025  # 120, 500, then 800 or 700
RETURNED_AFTER_INSPECTION = 0.12
BONDED_SHARE = 0.3  # trade mode 1210; the others are 9610
# After release:
CANCELLED_SHARE = 0.015  # CEB623 accepted (399)
CLOSED_SHARE = 0.2  # customs' 899
LATE_RECEIPT_SHARE = 0.005  # a late 120 after the 800: recorded, not applied
SINGLE_LIMIT_FEN = int(tax.SINGLE_LIMIT * 100)
ANNUAL_LIMIT_FEN = int(tax.YEAR_LIMIT * 100)
ITEM_COUNTS = (1,) * 60 + (2,) * 25 + (3,) * 10 + (4,) * 5
DIRECT_FREIGHT_FEN = (0, 1000, 1500, 2000, 2500, 3000, 3500)
BONDED_FREIGHT_FEN = (0, 0, 0, 500, 800, 1000)
DISCOUNTS_FEN = (500, 1000, 2000, 3000, 5000)

# What customs says with each receipt (CEB622 returnInfo), as the customs simulator writes it.
RECEIPT_NOTES = {
    "2": "电子口岸申报中 (declaring)",
    "100": "[-621003] 清单申报失败: 海关退单 (customs rejected the list)",
    "120": "海关入库 (accepted by customs)",
    "300": "人工审核 (manual review)",
    "500": "查验 (inspection)",
    "700": "退运 (returned abroad)",
    "800": "放行 (released)",
    "899": "结关 (closed)",
}
DOCUMENT_RECEIPT = ("120", "新增申报成功 (accepted by customs)")
CANCELLATION_REASON = "消费者申请退单 (the buyer cancelled the order)"
CANCELLED_NOTE = "CEB624 399: 撤单审结 (cancelled)"
SUBMITTED_NOTE = "app_type 1, app_status 2, version 1"

# Airlines that fly parcels in from each country of origin, and their air waybill prefixes.
AIRLINES = {
    "116": ("NH", "JL", "CA", "MU"),
    "133": ("KE", "OZ", "CA"),
    "601": ("QF", "CA", "CZ"),
    "609": ("NZ", "CZ"),
    "502": ("UA", "CA", "AA"),
    "304": ("LH", "CA"),
    "305": ("AF", "MU"),
    "303": ("BA", "CA"),
}
DEFAULT_AIRLINES = ("CA", "MU", "CZ")
AWB_PREFIXES = {
    "CA": "999", "MU": "781", "CZ": "784", "NH": "205", "JL": "131", "KE": "180", "OZ": "988", "QF": "081",
    "NZ": "086", "UA": "016", "AA": "001", "LH": "020", "AF": "057", "BA": "125",
}  # fmt: skip
# Lists by hour of the day (China Standard Time): quiet at night, busy in the evening.
HOUR_WEIGHTS = (
    0.6, 0.35, 0.2, 0.12, 0.1, 0.1, 0.15, 0.3, 0.5, 0.8, 1.0, 1.0,
    0.9, 0.9, 0.95, 0.95, 0.9, 0.85, 0.9, 1.1, 1.3, 1.5, 1.45, 1.1,
)  # fmt: skip
# The sales: (month, day) -> how many times an ordinary day's lists; the lead-up days count too.
SALE_DAYS = {(6, 18): 4.0, (6, 17): 2.0, (11, 11): 6.0, (11, 10): 2.5, (11, 12): 2.0, (12, 12): 2.0, (3, 8): 1.5}
SALE_SEASONS = {6: (1, 16, 1.3), 11: (1, 9, 1.5)}  # month -> (first day, last day, factor)


class HistoryError(Exception):
    """The history can't be written as asked. Raised before anything is written, but for a
    chunk that other work raced (``_copy_chunk``): that chunk is rolled back, earlier ones stay."""


class CustomsPath(enum.Enum):
    """How customs handled a list."""

    RELEASE = "release"
    REVIEW = "review"
    INSPECTION = "inspection"
    REJECT = "reject"


@dataclass(frozen=True)
class ChunkDone:
    """Where the writing stands after a chunk."""

    chunk: int
    chunks: int
    lists: int
    rows: int
    seconds: float

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0

    @property
    def lists_per_second(self) -> float:
        return self.lists / self.seconds if self.seconds else 0.0


@dataclass(frozen=True)
class HistoryResult:
    lists: int
    seconds: float
    rows: dict[str, int]  # by table
    statuses: dict[str, int]  # lists by final status
    prefix: str  # the business keys' prefix

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())


# --- Writing values ------------------------------------------------------------------------

_HMS = [f"{h:02d}:{m:02d}:{s:02d}" for h in range(24) for m in range(60) for s in range(60)]


class _Dates(dict[int, str]):
    """'YYYY-MM-DD' by day number (days since 1970-01-01), made on first use."""

    def __missing__(self, day: int) -> str:
        text = self[day] = (datetime.date(1970, 1, 1) + datetime.timedelta(days=day)).isoformat()
        return text


class _Yuan(dict[int, str]):
    """Fen written as yuan ("12.30"); prices and freight come back often."""

    def __missing__(self, fen: int) -> str:
        text = self[fen] = f"{fen // 100}.{fen % 100:02d}"
        return text


_DATES = _Dates()
_YUAN = _Yuan()


def _date(day: int) -> str:
    return _DATES[day]


def _ts(moment: float) -> str:
    """A Unix time (after 1970) as a timestamptz in UTC, to the microsecond."""
    seconds = int(moment)
    day, second = divmod(seconds, 86400)
    return f"{_DATES[day]} {_HMS[second]}.{int((moment - seconds) * 1_000_000):06d}+00"


def _china_day(moment: float) -> int:
    return (int(moment) + CHINA_OFFSET) // 86400


def _yuan(fen: int) -> str:
    return _YUAN[fen]


def _kg(grams: int) -> tuple[str, int]:
    """Grams as kilograms, written with as few decimals as they need, and that number."""
    whole, rest = divmod(grams, 1000)
    if not rest:
        return str(whole), 0
    decimals = f"{rest:03d}".rstrip("0")
    return f"{whole}.{decimals}", len(decimals)


def _guid(rng: random.Random) -> str:
    """A version 4 UUID's text, from ``rng``."""
    h = rng.randbytes(16).hex()
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{h[16:20]}-{h[20:]}"


def _zipf_weights(count: int) -> list[float]:
    return list(itertools.accumulate(1.0 / rank for rank in range(1, count + 1)))


def _pick(rng: random.Random, items: Sequence[Any], cumulative: list[float]) -> Any:
    return items[min(bisect.bisect_right(cumulative, rng.random() * cumulative[-1]), len(items) - 1)]


# --- The calendar ----------------------------------------------------------------------------


def _day_weight(day: datetime.date, position: float) -> float:
    """How busy a day is: growing over the year, with the sales (618, Double 11, Double 12)."""
    weight = 1.0 + 0.4 * position
    weight *= SALE_DAYS.get((day.month, day.day), 1.0)
    season = SALE_SEASONS.get(day.month)
    if season and season[0] <= day.day <= season[1]:
        weight *= season[2]
    return weight


class Calendar:
    """When lists were declared: over the ``days`` before ``end``, busier on sale days and evenings."""

    def __init__(self, *, end: float, days: int, rng: random.Random) -> None:
        self._rng = rng
        self.start, self.end = end - days * DAY, end
        first, last = _china_day(self.start), _china_day(end)
        self._days = list(range(first, last + 1))
        span = max(last - first, 1)
        self._day_weights = list(
            itertools.accumulate(
                _day_weight(datetime.date(1970, 1, 1) + datetime.timedelta(days=d), (d - first) / span)
                for d in self._days
            )
        )
        self._hour_weights = list(itertools.accumulate(HOUR_WEIGHTS))

    def moments(self, count: int) -> list[float]:
        """``count`` moments, in time order: parcel n is declared at the n-th, so ids and keys
        grow with time as they do in live traffic."""
        rng, start, end = self._rng, self.start, self.end
        days, day_weights, hours, hour_weights = self._days, self._day_weights, range(24), self._hour_weights
        found: list[float] = []
        while len(found) < count:
            day = _pick(rng, days, day_weights)
            moment = day * 86400 - CHINA_OFFSET + _pick(rng, hours, hour_weights) * 3600 + rng.random() * 3600
            # The first and last days are partly outside the history.
            if start <= moment <= end:
                found.append(moment)
        found.sort()
        return found


# --- Planning a parcel ------------------------------------------------------------------------


class Move(NamedTuple):
    """A row of the list's status history."""

    from_status: str
    to_status: str
    source: str
    at: float  # recorded
    note: str
    code: str = ""  # a customs receipt's returnStatus
    receipt_time: float | None = None
    applied: bool = True


@dataclass(frozen=True, slots=True)
class Line:
    product: Product
    qty: int

    @property
    def total_fen(self) -> int:
        return self.product.price_fen * self.qty


@dataclass(frozen=True, slots=True)
class Taxed:
    """A list's estimate in fen: per item (dutiable, duty, VAT, CT) and in total."""

    mode: str
    items: tuple[tuple[int, int, int, int], ...]
    duty: int
    vat: int
    ct: int

    @property
    def total(self) -> int:
        return self.duty + self.vat + self.ct


@dataclass(slots=True)
class Parcel:
    number: int
    t_list: float
    buyer_index: int
    buyer: Buyer
    year: int
    platform: Party = field(init=False)
    seller: Party = field(init=False)
    payer: Party = field(init=False)
    carrier: Party = field(init=False)
    agent: Party = field(init=False)
    area: Party | None = field(init=False)
    lines: list[Line] = field(init=False)
    freight: int = field(init=False)
    insured: int = field(init=False)
    discount: int = field(init=False)
    goods: int = field(init=False)
    taxed: Taxed = field(init=False)
    quota_passed: bool = field(init=False)
    moves: list[Move] = field(init=False)
    status: str = field(init=False)
    t_order: float = field(init=False)
    t_paid: float = field(init=False)
    t_payment: float = field(init=False)
    t_waybill: float = field(init=False)
    created: tuple[float, float, float, float] = field(init=False)  # order, payment, waybill, list
    answered: tuple[float, float, float] = field(init=False)  # customs' 120 of order, payment, waybill
    flight: str = field(init=False)
    invt_no: str = field(init=False)
    quota_state: str = field(init=False)
    quota_changed: float = field(init=False)
    billed: float | None = field(init=False)  # customs' tax bill
    cancellation: tuple[float, float | None] | None = field(init=False)  # asked, answered

    @property
    def dutiable(self) -> int:
        return self.goods + self.freight + self.insured

    @property
    def bonded(self) -> bool:
        return self.area is not None


class Planner:
    """Draws the parcels. Deterministic for a seed, the database's parties and goods, and ``now``."""

    def __init__(
        self,
        *,
        rng: random.Random,
        parties: Parties,
        catalogue: Catalogue,
        buyers: BuyerPool,
        calendar: Calendar,
        now: float,
        prefix: str,
    ) -> None:
        self.rng, self.parties, self.catalogue, self.buyers, self.calendar = rng, parties, catalogue, buyers, calendar
        self.now, self.prefix = now, prefix
        self._weights = {
            name: _zipf_weights(len(getattr(parties, name)))
            for name in ("platforms", "sellers", "payers", "carriers", "areas")
        }
        # What each buyer holds of each year's quota in fen (reserved and consumed), by (buyer, year).
        self.quota_used: dict[tuple[int, int], int] = {}
        self._estimates: dict[tuple[Any, ...], Taxed] = {}
        self._invt_numbers: Counter[str] = Counter()

    # 1. Who and when: enough to find the buyer's quota rows.
    def head(self, number: int, t_list: float) -> Parcel:
        index = self.buyers.draw()
        year = int(_date(_china_day(t_list))[:4])
        return Parcel(number=number, t_list=t_list, buyer_index=index, buyer=self.buyers.buyer(index), year=year)

    # 2. Everything else, once the buyer's quota is known.
    def complete(self, parcel: Parcel) -> None:
        rng, parties = self.rng, self.parties
        parcel.platform = _pick(rng, parties.platforms, self._weights["platforms"])
        parcel.seller = _pick(rng, parties.sellers, self._weights["sellers"])
        parcel.agent = self._agent(parcel.seller, parcel.t_list)
        parcel.payer = _pick(rng, parties.payers, self._weights["payers"])
        parcel.carrier = _pick(rng, parties.carriers, self._weights["carriers"])
        parcel.area = (
            _pick(rng, parties.areas, self._weights["areas"]) if parties.areas and rng.random() < BONDED_SHARE else None
        )
        self._basket(parcel)
        self._timeline(parcel)

    def _agent(self, seller: Party, moment: float) -> Party:
        appointed: Sequence[Appointed] = [a for a in self.parties.appointed[seller.id] if a.start <= moment < a.end]
        return self.rng.choice(appointed).agent

    def _basket(self, parcel: Parcel) -> None:
        rng = self.rng
        lines: dict[str, Line] = {}
        for _ in range(rng.choice(ITEM_COUNTS)):
            product = self.catalogue.draw(rng, bonded=parcel.bonded)
            lines.setdefault(product.item_no, Line(product, rng.choice(product.quantities)))
        parcel.lines = list(lines.values())
        parcel.goods = sum(line.total_fen for line in parcel.lines)
        parcel.freight = rng.choice(BONDED_FREIGHT_FEN if parcel.bonded else DIRECT_FREIGHT_FEN)
        # A few parcels are insured, at 1% of their value.
        parcel.insured = max(parcel.goods // 10000 * 100, 100) if rng.random() < 0.03 else 0
        parcel.discount = min(rng.choice(DISCOUNTS_FEN), parcel.goods // 5) if rng.random() < 0.3 else 0

    def _estimate(self, parcel: Parcel, mode: tax.Mode) -> Taxed:
        key = (mode, parcel.freight, parcel.insured, *((line.product.index, line.qty) for line in parcel.lines))
        found = self._estimates.get(key)
        if found is None:
            items = []
            for gnum, line in enumerate(parcel.lines, start=1):
                product = line.product
                qty1, _scale = legal_qty(product.per_piece, line.qty)
                items.append(
                    tax.TaxItem(
                        gnum=gnum,
                        gcode=product.gcode,
                        qty=Decimal(line.qty),
                        unit=product.unit,
                        total_price=Decimal(line.total_fen) / 100,
                        qty1=Decimal(qty1),
                        unit1=product.unit1,
                    )
                )
            estimate = tax.tax_estimate(
                items=items,
                rates=self.catalogue.rates,
                freight=Decimal(parcel.freight) / 100,
                insured_fee=Decimal(parcel.insured) / 100,
                mode=mode,
            )
            found = self._estimates[key] = Taxed(
                mode=mode.value,
                items=tuple(
                    (_fen(i.dutiable_value), _fen(i.customs_tax), _fen(i.value_added_tax), _fen(i.consumption_tax))
                    for i in estimate.items
                ),
                duty=_fen(estimate.customs_tax),
                vat=_fen(estimate.value_added_tax),
                ct=_fen(estimate.consumption_tax),
            )
        return found

    def _quota(self, parcel: Parcel) -> tax.Mode | tax.Refusal:
        used = self.quota_used.get((parcel.buyer_index, parcel.year), 0)
        dutiable = parcel.dutiable
        if dutiable <= SINGLE_LIMIT_FEN and used + dutiable <= ANNUAL_LIMIT_FEN:
            return tax.Mode.WITHIN_LIMITS  # within both limits: tax_mode's answer, without its decimals
        # Pieces as matching counts them: one only for a single line of quantity 1.
        pieces = 1 if len(parcel.lines) == 1 and parcel.lines[0].qty == 1 else max(2, len(parcel.lines))
        return tax.tax_mode(
            dutiable_total=Decimal(parcel.dutiable) / 100, piece_count=pieces, year_used=Decimal(used) / 100
        )

    def _timeline(self, parcel: Parcel) -> None:
        rng, now = self.rng, self.now
        t_list = parcel.t_list
        parcel.t_waybill = t_list - rng.uniform(120, 3 * HOUR)
        parcel.t_order = parcel.t_waybill - (
            rng.uniform(0.5 * HOUR, 12 * HOUR) if parcel.bonded else rng.uniform(6 * HOUR, 72 * HOUR)
        )
        parcel.t_paid = parcel.t_order + rng.uniform(15, 600)
        parcel.t_payment = parcel.t_paid + rng.uniform(2, 90)
        # Stored a moment after the app_time (whole seconds) its sender wrote; customs' 120 of
        # the order, payment and waybill came back within a minute.
        uniform = rng.uniform
        created = (
            int(parcel.t_order) + uniform(0.05, 1.5),
            int(parcel.t_payment) + uniform(0.05, 1.5),
            int(parcel.t_waybill) + uniform(0.05, 1.5),
            int(t_list) + uniform(0.05, 1.5),
        )
        parcel.created = created
        parcel.answered = (
            min(created[0] + uniform(2, 60), now),
            min(created[1] + uniform(2, 60), now),
            min(created[2] + uniform(2, 60), now),
        )
        first = parcel.lines[0].product
        parcel.flight = f"{rng.choice(AIRLINES.get(first.country, DEFAULT_AIRLINES))}{rng.choice((101, 157, 863, 921))}"
        parcel.invt_no = ""
        parcel.billed = None
        parcel.cancellation = None

        at = parcel.created[3]
        moves = [Move("", S.PENDING_DOCUMENTS, StatusChangeSource.ENTERPRISE, at, SUBMITTED_NOTE)]
        parcel.moves = moves
        decision = self._quota(parcel)
        parcel.quota_passed = not isinstance(decision, tax.Refusal)
        parcel.taxed = self._estimate(parcel, decision if isinstance(decision, tax.Mode) else tax.Mode.WITHIN_LIMITS)
        system = StatusChangeSource.SINGLE_WINDOW
        at += rng.uniform(0.02, 0.2)
        if isinstance(decision, tax.Refusal):
            rule = "quota_single_transaction" if decision.customs_code == tax.SINGLE_LIMIT_EXCEEDED else "quota_annual"
            moves.append(Move(S.PENDING_DOCUMENTS, S.MATCH_FAILED, system, at, rule))
            parcel.status = S.MATCH_FAILED
            parcel.quota_state = ""
            parcel.quota_changed = at
            return
        moves.append(Move(S.PENDING_DOCUMENTS, S.MATCHED, system, at, "every rule holds"))
        at += rng.uniform(0.01, 0.1)
        moves.append(Move(S.MATCHED, S.DECLARED, system, at, "declared to customs automatically"))
        declared = at
        receipts: list[tuple[str, float, str, str]] = [("2", declared + rng.uniform(1, 8), S.DECLARED, S.DECLARED)]
        path = self._path()
        if path is CustomsPath.REJECT:
            receipts.append(("100", declared + rng.uniform(20, 600), S.DECLARED, S.REJECTED))
        else:
            accepted = declared + rng.uniform(15, 180)
            receipts.append(("120", accepted, S.DECLARED, S.ACCEPTED))
            receipts += self._after_acceptance(path, accepted)
        self._receive(parcel, receipts)

    def _path(self) -> CustomsPath:
        draw = self.rng.random()
        for path, share in (
            (CustomsPath.REJECT, REJECTED_SHARE),
            (CustomsPath.REVIEW, REVIEW_SHARE),
            (CustomsPath.INSPECTION, INSPECTION_SHARE),
        ):
            if draw < share:
                return path
            draw -= share
        return CustomsPath.RELEASE

    def _after_acceptance(self, path: CustomsPath, accepted: float) -> list[tuple[str, float, str, str]]:
        rng = self.rng
        if path is CustomsPath.REVIEW:
            review = accepted + rng.uniform(60, 1800)
            return [
                ("300", review, S.ACCEPTED, S.MANUAL_REVIEW),
                (
                    "800",
                    review + min(rng.lognormvariate(math.log(3 * HOUR), 0.8), 3 * DAY),
                    S.MANUAL_REVIEW,
                    S.RELEASED,
                ),
            ]
        if path is CustomsPath.INSPECTION:
            inspection = accepted + rng.uniform(300, 2 * HOUR)
            if rng.random() < RETURNED_AFTER_INSPECTION:
                ending = ("700", inspection + rng.uniform(2 * DAY, 8 * DAY), S.INSPECTION, S.RETURNED)
            else:
                release = inspection + min(rng.lognormvariate(math.log(20 * HOUR), 0.5), 4 * DAY)
                ending = ("800", release, S.INSPECTION, S.RELEASED)
            return [("500", inspection, S.ACCEPTED, S.INSPECTION), ending]
        # Most are released in minutes (Hangzhou promises ten).
        return [("800", accepted + min(rng.lognormvariate(math.log(240), 1.0), 2 * DAY), S.ACCEPTED, S.RELEASED)]

    def _receive(self, parcel: Parcel, receipts: list[tuple[str, float, str, str]]) -> None:
        """Record the receipts that came before now, then what followed the release."""
        rng, now, moves = self.rng, self.now, parcel.moves
        receipt = StatusChangeSource.CUSTOMS_RECEIPT
        for code, returned, from_status, to_status in receipts:
            at = returned + rng.uniform(0.2, 3.0)
            if at > now:
                break
            moves.append(Move(from_status, to_status, receipt, at, RECEIPT_NOTES[code], code, returned))
        parcel.status = moves[-1].to_status
        released = accepted = None
        for move in moves:
            if move.code == "120" and accepted is None:
                accepted = move
            elif move.to_status == S.RELEASED:
                released = move
        if accepted is not None:
            parcel.invt_no = self._invt_no(parcel, accepted.at)
        if released is not None:
            parcel.billed = released.at + rng.uniform(1, 10) if released.at + 10 < now else None
            self._after_release(parcel, released.at)
        self._quota_state(parcel)

    def _after_release(self, parcel: Parcel, released: float) -> None:
        rng, now, moves = self.rng, self.now, parcel.moves
        draw = rng.random()
        if draw < LATE_RECEIPT_SHARE:
            returned = released + rng.uniform(1, 30)
            at = returned + rng.uniform(0.2, 3.0)
            if at <= now:
                # Backwards: kept in the history, changes nothing (lifecycle.receipt_decision).
                late = Move(S.RELEASED, S.ACCEPTED, CUSTOMS, at, RECEIPT_NOTES["120"], "120", returned, applied=False)
                moves.append(late)
        elif draw < LATE_RECEIPT_SHARE + CANCELLED_SHARE:
            asked = released + rng.uniform(HOUR, 10 * DAY)
            if asked <= now:
                answered = asked + rng.uniform(120, 2 * HOUR)
                if answered <= now:
                    moves.append(Move(S.RELEASED, S.CANCELLED, SYSTEM, answered, CANCELLED_NOTE))
                    parcel.status = S.CANCELLED
                parcel.cancellation = (asked, answered if answered <= now else None)
        elif draw < LATE_RECEIPT_SHARE + CANCELLED_SHARE + CLOSED_SHARE:
            returned = released + rng.uniform(7 * DAY, 30 * DAY)
            at = returned + rng.uniform(0.2, 3.0)
            if at <= now:
                moves.append(Move(S.RELEASED, S.CLOSED, CUSTOMS, at, RECEIPT_NOTES["899"], "899", returned))
                parcel.status = S.CLOSED

    def _invt_no(self, parcel: Parcel, accepted: float) -> str:
        """Customs' list number: district, month, H and the seed's digits, and a count."""
        district = parcel.area.district if parcel.area else parcel.agent.district
        day = _date(_china_day(accepted))
        key = f"{district}{day[2:4]}{day[5:7]}"
        self._invt_numbers[key] += 1
        return f"{key}{self.prefix}{self._invt_numbers[key]:07d}"

    def _quota_state(self, parcel: Parcel) -> None:
        """What the list holds of the buyer's quota: consumed once released, given back when it
        will never be (rejected, cancelled, returned), reserved while customs still has it."""
        moves, status = parcel.moves, parcel.status
        if status in (S.RELEASED, S.CLOSED):
            parcel.quota_state = QuotaReservation.State.CONSUMED
            parcel.quota_changed = next(m.at for m in moves if m.to_status == S.RELEASED and m.applied)
        elif status in (S.REJECTED, S.CANCELLED, S.RETURNED):
            parcel.quota_state = QuotaReservation.State.RELEASED
            parcel.quota_changed = moves[-1].at
        else:
            parcel.quota_state = QuotaReservation.State.RESERVED
            parcel.quota_changed = moves[1].at
        if parcel.quota_state != QuotaReservation.State.RELEASED:
            key = (parcel.buyer_index, parcel.year)
            self.quota_used[key] = self.quota_used.get(key, 0) + parcel.dutiable


def _fen(amount: Decimal) -> int:
    return int(amount * 100)


# --- Writing a chunk --------------------------------------------------------------------------


@dataclass(frozen=True)
class Table:
    model: type[models.Model]
    columns: tuple[str, ...]
    name: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "name", self.model._meta.db_table)


ORDER = Table(Order, (
    "id", "created_at", "updated_at", "sender_id", "guid", "app_type", "app_time", "app_status", "version",
    "amount_scales", "customs_status", "customs_note", "customs_holds", "status", "order_type", "order_no",
    "ebp_code", "ebp_name", "ebc_code", "ebc_name", "goods_value", "freight", "discount", "tax_total", "actual_paid",
    "currency", "buyer_reg_no", "buyer_name", "buyer_telephone", "buyer_id_type", "buyer_id_number_encrypted",
    "buyer_id_hash", "pay_code", "pay_name", "pay_transaction_id", "batch_numbers", "consignee",
    "consignee_telephone", "consignee_address", "consignee_district", "note",
))  # fmt: skip
ORDER_ITEM = Table(OrderItem, (
    "id", "order_id", "gnum", "item_no", "item_name", "gmodel", "item_describe", "bar_code", "unit", "qty", "price",
    "total_price", "currency", "country", "note", "amount_scales",
))  # fmt: skip
PAYMENT = Table(Payment, (
    "id", "created_at", "updated_at", "sender_id", "guid", "app_type", "app_time", "app_status", "version",
    "amount_scales", "customs_status", "customs_note", "customs_holds", "status", "pay_code", "pay_name",
    "pay_transaction_id", "order_no", "ebp_code", "ebp_name", "payer_id_type", "payer_id_number_encrypted",
    "payer_id_hash", "payer_name", "telephone", "amount_paid", "currency", "pay_time", "note",
    "identity_verification",
))  # fmt: skip
WAYBILL = Table(Waybill, (
    "id", "created_at", "updated_at", "sender_id", "guid", "app_type", "app_time", "app_status", "version",
    "amount_scales", "customs_status", "customs_note", "customs_holds", "status", "generation", "logistics_code",
    "logistics_name", "logistics_no", "bill_no", "order_no", "freight", "insured_fee", "currency", "weight",
    "pack_no", "goods_info", "consignee", "consignee_address", "consignee_telephone", "note",
))  # fmt: skip
INVENTORY = Table(Inventory, (
    "id", "created_at", "updated_at", "sender_id", "guid", "app_type", "app_time", "app_status", "version",
    "amount_scales", "status", "waiting_for", "order_no", "ebp_code", "ebp_name", "ebc_code", "ebc_name",
    "logistics_no", "logistics_code", "logistics_name", "cop_no", "pre_no", "assure_code", "ems_no", "invt_no",
    "ie_flag", "decl_time", "customs_code", "port_code", "ie_date", "buyer_id_type", "buyer_id_number_encrypted",
    "buyer_id_hash", "buyer_name", "buyer_telephone", "consignee_address", "agent_code", "agent_name", "area_code",
    "area_name", "trade_mode", "traf_mode", "traf_no", "voyage_no", "bill_no", "loct_no", "license_no", "country",
    "freight", "insured_fee", "currency", "wrap_type", "pack_no", "gross_weight", "net_weight", "note",
))  # fmt: skip
INVENTORY_ITEM = Table(InventoryItem, (
    "id", "inventory_id", "gnum", "item_record_no", "item_no", "item_name", "gcode", "gname", "gmodel", "bar_code",
    "country", "trade_country", "currency", "qty", "unit", "qty1", "unit1", "unit2", "price", "total_price", "note",
    "amount_scales",
))  # fmt: skip
STATUS_CHANGE = Table(InventoryStatusChange, (
    "id", "inventory_id", "from_status", "to_status", "source", "receipt_code", "receipt_time", "message_id", "note",
    "note_code", "note_params", "applied", "created_at",
))  # fmt: skip
QUOTA = Table(BuyerYearQuota, ("id", "buyer_id_hash", "year", "reserved", "consumed"))
RESERVATION = Table(QuotaReservation, ("id", "inventory_id", "quota_id", "amount", "state", "created_at", "updated_at"))
ESTIMATE = Table(TaxEstimate, (
    "id", "inventory_id", "mode", "dutiable_total", "customs_tax", "value_added_tax", "consumption_tax", "tax_total",
    "created_at",
))  # fmt: skip
ESTIMATE_ITEM = Table(TaxEstimateItem, (
    "id", "estimate_id", "gnum", "gcode", "dutiable_value", "customs_tax", "value_added_tax", "consumption_tax",
))  # fmt: skip
TAX_BILL = Table(TaxBill, (
    "id", "tax_no", "invt_no", "inventory_id", "list_version", "cop_no", "assure_code", "ebc_code", "ebp_code",
    "agent_code", "logistics_code", "customs_code", "order_no", "logistics_no", "status", "ent_duty_no",
    "customs_tax", "value_added_tax", "consumption_tax", "tax_total", "note", "issued_at", "received_at",
    "estimated_customs_tax", "estimated_value_added_tax", "estimated_consumption_tax", "estimated_total",
    "differences", "guarantee_code", "guarantee_amount", "guarantee_effect",
))  # fmt: skip
CANCELLATION = Table(InventoryCancellation, (
    "id", "created_at", "updated_at", "inventory_id", "requested_by_id", "reason", "status",
))  # fmt: skip
TABLES = (
    ORDER, ORDER_ITEM, PAYMENT, WAYBILL, INVENTORY, INVENTORY_ITEM, STATUS_CHANGE, QUOTA, RESERVATION, ESTIMATE,
    ESTIMATE_ITEM, TAX_BILL, CANCELLATION,
)  # fmt: skip
QUOTA_STAGING = "history_quota_staging"


def tables_unknown_columns() -> list[str]:
    """Columns the history does not write and the database would not fill: a model gained a
    column that is NOT NULL, which the history must learn to write. Empty when all is well."""
    problems = []
    for table in TABLES:
        written = set(table.columns)
        problems += [
            f"{table.name}.{f.column}"
            for f in table.model._meta.concrete_fields
            if f.column not in written and not f.null
        ]
        problems += [f"{table.name}.{c} (no such column)" for c in written - set(pgcopy.columns_of(table.model))]
    return problems


@dataclass
class Chunk:
    parcels: list[Parcel]
    # Quota rows of this chunk: id -> (buyer hash, year, reserved fen, consumed fen).
    quotas: dict[int, list[Any]] = field(default_factory=dict)
    # Each table's COPY data, and its number of rows.
    data: dict[str, bytes] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)


class Writer:
    """Renders planned parcels as COPY lines, with ids from blocks reserved for each chunk."""

    def __init__(self, *, prefix: str, rng: random.Random, parties: Parties) -> None:
        self.prefix = prefix
        self.rng = rng
        # Quota rows by (buyer, year): their ids, once known or made.
        self.quota_ids: dict[tuple[int, int], int] = {}
        everyone = (*parties.platforms, *parties.sellers, *parties.payers, *parties.carriers, *parties.agents)
        self._names = {party.id: pgcopy.text(party.name) for party in (*everyone, *parties.areas)}
        self._goods_info: dict[tuple[str, ...], str] = {}

    def render(self, chunk: Chunk, new_quota_keys: list[tuple[int, int]]) -> None:
        """Fill ``chunk.data``: reserve the chunk's ids, then write each parcel's rows."""
        parcels = chunk.parcels
        passed = [p for p in parcels if p.quota_passed]
        items = sum(len(p.lines) for p in parcels)
        counts = {
            ORDER: len(parcels),
            ORDER_ITEM: items,
            PAYMENT: len(parcels),
            WAYBILL: len(parcels),
            INVENTORY: len(parcels),
            INVENTORY_ITEM: items,
            STATUS_CHANGE: sum(len(p.moves) for p in parcels),
            RESERVATION: len(passed),
            ESTIMATE: len(passed),
            ESTIMATE_ITEM: sum(len(p.lines) for p in passed),
            TAX_BILL: sum(1 for p in parcels if p.billed is not None),
            CANCELLATION: sum(1 for p in parcels if p.cancellation),
            QUOTA: len(new_quota_keys),
        }
        first = {table.name: pgcopy.reserve_ids(table.model, count) for table, count in counts.items()}
        for offset, key in enumerate(new_quota_keys):
            self.quota_ids[key] = first[QUOTA.name] + offset
        ids: dict[str, Iterator[int]] = {name: itertools.count(value) for name, value in first.items()}
        out: dict[str, list[str]] = {table.name: [] for table in TABLES}
        for parcel in parcels:
            self._parcel(parcel, ids=ids, out=out, quotas=chunk.quotas)
        out[QUOTA.name] = [
            f"{quota_id}\t{buyer_hash}\t{year}\t{_yuan(reserved)}\t{_yuan(consumed)}"
            for quota_id, (buyer_hash, year, reserved, consumed) in chunk.quotas.items()
        ]
        for table in TABLES:
            lines = out[table.name]
            if lines and lines[0].count("\t") + 1 != len(table.columns):
                msg = f"{table.name}: a line has {lines[0].count(chr(9)) + 1} values for {len(table.columns)} columns"
                raise RuntimeError(msg)
            chunk.data[table.name] = pgcopy.encode(lines)
            chunk.rows[table.name] = len(lines)

    def _parcel(  # noqa: PLR0915 - the thirteen tables of one parcel, in one place
        self,
        p: Parcel,
        *,
        ids: dict[str, Iterator[int]],
        out: dict[str, list[str]],
        quotas: dict[int, list[Any]],
    ) -> None:
        rng, prefix, names = self.rng, self.prefix, self._names
        order_id, payment_id = next(ids[ORDER.name]), next(ids[PAYMENT.name])
        waybill_id, inventory_id = next(ids[WAYBILL.name]), next(ids[INVENTORY.name])
        buyer = p.buyer
        # Each key is the sender's own: the order's and payment's carry the day of the order,
        # the list's the day it was declared. The parcel's number makes each one unique.
        date = _date(_china_day(p.t_order)).replace("-", "")
        list_day = _date(_china_day(p.t_list))
        order_no = f"{prefix}{date}{p.number:09d}"
        pay_no = f"{prefix}P{date}{p.number:09d}"
        waybill_no = f"{prefix}L{p.number:011d}"
        cop_no = f"{prefix}C{list_day[2:4]}{list_day[5:7]}{list_day[8:]}{p.number:09d}"
        taxed = p.taxed
        paid = _yuan(p.goods + p.freight + taxed.total - p.discount)
        freight, insured = _yuan(p.freight), _yuan(p.insured)
        ebp, ebc, pay, carrier, agent = p.platform, p.seller, p.payer, p.carrier, p.agent
        ebp_name, ebc_name, pay_name = names[ebp.id], names[ebc.id], names[pay.id]
        carrier_name, agent_name = names[carrier.id], names[agent.id]
        receipt_code, receipt_note = DOCUMENT_RECEIPT
        declared = DocumentStatus.DECLARED
        created_order, created_payment, created_waybill, created_list = p.created
        answered_order, answered_payment, answered_waybill = p.answered
        out[ORDER.name].append(
            f"{order_id}\t{_ts(created_order)}\t{_ts(answered_order)}\t{ebp.id}\t{_guid(rng).upper()}\t1\t"
            f"{_ts(int(p.t_order))}\t2\t1\t"
            '{"goods_value": 2, "freight": 2, "discount": 2, "tax_total": 2, "actual_paid": 2}\t'
            f"{receipt_code}\t{receipt_note}\tt\t{declared}\tI\t{order_no}\t{ebp.code}\t{ebp_name}\t{ebc.code}\t"
            f"{ebc_name}\t{_yuan(p.goods)}\t{freight}\t{_yuan(p.discount)}\t{_yuan(taxed.total)}\t{paid}\t142\t"
            f"{buyer.reg_no}\t{buyer.name}\t{buyer.telephone}\t1\t{buyer.id_encrypted}\t{buyer.id_hash}\t"
            f"{pay.code}\t{pay_name}\t{pay_no}\t\t{buyer.consignee}\t{buyer.consignee_telephone}\t{buyer.address}\t"
            f"{buyer.district}\t"
        )
        out[PAYMENT.name].append(
            f"{payment_id}\t{_ts(created_payment)}\t{_ts(answered_payment)}\t{pay.id}\t{_guid(rng).upper()}\t1\t"
            f'{_ts(int(p.t_payment))}\t2\t1\t{{"amount_paid": 2}}\t{receipt_code}\t{receipt_note}\tt\t'
            f"{declared}\t{pay.code}\t{pay_name}\t{pay_no}\t{order_no}\t{ebp.code}\t{ebp_name}\t1\t"
            f"{buyer.id_encrypted}\t{buyer.id_hash}\t{buyer.name}\t{buyer.telephone}\t{paid}\t142\t"
            f"{_ts(int(p.t_paid))}\t\t{IdentityVerification.NOT_REQUESTED}"
        )
        net_grams = sum(line.product.weight_g * line.qty for line in p.lines)
        gross, gross_scale = _kg(net_grams * 108 // 100 + 100)
        net, net_scale = _kg(net_grams)
        area = p.area
        bill_no = self._air_waybill(p.flight, list_day) if area is None else ""
        out[WAYBILL.name].append(
            f"{waybill_id}\t{_ts(created_waybill)}\t{_ts(answered_waybill)}\t{carrier.id}\t{_guid(rng).upper()}\t1\t"
            f"{_ts(int(p.t_waybill))}\t2\t1\t"
            f'{{"freight": 2, "insured_fee": 2, "weight": {gross_scale}}}\t{receipt_code}\t{receipt_note}\tt\t'
            f"{declared}\t1\t{carrier.code}\t{carrier_name}\t{waybill_no}\t{bill_no}\t{order_no}\t{freight}\t"
            f"{insured}\t142\t{gross}\t1\t{self._info(p.lines)}\t{buyer.consignee}\t{buyer.address}\t"
            f"{buyer.consignee_telephone}\t"
        )
        if area is None:
            country, customs_code, mode, traf_mode, traf_no = (
                p.lines[0].product.country,
                agent.district,
                9610,
                5,
                p.flight,
            )
            voyage_no, ems_no, area_code, area_name = list_day.replace("-", ""), "", "", ""
        else:
            country, customs_code, mode, traf_mode, traf_no = "142", area.district, 1210, 4, ""
            voyage_no, ems_no, area_code, area_name = "", f"T{area.district}W{area.id:06d}", area.code, names[area.id]
        last_move = p.moves[-1] if p.moves[-1].applied else p.moves[-2]
        out[INVENTORY.name].append(
            f"{inventory_id}\t{_ts(created_list)}\t{_ts(last_move.at)}\t{agent.id}\t{_guid(rng).upper()}\t1\t"
            f"{_ts(int(p.t_list))}\t2\t1\t"
            f'{{"freight": 2, "insured_fee": 2, "gross_weight": {gross_scale}, "net_weight": {net_scale}}}\t'
            f"{p.status}\t[]\t{order_no}\t{ebp.code}\t{ebp_name}\t{ebc.code}\t{ebc_name}\t{waybill_no}\t"
            f"{carrier.code}\t{carrier_name}\t{cop_no}\t\t{ebc.code}\t{ems_no}\t{p.invt_no}\tI\t{list_day}\t"
            f"{customs_code}\t{customs_code}\t{list_day}\t1\t{buyer.id_encrypted}\t{buyer.id_hash}\t{buyer.name}\t"
            f"{buyer.telephone}\t{buyer.address}\t{agent.code}\t{agent_name}\t{area_code}\t{area_name}\t{mode}\t"
            f"{traf_mode}\t{traf_no}\t{voyage_no}\t{bill_no}\t\t\t{country}\t{freight}\t{insured}\t142\t\t1\t"
            f"{gross}\t{net}\t"
        )
        order_items, list_items = out[ORDER_ITEM.name], out[INVENTORY_ITEM.name]
        order_item_ids, list_item_ids = ids[ORDER_ITEM.name], ids[INVENTORY_ITEM.name]
        for gnum, line in enumerate(p.lines, start=1):
            product = line.product
            qty1, qty1_scale = legal_qty(product.per_piece, line.qty)
            price, total = _yuan(product.price_fen), _yuan(line.total_fen)
            order_items.append(
                f"{next(order_item_ids)}\t{order_id}\t{gnum}\t{product.item_no}\t{product.item_name}\t"
                f"{product.gmodel}\t\t{product.bar_code}\t{product.unit}\t{line.qty}\t{price}\t{total}\t142\t"
                f'{product.country}\t\t{{"qty": 0, "price": 2, "total_price": 2}}'
            )
            list_items.append(
                f"{next(list_item_ids)}\t{inventory_id}\t{gnum}\t{product.record_no if area else ''}\t"
                f"{product.item_no}\t{product.item_name}\t{product.gcode}\t{product.gname}\t{product.gmodel}\t"
                f"{product.bar_code}\t{product.country}\t\t142\t{line.qty}\t{product.unit}\t{qty1}\t"
                f"{product.unit1}\t\t{price}\t{total}\t\t"
                f'{{"qty": 0, "qty1": {qty1_scale}, "price": 2, "total_price": 2}}'
            )
        changes, change_ids = out[STATUS_CHANGE.name], ids[STATUS_CHANGE.name]
        for move in p.moves:
            if move.code:
                receipt_time, message_id = _ts(move.receipt_time or move.at), _guid(rng)
            else:
                receipt_time, message_id = NULL, ""
            changes.append(
                f"{next(change_ids)}\t{inventory_id}\t{move.from_status}\t{move.to_status}\t{move.source}\t"
                f"{move.code}\t{receipt_time}\t{message_id}\t{move.note}\t\t{{}}\t{'t' if move.applied else 'f'}\t"
                f"{_ts(move.at)}"
            )
        quota_id = self.quota_ids[p.buyer_index, p.year]
        quota = quotas.setdefault(quota_id, [buyer.id_hash, p.year, 0, 0])
        if not p.quota_passed:
            return
        matched = _ts(p.moves[1].at)
        dutiable = _yuan(p.dutiable)
        out[RESERVATION.name].append(
            f"{next(ids[RESERVATION.name])}\t{inventory_id}\t{quota_id}\t{dutiable}\t{p.quota_state}\t{matched}\t"
            f"{_ts(p.quota_changed)}"
        )
        if p.quota_state == QuotaReservation.State.RESERVED:
            quota[2] += p.dutiable
        elif p.quota_state == QuotaReservation.State.CONSUMED:
            quota[3] += p.dutiable
        duty, vat, ct = _yuan(taxed.duty), _yuan(taxed.vat), _yuan(taxed.ct)
        estimate_id = next(ids[ESTIMATE.name])
        out[ESTIMATE.name].append(
            f"{estimate_id}\t{inventory_id}\t{taxed.mode}\t{dutiable}\t{duty}\t{vat}\t{ct}\t{_yuan(taxed.total)}\t"
            f"{matched}"
        )
        estimate_items, estimate_item_ids = out[ESTIMATE_ITEM.name], ids[ESTIMATE_ITEM.name]
        for gnum, (line, figures) in enumerate(zip(p.lines, taxed.items, strict=True), start=1):
            item_dutiable, item_duty, item_vat, item_ct = figures
            estimate_items.append(
                f"{next(estimate_item_ids)}\t{estimate_id}\t{gnum}\t{line.product.gcode}\t{_yuan(item_dutiable)}\t"
                f"{_yuan(item_duty)}\t{_yuan(item_vat)}\t{_yuan(item_ct)}"
            )
        if p.billed is not None:
            total = _yuan(taxed.total)
            out[TAX_BILL.name].append(
                f"{next(ids[TAX_BILL.name])}\tTAX{p.invt_no}\t{p.invt_no}\t{inventory_id}\t1\t{cop_no}\t{ebc.code}\t"
                f"{ebc.code}\t{ebp.code}\t{agent.code}\t{carrier.code}\t{customs_code}\t{order_no}\t{waybill_no}\t1\t\t"
                f"{duty}\t{vat}\t{ct}\t{total}\t\t{_ts(p.billed)}\t{_ts(p.billed + rng.uniform(0.2, 2))}\t"
                f"{duty}\t{vat}\t{ct}\t{total}\t{{}}\t\t0\tnone"
            )
        if p.cancellation is not None:
            asked, answered = p.cancellation
            state = InventoryCancellation.Status.ACCEPTED if answered is not None else InventoryCancellation.Status.SENT
            out[CANCELLATION.name].append(
                f"{next(ids[CANCELLATION.name])}\t{_ts(asked)}\t{_ts(answered or asked)}\t{inventory_id}\t"
                f"{agent.id}\t{CANCELLATION_REASON}\t{state}"
            )

    def _info(self, lines: Sequence[Line]) -> str:
        """The waybill's goods description, as a COPY value."""
        key = tuple(line.product.gname for line in lines)
        text = self._goods_info.get(key)
        if text is None:
            text = self._goods_info[key] = pgcopy.text(goods_info([line.product for line in lines]))
        return text

    @staticmethod
    def _air_waybill(flight: str, day: str) -> str:
        """The master air waybill of a flight on a day: airline prefix, serial, check digit (mod 7)."""
        serial = zlib.crc32(f"{flight}{day}".encode()) % 10_000_000
        return f"{AWB_PREFIXES.get(flight[:2], '999')}-{serial:07d}{serial % 7}"


# --- The run ------------------------------------------------------------------------------------


def _quota_lookup(keys: dict[tuple[int, int], str]) -> dict[tuple[int, int], tuple[int, int]]:
    """The stored quota rows of these (buyer, year) keys (hash by key): their ids and what they hold, in fen."""
    if not keys:
        return {}
    by_hash = {(digest, key[1]): key for key, digest in keys.items()}
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT q.id, q.buyer_id_hash, q.year, q.reserved + q.consumed FROM {pgcopy.quoted(QUOTA.name)} q "  # noqa: S608 - a table name
            "JOIN unnest(%s::text[], %s::int[]) AS k(h, y) ON q.buyer_id_hash = k.h AND q.year = k.y",
            [[digest for (digest, _year) in by_hash], [year for (_digest, year) in by_hash]],
        )
        return {by_hash[(digest, year)]: (quota_id, _fen(used)) for quota_id, digest, year, used in cursor.fetchall()}


def _copy_chunk(chunk: Chunk, *, skip_triggers: bool) -> None:
    """Write the chunk, in one transaction.

    ``skip_triggers``: the rows' foreign keys are not checked one by one (they hold by
    construction: each row names rows of its own chunk or of the registry), as a restore does.
    """
    with transaction.atomic(), connection.cursor() as cursor:
        if skip_triggers:
            cursor.execute("SET LOCAL session_replication_role = replica")
        raw = cursor.cursor
        for table in TABLES:
            if table is not QUOTA:
                pgcopy.copy_data(raw, table=table.name, columns=table.columns, data=chunk.data[table.name])
        # Quota rows may exist already (earlier chunks, other histories, live lists of the
        # same buyer): staged, then added to.
        quota = pgcopy.quoted(QUOTA.name)
        cursor.execute(
            f"CREATE TEMPORARY TABLE IF NOT EXISTS {QUOTA_STAGING} "
            "(id bigint, buyer_id_hash varchar(64), year smallint, reserved numeric, consumed numeric)"
        )
        cursor.execute(f"TRUNCATE {QUOTA_STAGING}")
        pgcopy.copy_data(raw, table=QUOTA_STAGING, columns=QUOTA.columns, data=chunk.data[QUOTA.name])
        cursor.execute(
            f"INSERT INTO {quota} (id, buyer_id_hash, year, reserved, consumed) "  # noqa: S608 - table names
            f"SELECT id, buyer_id_hash, year, reserved, consumed FROM {QUOTA_STAGING} "
            f"ON CONFLICT (buyer_id_hash, year) DO UPDATE SET reserved = {quota}.reserved + EXCLUDED.reserved, "
            f"consumed = {quota}.consumed + EXCLUDED.consumed"
        )
        # A row the chunk meant to add that a live list of the same buyer added first has
        # another id than the chunk's reservations name: the chunk is given up.
        cursor.execute(
            f"SELECT count(*) FROM {QUOTA_STAGING} s JOIN {quota} q "  # noqa: S608 - table names
            "ON q.buyer_id_hash = s.buyer_id_hash AND q.year = s.year WHERE q.id <> s.id"
        )
        (moved,) = cursor.fetchone()
        if moved:
            msg = f"{moved} buyers' quota rows were added by other work during the chunk: write again with another seed"
            raise HistoryError(msg)
        if skip_triggers:
            # SET LOCAL would last to the end of a caller's transaction.
            cursor.execute("SET LOCAL session_replication_role = origin")


def _may_skip_triggers() -> bool:
    """Whether the chunks may be written without firing triggers: only the foreign keys' own
    (a trigger someone added to these tables must still run), and only by a superuser (who
    alone may set ``session_replication_role``)."""
    names = [table.name for table in TABLES]
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('is_superuser') = 'on'")
        (superuser,) = cursor.fetchone()
        cursor.execute(
            "SELECT count(*) FROM pg_trigger WHERE NOT tgisinternal AND tgrelid = ANY(%s::regclass[])",
            [[pgcopy.quoted(name) for name in names]],
        )
        (triggers,) = cursor.fetchone()
    return bool(superuser) and triggers == 0


def _check(*, lists: int, seed: int, days: int, chunk: int) -> str:
    if connection.vendor != "postgresql":
        msg = f"the history is written with PostgreSQL's COPY; this database is {connection.vendor}"
        raise HistoryError(msg)
    if lists < 1:
        raise HistoryError("--lists must be at least 1")
    if seed not in SEEDS:
        raise HistoryError(f"--seed must be from {SEEDS.start} to {SEEDS.stop - 1}: it is two digits of the keys")
    if days < 1:
        raise HistoryError("--days must be at least 1")
    if chunk < 1:
        raise HistoryError("--chunk must be at least 1")
    unknown = tables_unknown_columns()
    if unknown:
        raise HistoryError(f"the history does not know how to fill {', '.join(unknown)}")
    prefix = f"H{seed:02d}"
    if Order.objects.filter(order_no__startswith=prefix).exists():
        msg = f"a history with seed {seed} is stored already (orders {prefix}…): choose another seed"
        raise HistoryError(msg)
    return prefix


def _chunks(*, planner: Planner, writer: Writer, moments: Sequence[float], size: int) -> Iterator[Chunk]:
    """The chunks in order, planned and rendered: who and when; the stored quota rows of the
    buyers' years first met; the rest of each parcel; ids reserved; lines rendered."""
    for start in range(0, len(moments), size):
        parcels = [planner.head(n, moments[n]) for n in range(start, min(start + size, len(moments)))]
        unseen = {
            (p.buyer_index, p.year): p.buyer.id_hash for p in parcels if (p.buyer_index, p.year) not in writer.quota_ids
        }
        stored = _quota_lookup(unseen)
        for key, (quota_id, used) in stored.items():
            writer.quota_ids[key] = quota_id
            planner.quota_used[key] = used
        for parcel in parcels:
            planner.complete(parcel)
        current = Chunk(parcels=parcels)
        writer.render(current, [key for key in unseen if key not in stored])
        yield current


def _made_ahead(chunks: Iterator[Chunk]) -> Iterator[Chunk]:
    """``chunks``, made on a thread of their own while this one writes the one before.

    That thread has its own database connection, for its quota lookups and id blocks. Neither
    depends on a chunk not yet committed: the quota rows it looks up are of buyers' years this
    history has not met yet (stored before it began), and id blocks come from the sequences.
    """
    handoff: queue.Queue[Chunk | BaseException | None] = queue.Queue(maxsize=1)
    stop = threading.Event()

    def hand(item: Chunk | BaseException | None) -> None:
        while not stop.is_set():
            try:
                handoff.put(item, timeout=0.5)
            except queue.Full:
                continue
            return

    def make() -> None:
        try:
            for chunk in chunks:
                hand(chunk)
                if stop.is_set():
                    return
            hand(None)
        except Exception as exc:  # noqa: BLE001 - raised again by the writing thread
            hand(exc)
        finally:
            connection.close()

    maker = threading.Thread(target=make, name="history-chunks", daemon=True)
    maker.start()
    try:
        while (item := handoff.get()) is not None:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        maker.join()


def history_generate(
    *,
    lists: int,
    seed: int = 0,
    days: int = 365,
    chunk: int = 50_000,
    now: datetime.datetime | None = None,
    progress: Callable[[ChunkDone], None] | None = None,
) -> HistoryResult:
    """Write ``lists`` historical parcels declared over the ``days`` before ``now``.

    Raises ``HistoryError`` before writing anything when the database is not PostgreSQL, the
    seed's history is stored already, the reference tables hold no goods code with a rate, or
    a model has a required column the history does not write. Enterprises and appointments
    it needs are registered first (audited). ``progress`` is told after each chunk.

    1. The parties, goods, buyers, and the moments the lists were declared, in time order.
    2. Chunk after chunk, planned and rendered (``_chunks``; on a thread of its own, a chunk
       ahead, unless the caller holds a transaction), then written in one transaction.
    3. The planner's statistics: ANALYZE of every table written.
    """
    # 1.
    prefix = _check(lists=lists, seed=seed, days=days, chunk=chunk)
    started = time.monotonic()
    end = (now or timezone.now()).timestamp() - QUIET_BEFORE_NOW
    rng = random.Random(seed)  # noqa: S311 - made-up history, reproducible by its seed
    first_day = timezone.localdate(datetime.datetime.fromtimestamp(end - days * DAY, tz=datetime.UTC))
    last_day = timezone.localdate(datetime.datetime.fromtimestamp(end, tz=datetime.UTC))
    parties = history_parties(first=first_day, last=last_day, actor=Actor.system("generate_history"))
    if not parties.sellers:
        raise HistoryError("no e-commerce enterprise can appoint a declaring agent")
    catalogue = catalogue_build(rng=rng)
    if not catalogue.products:
        raise HistoryError("the positive list and the rate table share no goods code: there is nothing to sell")
    buyers = BuyerPool(
        size=max(lists // LISTS_PER_BUYER, 10),
        lists_a_year=lists * 365 / days,
        rng=rng,
        birth_year_now=last_day.year,
    )
    planner = Planner(
        rng=rng,
        parties=parties,
        catalogue=catalogue,
        buyers=buyers,
        calendar=Calendar(end=end, days=days, rng=rng),
        now=end + QUIET_BEFORE_NOW,
        prefix=prefix,
    )
    writer = Writer(prefix=prefix, rng=rng, parties=parties)
    moments = planner.calendar.moments(lists)
    skip_triggers = _may_skip_triggers()
    made = _chunks(planner=planner, writer=writer, moments=moments, size=chunk)
    # A caller's transaction (the tests') is one connection: no second one may see its rows.
    if not connection.in_atomic_block:
        made = _made_ahead(made)
    rows: Counter[str] = Counter()
    statuses: Counter[str] = Counter()
    written = 0
    # 2.
    for number, current in enumerate(made, start=1):
        _copy_chunk(current, skip_triggers=skip_triggers)
        rows.update(current.rows)
        statuses.update(p.status for p in current.parcels)
        written += len(current.parcels)
        if progress is not None:
            progress(
                ChunkDone(
                    chunk=number,
                    chunks=math.ceil(lists / chunk),
                    lists=written,
                    rows=sum(rows.values()),
                    seconds=time.monotonic() - started,
                )
            )
    # 3.
    with connection.cursor() as cursor:
        for table in TABLES:
            cursor.execute(f"ANALYZE {pgcopy.quoted(table.name)}")
        cursor.execute(f"DROP TABLE IF EXISTS {QUOTA_STAGING}")
    return HistoryResult(
        lists=lists, seconds=time.monotonic() - started, rows=dict(rows), statuses=dict(statuses), prefix=prefix
    )
