"""What the credit tests share: events published as the declarations publish them, credit
learning them as the periodic task would, and the parties of a list."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import transaction

from credit import learning
from credit.models import CreditProfile
from single_window import subscriptions
from single_window.events import event_publish
from single_window.models import Enterprise, Event


@dataclass(frozen=True)
class ListParties:
    """The e-commerce enterprise and the declaring agent a list names, and its platform."""

    ebc: Enterprise
    agent: Enterprise
    ebp: Enterprise

    def payload(self, inventory_id: int, **extra: Any) -> dict[str, Any]:
        return {
            "inventory_id": inventory_id,
            "cop_no": f"COP{inventory_id:08d}",
            "invt_no": "",
            "ebp_code": self.ebp.code,
            "order_no": f"ORDER{inventory_id:08d}",
            "ebc_code": self.ebc.code,
            "agent_code": self.agent.code,
            **extra,
        }


def publish(
    parties: ListParties, type_: str, inventory_id: int, to: Iterable[Enterprise] | None = None, **extra: Any
) -> list[Event]:
    """The event, once per party, as declarations tells a list's parties (the agent and the
    e-commerce enterprise, by default; one copy when they are the same enterprise)."""
    named = list(to) if to is not None else [parties.ebc, parties.agent]
    recipients = list({enterprise.pk: enterprise for enterprise in named}.values())
    with transaction.atomic():
        return [
            event_publish(
                enterprise=recipient,
                type=type_,
                payload=parties.payload(inventory_id, **extra),
                subject=f"inventory:{inventory_id}",
            )
            for recipient in sorted(recipients, key=lambda e: e.pk)
        ]


def status_changed(parties: ListParties, inventory_id: int, from_status: str, to_status: str) -> list[Event]:
    return publish(parties, learning.STATUS_CHANGED, inventory_id, from_status=from_status, to_status=to_status)


def learn() -> int:
    """Run credit's subscription as the beat's task does; the events handed over."""
    return subscriptions.subscriptions_run(names=[learning.SUBSCRIBER])[learning.SUBSCRIBER].handled


def score(enterprise: Enterprise) -> int:
    return CreditProfile.objects.get(enterprise=enterprise).score
