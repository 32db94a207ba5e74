"""Issue an API key: ``manage.py issue_api_key CODE``. The key alone is on the last line."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.audit import Actor
from single_window import selectors, services


class Command(BaseCommand):
    help = "Issue an API key for an enterprise (by customs code or USCC). Prints the key on the last line."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("code")
        parser.add_argument("--name", default="issued by command")

    def handle(self, *args: Any, **options: Any) -> None:
        enterprise = selectors.enterprise_get_by_code(code=options["code"])
        if enterprise is None:
            raise CommandError(f"No enterprise with code {options['code']!r}.")
        api_key, raw_key = services.api_key_issue(
            enterprise=enterprise, name=options["name"], actor=Actor.system("issue_api_key"), enforce_limit=False
        )
        self.stderr.write(f"Issued {api_key.prefix} for {enterprise}. It is shown once:")
        self.stdout.write(raw_key)
