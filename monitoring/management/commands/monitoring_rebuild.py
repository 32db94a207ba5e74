"""Recompute the monitoring's rollups of a day range from the source tables (a backfill, or a
check with ``--check-only``), a month at a time."""

from __future__ import annotations

import datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from monitoring import reconcile


def _day(text: str) -> datetime.date:
    try:
        return datetime.date.fromisoformat(text)
    except ValueError as exc:
        msg = f"{text!r} is not a date (YYYY-MM-DD)"
        raise CommandError(msg) from exc


class Command(BaseCommand):
    help = "Recompute the monitoring rollups of --from..--to (China-time days) and correct them."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--from", dest="day_from", required=True, help="First day, YYYY-MM-DD.")
        parser.add_argument("--to", dest="day_to", required=True, help="Last day, YYYY-MM-DD.")
        parser.add_argument("--check-only", action="store_true", help="Report the differences without correcting them.")

    def handle(self, *args: Any, **options: Any) -> None:
        day_from, day_to = _day(options["day_from"]), _day(options["day_to"])
        if day_to < day_from:
            msg = "--to is before --from"
            raise CommandError(msg)
        total_checked = total_differing = 0
        for start, end in reconcile.months(day_from, day_to):
            report = reconcile.figures_reconcile(day_from=start, day_to=end, correct=not options["check_only"])
            total_checked += report.rows_checked
            total_differing += report.rows_differing
            self.stdout.write(
                f"{start}..{end}: {report.rows_checked} rows recomputed, {report.rows_differing} differed "
                f"({report.seconds:.1f} s)"
            )
        verb = "reported" if options["check_only"] else "corrected"
        self.stdout.write(f"{total_checked} rows recomputed; {total_differing} differing rows {verb}.")
