from __future__ import annotations

import logging

from celery import shared_task

from single_window import inbox, subscriptions
from single_window.outbox import outbox_relay_batch

logger = logging.getLogger(__name__)


@shared_task(name="single_window.relay_outbox", ignore_result=True)
def relay_outbox() -> int:
    """Deliver due outbox messages. Safe to run twice or in parallel: claims skip locked rows,
    and a message is only marked sent by the claim that sent it."""
    claimed = outbox_relay_batch()
    if claimed:
        logger.info("outbox: relayed %d messages", claimed)
    return claimed


@shared_task(name="single_window.apply_inbox_message", ignore_result=True)
def apply_inbox_message(*, inbox_message_id: int) -> None:
    """Apply one stored partner message; a message already applied is left alone."""
    message = inbox.inbox_apply(message_id=inbox_message_id)
    if message is not None:
        logger.info("inbox message %s: %s", message.pk, message.state)


@shared_task(name="single_window.sweep_inbox", ignore_result=True)
def sweep_inbox() -> int:
    """Apply messages stored while the broker was down or a worker died."""
    ids = inbox.inbox_pending_ids()
    for message_id in ids:
        try:
            inbox.inbox_apply(message_id=message_id)
        except Exception:
            # One message failing (it stays received, retried next sweep) must not hold up the rest.
            logger.exception("inbox message %s could not be applied; retried by the next sweep", message_id)
    return len(ids)


@shared_task(name="single_window.run_event_subscriptions", ignore_result=True)
def run_event_subscriptions() -> int:
    """Hand new events to the systems that subscribed to them, each in order and once. Safe to
    run twice at once: a subscriber's cursor is worked by one run at a time, the other skips it."""
    results = subscriptions.subscriptions_run()
    handled = sum(result.handled for result in results.values())
    if handled:
        logger.info("event subscriptions: %d events handled", handled)
    return handled
