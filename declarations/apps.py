from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DeclarationsConfig(AppConfig):
    name = "declarations"
    verbose_name = _("Declarations")

    def ready(self) -> None:
        # Imported here, not at the top: models are not ready when the module loads.
        from declarations.clearance import declare, verification_answers
        from declarations.customs import gateway, receipts

        # Customs' receipts and tax bills reach the hub's inbox; this system applies them.
        receipts.register()
        # Declared lists and cancellations leave through the outbox; a list customs never
        # took goes to send_failed.
        gateway.register()
        # Payment companies' answers to identity verifications (matching rule 3).
        verification_answers.register()
        # Systems that change their mind about a held list have it judged again.
        declare.register()
