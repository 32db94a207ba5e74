from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CreditConfig(AppConfig):
    name = "credit"
    verbose_name = _("Credit")

    def ready(self) -> None:
        # Imported here, not at the top: models are not ready when the module loads.
        from credit import codes, learning, roles, scope

        # The codes credit answers with, what the regulators' groups may do with its models,
        # and which of its rows each regulator sees: the hub names none of them.
        codes.register()
        roles.register()
        scope.register()
        # Credit learns of customs' rejections, risk blocks and matching failures from the
        # events the hub carries, in order and once each (docs/credit.md).
        learning.register()
