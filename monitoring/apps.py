from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MonitoringConfig(AppConfig):
    name = "monitoring"
    verbose_name = _("Monitoring")

    def ready(self) -> None:
        # Imported here, not at the top: models are not ready when the module loads.
        from monitoring import codes, rollups

        # The API's error codes, and the rollups' subscription to the declarations' events.
        codes.register()
        rollups.register()
