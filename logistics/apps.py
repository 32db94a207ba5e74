from __future__ import annotations

from django.apps import AppConfig
from django.conf import settings
from django.utils.translation import gettext_lazy as _


class LogisticsConfig(AppConfig):
    name = "logistics"
    verbose_name = _("Logistics")

    def ready(self) -> None:
        # Imported here, not at the top: models are not ready when the module loads.
        from logistics import carrier_messages, codes, event_types, roles, scope
        from logistics.participant import LogisticsParticipant
        from single_window.declare import register_participant

        # What logistics tells enterprises, the codes it answers with, what the regulators'
        # groups may do with its models and which rows each one sees: the hub names none.
        event_types.register()
        codes.register()
        roles.register()
        scope.register()
        # Carriers' tracking events by signed webhook reach the hub's inbox.
        carrier_messages.register()
        # Bonded stock's answer to the declare step (switched off in the test settings: the
        # tests that judge with it register it themselves).
        if settings.LOGISTICS_DECLARE_STEP:
            register_participant(LogisticsParticipant())
