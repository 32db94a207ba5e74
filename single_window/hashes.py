"""The keyed hashes the declare step's facts carry, and how their values are normalised first.

``ListFacts`` names the buyer, the consignee's phone and address only by keyed hashes
(``core.crypto.lookup_hash``). The app that builds the facts and the systems that keep watch
lists (a regulator types a plain phone number; only its hash is stored) must compute the same
hash of the same value, so both call these functions: the same phone or address written two
ways is one fact, and a watch-list entry matches the lists that name it.
"""

from __future__ import annotations

import re
import unicodedata

from core.crypto import lookup_hash

ID_NUMBER_PURPOSE = "resident-id"
PHONE_PURPOSE = "consignee-phone"
ADDRESS_PURPOSE = "consignee-address"

_NOT_WORD = re.compile(r"[\W_]+", re.UNICODE)
_SPACE = re.compile(r"\s+", re.UNICODE)
# A leading country, province (or autonomous region, special administrative region) and city
# (or prefecture, league): the same street is written with and without them. A name holds no
# character that ends a smaller division (district, county, road, street, number), so a street
# written without the prefix (科技园市场路) keeps its own 市.
_DIVISION_END = "区县旗镇乡路街道巷弄号村栋室"
_REGION_PREFIX = re.compile(
    r"^(?:中华人民共和国|中国)?"
    rf"(?:[^{_DIVISION_END}省市]{{2,7}}?(?:省|自治区|特别行政区))?"
    rf"(?:[^{_DIVISION_END}省市]{{1,7}}?(?:市|自治州|地区|盟))?"
)


def normalise_id_number(value: str) -> str:
    """Full-width folded, upper-case and without spaces, so ``x`` and ``X`` are one buyer."""
    return _SPACE.sub("", unicodedata.normalize("NFKC", value)).upper()


def normalise_phone(value: str) -> str:
    """Digits only, without China's country code: "+86 138-0013-8000" and "0086 13800138000"
    are "13800138000"; full-width digits are folded."""
    digits = "".join(ch for ch in unicodedata.normalize("NFKC", value) if ch.isdigit() and ch.isascii())
    if digits.startswith("0086") and len(digits) == 15:
        return digits[4:]
    return digits[2:] if digits.startswith("86") and len(digits) == 13 else digits


def normalise_address(value: str) -> str:
    """Full-width folded, case folded, whitespace and punctuation removed, and a leading
    country, province and city dropped: "广东省 深圳市南山区科技园１号" is "南山区科技园1号"."""
    text = _NOT_WORD.sub("", unicodedata.normalize("NFKC", value)).casefold()
    stripped = _REGION_PREFIX.sub("", text, count=1)
    return stripped or text


def id_number_hash(value: str) -> str:
    """The buyer's key (the quota's, ``ListFacts.buyer_hash``) of an ID number as written."""
    normalised = normalise_id_number(value)
    return lookup_hash(normalised, purpose=ID_NUMBER_PURPOSE) if normalised else ""


def phone_hash(value: str) -> str:
    """``ListFacts.consignee_phone_hash`` of a phone number as written; "" for none."""
    normalised = normalise_phone(value)
    return lookup_hash(normalised, purpose=PHONE_PURPOSE) if normalised else ""


def address_hash(value: str) -> str:
    """``ListFacts.consignee_address_hash`` of an address as written; "" for none."""
    normalised = normalise_address(value)
    return lookup_hash(normalised, purpose=ADDRESS_PURPOSE) if normalised else ""
