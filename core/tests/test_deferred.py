"""Rows recorded inside ``rows_deferred()`` are inserted together when the block ends.

Audit entries stand for any append-only row here; a list's status history goes the same way
(``declarations/tests/test_lifecycle.py``).
"""

from __future__ import annotations

import datetime

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from core.audit import Actor, audit_record
from core.deferred import row_insert, rows_deferred
from core.models import AuditEntry
from single_window.events import atomic_with_events
from single_window.models import Park
from tests.factories import ParkFactory

pytestmark = pytest.mark.django_db

ACTOR = Actor.system("test")


def _inserts(queries: CaptureQueriesContext) -> list[str]:
    return [q["sql"] for q in queries.captured_queries if q["sql"].startswith('INSERT INTO "core_auditentry"')]


def test_outside_a_block_a_row_is_inserted_at_once() -> None:
    park: Park = ParkFactory.create()
    entry = audit_record(actor=ACTOR, action=AuditEntry.Action.CREATE, instance=park)

    assert entry.pk is not None
    assert AuditEntry.objects.filter(pk=entry.pk, object_id=str(park.pk)).exists()


def test_the_rows_of_a_block_are_inserted_in_one_statement_at_its_end() -> None:
    parks: list[Park] = ParkFactory.create_batch(3)
    with CaptureQueriesContext(connection) as queries, transaction.atomic(), rows_deferred():
        entries = [audit_record(actor=ACTOR, action=AuditEntry.Action.CREATE, instance=p) for p in parks]
        assert not AuditEntry.objects.filter(object_type="single_window.park").exists()
        assert all(e.pk is None for e in entries)

    assert len(_inserts(queries)) == 1
    stored = list(AuditEntry.objects.filter(object_type="single_window.park").order_by("pk"))
    assert [e.object_id for e in stored] == [str(p.pk) for p in parks]
    assert all(e.pk is not None for e in entries)


def test_a_row_keeps_the_time_it_was_recorded_not_the_time_it_was_inserted() -> None:
    park: Park = ParkFactory.create()
    with transaction.atomic(), rows_deferred():
        entry = audit_record(actor=ACTOR, action=AuditEntry.Action.CREATE, instance=park)
        recorded = entry.at
        later = timezone.now() + datetime.timedelta(seconds=1)
        entry_later = row_insert(AuditEntry(actor="system:test", action=AuditEntry.Action.UPDATE, at=later))

    assert AuditEntry.objects.get(pk=entry.pk).at == recorded
    assert AuditEntry.objects.get(pk=entry_later.pk).at == later


def test_a_nested_block_leaves_its_rows_to_the_outer_one() -> None:
    park: Park = ParkFactory.create()
    with transaction.atomic(), rows_deferred() as outer:
        with rows_deferred() as inner:
            audit_record(actor=ACTOR, action=AuditEntry.Action.CREATE, instance=park)
        assert inner is outer
        assert not AuditEntry.objects.filter(object_id=str(park.pk)).exists()

    assert AuditEntry.objects.filter(object_id=str(park.pk)).count() == 1


def _record_then_fail(park: Park) -> None:
    audit_record(actor=ACTOR, action=AuditEntry.Action.CREATE, instance=park)
    raise RuntimeError


def test_a_block_ended_by_an_exception_inserts_nothing() -> None:
    park: Park = ParkFactory.create()
    with pytest.raises(RuntimeError), transaction.atomic(), rows_deferred():
        _record_then_fail(park)

    assert not AuditEntry.objects.filter(object_id=str(park.pk)).exists()


def test_a_savepoint_rolled_back_drops_its_rows_and_keeps_the_others() -> None:
    kept, dropped = ParkFactory.create_batch(2)
    with transaction.atomic(), rows_deferred():
        audit_record(actor=ACTOR, action=AuditEntry.Action.CREATE, instance=kept)
        with pytest.raises(RuntimeError), atomic_with_events():
            _record_then_fail(dropped)

    assert AuditEntry.objects.filter(object_id=str(kept.pk)).count() == 1
    assert not AuditEntry.objects.filter(object_id=str(dropped.pk)).exists()
