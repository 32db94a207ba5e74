"""``manage.py import_reference {positive-list|tax-rates|countries|units|exchange-rates} FILE [...]``.

The customs tables are declarations'; ``exchange-rates`` is finance's table, handed to its
service (``finance.rates.exchange_rates_import_csv``): columns ``currency,rate_date,rate[,source]``,
a rate of a day already stored is updated, and ``--replace`` does not apply (rates are history).
"""

from __future__ import annotations

import codecs
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.audit import Actor
from declarations.models import ReferenceSource
from declarations.reference.tables import TABLES, ReferenceImportError, reference_import_csv
from finance.rates import EXCHANGE_RATES, ExchangeRateImportError, exchange_rates_import_csv


class Command(BaseCommand):
    help = (
        "Import a customs reference table from CSV (lines starting with # before the header are skipped). "
        "Every row is checked first: one bad row and nothing is written. Rows are added or updated by "
        "their key (tariff line or code; currency and day for exchange-rates) in one transaction; each "
        "change is written to the audit log."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("table", choices=(*TABLES, EXCHANGE_RATES))
        parser.add_argument("file", help="CSV file with a header line")
        parser.add_argument("--replace", action="store_true", help="also delete the rows that are not in the file")
        parser.add_argument("--source", choices=ReferenceSource.values, default=ReferenceSource.OFFICIAL)
        parser.add_argument(
            "--encoding", default="utf-8-sig", help="of the file (default UTF-8; gb18030 for a Chinese Excel export)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["file"])
        encoding = options["encoding"]
        try:
            codecs.lookup(encoding)
        except LookupError:
            raise CommandError(f"Unknown encoding {encoding!r}.") from None
        try:
            text = path.read_text(encoding=encoding)
        except UnicodeDecodeError as exc:
            raise CommandError(
                f"{path}: not {encoding} text (byte {exc.start}); save it as CSV UTF-8 or pass --encoding."
            ) from None
        except OSError as exc:
            raise CommandError(f"{path}: {exc.strerror or exc}") from None
        if options["table"] == EXCHANGE_RATES:
            self._import_exchange_rates(path, text, options)
            return
        try:
            result = reference_import_csv(
                table=options["table"],
                text=text,
                source=options["source"],
                replace=options["replace"],
                actor=Actor.system("import_reference"),
            )
        except ReferenceImportError as exc:
            raise CommandError(f"{path}: nothing imported.\n{exc}") from None
        self.stdout.write(self.style.SUCCESS(str(result)))

    def _import_exchange_rates(self, path: Path, text: str, options: dict[str, Any]) -> None:
        if options["replace"]:
            raise CommandError("--replace does not apply to exchange-rates: rates are kept as history.")
        try:
            result = exchange_rates_import_csv(
                text=text, actor=Actor.system("import_reference"), default_source=options["source"]
            )
        except ExchangeRateImportError as exc:
            raise CommandError(f"{path}: nothing imported.\n{exc}") from None
        self.stdout.write(self.style.SUCCESS(str(result)))
