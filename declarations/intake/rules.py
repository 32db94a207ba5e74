"""Rules a document must pass that need the registry or the reference tables.

``check_document`` gathers every failure so the sender fixes them all in one round.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from core.errors import FieldError
from declarations.intake import codes
from declarations.models import CountryCode, PositiveListEntry, UnitCode
from single_window import selectors as registry
from single_window.models import Enterprise, EnterpriseStatus, Role

# Which code of each document names which role.
PARTY_ROLES: dict[str, tuple[tuple[str, str], ...]] = {
    "order": (("ebp_code", Role.EBP), ("ebc_code", Role.EBC), ("pay_code", Role.PAY)),
    "payment": (("pay_code", Role.PAY), ("ebp_code", Role.EBP)),
    "waybill": (("logistics_code", Role.LOGISTICS),),
    "inventory": (("ebp_code", Role.EBP), ("ebc_code", Role.EBC), ("logistics_code", Role.LOGISTICS)),
}
# The parties that may send a document in their own name (others need an appointment).
SENDERS: dict[str, tuple[str, ...]] = {
    "order": ("ebp_code", "ebc_code"),
    "payment": ("pay_code",),
    "waybill": ("logistics_code",),
    "inventory": ("agent_code",),
}


def enterprises_by_code(codes_: Iterable[str]) -> dict[str, Enterprise]:
    wanted = {c for c in codes_ if c}
    found: dict[str, Enterprise] = {}
    if not wanted:
        return found
    for enterprise in Enterprise.objects.filter(Q(customs_code__in=wanted) | Q(uscc__in=wanted)).prefetch_related(
        "role_set"
    ):
        for code in (enterprise.customs_code, enterprise.uscc):
            if code in wanted:
                found[code] = enterprise
    return found


def _reference_problems(kind: str, data: dict[str, Any]) -> list[FieldError]:
    problems: list[FieldError] = []
    items: list[dict[str, Any]] = data.get("items", [])
    unit_fields = [(f"items[{i}].{n}", line.get(n)) for i, line in enumerate(items) for n in ("unit", "unit1", "unit2")]
    country_fields = [("country", data.get("country"))] if kind == "inventory" else []
    country_fields += [
        (f"items[{i}].{n}", line.get(n)) for i, line in enumerate(items) for n in ("country", "trade_country")
    ]
    units = set(UnitCode.objects.filter(code__in={v for _f, v in unit_fields if v}).values_list("code", flat=True))
    countries = set(
        CountryCode.objects.filter(code__in={v for _f, v in country_fields if v}).values_list("code", flat=True)
    )
    problems += [
        FieldError(field, codes.UNKNOWN_UNIT, _("Not a customs unit code."))
        for field, value in unit_fields
        if value and value not in units
    ]
    problems += [
        FieldError(field, codes.UNKNOWN_COUNTRY, _("Not a customs country code."))
        for field, value in country_fields
        if value and value not in countries
    ]
    if kind == "inventory":
        lines = {
            entry.tariff_line: entry
            for entry in PositiveListEntry.objects.filter(tariff_line__in={line["gcode"][:8] for line in items})
        }
        for index, line in enumerate(items):
            entry = lines.get(line["gcode"][:8])
            if entry is None:
                problems.append(
                    FieldError(
                        f"items[{index}].gcode",
                        codes.GCODE_NOT_ON_POSITIVE_LIST,
                        _("The goods are not on the retail import positive list."),
                    )
                )
            elif entry.bonded_only and data.get("trade_mode") != "1210":
                problems.append(
                    FieldError(
                        f"items[{index}].gcode", codes.BONDED_ONLY, _("These goods may be imported bonded (1210) only.")
                    )
                )
    return problems


def _party_problems(
    kind: str, data: dict[str, Any], sender: Enterprise, parties: dict[str, Enterprise]
) -> list[FieldError]:
    problems: list[FieldError] = []
    roles = list(PARTY_ROLES[kind])
    if kind == "inventory":
        # An e-commerce enterprise may declare its own lists; anyone else needs the agent role.
        agent_role = Role.EBC if data.get("agent_code") == data.get("ebc_code") else Role.AGENT
        roles.append(("agent_code", agent_role))
    for field, role in roles:
        code = data.get(field)
        if not code:
            continue
        enterprise = parties.get(code)
        if enterprise is None:
            problems.append(
                FieldError(field, codes.UNKNOWN_ENTERPRISE, _("No enterprise is registered under this code."))
            )
        elif enterprise.status != EnterpriseStatus.ACTIVE:
            problems.append(FieldError(field, codes.ENTERPRISE_NOT_ACTIVE, _("The enterprise is not active.")))
        elif not enterprise.has_role(role):
            problems.append(
                FieldError(
                    field, codes.ROLE_MISSING, _("The enterprise does not hold the role %(role)s.") % {"role": role}
                )
            )
    if kind == "inventory" and data.get("assure_code") not in {
        data.get("ebp_code"),
        data.get("ebc_code"),
        data.get("logistics_code"),
    }:
        problems.append(
            FieldError(
                "assure_code",
                codes.ASSURE_CODE_NOT_PARTY,
                _("The guarantor must be the list's platform, e-commerce enterprise or logistics enterprise."),
            )
        )
    problems += _sender_problems(kind, data, sender, parties)
    return problems


def _sender_problems(
    kind: str, data: dict[str, Any], sender: Enterprise, parties: dict[str, Enterprise]
) -> list[FieldError]:
    """The sender acts in its own name, or as the appointed agent of the one it names."""
    own_fields = SENDERS[kind]
    if any(parties.get(data.get(f) or "") == sender for f in own_fields):
        if kind == "inventory":
            agent, principal = parties.get(data["agent_code"]), parties.get(data["ebc_code"])
            if (
                agent
                and principal
                and agent != principal
                and not registry.appointment_valid(principal=principal, agent=agent)
            ):
                return [
                    FieldError(
                        "agent_code",
                        codes.APPOINTMENT_REQUIRED,
                        _("The agent holds no appointment in force from the e-commerce enterprise."),
                    )
                ]
        return []
    # An order may also come from the e-commerce enterprise's appointed agent.
    principal = parties.get(data.get("ebc_code") or "") if kind == "order" else None
    if principal is not None and registry.appointment_valid(principal=principal, agent=sender):
        return []
    return [
        FieldError(
            own_fields[0],
            codes.NOT_YOUR_DOCUMENT,
            _("The sender may send this document only in its own name or under an appointment."),
        )
    ]


def check_document(*, kind: str, data: dict[str, Any], sender: Enterprise) -> list[FieldError]:
    """Every registry and reference rule the document fails; empty when it passes."""
    codes_named = [data.get(field) or "" for field, _role in PARTY_ROLES[kind]]
    codes_named += [data.get("agent_code") or "", data.get("assure_code") or ""]
    parties = enterprises_by_code(codes_named)
    return _party_problems(kind, data, sender, parties) + _reference_problems(kind, data)
