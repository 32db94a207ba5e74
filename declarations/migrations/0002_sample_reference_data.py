"""Seeds the customs reference tables with the sample in ``declarations/reference_data``.

The rows are marked ``source = "sample"``; regulators replace them with the official tables
(``manage.py import_reference ... --replace --source official``). Reversing deletes the sample rows.
"""

from __future__ import annotations

from pathlib import Path

from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps

DATA = Path(__file__).resolve().parent.parent / "reference_data"

# Units first: the tax rates' per-unit consumption tax refers to them.
FILES = (
    ("units", "units.csv", "UnitCode"),
    ("countries", "countries.csv", "CountryCode"),
    ("positive-list", "positive_list.csv", "PositiveListEntry"),
    ("tax-rates", "tax_rates.csv", "TaxRate"),
)


def load_sample(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    # Imported here, not at the top: the loader takes the historical models passed to it.
    from declarations.reference.tables import reference_import_csv

    model_classes = {table: apps.get_model("declarations", model) for table, _file, model in FILES}
    for table, filename, _model in FILES:
        reference_import_csv(
            table=table,
            text=(DATA / filename).read_text(encoding="utf-8"),
            source="sample",
            replace=False,
            model_classes=model_classes,
        )


def unload_sample(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    for _table, _file, model in reversed(FILES):
        apps.get_model("declarations", model).objects.filter(source="sample").delete()


class Migration(migrations.Migration):
    dependencies = [
        ("declarations", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(load_sample, unload_sample),
    ]
