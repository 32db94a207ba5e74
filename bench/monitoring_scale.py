"""Rollups of the size ten times the lists would give, made from the rollups of a database
(docs/monitoring.md, "Measured").

``python -m bench.monitoring_scale inflate [--enterprises]`` keeps each rollup table as
``<table>_1m`` and puts in its place what ten times the lists over the same days would make;
``restore`` puts the kept tables back. Only for a database made for measuring
(``generate_history``), while nothing else writes to it.

Why this is the size: a rollup row exists for each day and combination of dimension values that
occurs that day. Ten times the lists with the same mix of enterprises, parks, countries and
goods means each day holds as many lists as ten days hold now; so a day's combinations are
those that occur in a ten-day window now, and its figures the window's. Daily rows are made
that way (the window from four days before to five after); monthly and region rows are summed
from them. ``--enterprises`` is a harder case: ten times the enterprises too, each list rollup row
copied under nine more enterprise codes.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Sequence


def _say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] not in ("inflate", "restore") or args[1:] not in ([], ["--enterprises"]):
        sys.stderr.write("usage: python -m bench.monitoring_scale inflate [--enterprises] | restore\n")
        return 2
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    import django  # noqa: PLC0415 - the settings must be chosen before Django loads

    django.setup()
    from django.db import connection  # noqa: PLC0415

    from monitoring import models  # noqa: PLC0415
    from monitoring.aggregates import AGGREGATES  # noqa: PLC0415
    from monitoring.reconcile import FIGURES  # noqa: PLC0415

    daily = [(models.DailyListFigures, models.LIST_DIMENSIONS), (models.DailyGoodsFigures, models.GOODS_DIMENSIONS)]
    tables = [model._meta.db_table for model, _dimensions in daily] + [a.target._meta.db_table for a in AGGREGATES]
    figures = ", ".join(FIGURES)
    with connection.cursor() as cursor:
        if args[0] == "restore":
            for table in tables:
                cursor.execute(f"DROP TABLE {table}")
                cursor.execute(f"ALTER TABLE {table}_1m RENAME TO {table}")
            cursor.execute("ANALYZE")
            _say("restored")
            return 0
        for table in tables:
            cursor.execute(f"ALTER TABLE {table} RENAME TO {table}_1m")
            cursor.execute(f"CREATE TABLE {table} (LIKE {table}_1m INCLUDING ALL)")
        # 1. The daily rollups: a ten-day window's combinations and figures on each day.
        for model, dimensions in daily:
            table = model._meta.db_table
            columns = ", ".join(f"r.{name}" for name in dimensions)
            sums = ", ".join(f"sum(r.{name})" for name in FIGURES)
            began = time.monotonic()
            cursor.execute(
                f"INSERT INTO {table} (day, {', '.join(dimensions)}, {figures}) "  # noqa: S608 - names from code
                f"SELECT d.day, {columns}, {sums} FROM (SELECT DISTINCT day FROM {table}_1m) d "
                f"JOIN {table}_1m r ON r.day BETWEEN d.day - 4 AND d.day + 5 GROUP BY d.day, {columns}"
            )
            _say(f"{table}: {cursor.rowcount} rows ({time.monotonic() - began:.1f} s)")
        # 2. The harder case: ten times the enterprises, each row copied under nine more codes.
        if args[1:] == ["--enterprises"]:
            table = models.DailyListFigures._meta.db_table
            others = [name for name in models.LIST_DIMENSIONS if name not in ("ebc", "agent")]
            columns = ", ".join(["day", *others, figures])
            cursor.execute(
                f"INSERT INTO {table} ({columns}, ebc, agent) "  # noqa: S608 - names from code
                f"SELECT {columns}, ebc || 'Z' || k::text, agent || 'Z' || k::text "
                f"FROM {table}, generate_series(1, 9) k"
            )
            _say(f"{table}: {cursor.rowcount} rows more, under new enterprise codes")
        # 3. The monthly and region rollups, summed from the daily ones.
        for aggregate in AGGREGATES:
            table, source = aggregate.target._meta.db_table, aggregate.source._meta.db_table
            columns = ", ".join(aggregate.dimensions)
            period = "date_trunc('month', day)::date" if aggregate.monthly else "day"
            cursor.execute(
                f"INSERT INTO {table} (day, {columns}, {figures}) "  # noqa: S608 - names from code
                f"SELECT {period}, {columns}, {', '.join(f'sum({name})' for name in FIGURES)} "
                f"FROM {source} GROUP BY 1, {columns}"
            )
            _say(f"{table}: {cursor.rowcount} rows")
        cursor.execute("ANALYZE")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
