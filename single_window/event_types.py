"""The register of event types: what an enterprise may be told about, by name.

The hub knows no system, so it cannot list the types: each app registers the types it
publishes in its ``AppConfig.ready`` (the hub its own ``outbox.dead_letter``). The hub checks
against this register when an event is published, when an endpoint subscribes, and when the
OpenAPI description lists the types (``EventTypeEnum``). A name registered twice is a start-up
error: two systems publishing one type would give a subscriber one name with two meanings, and
which registration won would depend on the order of ``INSTALLED_APPS``.
"""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured
from django.utils.functional import Promise

# Event.type's max_length: a longer name could never be stored.
NAME_MAX_LENGTH = 64

_TYPES: dict[str, str | Promise] = {}


def register_event_type(name: str, label: str | Promise) -> None:
    """Called once per type at start-up by the app that publishes it; again is an error."""
    if not name or len(name) > NAME_MAX_LENGTH:
        msg = f"an event type needs a name of 1 to {NAME_MAX_LENGTH} characters, not {name!r}"
        raise ImproperlyConfigured(msg)
    if name in _TYPES:
        msg = f"the event type {name!r} is already registered"
        raise ImproperlyConfigured(msg)
    _TYPES[name] = label


def is_registered(name: str) -> bool:
    return name in _TYPES


def event_type_names() -> tuple[str, ...]:
    """The registered names, sorted: the order does not depend on which app loaded first."""
    return tuple(sorted(_TYPES))


def event_type_choices() -> list[tuple[str, str | Promise]]:
    """``(name, label)`` pairs in name order, for choice fields and the OpenAPI enum.

    Named by ``SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"]``: drf-spectacular calls it when it
    builds the schema, after every app has registered its types.
    """
    return [(name, _TYPES[name]) for name in event_type_names()]
