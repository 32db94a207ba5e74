"""Import parcels for the benchmark: the four documents of each, as the JSON API takes them.

``ParcelGenerator(seed=..., parties=...).parcel(n)`` is parcel ``n``: an order, a payment, a
waybill and a declaration list (trade mode 9610) that agree with one another, so every
matching rule holds, except where the parcel is one of the deliberate exceptions:

- goods: real tariff lines of the seeded positive list (``declarations/reference_data``),
  bonded-only lines left out, each list line in its legal first unit (``legal_unit1``), with
  prices and weights typical of the chapter;
- buyers: valid resident ID numbers (GB 11643 check character), drawn from a population of
  ``buyers`` people by a Zipf law (rank ``k`` is bought by in proportion to ``1 / k**s``), so a
  few buyers order very often and their annual quota (26,000 CNY) runs out during a run;
- ``mismatch_share`` of the parcels break one matching rule on purpose (the payment's amount,
  the waybill's consignee, a list line's price, the list's freight);
- ``family_share`` are paid by a relative of the buyer: the payment company's identity
  verification decides (``verified_pairs`` lists the pairs it verifies; one family in ten is
  not verified and its lists fail matching);
- ``over_limit_share`` are above the 5,000 CNY single-transaction limit.

Everything is a function of the seed, the parcel's number, the run's tag (part of every
business key, so runs against one database do not collide) and the base time (``app_time``),
so two generators built alike yield the same bodies. The module needs no Django.
"""

from __future__ import annotations

import bisect
import csv
import datetime
import itertools
import random
import uuid
import zoneinfo
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

KINDS = ("order", "payment", "waybill", "inventory")
CHINA = zoneinfo.ZoneInfo("Asia/Shanghai")
REFERENCE_DATA = Path(__file__).resolve().parents[1] / "declarations" / "reference_data"
FEN = Decimal("0.01")
SINGLE_LIMIT = Decimal(5000)
# One family in this many is not on the payment company's list of verified payers.
UNVERIFIED_FAMILY_EVERY = 10
# The buyers whose relatives pay for them (the first ranks: the frequent buyers).
FAMILY_BUYERS = 1000
MISMATCHES = ("payment_amount", "consignee_telephone", "item_price", "freight")


@dataclass(frozen=True)
class Parties:
    """The enterprises a parcel names (customs codes and names)."""

    ebp_code: str
    ebp_name: str
    ebc_code: str
    ebc_name: str
    pay_code: str
    pay_name: str
    logistics_code: str
    logistics_name: str
    agent_code: str
    agent_name: str
    customs_code: str = "2901"
    port_code: str = "2901"


@dataclass(frozen=True)
class Product:
    """A line of the catalogue: goods of one tariff line as a shop sells them."""

    gcode: str  # 10 digits: the tariff line and two more
    name: str
    gmodel: str
    unit: str  # the unit it is sold in
    unit1: str  # the legal first unit of its tariff line
    qty1_per_unit: Decimal  # legal quantity (kg, litres or pieces) per unit sold
    kg_per_unit: Decimal
    low: int  # price range in CNY per unit
    high: int
    countries: tuple[str, ...]
    weight: float  # how often it is bought, relative to the others


@dataclass(frozen=True)
class Person:
    name: str
    id_number: str
    telephone: str
    address: str
    district: str
    reg_no: str


@dataclass(frozen=True)
class Parcel:
    """One parcel: its four documents and what the benchmark expects of it."""

    index: int
    buyer_rank: int
    order_no: str
    documents: dict[str, dict[str, Any]]
    # The order in which the four documents are sent.
    arrival: tuple[str, ...]
    # "" or the matching rule broken on purpose (MISMATCHES), "single_limit", "payer_not_verified".
    broken: str = ""
    paid_by_family: bool = False
    dutiable: Decimal = field(default=Decimal(0))

    @property
    def should_clear(self) -> bool:
        """Whether the list should be declared and released (the buyer's quota permitting)."""
        return not self.broken


# --- Resident ID numbers (GB 11643) --------------------------------------------------------

ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK = "10X98765432"


def id_check_character(first17: str) -> str:
    """ISO 7064 MOD 11-2 over the first 17 digits."""
    return ID_CHECK[sum(int(d) * w for d, w in zip(first17, ID_WEIGHTS, strict=True)) % 11]


def is_valid_id_number(value: str) -> bool:
    return (
        len(value) == 18
        and value[:17].isdigit()
        and value[17] in "0123456789X"
        and id_check_character(value[:17]) == value[17]
    )


# --- People ---------------------------------------------------------------------------------

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉兰萍红鹏飞晨曦思远子涵雨欣浩然梓萱一诺"
# (division code of the ID number and of the consignee's district, the address up to the district)
DISTRICTS = (
    ("330106", "浙江省杭州市西湖区"),
    ("330108", "浙江省杭州市滨江区"),
    ("330212", "浙江省宁波市鄞州区"),
    ("310104", "上海市徐汇区"),
    ("310115", "上海市浦东新区"),
    ("110105", "北京市朝阳区"),
    ("110108", "北京市海淀区"),
    ("440305", "广东省深圳市南山区"),
    ("440106", "广东省广州市天河区"),
    ("320106", "江苏省南京市鼓楼区"),
    ("510107", "四川省成都市武侯区"),
    ("420106", "湖北省武汉市武昌区"),
)
STREETS = ("文三路", "学院路", "中山路", "人民路", "解放路", "建设路", "和平路", "长江路", "滨江大道", "科技路")
# Days between 1960-01-01 and 2004-12-31: the buyers' dates of birth.
BIRTH_DAYS = 16436


def person(number: int, *, seed: int) -> Person:
    """Person ``number`` of the run: distinct numbers are distinct people (ID numbers differ)."""
    rng = random.Random(f"person/{seed}/{number}")  # noqa: S311 - made-up people, not secrets
    sequence, rest = number % 1000, number // 1000
    code, area = DISTRICTS[rest % len(DISTRICTS)]
    born = datetime.date(1960, 1, 1) + datetime.timedelta(days=(rest * 131 + seed) % BIRTH_DAYS)
    first17 = f"{code}{born:%Y%m%d}{sequence:03d}"
    given = "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))
    return Person(
        name=rng.choice(SURNAMES) + given,
        id_number=first17 + id_check_character(first17),
        telephone=f"1{rng.choice('3456789')}{rng.randrange(10**9):09d}",
        address=f"{area}{rng.choice(STREETS)}{rng.randint(1, 999)}号{rng.randint(1, 30)}幢{rng.randint(101, 2505)}室",
        district=code,
        reg_no=f"u{number:09d}",
    )


# --- The catalogue --------------------------------------------------------------------------

# Per chapter (or heading, which wins): name of the goods as sold, model, unit, kg or litres
# per unit, price range, countries of origin and popularity. Cross-border imports are mostly
# cosmetics, infant formula and food, then clothes, shoes and small appliances.
_KIND: dict[str, tuple[str, str, str, str, int, int, tuple[str, ...], float]] = {
    # prefix: (gmodel, unit, kg per unit, litres per unit, low, high, countries, weight)
    "0402": ("900g/罐", "122", "0.9", "", 90, 320, ("601", "609", "304"), 4),
    "0409": ("500g/瓶", "142", "0.5", "", 80, 400, ("609", "601"), 1),
    "0901": ("250g/袋", "136", "0.25", "", 40, 180, ("116", "312", "307"), 2),
    "1509": ("1L/瓶", "142", "0.92", "", 60, 200, ("312", "307"), 1),
    "1806": ("100g/块", "017", "0.1", "", 15, 90, ("331", "304", "305"), 2),
    "1901": ("800g/罐", "122", "0.8", "", 150, 420, ("601", "609", "304", "306"), 12),
    "1905": ("300g/盒", "140", "0.3", "", 20, 90, ("116", "304", "305"), 2),
    "2106": ("60粒/瓶", "142", "0.15", "", 90, 600, ("601", "502", "116"), 6),
    "2203": ("500ml/罐", "122", "0.52", "0.5", 8, 30, ("304", "116"), 1),
    "2204": ("750ml/瓶", "142", "1.3", "0.75", 90, 900, ("305", "307", "601"), 2),
    "2208": ("700ml/瓶", "142", "1.2", "0.7", 150, 2000, ("303", "116"), 1),
    "3303": ("50ml/瓶", "142", "0.25", "", 400, 1800, ("305", "307"), 4),
    "3304": ("50ml/瓶", "142", "0.12", "", 80, 1500, ("116", "133", "305", "502"), 20),
    "3305": ("400ml/瓶", "142", "0.45", "", 40, 160, ("116", "133"), 3),
    "3306": ("120g/支", "012", "0.14", "", 15, 60, ("116", "133"), 2),
    "3307": ("50ml/支", "012", "0.08", "", 40, 150, ("116", "502"), 1),
    "3401": ("100g/块", "017", "0.1", "", 20, 120, ("305", "116"), 2),
    "3924": ("240ml/个", "007", "0.12", "", 60, 260, ("116", "304"), 2),
    "4202": ("1个", "007", "0.9", "", 600, 4200, ("305", "307", "502"), 2),
    "6109": ("1件", "011", "0.25", "", 80, 400, ("116", "133", "502"), 3),
    "6111": ("1件", "011", "0.2", "", 60, 300, ("116", "133"), 3),
    "6203": ("1件", "011", "0.5", "", 200, 900, ("116", "502"), 2),
    "6204": ("1件", "011", "0.4", "", 200, 1200, ("133", "305"), 2),
    "6403": ("1双", "025", "1.0", "", 400, 2500, ("307", "312"), 1),
    "6404": ("1双", "025", "0.8", "", 300, 1400, ("116", "502"), 3),
    "7113": ("1件", "007", "0.02", "", 600, 4500, ("305", "307", "110"), 1),
    "7116": ("1件", "007", "0.03", "", 300, 2500, ("110",), 1),
    "8509": ("1台", "001", "1.5", "", 300, 2500, ("116", "304"), 1),
    "8510": ("1台", "001", "0.4", "", 300, 2000, ("304", "116"), 2),
    "8516": ("1台", "001", "0.8", "", 300, 2600, ("116", "304"), 2),
    "8541": ("1个", "007", "0.05", "", 50, 300, ("116",), 0.2),
    "9004": ("1副", "019", "0.1", "", 400, 2500, ("307", "502"), 1),
    "9102": ("1只", "008", "0.15", "", 1200, 9000, ("331", "116"), 1),
    "9503": ("1个", "007", "0.3", "", 50, 400, ("116", "304"), 3),
    "9603": ("2支/盒", "140", "0.05", "", 20, 120, ("116", "304"), 1),
    "9619": ("52片/包", "125", "1.4", "", 90, 220, ("116",), 5),
}


def _rows(directory: Path, name: str) -> Iterator[dict[str, str]]:
    with (directory / name).open(encoding="utf-8") as file:
        yield from csv.DictReader(line for line in file if not line.startswith("#"))


def load_catalogue(directory: Path = REFERENCE_DATA) -> list[Product]:
    """The goods the benchmark buys: each tariff line of the positive list (bonded-only lines
    aside) that the table above describes, with its legal first unit from the tax rates."""
    legal_units = {row["tariff_line"]: row["legal_unit1"] for row in _rows(directory, "tax_rates.csv")}
    products = []
    for row in _rows(directory, "positive_list.csv"):
        line = row["tariff_line"]
        described = _KIND.get(line[:4])
        if row["bonded_only"] == "1" or described is None:
            continue
        gmodel, unit, kg, litres, low, high, countries, weight = described
        legal = legal_units.get(line, "") or ""
        if legal == "035":
            qty1 = Decimal(kg)
        elif legal == "095":
            qty1 = Decimal(litres or kg)
        else:
            # Not checked by the table: the line is counted in the unit it is sold in.
            legal, qty1 = unit, Decimal(1)
        products.append(
            Product(
                gcode=line + "00",
                name=row["name"].split(" / ")[0].split("\uff08")[0],
                gmodel=gmodel,
                unit=unit,
                unit1=legal,
                qty1_per_unit=qty1,
                kg_per_unit=Decimal(kg),
                low=low,
                high=high,
                countries=countries,
                weight=weight,
            )
        )
    if not products:
        msg = f"no goods of the positive list in {directory} are described in bench/parcels.py"
        raise ValueError(msg)
    return products


# --- Zipf -------------------------------------------------------------------------------------


class Zipf:
    """Ranks 0..n-1 drawn with probability proportional to ``1 / (rank + 1) ** s``."""

    def __init__(self, n: int, s: float) -> None:
        self.n, self.s = n, s
        self.cumulative = list(itertools.accumulate(float((k + 1) ** -s) for k in range(n)))

    def draw(self, rng: random.Random) -> int:
        return min(bisect.bisect_left(self.cumulative, rng.random() * self.cumulative[-1]), self.n - 1)

    def share(self, rank: int) -> float:
        """The probability of ``rank``."""
        return float((rank + 1) ** -self.s) / self.cumulative[-1]


# --- The generator ----------------------------------------------------------------------------


def money(amount: Decimal) -> str:
    return format(amount.quantize(FEN, rounding=ROUND_HALF_UP), "f")


def quantity(amount: Decimal) -> str:
    return format(amount.normalize(), "f")


class ParcelGenerator:
    """Parcels ``0, 1, 2 ...`` of one run (see the module's docstring)."""

    def __init__(
        self,
        *,
        seed: int,
        parties: Parties,
        base_time: datetime.datetime,
        run_tag: str = "",
        buyers: int = 200_000,
        zipf_s: float = 1.0,
        mismatch_share: float = 0.02,
        family_share: float = 0.03,
        over_limit_share: float = 0.005,
        shuffled_share: float = 0.25,
        catalogue: Sequence[Product] | None = None,
    ) -> None:
        if len(run_tag) > 6 or (not run_tag.isalnum() and run_tag):
            msg = "run_tag is at most 6 letters or digits (it goes into the business keys)"
            raise ValueError(msg)
        self.seed, self.parties, self.run_tag = seed, parties, run_tag.upper()
        self.base_time = base_time.astimezone(CHINA).replace(microsecond=0)
        self.buyers = Zipf(buyers, zipf_s)
        self.mismatch_share, self.family_share = mismatch_share, family_share
        self.over_limit_share, self.shuffled_share = over_limit_share, shuffled_share
        self.catalogue = list(catalogue) if catalogue is not None else load_catalogue()
        self._product_weights = list(itertools.accumulate(p.weight for p in self.catalogue))

    # People: buyers are 0..buyers-1; a buyer's relative who pays is buyers + rank.
    def buyer(self, rank: int) -> Person:
        return person(rank, seed=self.seed)

    def relative(self, rank: int) -> Person:
        return person(self.buyers.n + rank, seed=self.seed)

    def verified_pairs(self) -> list[dict[str, str]]:
        """The payers the payment company verified for their buyer (``--verified-pairs`` of
        the payment simulator): every family but one in ``UNVERIFIED_FAMILY_EVERY``."""
        pairs = []
        for rank in range(min(FAMILY_BUYERS, self.buyers.n)):
            if rank % UNVERIFIED_FAMILY_EVERY == UNVERIFIED_FAMILY_EVERY - 1:
                continue
            payer, buyer = self.relative(rank), self.buyer(rank)
            pairs.append(
                {
                    "payer_name": payer.name,
                    "payer_id_number": payer.id_number,
                    "buyer_name": buyer.name,
                    "buyer_id_number": buyer.id_number,
                }
            )
        return pairs

    def parcels(self, start: int, count: int) -> Iterator[Parcel]:
        return (self.parcel(n) for n in range(start, start + count))

    def parcel(self, n: int) -> Parcel:
        rng = random.Random(f"parcel/{self.seed}/{n}")  # noqa: S311 - reproducible test data
        # 1. Who buys, who pays, what breaks.
        family = rng.random() < self.family_share
        rank = rng.randrange(min(FAMILY_BUYERS, self.buyers.n)) if family else self.buyers.draw(rng)
        buyer = self.buyer(rank)
        payer = self.relative(rank) if family else buyer
        over_limit = rng.random() < self.over_limit_share
        mismatch = rng.choice(MISMATCHES) if rng.random() < self.mismatch_share else ""
        # 2. The goods.
        lines = self._lines(rng, over_limit)
        goods_value = sum((price * qty for _p, qty, price, _c in lines), Decimal(0))
        freight = Decimal(rng.choice((0, 0, 8, 10, 12, 15, 20, 25)))
        discount = Decimal(rng.choice((5, 10, 20))) if rng.random() < 0.1 and goods_value > 50 else Decimal(0)
        tax_total = ((goods_value + freight) * Decimal("0.091")).quantize(FEN, rounding=ROUND_HALF_UP)
        actual_paid = goods_value + freight + tax_total - discount
        # 3. The documents.
        tag, p = self.run_tag, self.parties
        order_no, pay_no = f"BN{tag}{n:010d}", f"PAY{tag}{n:010d}"
        logistics_no, cop_no = f"YT{tag}{n:010d}", f"C{tag}{n:010d}"
        app_time = f"{self.base_time:%Y%m%d%H%M%S}"
        pay_time = f"{self.base_time - datetime.timedelta(minutes=rng.randint(1, 120)):%Y%m%d%H%M%S}"
        day = f"{self.base_time:%Y%m%d}"
        bill_no = f"MAWB-784-{(self.seed * 7 + n // 500) % 10**8:08d}"
        net = sum((product.kg_per_unit * qty for product, qty, _price, _c in lines), Decimal(0))
        gross = net + Decimal("0.2")
        order_items: list[dict[str, Any]] = []
        list_items: list[dict[str, Any]] = []
        for gnum, (product, qty, price, country) in enumerate(lines, start=1):
            item_name = f"{product.name} {product.gmodel}"
            common: dict[str, Any] = {
                "gnum": gnum,
                "item_name": item_name,
                "gmodel": product.gmodel,
                "unit": product.unit,
            }
            amounts: dict[str, Any] = {"qty": quantity(qty), "price": money(price), "total_price": money(price * qty)}
            order_items.append(
                {**common, "item_no": f"SKU-{product.gcode}", **amounts, "currency": "142", "country": country}
            )
            list_items.append(
                {
                    **common,
                    "item_no": f"SKU-{product.gcode}",
                    "gcode": product.gcode,
                    "gname": product.name,
                    "country": country,
                    "currency": "142",
                    **amounts,
                    "qty1": quantity(product.qty1_per_unit * qty),
                    "unit1": product.unit1,
                }
            )
        order: dict[str, Any] = {
            "guid": self._guid(rng),
            "app_type": "1",
            "app_time": app_time,
            "app_status": "2",
            "order_type": "I",
            "order_no": order_no,
            "ebp_code": p.ebp_code,
            "ebp_name": p.ebp_name,
            "ebc_code": p.ebc_code,
            "ebc_name": p.ebc_name,
            "goods_value": money(goods_value),
            "freight": money(freight),
            "discount": money(discount),
            "tax_total": money(tax_total),
            "actual_paid": money(actual_paid),
            "currency": "142",
            "buyer_reg_no": buyer.reg_no,
            "buyer_name": buyer.name,
            "buyer_telephone": buyer.telephone,
            "buyer_id_type": "1",
            "buyer_id_number": buyer.id_number,
            "pay_code": p.pay_code,
            "pay_name": p.pay_name,
            "pay_transaction_id": pay_no,
            "consignee": buyer.name,
            "consignee_telephone": buyer.telephone,
            "consignee_address": buyer.address,
            "consignee_district": buyer.district,
            "items": order_items,
        }
        payment: dict[str, Any] = {
            "guid": self._guid(rng),
            "app_type": "1",
            "app_time": app_time,
            "app_status": "2",
            "pay_code": p.pay_code,
            "pay_name": p.pay_name,
            "pay_transaction_id": pay_no,
            "order_no": order_no,
            "ebp_code": p.ebp_code,
            "ebp_name": p.ebp_name,
            "payer_id_type": "1",
            "payer_id_number": payer.id_number,
            "payer_name": payer.name,
            "telephone": payer.telephone,
            "amount_paid": money(actual_paid),
            "currency": "142",
            "pay_time": pay_time,
        }
        waybill: dict[str, Any] = {
            "guid": self._guid(rng),
            "app_type": "1",
            "app_time": app_time,
            "app_status": "2",
            "logistics_code": p.logistics_code,
            "logistics_name": p.logistics_name,
            "logistics_no": logistics_no,
            "bill_no": bill_no,
            "order_no": order_no,
            "freight": money(freight),
            "insured_fee": "0",
            "currency": "142",
            "weight": quantity(gross),
            "pack_no": 1,
            "goods_info": "\uff0c".join(product.name for product, *_rest in lines)[:200],
            "consignee": buyer.name,
            "consignee_address": buyer.address,
            "consignee_telephone": buyer.telephone,
        }
        inventory: dict[str, Any] = {
            "guid": self._guid(rng),
            "app_type": "1",
            "app_time": app_time,
            "app_status": "2",
            "order_no": order_no,
            "ebp_code": p.ebp_code,
            "ebp_name": p.ebp_name,
            "ebc_code": p.ebc_code,
            "ebc_name": p.ebc_name,
            "logistics_no": logistics_no,
            "logistics_code": p.logistics_code,
            "logistics_name": p.logistics_name,
            "cop_no": cop_no,
            "assure_code": p.ebc_code,
            "ie_flag": "I",
            "decl_time": day,
            "customs_code": p.customs_code,
            "port_code": p.port_code,
            "ie_date": day,
            "buyer_id_type": "1",
            "buyer_id_number": buyer.id_number,
            "buyer_name": buyer.name,
            "buyer_telephone": buyer.telephone,
            "consignee_address": buyer.address,
            "agent_code": p.agent_code,
            "agent_name": p.agent_name,
            "trade_mode": "9610",
            "traf_mode": "5",
            "traf_no": rng.choice(("CA1041", "MU5088", "CZ3096", "NH929", "KE897", "LH728")),
            "voyage_no": day,
            "bill_no": bill_no,
            "country": lines[0][3],
            "freight": money(freight),
            "insured_fee": "0",
            "currency": "142",
            "pack_no": 1,
            "gross_weight": quantity(gross),
            "net_weight": quantity(net),
            "items": list_items,
        }
        documents = {"order": order, "payment": payment, "waybill": waybill, "inventory": inventory}
        if mismatch:
            self._break(documents, mismatch)
        broken = mismatch or ("single_limit" if over_limit else "")
        if not broken and family and rank % UNVERIFIED_FAMILY_EVERY == UNVERIFIED_FAMILY_EVERY - 1:
            broken = "payer_not_verified"
        arrival: tuple[str, ...] = KINDS
        if rng.random() < self.shuffled_share:
            arrival = tuple(rng.sample(KINDS, len(KINDS)))
        return Parcel(
            index=n,
            buyer_rank=rank,
            order_no=order_no,
            documents=documents,
            arrival=arrival,
            broken=broken,
            paid_by_family=family,
            dutiable=goods_value + freight,
        )

    def _guid(self, rng: random.Random) -> str:
        return str(uuid.UUID(int=rng.getrandbits(128), version=4)).upper()

    def _product(self, rng: random.Random) -> Product:
        at = rng.random() * self._product_weights[-1]
        return self.catalogue[bisect.bisect_left(self._product_weights, at)]

    def _lines(self, rng: random.Random, over_limit: bool) -> list[tuple[Product, Decimal, Decimal, str]]:
        """(product, quantity, unit price, country) of each line: one to four lines of distinct
        goods, most bought once or twice; an over-limit parcel is two dear lines above 5,000."""
        lines: list[tuple[Product, Decimal, Decimal, str]] = []
        count = 2 if over_limit else rng.choices((1, 2, 3, 4), weights=(50, 30, 14, 6))[0]
        seen: set[str] = set()
        while len(lines) < count:
            product = self._product(rng)
            if product.gcode in seen:
                continue
            seen.add(product.gcode)
            if over_limit:
                price = Decimal(rng.randint(2600, 4800))
                qty = Decimal(1)
            else:
                price = Decimal(rng.randint(product.low * 100, product.high * 100)) / 100
                qty = Decimal(rng.choices((1, 2, 3, 6), weights=(70, 20, 6, 4))[0])
                # Within the single-transaction limit: fewer pieces of dear goods.
                while qty > 1 and price * qty > 1500:
                    qty -= 1
            lines.append((product, qty, price, rng.choice(product.countries)))
        if not over_limit:
            while sum((price * qty for _p, qty, price, _c in lines), Decimal(0)) > Decimal(4500) and len(lines) > 1:
                lines.pop()
        return lines

    def _break(self, documents: dict[str, dict[str, Any]], mismatch: str) -> None:
        """Break one matching rule, keeping every document valid on its own."""
        if mismatch == "payment_amount":
            paid = Decimal(documents["payment"]["amount_paid"]) + Decimal(1)
            documents["payment"]["amount_paid"] = money(paid)
        elif mismatch == "consignee_telephone":
            phone = documents["waybill"]["consignee_telephone"]
            documents["waybill"]["consignee_telephone"] = phone[:-1] + str((int(phone[-1]) + 1) % 10)
        elif mismatch == "item_price":
            line = documents["inventory"]["items"][0]
            price = Decimal(line["price"]) - Decimal(1) if Decimal(line["price"]) > 2 else Decimal(line["price"]) / 2
            line["price"] = money(price)
            line["total_price"] = money(price * Decimal(line["qty"]))
        elif mismatch == "freight":
            documents["inventory"]["freight"] = money(Decimal(documents["inventory"]["freight"]) + Decimal(5))
