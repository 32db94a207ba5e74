"""The hub's part of ``/api/v1/health``: the outbox is being relayed.

Registered with ``core.health`` in ``SingleWindowConfig.ready``.
"""

from __future__ import annotations

import datetime

from django.conf import settings
from django.utils import timezone

from core.health import CheckResult, Unhealthy, timed
from single_window.models import OutboxMessage, OutboxState


def check_outbox() -> CheckResult:
    """No message has been due and pending for over ``HEALTH_OUTBOX_MAX_AGE_SECONDS``.

    Due, not written: a message waiting for a retry hours away is the relay at work. One due
    long ago means no relay ran (no worker, no beat): the relay runs every few seconds.
    """
    limit = int(settings.HEALTH_OUTBOX_MAX_AGE_SECONDS)

    def probe() -> None:
        # The relay's own index (outbox_due_idx: pending, by next_attempt_at) answers this.
        oldest_due = (
            OutboxMessage.objects.filter(state=OutboxState.PENDING)
            .order_by("next_attempt_at")
            .values_list("next_attempt_at", flat=True)
            .first()
        )
        if oldest_due is None:
            return
        overdue = timezone.now() - oldest_due
        if overdue > datetime.timedelta(seconds=limit):
            raise Unhealthy(f"an outbox message has been due for {int(overdue.total_seconds())} s (limit {limit} s)")

    return timed(probe)
