"""Finance's answer to the declare step (``single_window.declare``): a list is declared only
when its guarantor's account covers its estimated tax (``finance.guarantees``)."""

from __future__ import annotations

from finance import guarantees
from single_window.declare import Decision, ListFacts, ListRef

NAME = "finance"


class FinanceParticipant:
    name = NAME

    def reserve(self, facts: ListFacts) -> Decision:
        return guarantees.list_reserve(facts=facts)

    def consume(self, ref: ListRef) -> None:
        guarantees.list_consume(ref=ref)

    def release(self, ref: ListRef, *, outcome: str) -> None:
        guarantees.list_release(ref=ref, outcome=outcome)
