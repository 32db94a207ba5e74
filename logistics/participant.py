"""Logistics' answer to the declare step (``single_window.declare``): a bonded (1210) list is
declared only when its account book holds its items (``logistics.stock``)."""

from __future__ import annotations

from logistics import stock
from single_window.declare import Decision, ListFacts, ListRef

NAME = "logistics"


class LogisticsParticipant:
    name = NAME

    def reserve(self, facts: ListFacts) -> Decision:
        return stock.list_reserve(facts=facts)

    def consume(self, ref: ListRef) -> None:
        stock.list_consume(ref=ref)

    def release(self, ref: ListRef, *, outcome: str) -> None:
        stock.list_release(ref=ref, outcome=outcome)
