"""The default rules and weight norms (risk/defaults.py); regulators change them in the admin."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db import migrations

from risk.defaults import RULES, WEIGHT_NORMS


def seed(apps: Any, schema_editor: Any) -> None:
    RiskRule = apps.get_model("risk", "RiskRule")
    RiskRuleVersion = apps.get_model("risk", "RiskRuleVersion")
    WeightNorm = apps.get_model("risk", "WeightNorm")
    for code, name, kind, outcome, parameters in RULES:
        rule, created = RiskRule.objects.get_or_create(
            code=code, defaults={"name": name, "kind": kind, "outcome": outcome, "parameters": parameters}
        )
        if created:
            snapshot = {
                "code": code,
                "name": name,
                "kind": kind,
                "outcome": outcome,
                "parameters": parameters,
                "enabled": True,
                "scope": "all",
                "scope_value": "",
                "version": 1,
            }
            RiskRuleVersion.objects.create(rule=rule, version=1, snapshot=snapshot, changed_by="system:migration")
    for chapter, basis, low, high, note in WEIGHT_NORMS:
        WeightNorm.objects.get_or_create(
            hs_chapter=chapter,
            defaults={"basis": basis, "min_kg": Decimal(low), "max_kg": Decimal(high), "note": note},
        )


class Migration(migrations.Migration):
    dependencies = [("risk", "0001_rules_hits_observations")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
