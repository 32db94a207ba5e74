"""Scripted onboarding: ``manage.py register_enterprise --customs-code ... --name ... --role ebc``."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.audit import Actor
from core.errors import ApiError
from single_window import services
from single_window.models import EnterpriseStatus, Park, Role


class Command(BaseCommand):
    help = "Register an enterprise in the single window registry."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--customs-code", default="", help="10-character customs registration code")
        parser.add_argument("--uscc", default="", help="18-character unified social credit code")
        parser.add_argument("--name", required=True)
        parser.add_argument(
            "--role", dest="roles", action="append", choices=Role.values, required=True, help="repeat for several roles"
        )
        parser.add_argument("--park", default="", help="park code")
        parser.add_argument("--status", choices=EnterpriseStatus.values, default=EnterpriseStatus.ACTIVE)

    def handle(self, *args: Any, **options: Any) -> None:
        park = None
        if options["park"]:
            park = Park.objects.filter(code=options["park"]).first()
            if park is None:
                raise CommandError(f"No park with code {options['park']!r}.")
        try:
            enterprise = services.enterprise_register(
                customs_code=options["customs_code"],
                uscc=options["uscc"],
                name=options["name"],
                roles=options["roles"],
                park=park,
                status=options["status"],
                actor=Actor.system("register_enterprise"),
            )
        except ApiError as exc:
            # Each problem with its field and stable code, so a script can tell them apart.
            details = "; ".join(f"{e.field or 'enterprise'} ({e.code}): {e.message}" for e in exc.errors)
            details = details or str(exc.detail)
            raise CommandError(f"{exc.code}: {details}") from exc
        self.stdout.write(f"Registered {enterprise} with id {enterprise.pk}.")
