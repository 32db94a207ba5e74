"""China Standard Time as answers (ISO 8601, +08:00) and customs messages (YYYYMMDDhhmmss) write it."""

from __future__ import annotations

import datetime
import json
from decimal import Decimal

import pytest

from core.times import ChinaJSONEncoder, ceb_time, china_time, iso_china, parse_ceb_time

# 23:30:05.25 UTC on 24 November is 07:30:05.25 on 25 November in Beijing: the date moves too.
LATE_EVENING_UTC = datetime.datetime(2026, 11, 24, 23, 30, 5, 250000, tzinfo=datetime.UTC)
# str.isdigit() takes these; a customs time is ASCII.
FULLWIDTH_DIGITS = "".join(chr(0xFF10 + int(d)) for d in "20261125073005")


def test_answers_write_the_instant_with_the_china_offset() -> None:
    assert iso_china(LATE_EVENING_UTC) == "2026-11-25T07:30:05.250000+08:00"
    assert iso_china(LATE_EVENING_UTC.replace(microsecond=0)) == "2026-11-25T07:30:05+08:00"
    assert china_time(LATE_EVENING_UTC) == LATE_EVENING_UTC


def test_customs_times_are_written_in_china_standard_time() -> None:
    assert ceb_time(LATE_EVENING_UTC) == "20261125073005"
    assert ceb_time(LATE_EVENING_UTC, milliseconds=True) == "20261125073005250"


def test_a_customs_time_reads_back_as_the_same_instant() -> None:
    assert parse_ceb_time("20261125073005") == LATE_EVENING_UTC.replace(microsecond=0)


@pytest.mark.parametrize("text", ["2026112507300", "202611250730051", "2026-11-25T07", FULLWIDTH_DIGITS])
def test_anything_but_fourteen_ascii_digits_is_not_a_customs_time(text: str) -> None:
    with pytest.raises(ValueError, match="YYYYMMDDhhmmss"):
        parse_ceb_time(text)


def test_a_naive_time_is_refused_rather_than_read_in_the_servers_zone() -> None:
    with pytest.raises(ValueError, match="aware"):
        iso_china(datetime.datetime(2026, 11, 25, 10, 0))  # noqa: DTZ001 - the naive value is the point


def test_the_json_encoder_writes_aware_datetimes_in_china_standard_time() -> None:
    utc = datetime.datetime(2026, 11, 25, 16, 30, tzinfo=datetime.UTC)

    assert json.dumps({"at": utc}, cls=ChinaJSONEncoder) == '{"at": "2026-11-26T00:30:00+08:00"}'
    assert json.dumps([Decimal("12.50")], cls=ChinaJSONEncoder) == '["12.50"]'
