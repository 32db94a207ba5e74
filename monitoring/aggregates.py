"""The rollups summed from the daily ones: by month, and by region (without the enterprises).

Long ranges and readers who see whole districts or parks read these, with far fewer rows
(``monitoring.selectors``). The database keeps them: a trigger on each daily table adds every
change of a daily row (insert, update, delete) to the rows it sums into, in the same statement,
whoever writes the daily row (the event subscriber's upserts, the reconciliation, the admin).
The reconciliation still sums them again from the daily rows and corrects what differs.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.models import Model

from monitoring import buckets
from monitoring.models import (
    AMOUNT_FIELDS,
    COUNT_FIELDS,
    GOODS_DIMENSIONS,
    LIST_DIMENSIONS,
    REGION_GOODS_DIMENSIONS,
    REGION_LIST_DIMENSIONS,
    DailyGoodsFigures,
    DailyListFigures,
    DailyRegionGoodsFigures,
    DailyRegionListFigures,
    MonthlyGoodsFigures,
    MonthlyListFigures,
    MonthlyRegionGoodsFigures,
    MonthlyRegionListFigures,
)

FIGURES = (*COUNT_FIELDS, *AMOUNT_FIELDS, *buckets.COLUMNS)


@dataclass(frozen=True)
class Aggregate:
    name: str
    source: type[Model]
    target: type[Model]
    dimensions: tuple[str, ...]
    # A monthly rollup's ``day`` is the month's first day.
    monthly: bool

    @property
    def function(self) -> str:
        return f"monitoring_sum_{self.target._meta.db_table.removeprefix('monitoring_')}"


AGGREGATES = (
    Aggregate("list_month", DailyListFigures, MonthlyListFigures, LIST_DIMENSIONS, monthly=True),
    Aggregate("region_list", DailyListFigures, DailyRegionListFigures, REGION_LIST_DIMENSIONS, monthly=False),
    Aggregate("region_list_month", DailyListFigures, MonthlyRegionListFigures, REGION_LIST_DIMENSIONS, monthly=True),
    Aggregate("goods_month", DailyGoodsFigures, MonthlyGoodsFigures, GOODS_DIMENSIONS, monthly=True),
    Aggregate("region_goods", DailyGoodsFigures, DailyRegionGoodsFigures, REGION_GOODS_DIMENSIONS, monthly=False),
    Aggregate(
        "region_goods_month", DailyGoodsFigures, MonthlyRegionGoodsFigures, REGION_GOODS_DIMENSIONS, monthly=True
    ),
)


def _trigger_sql(aggregate: Aggregate) -> list[str]:
    """The trigger function and trigger of one aggregate (PostgreSQL).

    1. A row leaving the daily table (update, delete) is taken off the row it summed into.
    2. A row entering it (insert, update) is added, creating the row if needed.
    """
    target, source = aggregate.target._meta.db_table, aggregate.source._meta.db_table
    dimensions = aggregate.dimensions

    def period(row: str) -> str:
        return f"date_trunc('month', {row}.day)::date" if aggregate.monthly else f"{row}.day"

    where = " AND ".join([f"day = {period('OLD')}", *(f"{name} = OLD.{name}" for name in dimensions)])
    subtract = ", ".join(f"{name} = {name} - OLD.{name}" for name in FIGURES)
    columns = ", ".join(["day", *dimensions, *FIGURES])
    values = ", ".join([period("NEW"), *(f"NEW.{name}" for name in (*dimensions, *FIGURES))])
    conflict = ", ".join(["day", *dimensions])
    add = ", ".join(f"{name} = {target}.{name} + EXCLUDED.{name}" for name in FIGURES)
    function = aggregate.function
    return [
        f"""
        CREATE OR REPLACE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP <> 'INSERT' THEN
                UPDATE {target} SET {subtract} WHERE {where};
            END IF;
            IF TG_OP <> 'DELETE' THEN
                INSERT INTO {target} ({columns}) VALUES ({values})
                ON CONFLICT ({conflict}) DO UPDATE SET {add};
            END IF;
            RETURN NULL;
        END
        $$
        """,  # noqa: S608 - names from the models, no values
        f"DROP TRIGGER IF EXISTS {function} ON {source}",
        (
            f"CREATE TRIGGER {function} AFTER INSERT OR UPDATE OR DELETE ON {source} "
            f"FOR EACH ROW EXECUTE FUNCTION {function}()"
        ),
    ]


def install(schema_editor: BaseDatabaseSchemaEditor) -> None:
    """Create the triggers (PostgreSQL; elsewhere the aggregates are filled by the
    reconciliation only)."""
    if schema_editor.connection.vendor != "postgresql":
        return
    for aggregate in AGGREGATES:
        for statement in _trigger_sql(aggregate):
            schema_editor.execute(statement)


def uninstall(schema_editor: BaseDatabaseSchemaEditor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    for aggregate in AGGREGATES:
        source = aggregate.source._meta.db_table
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {aggregate.function} ON {source}")
        schema_editor.execute(f"DROP FUNCTION IF EXISTS {aggregate.function}()")
