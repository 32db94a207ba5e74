"""Demo material stays on workstations: ``load_demo``'s keys and simulator partners.

``load_demo`` issues API keys named ``DEMO_KEY_NAME`` to enterprises everyone who read the
README knows, and points the partners at the simulators on this machine. A production database
holding either would let anyone in with a printed key, or send real declarations nowhere. So
while ``DEBUG`` is off and ``ALLOW_DEMO_DATA`` false (production's defaults):

- ``load_demo`` refuses to run (``refuse_demo_data``);
- the system check ``single_window.E001`` fails ``manage.py migrate`` (the web container's first
  step, so it does not start), ``manage.py check --database default`` and ``manage.py check
  --deploy`` while the database holds an active demo key or an active partner whose endpoint is
  on a loopback address.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core import checks
from django.core.management.base import CommandError
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections

from single_window.models import ApiKey, Partner

DEMO_KEY_NAME = "demo"
DEMO_DATA_ERROR = "single_window.E001"
DEMO_DATA_UNCHECKED = "single_window.W001"
HINT = (
    "Revoke the demo API keys and point the partners at their real endpoints (admin), or set "
    "ALLOW_DEMO_DATA=true on a server meant to hold demo data. docs/sandbox.md"
)


def demo_data_allowed() -> bool:
    """May this process hold and load demo data? A workstation (``DEBUG``) or when told so."""
    return bool(settings.DEBUG or settings.ALLOW_DEMO_DATA)


def refuse_demo_data(command: str) -> None:
    """Raise ``CommandError`` unless ``demo_data_allowed``."""
    if not demo_data_allowed():
        raise CommandError(
            f"{command} refuses to run with DEBUG off and ALLOW_DEMO_DATA false (production settings): "
            "it issues well-known API keys and points the partners at local simulators. "
            "Set ALLOW_DEMO_DATA=true for a demonstration server."
        )


def _loopback(url: str) -> bool:
    host = (urlsplit(url).hostname or "").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def demo_data_found(*, using: str = DEFAULT_DB_ALIAS) -> list[str]:
    """The demo material in database ``using``, one line each; empty when there is none."""
    found = []
    keys = ApiKey.objects.using(using).filter(name=DEMO_KEY_NAME, revoked_at__isnull=True).count()
    if keys:
        found.append(f"{keys} active API key(s) named {DEMO_KEY_NAME!r}, as load_demo issues them")
    partners = Partner.objects.using(using).filter(active=True).exclude(endpoint_url="")
    for code, url in partners.values_list("code", "endpoint_url").order_by("code"):
        if _loopback(url):
            found.append(f"partner {code} sends to {url}, a local simulator")
    return found


def _errors(databases: Iterable[str]) -> list[checks.CheckMessage]:
    if demo_data_allowed():
        return []
    messages: list[checks.CheckMessage] = []
    for alias in databases:
        try:
            tables = set(connections[alias].introspection.table_names())
            if not {ApiKey._meta.db_table, Partner._meta.db_table} <= tables:
                continue  # not migrated yet: nothing loaded
            found = demo_data_found(using=alias)
        except DatabaseError as error:
            messages.append(
                checks.Warning(
                    f"Could not look for demo data in database {alias!r}: {error}",
                    id=DEMO_DATA_UNCHECKED,
                )
            )
            continue
        if found:
            messages.append(
                checks.Error(
                    f"Database {alias!r} holds demo data while DEBUG is off and ALLOW_DEMO_DATA false: "
                    + "; ".join(found),
                    hint=HINT,
                    id=DEMO_DATA_ERROR,
                )
            )
    return messages


def check_demo_data(*, databases: Sequence[str] | None = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """The databases a command checks (``migrate``, ``check --database``); none otherwise."""
    return _errors(databases or [])


def check_demo_data_deploy(*, databases: Sequence[str] | None = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """``check --deploy``: the default database, unless ``check_demo_data`` looks already."""
    return [] if databases else _errors([DEFAULT_DB_ALIAS])


def register() -> None:
    checks.register(check_demo_data, checks.Tags.database)
    checks.register(check_demo_data_deploy, checks.Tags.database, deploy=True)
