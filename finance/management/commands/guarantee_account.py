"""Scripted guarantee accounts: ``manage.py guarantee_account CODE --amount 500000 --reason "BG-2026-01"``.

Opens the guarantor's account, or sets the amount of the one it has, through the same
audited services as the admin (a top-up has the lists held for it judged again).
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.audit import Actor
from core.errors import ApiError
from finance import guarantees
from finance.models import GuaranteeAccount
from single_window import selectors as registry


class Command(BaseCommand):
    help = "Open a guarantor's guarantee account, or set its amount."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("code", help="the guarantor's customs code or USCC, as lists name it (assureCode)")
        parser.add_argument("--amount", required=True, help="guaranteed amount, CNY")
        parser.add_argument("--reason", required=True, help="why (kept in the audit log and the ledger)")
        parser.add_argument("--name", default="", help="the guarantor's name (default: the registered name)")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            amount = Decimal(options["amount"])
        except InvalidOperation as exc:
            raise CommandError(f"--amount {options['amount']!r} is not a number") from exc
        code = options["code"]
        enterprise = registry.enterprise_get_by_code(code=code)
        name = options["name"] or (enterprise.name if enterprise is not None else code)
        actor = Actor.system("guarantee_account")
        existing = GuaranteeAccount.objects.filter(code=code).first()
        try:
            if existing is None:
                account = guarantees.account_create(
                    code=code, name=name, amount=amount, actor=actor, reason=options["reason"]
                )
            else:
                account = guarantees.account_update(
                    account=existing, actor=actor, reason=options["reason"], amount=amount
                )
        except ApiError as exc:
            details = "; ".join(f"{e.field} ({e.code}): {e.message}" for e in exc.errors) or str(exc.detail)
            raise CommandError(f"{exc.code}: {details}") from exc
        self.stdout.write(f"Guarantee account {account.code}: {account.amount} CNY, {account.available} available.")
