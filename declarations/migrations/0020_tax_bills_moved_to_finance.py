"""Customs' tax bills are finance's (finance/migrations/0002 copies them first)."""

from __future__ import annotations

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("declarations", "0019_inventory_returns"),
        ("finance", "0002_cover_ratios_and_earlier_bills"),
    ]

    operations = [
        migrations.DeleteModel(name="TaxBill"),
    ]
