"""The registry's hot rows, kept a few seconds in each process.

Every API request reads its key and the key's owner (the enterprise with its park and roles,
or a regulator); many also read enterprises by code and appointments. These rows change
seldom, so each process keeps what it read as immutable snapshots (``CACHE``, a
``core.process_cache.ProcessCache``) and builds new model instances from them for every
caller: no two callers share a mutable instance, and a caller may save the one it got.

How stale a read may be (``core.process_cache`` has the mechanism):

1. An entry is served at most ``REGISTRY_CACHE_SECONDS`` (default 5) after the database gave
   its values, whatever else happens: Redis away, or a change that sends no signal
   (``QuerySet.update``, SQL). This is the bound. ``0`` turns the cache off.
2. A change saved through the ORM (the services and the admin: ``post_save`` and
   ``post_delete`` of the models ``watched_models`` names, connected in
   ``SingleWindowConfig.ready``) empties this process's cache at once and again when its
   transaction commits, and announces itself in Redis when it commits.
3. The other processes look for that announcement at most every
   ``REGISTRY_CACHE_CHECK_SECONDS`` (default 1), so they usually see the change within that
   interval; with Redis away, within the bound of (1).
4. A transaction that changed the registry reads the database, not the cache, until it
   commits: it sees its own writes, and nothing it wrote is cached before it is committed.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any, TypeVar

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, models

from core.process_cache import ProcessCache
from single_window.models import (
    ApiKey,
    Appointment,
    Enterprise,
    EnterpriseCertificate,
    EnterpriseRole,
    EnterpriseSigningKey,
    Park,
)

ModelT = TypeVar("ModelT", bound=models.Model)

CACHE = ProcessCache(
    name="registry",
    seconds=lambda: float(settings.REGISTRY_CACHE_SECONDS),
    check_seconds=lambda: float(settings.REGISTRY_CACHE_CHECK_SECONDS),
)


def registry_changed(**_signal: Any) -> None:
    """Receiver of ``post_save`` and ``post_delete`` of the models ``watched_models`` names."""
    CACHE.changed()


def watched_models() -> tuple[type[models.Model], ...]:
    """The models snapshots are made of: a change to any of them empties the caches."""
    return (
        ApiKey,
        Enterprise,
        EnterpriseRole,
        Park,
        Appointment,
        EnterpriseSigningKey,
        EnterpriseCertificate,
        _user_model(),
    )


# --- Snapshots -----------------------------------------------------------------------------


def _user_model() -> type[models.Model]:
    model: type[models.Model] = ApiKey._meta.get_field("user").related_model
    return model


@functools.cache
def field_names(model: type[models.Model]) -> tuple[str, ...]:
    """The model's concrete fields, in the order ``Model.from_db`` takes their values."""
    return tuple(field.attname for field in model._meta.concrete_fields)


@functools.cache
def lookups(model: type[models.Model], path: str = "") -> tuple[str, ...]:
    """``values_list`` names of the model's concrete fields, through ``path`` (a relation)."""
    prefix = f"{path}__" if path else ""
    return tuple(f"{prefix}{field.name}" for field in model._meta.concrete_fields)


def _instance(model: type[ModelT], values: tuple[Any, ...]) -> ModelT:
    return model.from_db(DEFAULT_DB_ALIAS, list(field_names(model)), values)


def _pk(model: type[models.Model], values: tuple[Any, ...]) -> Any:
    return values[field_names(model).index(model._meta.pk.attname)]


@dataclass(frozen=True)
class EnterpriseSnapshot:
    """An enterprise row, its park's row and its roles (``EnterpriseRole`` id and role)."""

    values: tuple[Any, ...]
    park: tuple[Any, ...] | None
    roles: tuple[tuple[int, str], ...]

    @property
    def pk(self) -> int:
        return int(_pk(Enterprise, self.values))

    @property
    def codes(self) -> tuple[str, ...]:
        names = field_names(Enterprise)
        found = (self.values[names.index("customs_code")], self.values[names.index("uscc")])
        return tuple(code for code in found if code)

    def build(self) -> Enterprise:
        """A new ``Enterprise`` as a query would load it: park selected, roles prefetched."""
        enterprise = _instance(Enterprise, self.values)
        enterprise.park = _instance(Park, self.park) if self.park is not None else None
        roles = [_instance(EnterpriseRole, (role_id, enterprise.pk, role)) for role_id, role in self.roles]
        for role in roles:
            role.enterprise = enterprise
        # What prefetch_related("role_set") leaves: enterprise.roles and has_role() query nothing.
        queryset = enterprise.role_set.all()
        queryset._result_cache = roles
        queryset._prefetch_done = True  # type: ignore[attr-defined]
        enterprise._prefetched_objects_cache = {"role_set": queryset}  # type: ignore[attr-defined]
        return enterprise


def enterprise_snapshots(rows: Iterable[tuple[Any, ...]], *, start: int = 0) -> list[EnterpriseSnapshot]:
    """Snapshots from rows of ``enterprise_row_lookups()`` (one row per role), from column
    ``start`` of each row; rows with no enterprise there are skipped."""
    n_enterprise, n_park = len(field_names(Enterprise)), len(field_names(Park))
    found: dict[int, tuple[tuple[Any, ...], tuple[Any, ...] | None, list[tuple[int, str]]]] = {}
    for row in rows:
        values = tuple(row[start : start + n_enterprise])
        park = tuple(row[start + n_enterprise : start + n_enterprise + n_park])
        role_id, role = row[start + n_enterprise + n_park : start + n_enterprise + n_park + 2]
        pk = _pk(Enterprise, values)
        if pk is None:
            continue
        entry = found.setdefault(pk, (values, park if _pk(Park, park) is not None else None, []))
        if role_id is not None:
            entry[2].append((role_id, role))
    return [
        EnterpriseSnapshot(values=values, park=park, roles=tuple(sorted(roles)))
        for values, park, roles in found.values()
    ]


def enterprise_row_lookups(path: str = "") -> tuple[str, ...]:
    """What ``values_list`` reads for ``enterprise_snapshots``: the enterprise, its park, and
    one role per row, all in one query."""
    prefix = f"{path}__" if path else ""
    return (
        *lookups(Enterprise, path),
        *lookups(Park, f"{prefix}park"),
        f"{prefix}role_set__id",
        f"{prefix}role_set__role",
    )


@dataclass(frozen=True)
class ApiKeySnapshot:
    """A key row and its owner: an enterprise snapshot or a regulator's row."""

    values: tuple[Any, ...]
    enterprise: EnterpriseSnapshot | None
    user: tuple[Any, ...] | None

    def build(self) -> ApiKey:
        """A new ``ApiKey`` with ``enterprise`` and ``user`` loaded."""
        api_key = _instance(ApiKey, self.values)
        api_key.enterprise = self.enterprise.build() if self.enterprise is not None else None
        api_key.user = _instance(_user_model(), self.user) if self.user is not None else None  # type: ignore[assignment]
        return api_key

    def used_at(self, moment: Any) -> ApiKeySnapshot:
        values = list(self.values)
        values[field_names(ApiKey).index("last_used_at")] = moment
        return replace(self, values=tuple(values))


def api_key_entry(digest: str) -> tuple[str, str]:
    """The cache key of the key with this digest."""
    return ("api_key", digest)


def note_api_key_used(*, digest: str, at: Any) -> None:
    """The cached key was used ``at`` (``last_used_at`` written): kept until it expires."""
    CACHE.replace(api_key_entry(digest), lambda snapshot: snapshot.used_at(at))


def api_key_row_lookups() -> tuple[str, ...]:
    return (*lookups(ApiKey), *enterprise_row_lookups("enterprise"), *lookups(_user_model(), "user"))


def api_key_snapshot(rows: list[tuple[Any, ...]]) -> ApiKeySnapshot | None:
    """The snapshot of one key from its rows of ``api_key_row_lookups()`` (one per role)."""
    if not rows:
        return None
    n_key = len(field_names(ApiKey))
    n_owner = len(enterprise_row_lookups("enterprise"))
    enterprises = enterprise_snapshots(rows, start=n_key)
    user = tuple(rows[0][n_key + n_owner :])
    return ApiKeySnapshot(
        values=tuple(rows[0][:n_key]),
        enterprise=enterprises[0] if enterprises else None,
        user=user if _pk(_user_model(), user) is not None else None,
    )
