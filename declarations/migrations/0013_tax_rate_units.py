"""Tax rates name the unit a consumption-tax threshold is per, and the line's legal first unit.

The sample rate table is loaded again so its rows gain both (and the sample face-mask code with
its per-piece threshold). A table an area has imported from the official tariff is left alone:
its regulators import the new columns with the next official file.
"""

from __future__ import annotations

from pathlib import Path

from django.db import migrations, models
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps

DATA = Path(__file__).resolve().parent.parent / "reference_data"


def reload_sample_rates(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    from declarations.reference.tables import reference_import_csv

    tax_rate = apps.get_model("declarations", "TaxRate")
    if tax_rate.objects.exclude(source="sample").exists():
        return
    reference_import_csv(
        table="tax-rates",
        text=(DATA / "tax_rates.csv").read_text(encoding="utf-8"),
        source="sample",
        replace=False,
        model_classes={
            "tax-rates": tax_rate,
            "units": apps.get_model("declarations", "UnitCode"),
            "countries": apps.get_model("declarations", "CountryCode"),
            "positive-list": apps.get_model("declarations", "PositiveListEntry"),
        },
    )


class Migration(migrations.Migration):
    dependencies = [
        ("declarations", "0012_customs_holds"),
    ]

    operations = [
        migrations.AddField(
            model_name="taxrate",
            name="ct_threshold_unit",
            field=models.CharField(blank=True, max_length=3, verbose_name="unit of the threshold price"),
        ),
        migrations.AddField(
            model_name="taxrate",
            name="legal_unit1",
            field=models.CharField(blank=True, max_length=3, verbose_name="legal first unit"),
        ),
        migrations.RunPython(reload_sample_rates, migrations.RunPython.noop),
    ]
