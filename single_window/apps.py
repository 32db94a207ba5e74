from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SingleWindowConfig(AppConfig):
    name = "single_window"
    verbose_name = _("Single window")

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_migrate, post_save

        from core.health import register_check
        from single_window import (
            demo_guard,
            error_codes,
            event_types,
            outbox,
            partners,
            registry_cache,
            roles,
            scope,
            webhooks,
        )
        from single_window.health import check_outbox
        from single_window.models import OutboxDestination

        # The hub's own event, codes and models; each system registers its own in its ready().
        event_types.register_event_type(webhooks.OUTBOX_DEAD_LETTER, _("delivery gave up"))
        error_codes.register()
        roles.register()
        scope.register()
        post_migrate.connect(roles.sync_regulator_groups, sender=self)
        # Every process caches keys, enterprises and appointments a few seconds; a change
        # saved through the ORM empties the caches (single_window/registry_cache.py).
        for model in registry_cache.watched_models():
            for signal in (post_save, post_delete):
                signal.connect(
                    registry_cache.registry_changed, sender=model, dispatch_uid=f"registry:{model._meta.label}"
                )
        # Production refuses to start (migrate, check --deploy) on a database holding demo keys
        # or simulator partners (single_window/demo_guard.py).
        demo_guard.register()
        # Health says "degraded" when due messages wait: the relay (a worker) is not running.
        register_check("outbox", check_outbox)

        outbox.register_sender(OutboxDestination.WEBHOOK, webhooks.deliver_webhook, on_dead=webhooks.on_webhook_dead)
        # Generic too: JSON to a partner's endpoint (a payment company's identity verification).
        outbox.register_sender(OutboxDestination.PARTNER, partners.deliver_to_partner)
        # Not the customs kind: the system that owns what goes to customs registers it once,
        # with the hub's generic single_window.customs.deliver_customs and what to do with a
        # message customs never took. Registered here too, the winner would be whichever app
        # came later in INSTALLED_APPS.
