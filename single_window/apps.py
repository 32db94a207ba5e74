from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SingleWindowConfig(AppConfig):
    name = "single_window"
    verbose_name = _("Single window")

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from single_window.roles import sync_regulator_groups

        post_migrate.connect(sync_regulator_groups, sender=self)

        from single_window import customs, outbox, partners, webhooks
        from single_window.models import OutboxDestination

        outbox.register_sender(OutboxDestination.WEBHOOK, webhooks.deliver_webhook, on_dead=webhooks.on_webhook_dead)
        # Generic too: JSON to a partner's endpoint (a payment company's identity verification).
        outbox.register_sender(OutboxDestination.PARTNER, partners.deliver_to_partner)
        # Generic: it posts bytes to the customs partner. What to do with a message customs
        # never took is the owning system's (declarations re-registers it with on_dead).
        outbox.register_sender(OutboxDestination.CUSTOMS, customs.deliver_customs)
