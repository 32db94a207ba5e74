"""The regulators' groups and what each may do in the admin.

Kept in code and applied after every migration, so a new model's permissions reach the
groups without a hand edit.
"""

from __future__ import annotations

from typing import Any

from django.apps import apps as global_apps
from django.contrib.auth.management import create_permissions
from django.contrib.auth.models import Group, Permission
from django.db import DEFAULT_DB_ALIAS
from django.db.models import Q

CUSTOMS_OFFICER = "customs officer"
COMMERCE_BUREAU = "commerce bureau"
AUDITOR = "auditor"

# The apps whose models the groups are granted; codenames are unique across them.
APP_LABELS = ("core", "single_window", "declarations")

# The customs reference data (declarations): the positive list, tax rates, code tables.
REFERENCE_MODELS = ("positivelistentry", "taxrate", "countrycode", "unitcode")

# The import documents (declarations), read-only and masked in the admin; the items are shown inline.
DOCUMENT_MODELS = ("order", "orderitem", "payment", "waybill", "inventory", "inventoryitem", "inventorycancellation")

# What the single window decided about a list: rule results, quotas, tax estimates, history.
DECISION_MODELS = (
    "ruleresult",
    "buyeryearquota",
    "quotareservation",
    "taxestimate",
    "taxestimateitem",
    "inventorystatuschange",
)

# Group -> (app label, codename prefix, model names). "view" everywhere for auditors.
GROUP_PERMISSIONS: dict[str, dict[str, tuple[str, ...]]] = {
    CUSTOMS_OFFICER: {
        "view": (
            "park",
            "enterprise",
            "appointment",
            "apikey",
            "partner",
            "auditentry",
            *REFERENCE_MODELS,
            *DOCUMENT_MODELS,
            *DECISION_MODELS,
        ),
        "change": ("enterprise", "appointment", "apikey", *REFERENCE_MODELS),
        "add": ("apikey", *REFERENCE_MODELS),
    },
    COMMERCE_BUREAU: {
        "view": ("park", "enterprise", "enterpriserole", "appointment", "apikey", "auditentry", *DECISION_MODELS),
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
            *REFERENCE_MODELS,
            *DOCUMENT_MODELS,
            *DECISION_MODELS,
        ),
    },
}


def sync_regulator_groups(*, using: str = DEFAULT_DB_ALIAS, **_: Any) -> None:
    # post_migrate is sent app by app in INSTALLED_APPS order and this runs on the hub's turn,
    # before the apps after it (declarations) have their permissions: create them first.
    for label in APP_LABELS:
        create_permissions(global_apps.get_app_config(label), verbosity=0, using=using)
    for name, grants in GROUP_PERMISSIONS.items():
        group, _created = Group.objects.get_or_create(name=name)
        query = Q(pk__in=[])
        for action, models in grants.items():
            query |= Q(codename__in=[f"{action}_{model}" for model in models])
        group.permissions.set(Permission.objects.filter(query, content_type__app_label__in=APP_LABELS))
