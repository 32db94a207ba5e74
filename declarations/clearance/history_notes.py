"""The notes of a list's history, stored as a code and parameters and read in the reader's language.

The single window's own moves record what happened as a code (``rules_failed``) and its
parameters (``{"rules": ["payment_amount_equals_order"]}``) beside the English text of the note;
a page translates the code when it shows the row, so the Chinese page reads Chinese. A row
written before codes were kept, or a customs receipt (whose ``returnInfo`` is customs' own
words), shows its stored text.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from django.utils import translation
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from declarations.clearance.notes import (
    BLOCKED,
    DECLARE_TIMEOUT,
    DECLARED_AUTOMATICALLY,
    DOCUMENT_WITHDRAWN,
    EVERY_RULE_HOLDS,
    HELD,
    MATCHING_AGAIN,
    REJECTED_IN_REVIEW,
    REVIEW,
    RULE_FAILED,
    RULES_FAILED,
    SUBMITTED,
)
from declarations.clearance.rule_names import rule_name, rule_names, system_name
from declarations.models import InventoryStatusChange

TEMPLATES: dict[str, Promise] = {
    SUBMITTED: _("sent by the enterprise as %(app_type)s (%(app_status)s), version %(version)s"),
    DOCUMENT_WITHDRAWN: _("a document was withdrawn"),
    MATCHING_AGAIN: _("matching again"),
    RULES_FAILED: _("rules failed: %(rules)s"),
    RULE_FAILED: _("rule failed: %(rule)s"),
    EVERY_RULE_HOLDS: _("every rule holds"),
    BLOCKED: _("blocked in the declare step: %(answers)s"),
    REVIEW: _("sent to risk review: %(answers)s"),
    HELD: _("held in the declare step: %(answers)s"),
    DECLARE_TIMEOUT: _("not let through in time: %(answers)s"),
    DECLARED_AUTOMATICALLY: _("declared to customs automatically"),
    REJECTED_IN_REVIEW: _("rejected in risk review by %(actor)s: %(reason)s"),
}

APP_TYPES: dict[str, Promise] = {"1": _("new"), "2": _("change"), "3": _("deletion")}
APP_STATUSES: dict[str, Promise] = {"1": _("stored as a draft"), "2": _("declared")}
VERDICTS: dict[str, Promise] = {
    "pass": _("let through"),
    "review": _("review"),
    "hold": _("hold"),
    "block": _("block"),
}


def _answers(value: Any) -> str:
    parts = []
    for answer in value or []:
        verdict = VERDICTS.get(str(answer.get("verdict", "")))
        reasons = rule_names(str(code) for code in answer.get("reasons") or [])
        shown = (
            f"{system_name(str(answer.get('system', '')))}: {verdict if verdict is not None else answer.get('verdict')}"
        )
        parts.append(f"{shown} ({reasons})" if reasons else shown)
    return "; ".join(parts)


def _lookup(table: Mapping[str, Promise]) -> Callable[[Any], str]:
    return lambda value: str(table.get(str(value), value))


# How each parameter is shown.
_PARAMS: dict[str, Callable[[Any], str]] = {
    "rules": lambda value: rule_names(str(code) for code in value or []),
    "rule": lambda value: rule_name(str(value)),
    "answers": _answers,
    "app_type": _lookup(APP_TYPES),
    "app_status": _lookup(APP_STATUSES),
}


def render(code: str, params: Mapping[str, Any]) -> str | None:
    """The note in the active language; None for a code this version does not know."""
    template = TEMPLATES.get(code)
    if template is None:
        return None
    shown = {key: _PARAMS.get(key, str)(value) for key, value in params.items()}
    try:
        return str(template) % shown if shown else str(template)
    except (KeyError, TypeError, ValueError):
        return None


def english(code: str, params: Mapping[str, Any]) -> str:
    with translation.override("en"):
        return render(code, params) or ""


def note_display(change: InventoryStatusChange) -> str:
    """What a page shows as the row's note: the code translated, else the stored text."""
    if change.note_code:
        shown = render(change.note_code, change.note_params or {})
        if shown is not None:
            return shown
    return change.note
