"""Service helpers every app shares."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, TypeVar

from django.db import models, transaction

from core.audit import Actor, audit_record, snapshot
from core.models import AuditEntry

ModelT = TypeVar("ModelT", bound=models.Model)


def model_update(
    *,
    instance: ModelT,
    data: Mapping[str, Any],
    actor: Actor,
    reason: str = "",
    fields: Iterable[str] | None = None,
    action: str = AuditEntry.Action.UPDATE,
) -> tuple[ModelT, bool]:
    """Apply the values of ``data`` that differ from ``instance``, save them and audit it.

    ``fields`` names the keys of ``data`` that may change (default: all of them); other keys
    are ignored, so a caller can pass validated input whole. A name that is not a concrete
    field of the model raises ``ValueError``.

    Returns ``(instance, changed)``. When nothing differs, nothing is saved or audited. When
    something does, in one transaction (the caller's, when there is one):

    1. the row's audit view (``core.audit.snapshot``: secrets left out, personal data
       masked) is taken before the change;
    2. the changed attributes are set and saved with ``update_fields`` (plus ``auto_now``
       fields such as ``updated_at``), so a concurrent write to another column survives;
    3. one ``AuditEntry`` of ``action`` is written with the before/after of the changed
       fields. When the change is invisible in the audit view (a secret, or personal data
       whose mask did not move), the entry carries no before/after; it still records who
       changed the row, and ``reason`` says why.
    """
    allowed = list(data) if fields is None else list(fields)
    concrete = {name for f in instance._meta.concrete_fields for name in (f.name, f.attname)}
    unknown = sorted(set(allowed) - concrete)
    if unknown:
        msg = f"{instance._meta.label} has no concrete field {', '.join(unknown)}"
        raise ValueError(msg)
    changed = [name for name in allowed if name in data and getattr(instance, name) != data[name]]
    if not changed:
        return instance, False

    # savepoint=False: inside the caller's transaction this adds no savepoint; alone, it
    # still puts the save and its audit entry in one transaction.
    with transaction.atomic(savepoint=False):
        # 1.
        before = snapshot(instance)
        # 2.
        for name in changed:
            setattr(instance, name, data[name])
        auto_now = [f.name for f in instance._meta.concrete_fields if getattr(f, "auto_now", False)]
        instance.save(update_fields=[*changed, *(name for name in auto_now if name not in changed)])
        # 3.
        after = snapshot(instance)
        visible = {key for key in before.keys() | after.keys() if before.get(key) != after.get(key)}
        visible.discard("updated_at")  # as audit_record: a bumped timestamp is not a change to show
        if visible:
            audit_record(actor=actor, action=action, instance=instance, before=before, after=after, reason=reason)
        else:
            audit_record(actor=actor, action=action, instance=instance, reason=reason)
    return instance, True
