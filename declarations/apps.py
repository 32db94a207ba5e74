from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DeclarationsConfig(AppConfig):
    name = "declarations"
    verbose_name = _("Declarations")

    def ready(self) -> None:
        from declarations import receipts

        # Customs' receipts and tax bills reach the hub's inbox; this system applies them.
        receipts.register()
