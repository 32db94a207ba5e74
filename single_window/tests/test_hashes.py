"""The facts' keyed hashes: the same ID number, phone or address written two ways is one fact.

Full-width digits and punctuation are what the normalisation folds, so they are written here.
"""

# ruff: noqa: RUF001

from __future__ import annotations

import pytest

from single_window import hashes


@pytest.mark.parametrize(
    "written",
    [
        "13800138000",
        "+86 138-0013-8000",
        "0086 13800138000",
        "86 13800138000",
        "(138) 0013 8000",
        "１３８００１３８０００",
    ],
)
def test_a_phone_is_its_digits_without_chinas_country_code(written: str) -> None:
    assert hashes.normalise_phone(written) == "13800138000"


@pytest.mark.parametrize(
    "written",
    [
        "南山区科技园1号",
        "广东省深圳市南山区科技园１号",
        "广东省 深圳市 南山区 科技园 1 号",
        "中国广东省深圳市南山区科技园1号",
        "广东深圳市南山区，科技园（1号）",
        "深圳市南山区科技园1号",
    ],
)
def test_an_address_loses_whitespace_punctuation_width_and_its_province_and_city(written: str) -> None:
    assert hashes.normalise_address(written) == "南山区科技园1号"


def test_a_street_without_a_province_or_city_keeps_a_city_character_of_its_own() -> None:
    assert hashes.normalise_address("南山区科技园市场路1号") == "南山区科技园市场路1号"
    assert hashes.normalise_address("广东省深圳市南山区科技园市场路1号") == "南山区科技园市场路1号"


def test_autonomous_regions_and_municipalities_are_dropped_too() -> None:
    assert hashes.normalise_address("广西壮族自治区南宁市青秀区民族大道1号") == "青秀区民族大道1号"
    assert hashes.normalise_address("北京市朝阳区建国路1号") == "朝阳区建国路1号"


@pytest.mark.usefixtures("settings")
def test_the_hashes_match_for_the_same_value_written_differently() -> None:
    assert hashes.phone_hash("+86 138 0013 8000") == hashes.phone_hash("13800138000")
    assert hashes.address_hash("浙江省杭州市西湖区文三路1号") == hashes.address_hash("西湖区 文三路１号")
    assert hashes.id_number_hash("33010619850101001x") == hashes.id_number_hash("33010619850101001X")
    assert hashes.phone_hash("") == ""
