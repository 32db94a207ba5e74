"""Writing the audit log. Call ``audit_record`` inside the transaction of the change."""

from __future__ import annotations

import datetime
import decimal
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import models

from core.deferred import row_insert
from core.masking import mask_value
from core.models import AuditEntry


@dataclass(frozen=True)
class Actor:
    """Who made a change: a regulator in the admin, an enterprise over the API, or a command."""

    label: str
    user_id: int | None = None
    enterprise_id: int | None = None

    @classmethod
    def system(cls, name: str) -> Actor:
        return cls(label=f"system:{name}")


def _plain(value: Any) -> Any:
    if isinstance(value, datetime.datetime | datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, list | tuple | set):
        return [_plain(v) for v in value]
    return value


def snapshot(instance: models.Model, *, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """The audit view of a row: concrete fields, secrets left out, personal data masked.

    A model lists its fields in ``audit_masked`` (personal data) and ``audit_excluded``
    (secrets, digests, ciphertexts).
    """
    masked: Iterable[str] = getattr(instance, "audit_masked", ())
    excluded: Iterable[str] = getattr(instance, "audit_excluded", ())
    data: dict[str, Any] = {}
    for field in instance._meta.concrete_fields:
        if field.name in excluded:
            continue
        value = getattr(instance, field.attname)
        data[field.name] = mask_value(field.name, value) if field.name in masked else _plain(value)
    for key, value in (extra or {}).items():
        data[key] = _plain(value)
    return data


def audit_record(
    *,
    actor: Actor,
    action: str,
    instance: models.Model,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    reason: str = "",
) -> AuditEntry:
    if before is not None and after is not None:
        changed = {k for k in before.keys() | after.keys() if before.get(k) != after.get(k)}
        changed.discard("updated_at")
        if not changed and action == AuditEntry.Action.UPDATE:
            # Nothing a reader would see changed; an empty entry is noise.
            return AuditEntry(actor=actor.label, action=action)
        before = {k: before.get(k) for k in sorted(changed)}
        after = {k: after.get(k) for k in sorted(changed)}
    entry = AuditEntry(
        actor=actor.label[:200],
        actor_user_id=actor.user_id,
        actor_enterprise_id=actor.enterprise_id,
        action=action,
        object_type=instance._meta.label_lower,
        object_id=str(instance.pk),
        object_repr=str(instance)[:200],
        before=before,
        after=after,
        reason=reason[:300],
    )
    # Inserted now, or with the others at the end of a ``core.deferred.rows_deferred`` block.
    return row_insert(entry)
