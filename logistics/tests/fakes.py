"""A fake of the hub's waybill contract: the app that owns the documents is not asked, the
tests say which waybills the single window holds and record the delivery notices."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field, replace
from zoneinfo import ZoneInfo

import pytest

from single_window import waybills
from single_window.waybills import Delivery, WaybillFacts

CST = ZoneInfo("Asia/Shanghai")
CARRIER = "3301960004"
OTHER_CARRIER = "3301960099"
EBC = "3301960002"
EBP = "3301960001"
AGENT = "3301960005"


def at(day: int, hour: int, minute: int = 0) -> datetime.datetime:
    return datetime.datetime(2026, 11, day, hour, minute, tzinfo=CST)


@dataclass
class FakeHub:
    facts: dict[tuple[str, str], WaybillFacts] = field(default_factory=dict)
    notices: list[Delivery] = field(default_factory=list)
    asked: int = 0

    def hold(
        self,
        logistics_no: str,
        *,
        logistics_code: str = CARRIER,
        released_at: datetime.datetime | None = None,
        ebc_code: str = EBC,
        ebp_code: str = EBP,
        agent_code: str = AGENT,
    ) -> WaybillFacts:
        facts = WaybillFacts(
            logistics_code=logistics_code,
            logistics_no=logistics_no,
            ebp_code=ebp_code,
            order_no=f"ORDER-{logistics_no}",
            inventory_id=7 if released_at else None,
            invt_no="29012026I000000001" if released_at else "",
            list_status="released" if released_at else "declared",
            released_at=released_at,
            ebc_code=ebc_code,
            agent_code=agent_code,
            customs_code="2901",
            port_code="2901",
            trade_mode="9610",
        )
        self.facts[(logistics_code, logistics_no)] = facts
        return facts

    def release(self, logistics_no: str, at_: datetime.datetime, *, logistics_code: str = CARRIER) -> None:
        key = (logistics_code, logistics_no)
        self.facts[key] = replace(self.facts[key], released_at=at_, list_status="released")

    def lookup(self, logistics_code: str, logistics_no: str) -> WaybillFacts | None:
        self.asked += 1
        return self.facts.get((logistics_code, logistics_no))

    def notice(self, delivery: Delivery) -> None:
        self.notices.append(delivery)


def install(monkeypatch: pytest.MonkeyPatch) -> FakeHub:
    hub = FakeHub()
    monkeypatch.setattr(waybills, "_LOOKUP", [hub.lookup])
    monkeypatch.setattr(waybills, "_NOTICE", [hub.notice])
    return hub


def event(
    logistics_no: str,
    status: str,
    occurred_at: datetime.datetime | str,
    *,
    logistics_code: str = CARRIER,
    leg: int = 1,
    mode: str = "air",
    place: str = "Hangzhou",
) -> dict[str, object]:
    return {
        "logistics_code": logistics_code,
        "logistics_no": logistics_no,
        "status": status,
        "place": place,
        "occurred_at": occurred_at if isinstance(occurred_at, str) else occurred_at.isoformat(),
        "transport_mode": mode,
        "leg": leg,
    }
