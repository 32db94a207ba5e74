from __future__ import annotations

from django.apps import AppConfig
from django.conf import settings
from django.utils.translation import gettext_lazy as _


class RiskConfig(AppConfig):
    name = "risk"
    verbose_name = _("Risk")

    def ready(self) -> None:
        # Imported here, not at the top: models are not ready when the module loads.
        from risk import roles, rulebook, scope
        from risk.participant import RiskParticipant
        from single_window.declare import register_participant

        # What the regulators' groups may do with risk's models, and which rows each one sees.
        roles.register()
        scope.register()
        # A rule, restriction or norm saved empties every process's rulebook.
        rulebook.register()
        # Risk's answer to the declare step (switched off in the test settings: the tests
        # that judge with it register it themselves).
        if settings.RISK_DECLARE_STEP:
            register_participant(RiskParticipant())
