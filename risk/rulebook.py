"""What risk judges by, kept in each process: the enabled rules, the goods restrictions and the
weight norms.

Regulators change these rows seldom and every list is judged by them, so each process reads
them whole into an immutable snapshot (``core.process_cache``) instead of three queries per
list. How stale a snapshot may be is the reference tables' bound:

1. at most ``REFERENCE_CACHE_SECONDS`` (default 60) after the database gave it, whatever else
   happens (Redis away, a change made with ``QuerySet.update`` or SQL); ``0`` reads them for
   every list;
2. a change saved through the ORM (``risk.services.rule_save``, the admin) empties this
   process's snapshot at once, and the other processes' within about
   ``REFERENCE_CACHE_CHECK_SECONDS`` while Redis answers;
3. a transaction that changed them reads the database until it commits.

The rows are shared between callers: read them, never change or save them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from django.conf import settings
from django.db.models.signals import post_delete, post_save

from core.process_cache import ProcessCache
from risk.models import GoodsRestriction, RiskRule, WeightNorm

CACHE = ProcessCache(
    name="risk-rulebook",
    seconds=lambda: float(settings.REFERENCE_CACHE_SECONDS),
    check_seconds=lambda: float(settings.REFERENCE_CACHE_CHECK_SECONDS),
)
WATCHED = (RiskRule, GoodsRestriction, WeightNorm)


@dataclass(frozen=True)
class Rulebook:
    rules: tuple[RiskRule, ...]  # the enabled ones, by code
    restrictions: tuple[GoodsRestriction, ...]
    weight_norms: Mapping[str, WeightNorm]  # by HS chapter


def _load() -> Rulebook:
    return Rulebook(
        rules=tuple(RiskRule.objects.filter(enabled=True).order_by("code")),
        restrictions=tuple(GoodsRestriction.objects.order_by("pk")),
        weight_norms=MappingProxyType({n.hs_chapter: n for n in WeightNorm.objects.all()}),
    )


def rulebook() -> Rulebook:
    """The snapshot (three queries when this process has none, or its time is up)."""
    found: Rulebook = CACHE.fetch("rulebook", _load)
    return found


def enabled_rules() -> list[RiskRule]:
    return list(rulebook().rules)


def restrictions_of(gcodes: Iterable[str]) -> list[GoodsRestriction]:
    """The restrictions whose prefix begins any of the commodity codes."""
    prefixes = {code[:n] for code in gcodes for n in range(2, len(code) + 1)}
    return [r for r in rulebook().restrictions if r.gcode_prefix in prefixes]


def weight_norms_of(chapters: Iterable[str]) -> dict[str, WeightNorm]:
    norms = rulebook().weight_norms
    return {chapter: norms[chapter] for chapter in set(chapters) if chapter in norms}


def changed(**_signal: Any) -> None:
    """A rule, restriction or norm was saved or deleted: every process reads them again."""
    CACHE.changed()


def register() -> None:
    """Called once, from ``RiskConfig.ready``."""
    for model in WATCHED:
        post_save.connect(changed, sender=model, dispatch_uid=f"risk-rulebook-save-{model.__name__}")
        post_delete.connect(changed, sender=model, dispatch_uid=f"risk-rulebook-delete-{model.__name__}")
