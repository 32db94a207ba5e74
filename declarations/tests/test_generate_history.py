"""``manage.py generate_history``: historical parcels written with COPY for the scale curve.

Each history is checked the way the product would read it: matching's rules and the tax
calculation pass on every parcel, each list's status history follows the lifecycle and ends
in its status, the buyers' quota rows add up to their reservations, ID numbers decrypt to
valid numbers with the stored hash, and the API serves a list to its agent. COPY skips the
foreign keys' checks as a restore does, so every reference is checked here.
"""

from __future__ import annotations

import datetime
import io
from collections import defaultdict
from collections.abc import Iterator
from decimal import Decimal
from typing import TYPE_CHECKING

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, models
from django.utils import timezone

from core.crypto import decrypt_text
from declarations.clearance import lifecycle, match_rules, matching
from declarations.history import services
from declarations.history.services import HistoryError, history_generate
from declarations.intake.identity import id_number_hash, is_valid_resident_id, masked_id_number
from declarations.models import (
    BuyerYearQuota,
    Inventory,
    InventoryCancellation,
    InventoryStatus,
    InventoryStatusChange,
    Order,
    Payment,
    PositiveListEntry,
    QuotaReservation,
    StatusChangeSource,
    TaxEstimate,
    Waybill,
)
from declarations.reference.tables import tax_rates_for
from declarations.tax import calculation as tax
from declarations.tests.helpers import AGENT_CODE, Send, detail_url
from finance.models import TaxBill
from tests.factories import Persona

if TYPE_CHECKING:
    from rest_framework.test import APIClient

pytestmark = pytest.mark.usefixtures("parties")

S = InventoryStatus
State = QuotaReservation.State
# The customs' receipts each final status needs, at least.
RECEIPTS_OF: dict[str, set[str]] = {
    S.RELEASED: {"2", "120", "800"},
    S.CLOSED: {"2", "120", "800", "899"},
    S.CANCELLED: {"2", "120", "800"},
    S.REJECTED: {"2", "100"},
    S.RETURNED: {"2", "120", "500", "700"},
}
CHINA = datetime.timezone(datetime.timedelta(hours=8))


def lists_of(prefix: str) -> models.QuerySet[Inventory]:
    return Inventory.objects.filter(cop_no__startswith=prefix).order_by("id")


def check_history_follows_the_lifecycle(inventory: Inventory) -> None:
    """Each row moves the list from where the one before left it, as the lifecycle allows; a
    receipt is applied exactly when ``receipt_decision`` would apply it."""
    current = ""
    for change in InventoryStatusChange.objects.filter(inventory=inventory).order_by("created_at", "id"):
        assert change.from_status == current, (inventory.cop_no, change)
        if change.source == StatusChangeSource.CUSTOMS_RECEIPT:
            target = lifecycle.receipt_state(change.receipt_code)
            result, _reason = lifecycle.receipt_decision(current=current, target=target)
            assert change.applied == (result is not lifecycle.ReceiptResult.IGNORED), (inventory.cop_no, change)
            assert change.to_status == (target or current)
            assert change.message_id
            assert change.receipt_time is not None
            assert change.receipt_time <= change.created_at
            if result is lifecycle.ReceiptResult.APPLIED:
                current = change.to_status
        else:
            assert change.applied
            if current:
                assert change.to_status in lifecycle.TRANSITIONS[current], (inventory.cop_no, change)
            else:
                assert change.to_status in lifecycle.ENTRY_STATES
            current = change.to_status
    assert current == inventory.status


def check_documents_match(inventory: Inventory) -> None:
    """The list's order, payment and waybill are there, declared, and pass every document rule;
    its goods are on the positive list with rates in their legal units."""
    order, payment, waybill = matching.parcel_documents(inventory)
    assert order is not None
    assert payment is not None
    assert waybill is not None
    assert order.items.count() == inventory.items.count() >= 1
    outcomes = match_rules.evaluate(match_rules.Parcel(inventory, order, payment, waybill))
    assert [o for o in outcomes if not o.passed] == [], inventory.cop_no
    items = list(inventory.items.all())
    rates = tax_rates_for(item.gcode for item in items)
    on_list = set(PositiveListEntry.objects.values_list("tariff_line", flat=True))
    for item in items:
        assert item.gcode[:8] in on_list
        assert not rates[item.gcode].legal_unit1 or item.unit1 == rates[item.gcode].legal_unit1
    for document in (order, payment, waybill):
        assert (document.customs_status, document.customs_holds) == ("120", True)
        assert document.created_at < inventory.created_at


def check_tax(inventory: Inventory) -> None:
    """The stored estimate is the tax calculation's, item by item."""
    estimate = TaxEstimate.objects.filter(inventory=inventory).prefetch_related("items").first()
    if inventory.status == S.MATCH_FAILED:
        assert estimate is None
        return
    assert estimate is not None
    items = [
        tax.TaxItem(
            gnum=i.gnum,
            gcode=i.gcode,
            qty=i.qty,
            unit=i.unit,
            total_price=i.total_price,
            qty1=i.qty1,
            unit1=i.unit1,
            qty2=i.qty2,
            unit2=i.unit2 or None,
        )
        for i in inventory.items.all()
    ]
    expected = tax.tax_estimate(
        items=items,
        rates=tax_rates_for(i.gcode for i in items),
        freight=inventory.freight,
        insured_fee=inventory.insured_fee,
        mode=tax.Mode(estimate.mode),
    )
    assert (estimate.customs_tax, estimate.value_added_tax, estimate.consumption_tax) == (
        expected.customs_tax,
        expected.value_added_tax,
        expected.consumption_tax,
    )
    assert estimate.dutiable_total == expected.dutiable_total
    assert [(i.gnum, i.dutiable_value, i.value_added_tax) for i in estimate.items.all()] == [
        (i.gnum, i.dutiable_value, i.value_added_tax) for i in expected.items
    ]
    order, _payment, _waybill = matching.parcel_documents(inventory)
    assert order is not None
    assert order.tax_total == estimate.tax_total


def check_id_numbers(inventory: Inventory) -> None:
    order, payment, _waybill = matching.parcel_documents(inventory)
    assert order is not None
    assert payment is not None
    for encrypted, digest in (
        (inventory.buyer_id_number_encrypted, inventory.buyer_id_hash),
        (order.buyer_id_number_encrypted, order.buyer_id_hash),
        (payment.payer_id_number_encrypted, payment.payer_id_hash),
    ):
        number = decrypt_text(encrypted)
        assert is_valid_resident_id(number)
        assert id_number_hash(number) == digest


def check_quotas(prefix: str) -> None:
    """Each list's reservation follows its status, and each quota row holds exactly what its
    reservations reserved and consumed, for the buyer and the year the list was declared in."""
    held: dict[int, list[Decimal]] = defaultdict(lambda: [Decimal(0), Decimal(0)])
    for reservation in QuotaReservation.objects.filter(inventory__cop_no__startswith=prefix).select_related(
        "inventory", "quota"
    ):
        inventory, quota = reservation.inventory, reservation.quota
        assert quota.buyer_id_hash == inventory.buyer_id_hash
        assert quota.year == inventory.app_time.astimezone(CHINA).year
        assert reservation.amount == TaxEstimate.objects.get(inventory=inventory).dutiable_total
        if inventory.status in (S.RELEASED, S.CLOSED):
            assert reservation.state == State.CONSUMED
            held[quota.pk][1] += reservation.amount
        elif inventory.status in (S.REJECTED, S.CANCELLED, S.RETURNED):
            assert reservation.state == State.RELEASED
        else:
            assert reservation.state == State.RESERVED
            held[quota.pk][0] += reservation.amount
    assert not QuotaReservation.objects.filter(inventory__cop_no__startswith=prefix, inventory__status=S.MATCH_FAILED)
    for quota in BuyerYearQuota.objects.filter(reservations__inventory__cop_no__startswith=prefix).distinct():
        assert [quota.reserved, quota.consumed] == held[quota.pk], quota


def dangling_references() -> list[str]:
    """Foreign keys of the history's tables that name no row."""
    found = []
    for table in services.TABLES:
        for field in table.model._meta.concrete_fields:
            if isinstance(field, models.ForeignKey):
                target = field.related_model._default_manager.values("pk")
                missing = table.model._default_manager.exclude(**{f"{field.name}__isnull": True}).exclude(
                    **{f"{field.attname}__in": target}
                )
                if missing.exists():
                    found.append(f"{table.name}.{field.column}")
    return found


def test_it_writes_complete_parcels_that_the_product_would_have_made() -> None:
    result = history_generate(lists=300, seed=7, days=20, chunk=120)

    assert result.lists == 300
    assert result.prefix == "H07"
    inventories = list(lists_of("H07"))
    assert len(inventories) == 300
    for model in (Order, Payment, Waybill):
        key = "order_no" if model is not Waybill else "logistics_no"
        assert model._default_manager.filter(**{f"{key}__startswith": "H07"}).count() == 300
    assert sum(result.statuses.values()) == 300
    assert result.statuses.get(S.RELEASED, 0) + result.statuses.get(S.CLOSED, 0) > 200
    for inventory in inventories:
        check_documents_match(inventory)
        check_history_follows_the_lifecycle(inventory)
        check_tax(inventory)
        check_id_numbers(inventory)
        codes = set(inventory.status_changes.values_list("receipt_code", flat=True))
        assert RECEIPTS_OF.get(inventory.status, set()) <= codes, inventory.cop_no
        assert bool(inventory.invt_no) == ("120" in codes)
    check_quotas("H07")
    assert dangling_references() == []


def test_released_lists_have_their_tax_bill_and_cancelled_ones_their_request() -> None:
    history_generate(lists=300, seed=8, days=200)

    for inventory in lists_of("H08").filter(status__in=[S.CLOSED, S.CANCELLED]):
        bill = TaxBill.objects.get(inventory_id=inventory.pk)
        assert bill.invt_no == inventory.invt_no
        assert bill.differences == {}
    for inventory in lists_of("H08").filter(status=S.CANCELLED):
        assert InventoryCancellation.objects.get(inventory=inventory).status == InventoryCancellation.Status.ACCEPTED
    rejected = lists_of("H08").filter(status=S.REJECTED).values("pk")
    assert not TaxBill.objects.filter(inventory_id__in=rejected).exists()


def test_lists_of_the_last_hours_are_still_with_customs() -> None:
    history_generate(lists=200, seed=9, days=1, now=timezone.now())

    statuses = set(lists_of("H09").values_list("status", flat=True))
    assert statuses & {S.DECLARED, S.ACCEPTED, S.MANUAL_REVIEW, S.INSPECTION}
    check_quotas("H09")


def test_the_owning_agent_reads_a_history_list_through_the_api(agent_client: APIClient) -> None:
    history_generate(lists=100, seed=10, days=30)
    inventory = lists_of("H10").filter(agent_code=AGENT_CODE, status=S.RELEASED).first()
    assert inventory is not None

    response = agent_client.get(detail_url("inventory", inventory.pk))

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["cop_no"], body["status"], body["invt_no"]) == (inventory.cop_no, "released", inventory.invt_no)
    number = decrypt_text(inventory.buyer_id_number_encrypted)
    assert body["buyer_id_number"] == masked_id_number(number) != number
    assert body["tax_estimate"]["tax_total"] == str(TaxEstimate.objects.get(inventory=inventory).tax_total)
    assert [item["gnum"] for item in body["items"]] == list(range(1, len(body["items"]) + 1))


def test_an_outsider_does_not_see_a_history_list(clients: dict[str, APIClient]) -> None:
    history_generate(lists=50, seed=11, days=30)
    inventory = lists_of("H11").filter(agent_code=AGENT_CODE).first()
    assert inventory is not None

    assert clients["outsider"].get(detail_url("inventory", inventory.pk)).status_code == 404


def test_a_second_history_with_another_seed_does_not_collide() -> None:
    history_generate(lists=150, seed=12, days=60)
    history_generate(lists=150, seed=13, days=60)

    first, second = (
        set(lists_of("H12").values_list("cop_no", flat=True)),
        set(lists_of("H13").values_list("cop_no", flat=True)),
    )
    assert len(first) == len(second) == 150
    assert not first & second
    check_quotas("H12")
    check_quotas("H13")
    assert dangling_references() == []


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("reseed_after_flush")
def test_outside_a_transaction_the_next_chunk_is_planned_while_one_is_written(monkeypatch: pytest.MonkeyPatch) -> None:
    made_ahead = []
    original = services._made_ahead

    def spy(chunks: Iterator[services.Chunk]) -> Iterator[services.Chunk]:
        made_ahead.append(True)
        return original(chunks)

    monkeypatch.setattr(services, "_made_ahead", spy)

    result = history_generate(lists=130, seed=18, days=30, chunk=50)

    assert made_ahead == [True]
    assert result.rows[Inventory._meta.db_table] == lists_of("H18").count() == 130
    check_quotas("H18")
    assert dangling_references() == []


def test_without_leave_to_skip_triggers_the_foreign_keys_are_checked_as_usual(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(services, "_may_skip_triggers", lambda: False)

    history_generate(lists=60, seed=19, days=30, chunk=25)

    assert lists_of("H19").count() == 60
    check_quotas("H19")


def test_a_chunk_is_given_up_when_other_work_added_one_of_its_quota_rows_meanwhile() -> None:
    live = BuyerYearQuota.objects.create(buyer_id_hash="a" * 64, year=2026, consumed=Decimal("100.00"))
    chunk = services.Chunk(parcels=[], data={table.name: b"" for table in services.TABLES})
    chunk.data[services.QUOTA.name] = f"{live.pk + 1000}\t{'a' * 64}\t2026\t0.00\t50.00\n".encode()

    with pytest.raises(HistoryError, match="added by other work"):
        services._copy_chunk(chunk, skip_triggers=False)

    live.refresh_from_db()
    assert live.consumed == Decimal("100.00")


def test_the_same_seed_is_refused_a_second_time() -> None:
    history_generate(lists=20, seed=14)

    with pytest.raises(HistoryError, match="seed 14 is stored already"):
        history_generate(lists=20, seed=14)
    assert lists_of("H14").count() == 20


def test_documents_sent_after_the_history_get_higher_ids(send: Send) -> None:
    history_generate(lists=60, seed=15, days=30)
    highest = {model: model._default_manager.aggregate(top=models.Max("id"))["top"] for model in (Order, Inventory)}

    order = send("order")
    for kind in ("payment", "waybill"):
        assert send(kind).status_code == 201
    inventory = send("inventory")

    assert order.status_code == inventory.status_code == 201, (order.content, inventory.content)
    assert order.json()["id"] > highest[Order]
    assert inventory.json()["id"] > highest[Inventory]
    assert InventoryStatusChange.objects.filter(inventory_id=inventory.json()["id"]).exists()


def test_the_history_writes_every_column_a_row_needs() -> None:
    assert services.tables_unknown_columns() == []


def test_the_command_reports_its_progress_and_speed() -> None:
    out = io.StringIO()

    call_command("generate_history", lists=40, seed=16, chunk=25, stdout=out)

    text = out.getvalue()
    assert "chunk 2/2: 40 lists" in text
    assert "rows/s" in text
    assert "keys H16" in text


def test_the_command_refuses_a_seed_outside_two_digits() -> None:
    with pytest.raises(CommandError, match="--seed must be from 0 to 99"):
        call_command("generate_history", lists=10, seed=100)


def test_the_command_refuses_a_database_that_is_not_postgresql(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(connection, "vendor", "sqlite")

    with pytest.raises(CommandError, match="PostgreSQL's COPY"):
        call_command("generate_history", lists=10)
    monkeypatch.undo()
    assert not Inventory.objects.filter(cop_no__startswith="H00").exists()


def test_registered_parties_are_used_and_a_handful_added(ebc: Persona, agent: Persona) -> None:
    history_generate(lists=120, seed=17, days=30)

    sellers = set(lists_of("H17").values_list("ebc_code", flat=True))
    agents = set(lists_of("H17").values_list("agent_code", flat=True))
    assert ebc.enterprise.code in sellers
    assert agent.enterprise.code in agents
    assert len(sellers) > 1
