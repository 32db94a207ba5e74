"""``manage.py generate_history --lists N [--seed S] [--days D] [--chunk C]``."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from declarations.history.services import ChunkDone, HistoryError, history_generate


class Command(BaseCommand):
    help = (
        "Write N complete historical parcels (order, payment, waybill, declaration list, their items, the "
        "list's status history, tax estimate and bill, the buyers' quotas) declared over the last D days, "
        "with PostgreSQL's COPY, one transaction per chunk. For the benchmark's scale curve: see docs/bench.md."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--lists", type=int, required=True, help="how many parcels (declaration lists)")
        parser.add_argument(
            "--seed", type=int, default=0, help="0 to 99; the keys carry it (H<seed>…), so each seed is written once"
        )
        parser.add_argument("--days", type=int, default=365, help="the period the lists were declared over")
        parser.add_argument("--chunk", type=int, default=50_000, help="lists written per transaction")

    def handle(self, *args: Any, **options: Any) -> None:
        def progress(done: ChunkDone) -> None:
            self.stdout.write(
                f"chunk {done.chunk}/{done.chunks}: {done.lists:,} lists, {done.rows:,} rows in {done.seconds:.1f} s "
                f"({done.rows_per_second:,.0f} rows/s, {done.lists_per_second:,.0f} lists/s)"
            )

        try:
            result = history_generate(
                lists=options["lists"],
                seed=options["seed"],
                days=options["days"],
                chunk=options["chunk"],
                progress=progress,
            )
        except HistoryError as exc:
            raise CommandError(str(exc)) from None
        statuses = ", ".join(f"{status} {count:,}" for status, count in sorted(result.statuses.items()))
        self.stdout.write(f"lists by status: {statuses}")
        tables = ", ".join(f"{table} {count:,}" for table, count in result.rows.items())
        self.stdout.write(f"rows by table: {tables}")
        self.stdout.write(
            self.style.SUCCESS(
                f"{result.lists:,} lists (keys {result.prefix}…), {result.total_rows:,} rows "
                f"in {result.seconds:.1f} s: {result.total_rows / result.seconds:,.0f} rows/s"
            )
        )
