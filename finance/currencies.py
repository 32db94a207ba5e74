"""Customs currency codes (JGS-20): 3 digits, not ISO 4217's numbers.

The declarations' reference data has no currency table (import documents are in CNY only),
so finance keeps the small table of the currencies the pilot area's payment companies settle
in. A currency not listed here has no rate and is refused where a currency is read. To add
one: a line here, then its rates (``manage.py import_reference exchange-rates``).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Currency:
    code: str
    iso: str
    name_en: str
    name_zh: str


CNY = "142"

CURRENCIES: dict[str, Currency] = {
    c.code: c
    for c in (
        Currency("110", "HKD", "Hong Kong dollar", "港币"),
        Currency("116", "JPY", "Japanese yen", "日本元"),
        Currency("121", "MOP", "Macao pataca", "澳门元"),
        Currency("132", "SGD", "Singapore dollar", "新加坡元"),
        Currency("133", "KRW", "South Korean won", "韩国元"),
        Currency(CNY, "CNY", "Renminbi", "人民币"),
        Currency("300", "EUR", "Euro", "欧元"),
        Currency("303", "GBP", "Pound sterling", "英镑"),
        Currency("331", "CHF", "Swiss franc", "瑞士法郎"),
        Currency("501", "CAD", "Canadian dollar", "加拿大元"),
        Currency("502", "USD", "US dollar", "美元"),
        Currency("601", "AUD", "Australian dollar", "澳大利亚元"),
        Currency("609", "NZD", "New Zealand dollar", "新西兰元"),
    )
}

# What a rate may be kept for: every listed currency but CNY, which converts at 1.
RATE_CURRENCY_CHOICES = [(c.code, f"{c.code} {c.iso}") for c in CURRENCIES.values() if c.code != CNY]
