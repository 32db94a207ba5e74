"""Reconcile a physical count with an account book: ``manage.py stock_count FILE --ems-no T2901W000001``.

The CSV's header is ``item_record_no,qty``. Prints each item whose count differs from the
book's ``on_hand`` (items on the book not counted count 0) and exits with status 1 when any
differs. It changes nothing: the book moves only by receipts and the lists customs releases.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from logistics import stock
from logistics.models import StockAccountBook


class Command(BaseCommand):
    help = "Compare a count file (item_record_no,qty) with a bonded account book and report the differences."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="CSV file, UTF-8, header item_record_no,qty")
        parser.add_argument("--ems-no", required=True, help="the account book number (emsNo)")

    def handle(self, *args: Any, **options: Any) -> None:
        book = StockAccountBook.objects.filter(ems_no=options["ems_no"]).first()
        if book is None:
            raise CommandError(f"no account book {options['ems_no']}")
        try:
            counted = stock.count_read(Path(options["file"]).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError) as exc:
            raise CommandError(f"cannot read {options['file']}: {exc}") from exc
        except stock.CsvRowError as exc:
            raise CommandError(f"{options['file']}: {exc}") from exc
        differences = stock.count_compare(book=book, counted=counted)
        if not differences:
            self.stdout.write(f"{book.ems_no}: the count agrees with the book.")
            return
        self.stdout.write("item_record_no,on_hand,counted,difference")
        for d in differences:
            self.stdout.write(
                f"{d.item_record_no},{stock.qty_text(d.on_hand)},{stock.qty_text(d.counted)},{stock.qty_text(d.difference)}"
            )
        raise CommandError(f"{book.ems_no}: {len(differences)} items differ from the book", returncode=1)
