"""Codes with their names, in the reader's language: "601 澳大利亚" on the Chinese page,
"601 Australia" on the English one.

Countries and units come from the code tables regulators keep (``CountryCode``, ``UnitCode``),
read from the process's snapshot of the reference tables (``reference.tables``), so a list
page of a hundred rows reads no code table row by row. The short customs code sets a document
uses (JGS-20 transport modes, currencies, the retail trade modes, ID types, submission types
and statuses) are held here with
customs' Chinese names. Customs districts (JGS/T 18) have no table here: a district shows the
parks the registry places in it (``single_window.Park``), read once per process a short while.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from django.conf import settings
from django.db.models.signals import post_delete, post_save
from django.utils.translation import get_language

from core.process_cache import ProcessCache
from declarations.reference import tables
from single_window.models import Park

# JGS-20 运输方式代码: code -> (Chinese, English).
TRANSPORT_MODES: Mapping[str, tuple[str, str]] = MappingProxyType(
    {
        "0": ("非保税区", "non-bonded area"),
        "1": ("监管仓库", "supervised warehouse"),
        "2": ("水路运输", "waterway"),
        "3": ("铁路运输", "railway"),
        "4": ("公路运输", "road"),
        "5": ("航空运输", "air"),
        "6": ("邮件运输", "post"),
        "7": ("保税区", "bonded area"),
        "8": ("保税仓库", "bonded warehouse"),
        "9": ("其它运输", "other"),
        "G": ("固定设施运输", "fixed installation"),
        "L": ("旅客携带", "carried by a traveller"),
        "W": ("物流中心", "logistics centre"),
        "X": ("物流园区", "logistics park"),
        "Y": ("保税港区", "bonded port area"),
        "Z": ("出口加工区", "export processing zone"),
    }
)

# The trade modes (监管方式) of cross-border e-commerce and the general-trade fallback.
TRADE_MODES: Mapping[str, tuple[str, str]] = MappingProxyType(
    {
        "9610": ("跨境贸易电子商务", "cross-border e-commerce (direct mail)"),
        "1210": ("保税跨境贸易电子商务", "bonded cross-border e-commerce"),
        "1239": ("保税跨境贸易电子商务A", "bonded cross-border e-commerce A"),
        "9710": ("跨境电子商务企业对企业直接出口", "cross-border e-commerce B2B direct export"),
        "9810": ("跨境电子商务出口海外仓", "cross-border e-commerce export to an overseas warehouse"),
        "0110": ("一般贸易", "general trade"),
    }
)

# JGS-20 货币代码: the ones the single window meets (import documents are in 142 only).
CURRENCIES: Mapping[str, tuple[str, str]] = MappingProxyType(
    {
        "142": ("人民币", "Chinese yuan"),
        "110": ("港币", "Hong Kong dollar"),
        "116": ("日本元", "Japanese yen"),
        "300": ("欧元", "euro"),
        "303": ("英镑", "pound sterling"),
        "502": ("美元", "US dollar"),
    }
)

# 证件类型 of buyers and payers.
ID_TYPES: Mapping[str, tuple[str, str]] = MappingProxyType(
    {"1": ("身份证", "resident identity card"), "2": ("其它", "other")}
)

# 进出口标记 (and an order's type, 订单类型: I for an import order).
IE_FLAGS: Mapping[str, tuple[str, str]] = MappingProxyType({"I": ("进口", "import"), "E": ("出口", "export")})

# 报送类型 and 业务状态 of every declaration.
APP_TYPES: Mapping[str, tuple[str, str]] = MappingProxyType(
    {"1": ("新增", "new"), "2": ("变更", "change"), "3": ("删除", "deletion")}
)
APP_STATUSES: Mapping[str, tuple[str, str]] = MappingProxyType({"1": ("暂存", "draft"), "2": ("申报", "declare")})

COUNTRY = "country"
UNIT = "unit"
CURRENCY = "currency"
TRANSPORT_MODE = "transport_mode"
TRADE_MODE = "trade_mode"
DISTRICT = "district"
ID_TYPE = "id_type"
IE_FLAG = "ie_flag"
APP_TYPE = "app_type"
APP_STATUS = "app_status"

_STATIC: Mapping[str, Mapping[str, tuple[str, str]]] = {
    CURRENCY: CURRENCIES,
    TRANSPORT_MODE: TRANSPORT_MODES,
    TRADE_MODE: TRADE_MODES,
    ID_TYPE: ID_TYPES,
    IE_FLAG: IE_FLAGS,
    APP_TYPE: APP_TYPES,
    APP_STATUS: APP_STATUSES,
}

DISTRICT_CACHE = ProcessCache(
    name="customs-districts",
    seconds=lambda: float(settings.REFERENCE_CACHE_SECONDS),
    check_seconds=lambda: float(settings.REFERENCE_CACHE_CHECK_SECONDS),
)


def _load_district_parks() -> Mapping[str, tuple[str, ...]]:
    parks: dict[str, list[str]] = {}
    for district, code in Park.objects.order_by("code").values_list("customs_district", "code"):
        parks.setdefault(district, []).append(code)
    return MappingProxyType({district: tuple(codes) for district, codes in parks.items()})


def district_parks(district: str) -> tuple[str, ...]:
    """The codes of the parks the registry places in a customs district."""
    parks: Mapping[str, tuple[str, ...]] = DISTRICT_CACHE.fetch("parks", _load_district_parks)
    return parks.get(district, ())


def chinese() -> bool:
    """Is the active language Chinese?"""
    return (get_language() or "").lower().startswith("zh")


def code_name(table: str, code: str) -> str:
    """The name of ``code`` in ``table`` in the active language; "" when unknown."""
    if not code:
        return ""
    if table == DISTRICT:
        return ", ".join(district_parks(code))
    if table == COUNTRY:
        names = tables.country_names(code)
    elif table == UNIT:
        names = tables.unit_names(code)
    else:
        names = _STATIC[table].get(code)
    if names is None:
        return ""
    return names[0] if chinese() else names[1]


def code_label(table: str, code: str | None) -> str:
    """``code`` followed by its name ("601 Australia"), or the code alone when it has none."""
    if not code:
        return ""
    name = code_name(table, code)
    if not name:
        return code
    return f"{code} ({name})" if table == DISTRICT else f"{code} {name}"


def parks_changed(**_signal: object) -> None:
    DISTRICT_CACHE.changed()


def register() -> None:
    """A park saved or deleted is seen at once (``DeclarationsConfig.ready``)."""
    post_save.connect(parks_changed, sender=Park, dispatch_uid="code-names-park-saved")
    post_delete.connect(parks_changed, sender=Park, dispatch_uid="code-names-park-deleted")
