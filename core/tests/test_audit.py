"""The audit log is append-only: in the ORM, and on PostgreSQL in the database itself."""

from __future__ import annotations

import pytest
from django.db import InternalError, connection, transaction

from core.masking import mask_address, mask_email, mask_id_number, mask_name, mask_phone, mask_value
from core.models import AppendOnlyError, AuditEntry


@pytest.fixture
def entry(db: None) -> AuditEntry:
    return AuditEntry.objects.create(
        actor="system:tests",
        action=AuditEntry.Action.CREATE,
        object_type="tests.thing",
        object_id="1",
        object_repr="a thing",
        after={"name": "first"},
    )


def _stored(entry: AuditEntry) -> tuple[str, object, str]:
    row = AuditEntry.objects.values_list("actor", "after", "action").get(pk=entry.pk)
    return row[0], row[1], row[2]


def test_an_entry_cannot_be_saved_again(entry: AuditEntry) -> None:
    entry.actor = "someone else"

    with pytest.raises(AppendOnlyError):
        entry.save()

    assert _stored(entry) == ("system:tests", {"name": "first"}, "create")


def test_an_entry_cannot_be_deleted(entry: AuditEntry) -> None:
    with pytest.raises(AppendOnlyError):
        entry.delete()

    assert AuditEntry.objects.filter(pk=entry.pk).exists()


def test_entries_cannot_be_updated_or_deleted_in_bulk(entry: AuditEntry) -> None:
    with pytest.raises(AppendOnlyError):
        AuditEntry.objects.filter(pk=entry.pk).update(actor="someone else")
    with pytest.raises(AppendOnlyError):
        AuditEntry.objects.filter(pk=entry.pk).delete()
    with pytest.raises(AppendOnlyError):
        AuditEntry.objects.all().delete()

    assert _stored(entry) == ("system:tests", {"name": "first"}, "create")


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the trigger exists on PostgreSQL")
@pytest.mark.parametrize(
    "statement",
    [
        pytest.param("UPDATE core_auditentry SET actor = 'forger' WHERE id = %s", id="update"),
        pytest.param("DELETE FROM core_auditentry WHERE id = %s", id="delete"),
    ],
)
def test_the_database_refuses_raw_sql_changes(entry: AuditEntry, statement: str) -> None:
    with pytest.raises(InternalError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(statement, [entry.pk])

    assert _stored(entry) == ("system:tests", {"name": "first"}, "create")


def test_the_database_still_accepts_new_entries(entry: AuditEntry) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO core_auditentry (at, actor, action, object_type, object_id, object_repr, reason) "
            "VALUES (now(), 'system:tests', 'create', 'tests.thing', '2', 'another', '')"
        )

    assert AuditEntry.objects.count() == 2


# --- Masking ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value", "masked"),
    [
        ("contact_phone", "13812345678", "138****5678"),
        ("tel", "1234567", "1******"),
        ("contact_email", "zhangsan@example.com", "z*******@example.com"),
        ("contact_name", "张三丰", "张**"),
        ("buyer_id_number", "110101199003078515", "110*************15"),
        ("consignee_address", "浙江省杭州市西湖区文三路100号", "浙江省杭州" + "*" * 11),
        ("contact_name", "", ""),
        ("contact_name", None, None),
        ("amount", 12, "***"),
    ],
)
def test_personal_data_is_masked_by_what_the_field_holds(field: str, value: object, masked: object) -> None:
    assert mask_value(field, value) == masked


def test_short_values_are_masked_too() -> None:
    assert mask_phone("12") == "1*"
    assert mask_name("李") == "李"
    assert mask_email("a@example.com") == "a@example.com"
    assert mask_id_number("12345") == "1****"
    assert mask_address("ab") == "**"
