"""The regulators' groups and what each may do in the admin.

Kept in code and applied after every migration, so a new model's permissions reach the
groups without a hand edit.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Group, Permission
from django.db.models import Q

CUSTOMS_OFFICER = "customs officer"
COMMERCE_BUREAU = "commerce bureau"
AUDITOR = "auditor"

# Group -> (app label, codename prefix, model names). "view" everywhere for auditors.
GROUP_PERMISSIONS: dict[str, dict[str, tuple[str, ...]]] = {
    CUSTOMS_OFFICER: {
        "view": ("park", "enterprise", "appointment", "apikey", "partner", "auditentry"),
        "change": ("enterprise", "appointment", "apikey"),
        "add": ("apikey",),
    },
    COMMERCE_BUREAU: {
        "view": ("park", "enterprise", "enterpriserole", "appointment", "apikey", "auditentry"),
        "add": ("park", "enterprise", "enterpriserole", "appointment", "apikey"),
        "change": ("park", "enterprise", "enterpriserole", "appointment", "apikey"),
        "delete": ("enterpriserole",),
    },
    AUDITOR: {
        "view": (
            "park",
            "enterprise",
            "enterpriserole",
            "appointment",
            "apikey",
            "partner",
            "regulatorscope",
            "auditentry",
        ),
    },
}


def sync_regulator_groups(**_: Any) -> None:
    for name, grants in GROUP_PERMISSIONS.items():
        group, _created = Group.objects.get_or_create(name=name)
        query = Q(pk__in=[])
        for action, models in grants.items():
            query |= Q(codename__in=[f"{action}_{model}" for model in models])
        group.permissions.set(Permission.objects.filter(query, content_type__app_label__in=["core", "single_window"]))
