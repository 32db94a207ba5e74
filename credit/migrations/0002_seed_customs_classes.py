"""Seeds the customs credit classes and their random inspection rates.

Five levels, as secondary sources report Order 282 (in force 2026-04-01): advanced certified,
certified, regular, dishonest, seriously dishonest. The rates of the first four are the
measured 2019 rates (0.57%, 1.69%, 2.44%, 84.76%); a seriously dishonest enterprise is
inspected every time. Regulators edit the rows in the admin when customs changes them;
reversing deletes only rows nobody has decided an enterprise into.
"""

from __future__ import annotations

from decimal import Decimal

from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps

CLASSES = (
    # code, English name, Chinese name, rank, inspection rate, default
    ("advanced_certified", "Advanced certified enterprise", "高级认证企业", 1, Decimal("0.0057"), False),
    ("certified", "Certified enterprise", "一般认证企业", 2, Decimal("0.0169"), False),
    ("regular", "Regular credit enterprise", "一般信用企业", 3, Decimal("0.0244"), True),
    ("dishonest", "Dishonest enterprise", "失信企业", 4, Decimal("0.8476"), False),
    ("seriously_dishonest", "Seriously dishonest enterprise", "严重失信企业", 5, Decimal("1.0000"), False),
)


def seed(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    customs_class = apps.get_model("credit", "CustomsClass")
    for code, name_en, name_zh, rank, rate, default in CLASSES:
        customs_class.objects.update_or_create(
            code=code,
            defaults={
                "name_en": name_en,
                "name_zh": name_zh,
                "rank": rank,
                "inspection_rate": rate,
                "is_default": default,
            },
        )


def unseed(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    customs_class = apps.get_model("credit", "CustomsClass")
    customs_class.objects.filter(code__in=[row[0] for row in CLASSES], decisions__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("credit", "0001_credit_profiles_events_consents")]

    operations = [migrations.RunPython(seed, unseed)]
