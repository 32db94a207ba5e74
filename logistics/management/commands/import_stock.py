"""Goods in from a file: ``manage.py import_stock FILE --ems-no T2901W000001 --reference GRN-1``.

The CSV's header is ``item_record_no,gcode,name,unit,qty``. Every row is checked as the API
checks a receipt's lines; one bad row refuses the whole file, naming its line. The receipt is
recorded through the same service as ``POST /api/v1/logistics/stock-receipts``: once per
reference, lists held for the book's stock judged again after it committed. The book's
warehouse operator records it; a book not kept yet needs ``--area-code`` (its operator).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from core.audit import Actor
from core.errors import ApiError
from core.problems import flatten_validation
from logistics import stock
from logistics.apis_stock import StockReceiptLineInput
from logistics.models import StockAccountBook
from single_window import selectors as registry

RECEIPT_COLUMNS = ("item_record_no", "gcode", "name", "unit", "qty")


def receipt_lines(text: str) -> list[stock.ReceiptLine]:
    """The file's lines, each checked as the API checks one; ``CsvRowError`` at the first bad row."""
    lines = []
    for line, row in stock.csv_rows(text, columns=RECEIPT_COLUMNS):
        checked = StockReceiptLineInput(data=row)
        if not checked.is_valid():
            problems = "; ".join(f"{e.field} ({e.code}): {e.message}" for e in flatten_validation(checked.errors))
            raise stock.CsvRowError(line, problems)
        lines.append(stock.ReceiptLine(**checked.validated_data))
    if not lines:
        raise stock.CsvRowError(2, "the file has no rows")
    return lines


class Command(BaseCommand):
    help = "Record goods in on a bonded account book from a CSV file (item_record_no,gcode,name,unit,qty)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="CSV file, UTF-8, header item_record_no,gcode,name,unit,qty")
        parser.add_argument("--ems-no", required=True, help="the account book number (emsNo)")
        parser.add_argument("--reference", required=True, help="the goods-in document number (once per book)")
        parser.add_argument("--received-at", default="", help="ISO 8601 with offset (default: now)")
        parser.add_argument("--area-code", default="", help="the warehouse operator, for a book not kept yet")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            text = Path(options["file"]).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise CommandError(f"cannot read {options['file']}: {exc}") from exc
        try:
            lines = receipt_lines(text)
        except stock.CsvRowError as exc:
            raise CommandError(f"{options['file']}: {exc}; nothing was recorded") from exc
        received_at = timezone.now()
        if options["received_at"]:
            parsed = parse_datetime(options["received_at"])
            if parsed is None or parsed.tzinfo is None:
                raise CommandError("--received-at must be ISO 8601 with an offset")
            received_at = parsed
        book = StockAccountBook.objects.filter(ems_no=options["ems_no"]).first()
        area_code = book.area_code if book is not None else options["area_code"]
        if not area_code:
            raise CommandError(f"no account book {options['ems_no']}: name its operator with --area-code")
        operator = registry.enterprise_get_by_code(code=area_code)
        if operator is None:
            raise CommandError(f"no enterprise is registered under {area_code}")
        try:
            receipt = stock.receipt_record(
                operator=operator,
                ems_no=options["ems_no"],
                reference=options["reference"],
                received_at=received_at,
                lines=lines,
                actor=Actor.system("import_stock"),
            )
        except ApiError as exc:
            details = "; ".join(f"{e.field} ({e.code}): {e.message}" for e in exc.errors) or str(exc.detail)
            raise CommandError(f"{exc.code}: {details}") from exc
        self.stdout.write(f"Receipt {receipt.reference} on {options['ems_no']}: {len(lines)} lines recorded.")
