"""Demo data for a workstation: parks, an enterprise of every role, partners, a regulator.

Safe to run again: records are found by code, earlier demo keys are revoked and new ones
printed (a key is shown once, so a re-run is the only way to see one again).
"""

from __future__ import annotations

import datetime
import secrets
from typing import Any

from django.contrib.auth.models import Group, User
from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction

from core.audit import Actor
from single_window import selectors, services
from single_window.codes import uscc_check_character
from single_window.models import (
    ApiKey,
    Enterprise,
    EnterpriseStatus,
    Park,
    ParkKind,
    Partner,
    PartnerKind,
    RegulatorScope,
    Role,
)
from single_window.roles import AUDITOR, COMMERCE_BUREAU, CUSTOMS_OFFICER

ACTOR = Actor.system("load_demo")
DEMO_KEY_NAME = "demo"

PARKS = [
    ("HZ-XS", "杭州下沙综合保税区 Xiasha Comprehensive Bonded Zone", "Hangzhou", "2901", ParkKind.BONDED_ZONE),
    ("HZ-KG", "杭州空港跨境电商园 Airport Cross-border Park", "Hangzhou", "2902", ParkKind.COMPREHENSIVE),
    ("NB-BL", "宁波保税物流中心 Ningbo Bonded Logistics Centre", "Ningbo", "3104", ParkKind.LOGISTICS_CENTRE),
]


def _uscc(body17: str) -> str:
    return body17 + uscc_check_character(body17)


# customs code, USCC body, name, roles, park
ENTERPRISES = [
    ("3301960001", "91330100MA2H0B4X1", "天猫国际示例平台 Demo Platform", [Role.EBP], "HZ-KG"),
    ("3301960002", "91330100MA2H0B4X2", "杭州示例跨境电商有限公司 Demo Seller", [Role.EBC], "HZ-XS"),
    ("3301960003", "91330100MA2H0B4X3", "示例支付有限公司 Demo Pay", [Role.PAY], "HZ-KG"),
    ("3301960004", "91330100MA2H0B4X4", "示例国际物流有限公司 Demo Logistics", [Role.LOGISTICS], "HZ-XS"),
    ("3301960005", "91330100MA2H0B4X5", "杭州示例报关有限公司 Demo Customs Broker", [Role.AGENT], "HZ-XS"),
    ("3301960006", "91330100MA2H0B4X6", "下沙示例保税仓储有限公司 Demo Bonded Warehouse", [Role.AREA], "HZ-XS"),
    ("3301960007", "91330100MA2H0B4X7", "示例银行杭州分行 Demo Bank", [Role.FINANCE], "HZ-KG"),
    ("3301960008", "91330100MA2H0B4X8", "全链示例集团 Demo Group (platform and seller)", [Role.EBP, Role.EBC], "NB-BL"),
]

REGULATORS = [
    ("officer", CUSTOMS_OFFICER, "2901"),
    ("analyst", COMMERCE_BUREAU, "2902"),
    ("auditor", AUDITOR, "2901"),
]


class Command(BaseCommand):
    help = "Load demo parks, enterprises of every role, partners and regulators, and print keys and logins."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--admin-password", default="", help="password for the 'admin' superuser (random if empty)")

    @transaction.atomic
    def handle(self, *args: Any, **options: Any) -> None:
        parks = {code: self._park(code, name, city, district, kind) for code, name, city, district, kind in PARKS}
        keys: list[tuple[Enterprise, str]] = []
        for customs_code, body, name, roles, park in ENTERPRISES:
            enterprise = self._enterprise(customs_code, _uscc(body), name, roles, parks[park])
            for old in ApiKey.objects.filter(enterprise=enterprise, name=DEMO_KEY_NAME, revoked_at__isnull=True):
                services.api_key_revoke(api_key=old, actor=ACTOR)
            _key, raw = services.api_key_issue(
                enterprise=enterprise, name=DEMO_KEY_NAME, actor=ACTOR, enforce_limit=False
            )
            keys.append((enterprise, raw))

        seller = Enterprise.objects.get(customs_code="3301960002")
        broker = Enterprise.objects.get(customs_code="3301960005")
        if not selectors.appointment_valid(principal=seller, agent=broker):
            today = selectors.today()
            services.appointment_create(
                principal=seller,
                agent=broker,
                valid_from=today.replace(month=1, day=1),
                valid_to=today.replace(month=12, day=31) + datetime.timedelta(days=365),
                actor=ACTOR,
            )
        for code, name, kind in (
            ("CUSTOMS-HZ", "杭州海关 Hangzhou Customs (simulator)", PartnerKind.CUSTOMS),
            ("PAY-DEMO", "示例支付 Demo Pay (simulator)", PartnerKind.PAYMENT),
        ):
            if not Partner.objects.filter(code=code).exists():
                services.partner_register(code=code, name=name, kind=kind, actor=ACTOR)

        password = options["admin_password"] or secrets.token_urlsafe(12)
        logins = [("admin", password, "superuser")]
        self._user("admin", password, superuser=True)
        for username, group, district in REGULATORS:
            self._user(username, password, group=group, district=district)
            logins.append((username, password, f"{group}, district {district}"))
        self._print(keys, logins)

    def _park(self, code: str, name: str, city: str, district: str, kind: str) -> Park:
        park, _created = Park.objects.update_or_create(
            code=code, defaults={"name": name, "city": city, "customs_district": district, "kind": kind}
        )
        return park

    def _enterprise(self, customs_code: str, uscc: str, name: str, roles: list[Role], park: Park) -> Enterprise:
        existing = Enterprise.objects.filter(customs_code=customs_code).first()
        if existing is not None:
            return existing
        return services.enterprise_register(
            customs_code=customs_code,
            uscc=uscc,
            name=name,
            roles=roles,
            park=park,
            status=EnterpriseStatus.ACTIVE,
            actor=ACTOR,
        )

    def _user(
        self, username: str, password: str, *, superuser: bool = False, group: str = "", district: str = ""
    ) -> None:
        user, _created = User.objects.get_or_create(username=username)
        user.is_staff = True
        user.is_superuser = superuser
        user.set_password(password)
        user.save()
        if group:
            user.groups.set([Group.objects.get(name=group)])
            RegulatorScope.objects.get_or_create(user=user, customs_district=district)

    def _print(self, keys: list[tuple[Enterprise, str]], logins: list[tuple[str, str, str]]) -> None:
        out = self.stdout
        out.write("\nDemo API keys (Authorization: Bearer <key>); each is shown only now:")
        for enterprise, raw in keys:
            out.write(f"  {enterprise.customs_code}  {','.join(sorted(enterprise.roles)):<14} {raw}")
            out.write(f"              {enterprise.name}")
        out.write("\nRegulator logins for /admin/:")
        for username, password, what in logins:
            out.write(f"  {username:<8} {password}   ({what})")
        out.write("")
