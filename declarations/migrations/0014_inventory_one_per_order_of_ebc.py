"""One live list per parcel and e-commerce enterprise (``ebp_code`` + ``order_no`` + ``ebc_code``).

A list matches only the order of its own e-commerce enterprise, so a list that names someone
else's order number no longer takes that number from the order's own enterprise.
"""

from __future__ import annotations

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("declarations", "0013_tax_rate_units"),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="inventory",
            name="inventory_one_per_order",
        ),
        migrations.AddConstraint(
            model_name="inventory",
            constraint=models.UniqueConstraint(
                condition=models.Q(("status", "deleted"), _negated=True),
                fields=("ebp_code", "order_no", "ebc_code"),
                name="inventory_one_per_order",
            ),
        ),
    ]
