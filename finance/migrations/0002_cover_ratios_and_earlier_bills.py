"""The cover ratios by customs class, and the tax bills declarations kept before finance did.

Ratios (share of a list's estimated tax its guarantor's account must cover) are the pilot
area's starting values, kept by customs officers in the admin: advanced certified 0.50,
certified 0.80, regular 1.00, dishonest 1.50, seriously dishonest 2.00.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db import migrations

RATIOS = {
    "advanced_certified": Decimal("0.50"),
    "certified": Decimal("0.80"),
    "regular": Decimal("1.00"),
    "dishonest": Decimal("1.50"),
    "seriously_dishonest": Decimal("2.00"),
}


def seed_ratios(apps: Any, schema_editor: Any) -> None:
    coverage = apps.get_model("finance", "GuaranteeCoverage")
    for customs_class, ratio in RATIOS.items():
        coverage.objects.get_or_create(customs_class=customs_class, defaults={"ratio": ratio})


def copy_bills(apps: Any, schema_editor: Any) -> None:
    """Each bill declarations stored, with its list's parties and estimate."""
    try:
        old = apps.get_model("declarations", "TaxBill")
    except LookupError:
        return
    new = apps.get_model("finance", "TaxBill")
    change = apps.get_model("finance", "TaxBillStatusChange")
    for bill in old.objects.select_related("inventory").iterator():
        inventory = bill.inventory
        estimate = apps.get_model("declarations", "TaxEstimate").objects.filter(inventory_id=inventory.pk).first()
        copied = new.objects.create(
            tax_no=bill.tax_no,
            invt_no=bill.invt_no,
            inventory_id=inventory.pk,
            list_version=inventory.version,
            cop_no=inventory.cop_no,
            assure_code=inventory.assure_code,
            ebc_code=inventory.ebc_code,
            ebp_code=inventory.ebp_code,
            agent_code=inventory.agent_code,
            logistics_code=inventory.logistics_code,
            customs_code=inventory.customs_code,
            order_no=inventory.order_no,
            logistics_no=inventory.logistics_no,
            status=bill.status[:1] if bill.status[:1] in {"1", "2", "3"} else "1",
            customs_tax=bill.customs_tax,
            value_added_tax=bill.value_added_tax,
            consumption_tax=bill.consumption_tax,
            tax_total=bill.customs_tax + bill.value_added_tax + bill.consumption_tax,
            issued_at=bill.return_time,
            estimated_customs_tax=estimate.customs_tax if estimate else None,
            estimated_value_added_tax=estimate.value_added_tax if estimate else None,
            estimated_consumption_tax=estimate.consumption_tax if estimate else None,
            estimated_total=estimate.tax_total if estimate else None,
            differences={
                name: {"estimate": figures[0], "bill": figures[1]} for name, figures in (bill.differences or {}).items()
            },
        )
        new.objects.filter(pk=copied.pk).update(received_at=bill.received_at)
        change.objects.create(
            tax_no=bill.tax_no,
            bill=copied,
            message_guid="moved-from-declarations",
            status=copied.status,
            occurred_at=bill.return_time,
            applied=True,
            note="CEB816",
        )


class Migration(migrations.Migration):
    dependencies = [
        ("finance", "0001_initial"),
        ("credit", "0002_seed_customs_classes"),
        ("declarations", "0018_risk_review_states"),
    ]

    operations = [
        migrations.RunPython(seed_ratios, migrations.RunPython.noop),
        migrations.RunPython(copy_bills, migrations.RunPython.noop),
    ]
