"""The regulators' groups and what each may do in the admin.

The hub defines the groups; it knows no system's models, so each app registers what the
groups may do with its own models (``register_regulator_permissions``, from its
``AppConfig.ready``). The register is kept in code and applied after every migration, so a new
model's permissions reach the groups without a hand edit.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.apps import apps as global_apps
from django.contrib.auth.management import create_permissions
from django.contrib.auth.models import Group, Permission
from django.core.exceptions import ImproperlyConfigured
from django.db import DEFAULT_DB_ALIAS
from django.db.models import Q

CUSTOMS_OFFICER = "customs officer"
COMMERCE_BUREAU = "commerce bureau"
AUDITOR = "auditor"
GROUPS = (CUSTOMS_OFFICER, COMMERCE_BUREAU, AUDITOR)

# Django's default model permissions: a grant is "<action>_<model name>".
ACTIONS = frozenset({"view", "add", "change", "delete"})

# Group -> action -> model names of one app.
Grants = Mapping[str, Mapping[str, tuple[str, ...]]]

# App label -> its grants, in registration order.
_GRANTS: dict[str, dict[str, dict[str, tuple[str, ...]]]] = {}


def register_regulator_permissions(app_label: str, grants: Grants) -> None:
    """What the regulators' groups may do with ``app_label``'s models; once per app label.

    Called from ``AppConfig.ready``, when the models are loaded, so a grant naming a model the
    app doesn't have fails at start-up rather than granting nothing in silence. A second
    registration of a label is ``ImproperlyConfigured``: one app would be overwriting another's.
    """
    if app_label in _GRANTS:
        msg = f"the regulators' permissions on {app_label!r} are already registered"
        raise ImproperlyConfigured(msg)
    try:
        app_config = global_apps.get_app_config(app_label)
    except LookupError as exc:
        msg = f"regulators' permissions for {app_label!r}, which is not an installed app"
        raise ImproperlyConfigured(msg) from exc
    checked: dict[str, dict[str, tuple[str, ...]]] = {}
    for group, by_action in grants.items():
        if group not in GROUPS:
            msg = f"{app_label}: {group!r} is not a regulators' group ({', '.join(GROUPS)})"
            raise ImproperlyConfigured(msg)
        for action, models in by_action.items():
            if action not in ACTIONS:
                msg = f"{app_label}: {action!r} is not a model permission ({', '.join(sorted(ACTIONS))})"
                raise ImproperlyConfigured(msg)
            for model in models:
                try:
                    app_config.get_model(model)
                except LookupError as exc:
                    msg = f"{app_label}: the regulators' permissions name {model!r}, which is not a model of it"
                    raise ImproperlyConfigured(msg) from exc
            checked.setdefault(group, {})[action] = tuple(models)
    _GRANTS[app_label] = checked


def registered_app_labels() -> tuple[str, ...]:
    return tuple(_GRANTS)


def group_grants(group: str) -> set[tuple[str, str]]:
    """``(app label, codename)`` of every permission ``group`` is given."""
    return {
        (app_label, f"{action}_{model}")
        for app_label, by_group in _GRANTS.items()
        for action, models in by_group.get(group, {}).items()
        for model in models
    }


def sync_regulator_groups(*, using: str = DEFAULT_DB_ALIAS, **_: Any) -> None:
    """Set each group's permissions to the union of what the apps registered (post_migrate)."""
    # post_migrate is sent app by app in INSTALLED_APPS order and this runs on the hub's turn,
    # before the apps after it have their permissions: create them first.
    for app_label in _GRANTS:
        create_permissions(global_apps.get_app_config(app_label), verbosity=0, using=using)
    for name in GROUPS:
        group, _created = Group.objects.using(using).get_or_create(name=name)
        codenames: dict[str, list[str]] = {}
        for app_label, codename in sorted(group_grants(name)):
            codenames.setdefault(app_label, []).append(codename)
        query = Q(pk__in=[])
        for app_label, names in codenames.items():
            query |= Q(content_type__app_label=app_label, codename__in=names)
        group.permissions.set(Permission.objects.using(using).filter(query))


# --- The hub's own models (and core's audit log, which the hub shows regulators) -------------


def register() -> None:
    """Called once, from ``SingleWindowConfig.ready``."""
    register_regulator_permissions(
        "core",
        {
            CUSTOMS_OFFICER: {"view": ("auditentry",)},
            COMMERCE_BUREAU: {"view": ("auditentry",)},
            AUDITOR: {"view": ("auditentry",)},
        },
    )
    register_regulator_permissions(
        "single_window",
        {
            CUSTOMS_OFFICER: {
                "view": ("park", "enterprise", "appointment", "apikey", "partner"),
                "change": ("enterprise", "appointment", "apikey"),
                "add": ("apikey",),
            },
            COMMERCE_BUREAU: {
                "view": ("park", "enterprise", "enterpriserole", "appointment", "apikey"),
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
                ),
            },
        },
    )
