from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = _("Core")

    def ready(self) -> None:
        from core import errors, idempotency

        # The shared vocabulary of every endpoint: other apps may declare these codes too.
        errors.register_error_codes(
            "core",
            [
                *errors.code_constants(vars(errors)),
                idempotency.IDEMPOTENCY_KEY_INVALID,
                idempotency.IDEMPOTENCY_KEY_REUSED,
                idempotency.IDEMPOTENCY_IN_FLIGHT,
            ],
        )
