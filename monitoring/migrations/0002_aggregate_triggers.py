"""The triggers that keep the monthly and region rollups summed from the daily ones
(``monitoring.aggregates``; PostgreSQL only)."""

from __future__ import annotations

from typing import Any

from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor

from monitoring import aggregates


def install(_apps: Any, schema_editor: BaseDatabaseSchemaEditor) -> None:
    aggregates.install(schema_editor)


def uninstall(_apps: Any, schema_editor: BaseDatabaseSchemaEditor) -> None:
    aggregates.uninstall(schema_editor)


class Migration(migrations.Migration):
    dependencies = [("monitoring", "0001_initial")]

    operations = [migrations.RunPython(install, uninstall)]
