"""Who may send an export document: the enterprise whose code the document names in the sending
role (``ExportKind.senders``), holding that role, active. A declaring agent that is not the
e-commerce enterprise itself needs an appointment in force from it."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from core.errors import FieldError
from declarations.export import codes
from declarations.export.kinds import ExportKind
from declarations.intake import codes as intake_codes
from declarations.models import Declaration
from single_window import selectors as registry
from single_window.models import Enterprise, EnterpriseStatus, Role


def names(enterprise: Enterprise, code: str | None) -> bool:
    """Does ``code`` name ``enterprise`` (its customs code or its USCC)?"""
    return bool(code) and code in (enterprise.customs_code, enterprise.uscc)


def sender_field(kind: ExportKind, data: dict[str, Any] | Declaration, sender: Enterprise) -> str | None:
    """The sender field of ``kind`` that names ``sender`` in ``data`` (a dict or a stored row)."""

    def value(field: str) -> Any:
        return data.get(field) if isinstance(data, dict) else getattr(data, field, None)

    return next((s.field for s in kind.senders if names(sender, value(s.field))), None)


def sender_problems(kind: ExportKind, data: dict[str, Any], sender: Enterprise) -> list[FieldError]:
    """What keeps ``sender`` from sending ``data``: empty when it may. The first sender field
    names the problem when the sender is named nowhere."""
    field = sender_field(kind, data, sender)
    if field is None:
        return [
            FieldError(
                kind.senders[0].field,
                codes.EXPORT_SENDER_NOT_PARTY,
                _("An enterprise sends this document only under its own code."),
            )
        ]
    roles = next(s.roles for s in kind.senders if s.field == field)
    if sender.status != EnterpriseStatus.ACTIVE:
        return [FieldError(field, intake_codes.ENTERPRISE_NOT_ACTIVE, _("The enterprise is not active."))]
    if kind.is_list or kind.name == "export_master_bill":
        # An e-commerce enterprise declares its own lists; anyone else as an agent.
        own = names(sender, data.get("ebc_code")) if kind.is_list else sender.has_role(Role.EBC)
        roles = (Role.EBC,) if own and sender.has_role(Role.EBC) else (Role.AGENT,)
    if not any(sender.has_role(role) for role in roles):
        return [
            FieldError(
                field,
                codes.EXPORT_PARTY_LACKS_ROLE,
                _("The enterprise does not hold the role %(role)s.") % {"role": " or ".join(roles)},
            )
        ]
    if kind.is_list and not names(sender, data.get("ebc_code")):
        principal = registry.enterprise_get_by_code(code=data.get("ebc_code") or "")
        if principal is None:
            return [
                FieldError("ebc_code", codes.EXPORT_PARTY_UNKNOWN, _("No enterprise is registered under this code."))
            ]
        if not registry.appointment_valid(principal=principal, agent=sender):
            return [
                FieldError(
                    "agent_code",
                    intake_codes.APPOINTMENT_REQUIRED,
                    _("The agent holds no appointment in force from the e-commerce enterprise."),
                )
            ]
    return []
