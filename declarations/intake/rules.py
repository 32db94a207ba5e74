"""Rules a document must pass that need the registry or the reference tables.

``check_document`` gathers every failure so the sender fixes them all in one round.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.utils.translation import gettext_lazy as _

from core.errors import FieldError
from declarations.intake import codes
from declarations.models import Declaration
from declarations.reference import tables
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
# The party an appointed agent may send a document for, where the specification lets one: an
# order may come from its e-commerce enterprise's agent. (A list's agent sends in its own name.)
AGENT_PRINCIPAL: dict[str, str] = {"order": "ebc_code"}
# Every field that names an enterprise, in any of the four documents.
PARTY_CODE_FIELDS = ("ebp_code", "ebc_code", "pay_code", "logistics_code", "agent_code", "assure_code", "area_code")


def enterprises_by_code(codes_: Iterable[str]) -> dict[str, Enterprise]:
    """The registered enterprises among ``codes_`` (customs codes or USCCs), by the code named,
    roles loaded; from the registry's process cache (``single_window.registry_cache``)."""
    return registry.enterprises_by_codes(codes_)


def normalise_party_codes(data: dict[str, Any]) -> dict[str, Any]:
    """``data`` with each party code of a registered enterprise written as that enterprise's
    own code (``Enterprise.code``: its customs code, else its USCC).

    An enterprise may be named by its customs code or by its USCC; stored under one code, the
    business keys, the one-list-per-order rule, matching and the buyer's quota see one
    enterprise whichever code a sender wrote. A code nobody registered is left as it is (the
    rules refuse it where a party must be registered).
    """
    found = enterprises_by_code(data.get(field) or "" for field in PARTY_CODE_FIELDS)
    return {
        **data,
        **{field: found[data[field]].code for field in PARTY_CODE_FIELDS if data.get(field) in found},
    }


def _names(enterprise: Enterprise, code: str) -> bool:
    return bool(code) and code in (enterprise.customs_code, enterprise.uscc)


def may_change(*, kind: str, document: Declaration, sender: Enterprise) -> bool:
    """May ``sender`` change or delete the stored ``document`` (``app_type`` 2 or 3)?

    Its principal may: the enterprise that sent the stored version in its own name (named in
    one of ``SENDERS``), or, when that version came from an appointed agent, the party the agent
    acted for (``AGENT_PRINCIPAL``). Where the specification lets an agent send the document,
    an agent holding an appointment in force from the principal may too. Nobody else: a party
    named in the document reads it but does not change what another enterprise sent.
    """
    stored_sender = document.sender
    principal: Enterprise | None = stored_sender
    if not any(_names(stored_sender, getattr(document, field)) for field in SENDERS[kind]):
        field = AGENT_PRINCIPAL.get(kind)
        principal = registry.enterprise_get_by_code(code=getattr(document, field)) if field else None
    if principal is None:
        return sender.pk == stored_sender.pk
    if sender.pk == principal.pk:
        return True
    return kind in AGENT_PRINCIPAL and registry.appointment_valid(principal=principal, agent=sender)


def _reference_problems(kind: str, data: dict[str, Any]) -> list[FieldError]:
    problems: list[FieldError] = []
    items: list[dict[str, Any]] = data.get("items", [])
    unit_fields = [(f"items[{i}].{n}", line.get(n)) for i, line in enumerate(items) for n in ("unit", "unit1", "unit2")]
    country_fields = [("country", data.get("country"))] if kind == "inventory" else []
    country_fields += [
        (f"items[{i}].{n}", line.get(n)) for i, line in enumerate(items) for n in ("country", "trade_country")
    ]
    reference = tables.reference_snapshot()
    units, countries = reference.units, reference.countries
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
        lines = reference.positive_list
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
    field = AGENT_PRINCIPAL.get(kind)
    principal = parties.get(data.get(field) or "") if field else None
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
