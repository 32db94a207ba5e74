from __future__ import annotations

from django.apps import AppConfig
from django.conf import settings
from django.utils.translation import gettext_lazy as _


class FinanceConfig(AppConfig):
    name = "finance"
    verbose_name = _("Finance")

    def ready(self) -> None:
        # Imported here, not at the top: models are not ready when the module loads.
        from finance import codes, customs_messages, event_types, guarantees, proceeds, roles, scope
        from finance.participant import FinanceParticipant
        from single_window.declare import register_participant

        # What finance tells enterprises, the codes it answers with, what the regulators'
        # groups may do with its models and which rows each one sees: the hub names none.
        event_types.register()
        codes.register()
        roles.register()
        scope.register()
        # Customs' tax bills (CEB816) and their status changes (CEB818) reach the hub's inbox.
        customs_messages.register()
        # Each process keeps the guarantors' cover ratios a minute; an edit empties it everywhere.
        guarantees.register()
        # Released export lists become export proceeds (from the events; rates fill those
        # awaiting one).
        proceeds.register()
        # The guarantee's answer to the declare step (switched off in the test settings: the
        # tests that judge with it register it themselves).
        if settings.FINANCE_DECLARE_STEP:
            register_participant(FinanceParticipant())
