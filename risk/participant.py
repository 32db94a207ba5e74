"""Risk control's answer to the declare step (``single_window.declare``).

Every enabled rule in scope judges the list's facts: any ``block`` rule that fires blocks the
list, else any ``review`` rule sends it to the regulators' review queue, else it passes with
its flags recorded (``RiskHit``). Idempotent per list version (``risk.services.list_assess``).
"""

from __future__ import annotations

from risk import services
from single_window.declare import Decision, ListFacts, ListRef, Review

NAME = "risk"


class RiskParticipant:
    name = NAME

    def reserve(self, facts: ListFacts) -> Decision:
        return services.list_assess(facts=facts)

    def consume(self, ref: ListRef) -> None:
        services.assessment_consume(ref=ref)

    def release(self, ref: ListRef, *, outcome: str) -> None:
        services.assessment_release(ref=ref, outcome=outcome)

    def reviewed(self, review: Review) -> None:
        services.assessment_reviewed(review=review)
