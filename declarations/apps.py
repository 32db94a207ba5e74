from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DeclarationsConfig(AppConfig):
    name = "declarations"
    verbose_name = _("Declarations")

    def ready(self) -> None:
        from declarations import gateway, payments_verification, receipts

        # Customs' receipts and tax bills reach the hub's inbox; this system applies them.
        receipts.register()
        # Declared lists and cancellations leave through the outbox; a list customs never
        # took goes to send_failed.
        gateway.register()
        # Payment companies' answers to identity verifications (matching rule 3).
        payments_verification.register()
