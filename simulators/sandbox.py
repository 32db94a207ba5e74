"""Forced outcomes of the customs simulator: words at the end of a list's ``orderNo``.

Like a tax authority's test environment, a value in the document makes customs answer as asked,
whatever ``--script`` says for the other lists: ``ORDER123-REVIEW`` is held for manual review,
``ORDER123-REJECT-621003`` is refused with -621003, ``ORDER123-SLOW-5-SURCHARGE-20`` is answered
5 seconds a step and billed 20.00 more. ``docs/sandbox.md`` has the table.

Only the trailing run of ``-WORD`` or ``-WORD-<number>`` parts counts, case-insensitive, so an
order number that merely contains a word is not taken for a trigger. Customs' own checks and
the signature come first: a trigger never makes a refused list pass.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from decimal import Decimal

# The outcome words: the returnStatus steps after "2" (None: a refusal, see ``Triggers.steps``).
OUTCOMES = ("REJECT", "REVIEW", "INSPECT", "DETAIN")
MODIFIERS = ("SURCHARGE", "SLOW", "FAIL")
DEFAULT_REJECT_CODE = "100"
DEFAULT_DETENTION = "501"
DETENTION_CODES = frozenset({"501", "502", "503", "599"})
DEFAULT_SURCHARGE = Decimal("10.00")
DEFAULT_SLOW_SECONDS = 5.0
DEFAULT_FAILURES = 3
MAX_FAILURES = 10
MAX_SLOW_SECONDS = 600.0

_PART = rf"-(?:{'|'.join(OUTCOMES + MODIFIERS)})(?:-[0-9]+(?:\.[0-9]+)?)?"
_TAIL = re.compile(rf"(?:{_PART})+$", re.IGNORECASE)
_EACH = re.compile(rf"-({'|'.join(OUTCOMES + MODIFIERS)})(?:-([0-9]+(?:\.[0-9]+)?))?", re.IGNORECASE)


@dataclass(frozen=True)
class Triggers:
    """What the end of one list's ``orderNo`` asks of customs; all empty: nothing forced."""

    # One of OUTCOMES' steps, or "" (the script decides).
    outcome: str = ""
    # REJECT: "100" (2 then 100) or a negative code ("-621003": that one receipt only).
    reject_code: str = ""
    # DETAIN: the detention status between 120 and 800.
    detention: str = ""
    surcharge: Decimal = Decimal(0)
    # Seconds between this list's receipts; None: ``--step-delay``.
    step_delay: float | None = None
    # POSTs of the message carrying this list answered 503 before customs takes it.
    failures: int = 0

    def steps(self) -> tuple[str, ...] | None:
        """The returnStatus sequence after "2" the outcome forces; None when none is forced.
        A negative reject code is not preceded by "2": ``refusal`` gives it."""
        if self.outcome == "REJECT":
            return ("100",) if self.reject_code == "100" else None
        return {
            "REVIEW": ("120", "300", "800"),
            "INSPECT": ("120", "500", "800"),
            "DETAIN": ("120", self.detention, "800"),
        }.get(self.outcome)

    def refusal(self) -> str:
        """The negative code a REJECT asks for as the list's only receipt, or ""."""
        return self.reject_code if self.outcome == "REJECT" and self.reject_code.startswith("-") else ""


class TriggerError(ValueError):
    """An argument a trigger does not take (e.g. DETAIN-800): the list is answered -621001."""


def parse(order_no: str) -> Triggers:
    """The triggers at the end of ``order_no`` (see the module's docstring).

    The last outcome word wins; a modifier given twice keeps its last value.
    """
    tail = _TAIL.search(order_no or "")
    if tail is None:
        return Triggers()
    triggers = Triggers()
    for found, argument in _EACH.findall(tail.group(0)):
        word = found.upper()
        if word == "REJECT":
            code = argument or DEFAULT_REJECT_CODE
            if "." in code:
                raise TriggerError(f"REJECT takes a whole code, not {code}")
            triggers = replace(triggers, outcome=word, reject_code=code if code == "100" else f"-{code}")
        elif word == "DETAIN":
            code = argument or DEFAULT_DETENTION
            if code not in DETENTION_CODES:
                raise TriggerError(f"DETAIN takes one of {', '.join(sorted(DETENTION_CODES))}, not {code}")
            triggers = replace(triggers, outcome=word, detention=code)
        elif word in OUTCOMES:
            triggers = replace(triggers, outcome=word)
        elif word == "SURCHARGE":
            triggers = replace(triggers, surcharge=Decimal(argument) if argument else DEFAULT_SURCHARGE)
        elif word == "SLOW":
            delay = min(float(argument), MAX_SLOW_SECONDS) if argument else DEFAULT_SLOW_SECONDS
            triggers = replace(triggers, step_delay=delay)
        else:  # FAIL
            if "." in argument:
                raise TriggerError(f"FAIL takes a whole number of failures, not {argument}")
            triggers = replace(triggers, failures=min(int(argument), MAX_FAILURES) if argument else DEFAULT_FAILURES)
    return triggers
