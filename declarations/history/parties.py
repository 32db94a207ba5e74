"""The enterprises of the history: the active ones the registry holds for each role, and a
handful registered through the registry's services when it holds fewer (``MINIMUM``).

Every e-commerce enterprise needs an agent appointed for the whole period of the history: one
is appointed (``appointment_create``) where none covers it. Lists of a period that an older
appointment covers may go to that agent as well.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass

from django.db.models import Q

from core.audit import Actor
from core.times import CHINA_TZ
from single_window import services as registry
from single_window.models import Appointment, Enterprise, EnterpriseStatus, Park, Role

# The customs district of a party that belongs to no park.
DEFAULT_DISTRICT = "2901"
# How many enterprises of each role the history spreads its parcels over, at least.
MINIMUM: dict[str, int] = {Role.EBP: 3, Role.EBC: 12, Role.PAY: 3, Role.LOGISTICS: 4, Role.AGENT: 4, Role.AREA: 2}
# The letter of the customs codes the history registers: <district>H<letter><number>.
CODE_LETTERS: dict[str, str] = {
    Role.EBP: "P",
    Role.EBC: "C",
    Role.PAY: "Y",
    Role.LOGISTICS: "L",
    Role.AGENT: "A",
    Role.AREA: "W",
}
NAMES: dict[str, tuple[str, ...]] = {
    Role.EBP: (
        "环球优选跨境平台 Global Select Mall", "海购天下 HaiGo World", "跨境直通车 CrossDirect", "云端全球购 CloudBuy",
    ),
    Role.EBC: (
        "杭州优品进口贸易有限公司 Youpin Import Trading", "上海海淘精选电子商务有限公司 Haitao Select",
        "宁波保税优选商贸有限公司 Ningbo Bonded Select", "深圳全球汇跨境电商有限公司 Global Hub Cross-border",
        "广州母婴之家进口有限公司 Mother & Baby Imports", "北京美妆汇电子商务有限公司 Beauty Hub",
        "成都环球佳品贸易有限公司 Jiapin Trading", "南京酒窖进口商贸有限公司 Wine Cellar Imports",
        "厦门海外直邮电子商务有限公司 Overseas Direct", "苏州健康优选贸易有限公司 Healthy Choice Trading",
        "青岛日韩精品商贸有限公司 Japan Korea Select", "武汉时尚跨境电商有限公司 Fashion Cross-border",
    ),
    Role.PAY: ("汇通支付有限公司 Huitong Pay", "易付通支付服务有限公司 EasyPay", "跨境银联支付有限公司 UnionCross Pay"),
    Role.LOGISTICS: (
        "速达国际物流有限公司 Speedy International Logistics", "远洋供应链管理有限公司 Ocean Supply Chain",
        "环宇快运有限公司 Global Express", "天马国际货运代理有限公司 Tianma Freight",
    ),
    Role.AGENT: (
        "恒信报关有限公司 Hengxin Customs Brokerage", "通关宝报关服务有限公司 ClearPass Brokers",
        "华关供应链报关有限公司 Huaguan Brokerage", "嘉诚报关行有限公司 Jiacheng Brokers",
    ),
    Role.AREA: ("综保区保税仓储有限公司 Bonded Zone Warehousing", "跨境保税物流中心有限公司 Bonded Logistics Centre"),
}  # fmt: skip
# An appointment the history makes runs on this long after the last day of the history.
APPOINTMENT_AHEAD = datetime.timedelta(days=365)


@dataclass(frozen=True)
class Party:
    """An enterprise as documents name it, and the customs district of its park."""

    id: int
    code: str
    name: str
    district: str


@dataclass(frozen=True)
class Appointed:
    """An agent appointed by an e-commerce enterprise, in force from ``start`` to ``end`` (Unix seconds)."""

    agent: Party
    start: float
    end: float


@dataclass(frozen=True)
class Parties:
    platforms: tuple[Party, ...]
    sellers: tuple[Party, ...]
    payers: tuple[Party, ...]
    carriers: tuple[Party, ...]
    agents: tuple[Party, ...]
    areas: tuple[Party, ...]
    # The agents of each e-commerce enterprise (by its id).
    appointed: dict[int, tuple[Appointed, ...]]


def _party(enterprise: Enterprise) -> Party:
    district = enterprise.park.customs_district if enterprise.park else DEFAULT_DISTRICT
    return Party(id=enterprise.pk, code=enterprise.code, name=enterprise.name[:100], district=district)


def _active(role: str) -> list[Enterprise]:
    return list(
        Enterprise.objects.filter(status=EnterpriseStatus.ACTIVE, role_set__role=role)
        .select_related("park")
        .order_by("id")
        .distinct()
    )


def _free_code(role: str, start: int) -> tuple[str, int]:
    number = start
    while True:
        code = f"{DEFAULT_DISTRICT}H{CODE_LETTERS[role]}{number:04d}"
        if not Enterprise.objects.filter(Q(customs_code=code) | Q(uscc=code)).exists():
            return code, number
        number += 1


def _enterprises(role: str, *, park: Park | None, actor: Actor) -> list[Enterprise]:
    found = _active(role)
    number = 1
    for index in range(len(found), MINIMUM[role]):
        code, number = _free_code(role, number)
        names = NAMES[role]
        found.append(
            registry.enterprise_register(
                name=names[index % len(names)],
                roles=[role],
                actor=actor,
                customs_code=code,
                park=park,
                status=EnterpriseStatus.ACTIVE,
            )
        )
    return found


def _day_start(day: datetime.date) -> float:
    return datetime.datetime.combine(day, datetime.time.min, tzinfo=CHINA_TZ).timestamp()


def _covers(row: Appointment, first: datetime.date, last: datetime.date) -> bool:
    return row.valid_from <= first and row.valid_to >= last


def _appointed(
    sellers: Sequence[Enterprise],
    agents: Sequence[Enterprise],
    *,
    first: datetime.date,
    last: datetime.date,
    actor: Actor,
) -> dict[int, tuple[Appointed, ...]]:
    """The agents of each seller in force during the history, one of them for all of it: a
    seller without such an appointment appoints one (its own agent where it has one, else the
    agents in turn). A seller that can appoint nobody is left out."""
    agent_parties = {agent.pk: _party(agent) for agent in agents}
    appointed: dict[int, tuple[Appointed, ...]] = {}
    for index, seller in enumerate(sellers):
        rows = list(
            Appointment.objects.filter(
                principal=seller,
                agent_id__in=agent_parties,
                revoked_at__isnull=True,
                valid_from__lte=last,
                valid_to__gte=first,
            ).order_by("valid_from", "id")
        )
        if not any(_covers(row, first, last) for row in rows):
            preferred = rows[0].agent_id if rows else agents[index % len(agents)].pk
            # (principal, agent, valid_from) is unique: an agent appointed from that day before
            # (and since revoked) can't be appointed from it again.
            taken = set(
                Appointment.objects.filter(principal=seller, valid_from=first).values_list("agent_id", flat=True)
            )
            choices = sorted(agents, key=lambda agent: agent.pk != preferred)
            agent = next((a for a in choices if a.pk not in taken and a.pk != seller.pk), None)
            if agent is None:
                continue
            rows.append(
                registry.appointment_create(
                    principal=seller, agent=agent, valid_from=first, valid_to=last + APPOINTMENT_AHEAD, actor=actor
                )
            )
        appointed[seller.pk] = tuple(
            Appointed(
                agent=agent_parties[row.agent_id],
                start=_day_start(row.valid_from),
                end=_day_start(row.valid_to + datetime.timedelta(days=1)),
            )
            for row in rows
        )
    return appointed


def history_parties(*, first: datetime.date, last: datetime.date, actor: Actor) -> Parties:
    """The parties of a history from ``first`` to ``last`` (days in China Standard Time)."""
    park = Park.objects.order_by("code").first()
    found = {role: _enterprises(role, park=park, actor=actor) for role in MINIMUM}
    appointed = _appointed(found[Role.EBC], found[Role.AGENT], first=first, last=last, actor=actor)
    return Parties(
        platforms=tuple(_party(e) for e in found[Role.EBP]),
        sellers=tuple(_party(e) for e in found[Role.EBC] if e.pk in appointed),
        payers=tuple(_party(e) for e in found[Role.PAY]),
        carriers=tuple(_party(e) for e in found[Role.LOGISTICS]),
        agents=tuple(_party(e) for e in found[Role.AGENT]),
        areas=tuple(_party(e) for e in found[Role.AREA]),
        appointed=appointed,
    )
