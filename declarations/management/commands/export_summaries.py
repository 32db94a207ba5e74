"""``python manage.py export_summaries [--month YYYY-MM | --start YYYY-MM-DD --end YYYY-MM-DD]
[--enterprise CODE] [--resend]``: assemble and send the summary declarations (CEB701) of a
period, by hand, as the monthly task does on ``EXPORT_SUMMARY_DAY``; ``--resend`` sends again
the summaries that could not leave (``send_failed``)."""

from __future__ import annotations

import datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.audit import Actor
from declarations.export import summaries
from single_window import selectors as hub_selectors


class Command(BaseCommand):
    help = "Assemble and send export summary declarations (CEB701) of a period."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--month", help="YYYY-MM; default: the previous month (China Standard Time)")
        parser.add_argument("--start", type=datetime.date.fromisoformat, help="first day, YYYY-MM-DD")
        parser.add_argument("--end", type=datetime.date.fromisoformat, help="last day, YYYY-MM-DD")
        parser.add_argument("--enterprise", help="only this consignor (customs code or USCC)")
        parser.add_argument("--resend", action="store_true", help="send again the summaries in send_failed")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["resend"]:
            self.stdout.write(f"{summaries.summaries_resend_failed()} summaries sent again")
            return
        start, end = self._period(options)
        actor = Actor.system("export_summaries command")
        if options["enterprise"]:
            enterprise = hub_selectors.enterprise_get_by_code(code=options["enterprise"])
            if enterprise is None:
                raise CommandError(f"no enterprise {options['enterprise']}")
            made = summaries.summaries_assemble(
                enterprise=enterprise, period_start=start, period_end=end, actor=actor
            ).created
        else:
            made = summaries.summaries_assemble_period(period_start=start, period_end=end, actor=actor)
        for summary in made:
            self.stdout.write(
                f"{summary.cop_no}: {summary.list_count} lists, {summary.msg_count} messages, {summary.status}"
            )
        self.stdout.write(f"{len(made)} summaries for {start}..{end}")

    @staticmethod
    def _period(options: dict[str, Any]) -> tuple[datetime.date, datetime.date]:
        if options["month"]:
            try:
                year, month = (int(part) for part in options["month"].split("-"))
                return summaries.month_period(year, month)
            except ValueError as exc:
                raise CommandError("--month is YYYY-MM") from exc
        if options["start"] or options["end"]:
            if not (options["start"] and options["end"]) or options["end"] < options["start"]:
                raise CommandError("--start and --end go together, the end not before the start")
            return options["start"], options["end"]
        return summaries.previous_month(summaries.today_cst())
