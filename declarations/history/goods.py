"""What the history's buyers buy: goods made up from the positive list and the rate table that
are in the database, so every list would pass matching (positive list, rates, legal units).

Each tariff line that is on the positive list and has a rate gets a few products (brand,
size, price, country of origin, bar code), priced and sized by the kind of goods its heading
names (``FAMILIES``); a line of an official table that no family describes gets plain
defaults. A product whose tax can't be computed (``declarations.tax.calculation``) is dropped.
"""

from __future__ import annotations

import bisect
import itertools
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache

from declarations.models import CountryCode, PositiveListEntry, TaxRate, UnitCode
from declarations.reference.tables import tax_rates_for
from declarations.tax import calculation as tax

PRODUCTS_PER_LINE = 5
KILOGRAM, LITRE, PIECE = "035", "095", "007"


@dataclass(frozen=True)
class Family:
    """A kind of goods: what it is called, what a piece costs (yuan) and holds (kilograms or
    litres, in its legal unit), how it is packed and where it comes from."""

    names: tuple[str, ...]
    price: tuple[float, float]
    measure: str = PIECE  # the legal unit a piece is measured in: kilogram, litre or piece
    size: tuple[float, float] = (1.0, 1.0)  # kilograms or litres a piece; pieces: 1
    pack: str = "瓶"
    countries: tuple[str, ...] = ("116", "304", "502")
    unit: str = PIECE  # the declared unit
    quantities: tuple[int, ...] = (1, 1, 1, 1, 1, 2, 2, 3)
    weight: float = 0.3  # kilograms a piece, when the legal unit does not say


FAMILIES: dict[str, Family] = {
    "0402": Family(("全脂奶粉", "脱脂奶粉", "高钙奶粉"), (89, 259), KILOGRAM, (0.8, 1.0), "罐",
                   ("601", "609", "304", "309")),
    "0409": Family(("麦卢卡蜂蜜", "百花蜂蜜"), (119, 489), KILOGRAM, (0.25, 0.5), "瓶", ("609", "601")),
    "0901": Family(("咖啡豆", "挂耳咖啡"), (59, 259), KILOGRAM, (0.25, 1.0), "袋", ("307", "502", "305")),
    "1509": Family(("特级初榨橄榄油",), (69, 219), KILOGRAM, (0.46, 0.92), "瓶", ("307", "311", "310")),
    "1806": Family(("黑巧克力", "牛奶巧克力"), (25, 159), KILOGRAM, (0.1, 0.4), "盒", ("304", "301", "305", "302")),
    "1901": Family(("婴幼儿配方奶粉1段", "婴幼儿配方奶粉2段", "婴幼儿配方奶粉3段"), (198, 468), KILOGRAM, (0.8, 0.9),
                   "罐", ("309", "304", "601", "609", "305"), quantities=(1, 1, 2, 2, 3, 4, 6)),
    "1905": Family(("黄油曲奇", "消化饼干"), (18, 88), KILOGRAM, (0.15, 0.5), "盒", ("116", "133", "302")),
    "2106": Family(("鱼油软胶囊", "复合维生素片", "益生菌粉"), (88, 680), KILOGRAM, (0.06, 0.3), "瓶",
                   ("601", "502", "116")),
    "2203": Family(("小麦啤酒", "黑啤酒"), (9, 32), LITRE, (0.33, 0.5), "罐", ("304", "116", "309"),
                   quantities=(6, 12, 12, 24)),
    "2204": Family(("干红葡萄酒", "干白葡萄酒"), (88, 1280), LITRE, (0.75, 0.75), "瓶", ("305", "601", "307", "311")),
    "2208": Family(("单一麦芽威士忌", "朗姆酒"), (168, 2880), LITRE, (0.7, 0.7), "瓶", ("303", "305", "116")),
    "3303": Family(("淡香水", "香水"), (380, 1880), KILOGRAM, (0.03, 0.1), "瓶", ("305", "307", "502")),
    "3304": Family(("保湿面霜", "精华液", "防晒乳", "眼霜", "口红"), (79, 1680), KILOGRAM, (0.015, 0.1), "瓶",
                   ("116", "133", "305", "502")),
    "3305": Family(("洗发水", "护发素"), (49, 198), KILOGRAM, (0.3, 0.6), "瓶", ("116", "133", "304")),
    "3306": Family(("美白牙膏",), (19, 78), KILOGRAM, (0.1, 0.2), "支", ("116", "133", "304")),
    "3307": Family(("止汗露",), (39, 128), KILOGRAM, (0.05, 0.15), "瓶", ("116", "502", "304")),
    "3401": Family(("洗面奶", "沐浴露", "香皂"), (25, 218), KILOGRAM, (0.1, 0.5), "瓶", ("116", "133", "305")),
    "3924": Family(("宽口径奶瓶", "儿童餐具"), (59, 298), pack="个", countries=("116", "304", "502")),
    "4202": Family(("真皮手提包", "帆布托特包"), (680, 4800), pack="个", countries=("307", "305", "303"), weight=0.8,
                   quantities=(1,)),
    "6109": Family(("纯棉T恤",), (79, 499), pack="件", countries=("116", "133", "141"), unit="011"),
    "6111": Family(("婴儿连体衣",), (99, 399), pack="件", countries=("116", "133", "304"), unit="011"),
    "6203": Family(("男士休闲裤",), (199, 899), pack="件", countries=("307", "116", "141"), unit="011"),
    "6204": Family(("女士连衣裙",), (299, 1299), pack="件", countries=("307", "305", "133"), unit="011"),
    "6403": Family(("真皮短靴",), (599, 2680), pack="双", countries=("307", "141"), unit="025", weight=1.2,
                   quantities=(1,)),
    "6404": Family(("跑步鞋",), (299, 1280), pack="双", countries=("141", "502"), unit="025", weight=0.9),
    "7113": Family(("银项链", "黄金手链", "钻石戒指"), (399, 4800), pack="件", countries=("305", "307", "116"),
                   weight=0.02, quantities=(1,)),
    "7116": Family(("宝石手串",), (299, 3200), pack="件", countries=("116", "305"), weight=0.05, quantities=(1,)),
    "8509": Family(("料理机", "空气净化器"), (399, 3280), pack="台", countries=("116", "304", "133"), unit="001",
                   weight=2.5, quantities=(1,)),
    "8510": Family(("电动剃须刀",), (299, 2680), pack="个", countries=("116", "304", "309"), weight=0.4,
                   quantities=(1,)),
    "8516": Family(("吹风机", "电热水壶"), (199, 3280), pack="台", countries=("116", "304", "303"), unit="001",
                   weight=1.0, quantities=(1,)),
    "8541": Family(("光伏小夜灯",), (39, 199), pack="个", countries=("116", "502"), weight=0.1),
    "9004": Family(("太阳镜",), (399, 2680), pack="副", countries=("307", "305", "502"), weight=0.1,
                   quantities=(1,)),
    # Some watches cost more than the single-transaction limit: one piece may still come in at full tax.
    "9102": Family(("机械腕表", "石英腕表"), (1280, 16800), pack="只", countries=("331", "116", "304"), weight=0.2,
                   quantities=(1,)),
    "9503": Family(("毛绒玩具", "积木玩具"), (49, 680), pack="个", countries=("116", "309", "502"), weight=0.4),
    "9603": Family(("软毛牙刷",), (19, 129), pack="支", countries=("116", "133", "304"), weight=0.05),
    "9619": Family(("纸尿裤", "拉拉裤"), (89, 239), pack="包", countries=("116", "304", "133"), weight=1.2,
                   quantities=(1, 2, 2, 3, 4)),
}  # fmt: skip
# A goods code of its own (10 digits) whose threshold is per slice: face masks, sold by the slice.
SLICE_FAMILY = Family(("补水面膜", "修护面膜"), (6, 48), KILOGRAM, (0.02, 0.03), "片", ("116", "133"),
                      unit="020", quantities=(5, 10, 10, 20, 30))  # fmt: skip
DEFAULT_FAMILY = Family((), (49, 499), pack="件")

BRANDS: dict[str, tuple[str, ...]] = {
    "116": ("Sakura Garden", "Hinode", "Kirameki", "Tsubaki House"),
    "133": ("Seoul Bloom", "Hanbit", "Dasol"),
    "141": ("Saigon Craft",),
    "301": ("Brugge Cacao",),
    "302": ("Nordlys",),
    "303": ("Highland Oak", "Thames & Co"),
    "304": ("Alpenhof", "Rheinwald", "Blauberg"),
    "305": ("Maison Lumière", "Belle Rive", "Clos Doré"),
    "307": ("Bella Vita", "Toscana Viva"),
    "331": ("Luxor Horlogerie",),
    "309": ("Holland Dairy", "Tulpenveld"),
    "310": ("Olympia Grove",),
    "311": ("Douro Vale",),
    "502": ("Liberty Labs", "Pacific Crest"),
    "601": ("Southern Cross", "Bondi Farm", "Wattle"),
    "609": ("Kiwi Vale", "Aoraki"),
}
# GS1 prefixes of the bar codes, by country of origin.
GS1_PREFIXES = {"116": "49", "133": "880", "304": "40", "305": "30", "307": "80", "309": "87", "303": "50",
                "502": "0", "601": "93", "609": "94", "302": "57", "301": "54", "311": "560", "310": "520",
                "331": "76", "141": "893"}  # fmt: skip


@dataclass(frozen=True)
class Product:
    """One product as a list and its order name it (``qty1`` for a quantity: ``legal_qty``)."""

    index: int
    gcode: str
    item_no: str
    record_no: str  # the bonded account's item record number (1210)
    item_name: str
    gname: str
    gmodel: str
    bar_code: str
    unit: str
    unit1: str
    per_piece: Decimal  # legal quantity (unit1) of one declared unit
    price_fen: int
    country: str
    weight_g: int  # grams a piece, with its packing
    quantities: tuple[int, ...]
    bonded_only: bool


@dataclass
class Catalogue:
    """The products, and how often each sells (Zipf by rank) in each trade mode."""

    products: list[Product]
    rates: dict[str, TaxRate]
    _direct: list[Product] = field(default_factory=list)
    _direct_weights: list[float] = field(default_factory=list)
    _bonded_weights: list[float] = field(default_factory=list)

    def __post_init__(self) -> None:
        # 9610 lists may not carry goods the positive list keeps for bonded imports (1210).
        self._direct = [p for p in self.products if not p.bonded_only]
        self._direct_weights = list(itertools.accumulate(1.0 / (rank + 1) for rank in range(len(self._direct))))
        self._bonded_weights = list(itertools.accumulate(1.0 / (rank + 1) for rank in range(len(self.products))))

    def draw(self, rng: random.Random, *, bonded: bool) -> Product:
        products, weights = (self.products, self._bonded_weights) if bonded else (self._direct, self._direct_weights)
        return products[min(bisect.bisect_right(weights, rng.random() * weights[-1]), len(products) - 1)]


@cache
def legal_qty(per_piece: Decimal, qty: int) -> tuple[str, int]:
    """The legal quantity of ``qty`` declared units as the list writes it, and its decimals."""
    text = format((per_piece * qty).normalize(), "f")
    return text, len(text.partition(".")[2])


def _chinese(name: str) -> str:
    """The Chinese part of a reference name, before " / " and any remark in parentheses."""
    return name.partition(" / ")[0].partition("\N{FULLWIDTH LEFT PARENTHESIS}")[0].strip()[:60] or name[:60]


def _bar_code(rng: random.Random, country: str) -> str:
    """An EAN-13 with its check digit."""
    prefix = GS1_PREFIXES.get(country, "69")
    body = prefix + "".join(str(rng.randint(0, 9)) for _ in range(12 - len(prefix)))
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(body))
    return body + str((10 - total % 10) % 10)


def _size(rng: random.Random, family: Family) -> Decimal:
    low, high = family.size
    if family.measure == KILOGRAM:
        # Whole tens of grams, or whole grams for small jars and tubes.
        step = 100 if high >= 0.2 else 1000
        return Decimal(max(round(rng.uniform(low, high) * step), 1)) / step
    if family.measure == LITRE:
        return Decimal(str(rng.choice((low, high))))
    return Decimal(1)


def _gmodel(family: Family, size: Decimal) -> str:
    if family.measure == KILOGRAM:
        return f"{int(size * 1000)}g/{family.pack}"
    if family.measure == LITRE:
        return f"{int(size * 1000)}ml/{family.pack}"
    return f"标准款/{family.pack}"


def _price_fen(rng: random.Random, low: float, high: float) -> int:
    """Log-uniform between ``low`` and ``high`` yuan, ending in 9 or 8 yuan as shops price."""
    yuan = math.exp(rng.uniform(math.log(low), math.log(high)))
    return max(int(yuan // 10) * 10 + rng.choice((9, 9, 8)), 1) * 100


def _family(gcode: str, rate: TaxRate) -> Family:
    if len(rate.tariff_line) == 10 and rate.ct_threshold_unit:
        return SLICE_FAMILY
    return FAMILIES.get(gcode[:4], DEFAULT_FAMILY)


def _goods_codes() -> dict[str, PositiveListEntry]:
    """Goods codes (10 digits) with a rate, each with its positive-list line: the line's own code
    ("xxxxxxxx00") and every 10-digit code the rate table names under a line on the list."""
    lines = {entry.tariff_line: entry for entry in PositiveListEntry.objects.all()}
    codes = {f"{line}00": entry for line, entry in lines.items()}
    for code in TaxRate.objects.filter(tariff_line__regex=r"^[0-9]{10}$").values_list("tariff_line", flat=True):
        if code[:8] in lines:
            codes[code] = lines[code[:8]]
    return codes


def _works(product: Product, rate: TaxRate) -> bool:
    """Matching would pass it: its first unit is the line's legal one and its tax computes."""
    if rate.legal_unit1 and product.unit1 != rate.legal_unit1:
        return False
    qty = product.quantities[-1]
    qty1, _scale = legal_qty(product.per_piece, qty)
    item = tax.TaxItem(
        gnum=1,
        gcode=product.gcode,
        qty=Decimal(qty),
        unit=product.unit,
        total_price=Decimal(product.price_fen * qty) / 100,
        qty1=Decimal(qty1),
        unit1=product.unit1,
    )
    try:
        for mode in tax.Mode:
            tax.tax_estimate(
                items=[item], rates={product.gcode: rate}, freight=tax.ZERO, insured_fee=tax.ZERO, mode=mode
            )
    except tax.TaxError:
        return False
    return True


def catalogue_build(*, rng: random.Random) -> Catalogue:
    """Products for every goods code on the positive list that has a rate, the most popular
    first. Empty when the reference tables have no such code."""
    codes = _goods_codes()
    rates = tax_rates_for(codes)
    countries = set(CountryCode.objects.exclude(code="142").values_list("code", flat=True))
    units = set(UnitCode.objects.values_list("code", flat=True))
    products: list[Product] = []
    for gcode in sorted(rates):
        rate, entry = rates[gcode], codes[gcode]
        family = _family(gcode, rate)
        names = family.names or (_chinese(entry.name),)
        origins = [c for c in family.countries if c in countries] or sorted(countries)[:3]
        if not origins:
            break
        unit = family.unit if family.unit in units else PIECE
        for _ in range(PRODUCTS_PER_LINE):
            country = rng.choice(origins)
            brand = rng.choice(BRANDS.get(country, ("Global Select",)))
            name = rng.choice(names)
            size = _size(rng, family)
            unit1 = rate.legal_unit1 or (family.measure if family.measure != PIECE else unit)
            per_piece = size if unit1 in (KILOGRAM, LITRE) else Decimal(1)
            weight = float(size) * 1.15 + 0.05 if family.measure != PIECE else family.weight
            index = len(products)
            product = Product(
                index=index,
                gcode=gcode,
                item_no=f"SKU{index + 1:06d}",
                record_no=f"{gcode}{index + 1:06d}",
                item_name=f"{brand} {name} {_gmodel(family, size).partition('/')[0]}"[:250],
                gname=name,
                gmodel=_gmodel(family, size),
                bar_code=_bar_code(rng, country),
                unit=unit,
                unit1=unit1,
                per_piece=per_piece,
                price_fen=_price_fen(rng, *family.price),
                country=country,
                weight_g=max(int(weight * 1000), 1),
                quantities=family.quantities,
                bonded_only=entry.bonded_only,
            )
            if _works(product, rate):
                products.append(product)
    # Everyday goods sell most: popularity falls with the price, give or take.
    products.sort(key=lambda p: math.log(p.price_fen) + rng.gauss(0, 1.0))
    return Catalogue(products=products, rates=dict(rates))


def goods_info(products: Sequence[Product]) -> str:
    """The waybill's short description of what it carries."""
    return ", ".join(dict.fromkeys(p.gname for p in products))[:200]
