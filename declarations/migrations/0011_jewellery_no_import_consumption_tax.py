"""The sample rate table charges no import consumption tax on gold, silver and diamond jewellery.

The 5% consumption tax on gold, silver, platinum and diamond jewellery is levied at retail, not
at import; the earlier sample charged it at import. Only rows still from the sample are changed:
an official table imported since is left as it is.
"""

from __future__ import annotations

from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps

LINES = ("71131190", "71131911", "71131919")
NOTE = (
    " [no CT at import: the 5% CT on gold, silver, platinum and diamond jewellery is levied at retail"
    " (Consumption Tax Regulations, Caishui [1994] 95)]"
)


def forwards(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    tax_rate = apps.get_model("declarations", "TaxRate")
    for row in tax_rate.objects.filter(tariff_line__in=LINES, source="sample"):
        row.ct_rate = 0
        row.name = row.name.split(" [", 1)[0] + NOTE
        row.save(update_fields=["ct_rate", "name"])


class Migration(migrations.Migration):
    dependencies = [("declarations", "0010_declare_step")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
