"""The codes of the notes the single window writes in a list's history (``InventoryStatusChange``).

Stored with their parameters beside the English text, and read in the reader's language
(``declarations.clearance.history_notes``). A code is stable: a stored row keeps it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

SUBMITTED = "submitted"  # {"app_type", "app_status", "version"}
DOCUMENT_WITHDRAWN = "document_withdrawn"
MATCHING_AGAIN = "matching_again"
RULES_FAILED = "rules_failed"  # {"rules": [codes]}
RULE_FAILED = "rule_failed"  # {"rule": code}
EVERY_RULE_HOLDS = "every_rule_holds"
BLOCKED = "blocked"  # {"answers": answers_param(...)}
REVIEW = "review"  # {"answers"}
HELD = "held"  # {"answers"}
DECLARE_TIMEOUT = "declare_timeout"  # {"answers"}
DECLARED_AUTOMATICALLY = "declared_automatically"
REJECTED_IN_REVIEW = "rejected_in_review"  # {"actor", "reason"}


def answers_param(answers: Sequence[tuple[str, Any]]) -> list[dict[str, Any]]:
    """The declare step's answers ``(system, decision)`` that did not let the list through."""
    return [
        {"system": system, "verdict": decision.verdict.value, "reasons": [r.code for r in decision.reasons]}
        for system, decision in answers
        if decision.verdict.value != "pass"
    ]
