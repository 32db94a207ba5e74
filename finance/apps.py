from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FinanceConfig(AppConfig):
    name = "finance"
    verbose_name = _("Finance")

    def ready(self) -> None:
        # Imported here, not at the top: models are not ready when the module loads.
        from finance import codes, event_types, roles, scope

        # The codes finance answers with, what it tells enterprises, what the regulators'
        # groups may do with its models and which of its rows each regulator sees: the hub
        # names none of them.
        codes.register()
        event_types.register()
        roles.register()
        scope.register()
