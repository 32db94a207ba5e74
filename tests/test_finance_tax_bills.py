"""Customs' tax bills (CEB816) and their status changes (CEB818), posted as customs posts them
to ``/api/v1/webhooks/customs`` and applied by finance: stored per list with their items,
reconciled against the single window's estimate, charged to the guarantor's account, and
freed when customs voids the bill or the summarised bill is paid.
"""

# The fixtures of the receipts tests are imported by name, and pytest hands them in by name.
# ruff: noqa: F811

from __future__ import annotations

import datetime
import uuid
from collections.abc import Mapping
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from lxml import etree

from core.audit import Actor
from declarations import selectors
from declarations.customs import xml
from declarations.intake import examples
from declarations.models import Inventory, InventoryStatus, TaxEstimate, TaxEstimateItem
from declarations.tests.test_receipts import INVT_NO, agent, customs, declared, deliver, make_list  # noqa: F401
from finance import bills, guarantees
from finance.models import GuaranteeAccount, GuaranteeReservation, TaxBill, TaxBillStatusChange
from finance.models.guarantees import ReservationState
from single_window.models import Enterprise, Event, Role
from tests.factories import EnterpriseFactory
from tests.partner_webhooks import SigningPartner, post_webhook, register_partner, signed_headers

S = InventoryStatus
CST = ZoneInfo("Asia/Shanghai")
HEAD = examples.INVENTORY
TAX_NO = f"TAX{INVT_NO}"

pytestmark = pytest.mark.django_db


def ceb(name: str) -> str:
    return f"{{{xml.CEB_NS}}}{name}"


def _message(root_name: str) -> etree._Element:
    return etree.Element(
        ceb(root_name), {"guid": str(uuid.uuid4()).upper(), "version": "1.0"}, nsmap={"ceb": xml.CEB_NS}
    )


def _add(parent: etree._Element, values: Mapping[str, object]) -> None:
    for name, value in values.items():
        if value is not None:
            etree.SubElement(parent, ceb(name)).text = str(value)


def valid(root: etree._Element) -> bytes:
    schema = xml.customs_schema()
    assert schema.validate(root.getroottree()), schema.error_log
    body: bytes = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    return body


def ceb816(customs_tax: str, vat: str, consumption_tax: str, *, tax_no: str = TAX_NO, status: str = "1") -> bytes:
    """A bill of the example list with one line carrying the whole amounts."""
    root = _message("CEB816Message")
    tax = etree.SubElement(root, ceb("Tax"))
    _add(
        etree.SubElement(tax, ceb("TaxHeadRd")),
        {
            "guid": str(uuid.uuid4()).upper(),
            "returnTime": "20261125160000000",
            "invtNo": INVT_NO,
            "taxNo": tax_no,
            "customsTax": customs_tax,
            "valueAddedTax": vat,
            "consumptionTax": consumption_tax,
            "status": status,
            "assureCode": HEAD["assure_code"],
            "ebcCode": HEAD["ebc_code"],
            "logisticsCode": HEAD["logistics_code"],
            "agentCode": HEAD["agent_code"],
            "customsCode": HEAD["customs_code"],
        },
    )
    _add(
        etree.SubElement(tax, ceb("TaxListRd")),
        {
            "gnum": 1,
            "gcode": HEAD["items"][0]["gcode"],
            "taxPrice": "210.00",
            "customsTax": customs_tax,
            "valueAddedTax": vat,
            "consumptionTax": consumption_tax,
        },
    )
    return valid(root)


def ceb818(
    status: str, *, ent_duty_no: str | None = None, at: str = "20261201090000000", tax_no: str = TAX_NO
) -> bytes:
    root = _message("CEB818Message")
    tax = etree.SubElement(root, ceb("Tax"))
    _add(
        etree.SubElement(tax, ceb("TaxHeadStatus")),
        {
            "guid": str(uuid.uuid4()).upper(),
            "returnTime": at,
            "invtNo": INVT_NO,
            "taxNo": tax_no,
            "status": status,
            "entDutyNo": ent_duty_no,
            "assureCode": HEAD["assure_code"],
        },
    )
    return valid(root)


@pytest.fixture
def released(agent: Enterprise) -> Inventory:
    return make_list(agent, S.RELEASED, invt_no=INVT_NO)


def estimate(inventory: Inventory, customs_tax: str, vat: str, consumption_tax: str) -> TaxEstimate:
    amounts = [Decimal(customs_tax), Decimal(vat), Decimal(consumption_tax)]
    made = TaxEstimate.objects.create(
        inventory=inventory,
        mode=TaxEstimate.Mode.WITHIN_LIMITS,
        dutiable_total=Decimal("210.00"),
        customs_tax=amounts[0],
        value_added_tax=amounts[1],
        consumption_tax=amounts[2],
        tax_total=sum(amounts, Decimal(0)),
    )
    TaxEstimateItem.objects.create(
        estimate=made,
        gnum=1,
        gcode=HEAD["items"][0]["gcode"],
        dutiable_value=Decimal("210.00"),
        customs_tax=amounts[0],
        value_added_tax=amounts[1],
        consumption_tax=amounts[2],
    )
    return made


@pytest.fixture
def account() -> GuaranteeAccount:
    return guarantees.account_create(
        code=HEAD["assure_code"],
        name="担保企业",
        amount=Decimal("1000.00"),
        actor=Actor.system("test"),
        reason="opened",
    )


def test_a_bill_equal_to_the_estimate_is_stored_with_its_items_and_no_differences(
    customs: SigningPartner, released: Inventory
) -> None:
    estimate(released, "0.00", "19.11", "0.00")

    message = deliver(customs, ceb816("0", "19.11000", "0.0"))

    assert (message.state, message.note) == ("applied", f"{TAX_NO}: matches the estimate")
    bill = TaxBill.objects.get()
    assert (bill.inventory_id, bill.list_version, bill.invt_no, bill.status) == (released.pk, 1, INVT_NO, "1")
    assert (bill.customs_tax, bill.value_added_tax, bill.consumption_tax, bill.tax_total) == (
        Decimal(0),
        Decimal("19.11"),
        Decimal(0),
        Decimal("19.11"),
    )
    assert bill.issued_at == datetime.datetime(2026, 11, 25, 16, 0, tzinfo=CST)
    assert bill.estimated_total == Decimal("19.11")
    assert bill.differences == {}
    assert [(i.gnum, i.tax_price, i.value_added_tax) for i in bill.items.all()] == [
        (1, Decimal("210.00"), Decimal("19.11"))
    ]
    event = Event.objects.get(type="inventory.tax_bill", enterprise__customs_code=HEAD["agent_code"])
    assert event.payload["differs_from_estimate"] is False
    assert event.payload["value_added_tax"] == "19.11"


def test_a_bill_that_differs_is_flagged_with_both_figures_per_component_and_item(
    customs: SigningPartner, released: Inventory
) -> None:
    estimate(released, "0.00", "19.11", "0.00")

    message = deliver(customs, ceb816("0", "19.11", "22.05"))

    assert message.note == f"{TAX_NO}: differs from the estimate"
    assert TaxBill.objects.get().differences == {
        "consumption_tax": {"estimate": "0.00", "bill": "22.05"},
        "items": {"1": {"consumption_tax": {"estimate": "0.00", "bill": "22.05"}}},
    }
    event = Event.objects.get(type="inventory.tax_bill", enterprise__customs_code=HEAD["agent_code"])
    assert event.payload["differs_from_estimate"] is True


def test_a_bill_sent_twice_is_kept_and_charged_once(
    customs: SigningPartner, released: Inventory, account: GuaranteeAccount
) -> None:
    estimate(released, "0.00", "19.11", "0.00")

    deliver(customs, ceb816("0", "19.11", "0"))
    deliver(customs, ceb816("0", "19.11", "0"))

    assert TaxBill.objects.count() == 1
    account.refresh_from_db()
    assert account.used == Decimal("19.11")


def test_a_bill_before_its_list_is_numbered_is_kept_then_attached(customs: SigningPartner, declared: Inventory) -> None:
    message = deliver(customs, ceb816("0", "19.11", "0"))

    assert message.note == f"{TAX_NO}: kept until list {INVT_NO} is known"
    assert TaxBill.objects.get().inventory_id is None
    Inventory.objects.filter(pk=declared.pk).update(invt_no=INVT_NO, status=S.RELEASED)

    assert bills.bills_link_sweep() == 1

    assert TaxBill.objects.get().inventory_id == declared.pk
    assert Event.objects.filter(type="inventory.tax_bill").exists()


def test_the_bill_turns_the_reservation_into_use_and_payment_frees_it(
    customs: SigningPartner, released: Inventory, account: GuaranteeAccount
) -> None:
    estimate(released, "0.00", "19.11", "0.00")
    GuaranteeReservation.objects.create(
        inventory_id=released.pk,
        list_version=released.version,
        account=account,
        cop_no=released.cop_no,
        agent_code=released.agent_code,
        ebc_code=released.ebc_code,
        customs_code=released.customs_code,
        estimated_tax=Decimal("19.11"),
        customs_class="regular",
        ratio=Decimal("1.00"),
        amount=Decimal("19.11"),
        state=ReservationState.CONSUMED,
    )
    GuaranteeAccount.objects.filter(pk=account.pk).update(reserved=Decimal("19.11"))

    deliver(customs, ceb816("0", "20.00", "0"))

    account.refresh_from_db()
    assert (account.reserved, account.used, account.available) == (Decimal(0), Decimal("20.00"), Decimal("980.00"))
    assert GuaranteeReservation.objects.get().state == ReservationState.BILLED

    summarised = deliver(customs, ceb818("2"))
    account.refresh_from_db()
    assert summarised.note == f"{TAX_NO}: summarised"
    assert account.used == Decimal("20.00")  # summarised, not yet paid

    paid = deliver(customs, ceb818("2", ent_duty_no="DUTY2026120100001", at="20261202090000000"))
    account.refresh_from_db()
    assert paid.note == f"{TAX_NO}: summarised, paid"
    assert account.used == Decimal(0)
    bill = TaxBill.objects.get()
    assert (bill.status, bill.ent_duty_no, bill.guarantee_effect) == ("2", "DUTY2026120100001", "freed")
    assert (
        Event.objects.filter(type="inventory.tax_bill_status", enterprise__customs_code=HEAD["agent_code"]).count() == 2
    )


def test_a_void_frees_the_guarantee_once_and_is_final(
    customs: SigningPartner, released: Inventory, account: GuaranteeAccount
) -> None:
    deliver(customs, ceb816("0", "19.11", "0"))

    deliver(customs, ceb818("3"))
    late = deliver(customs, ceb818("2", ent_duty_no="DUTY1", at="20261203090000000"))

    account.refresh_from_db()
    assert account.used == Decimal(0)
    assert late.note == f"{TAX_NO}: 2 ignored: void already"
    assert TaxBill.objects.get().status == "3"
    assert [m.kind for m in account.movements.order_by("id")] == ["adjust", "bill", "free"]


def test_a_status_change_before_its_bill_waits_for_it(
    customs: SigningPartner, released: Inventory, account: GuaranteeAccount
) -> None:
    early = deliver(customs, ceb818("3"))

    assert early.note == f"{TAX_NO}: 3 kept until the bill arrives"
    deliver(customs, ceb816("0", "19.11", "0"))

    account.refresh_from_db()
    assert account.used == Decimal(0)
    assert TaxBill.objects.get().status == "3"
    assert TaxBillStatusChange.objects.filter(applied=True).count() == 2


def test_a_payment_company_may_not_send_a_tax_bill(released: Inventory) -> None:
    payer = register_partner("PAY-TEST", "payment")
    body = ceb816("0", "19.11", "0")

    headers = signed_headers(payer.secret, body, message_id=str(uuid.uuid4()))
    at_customs = post_webhook(body, headers)
    at_payments = post_webhook(body, headers, url="/api/v1/webhooks/payments")

    assert at_customs.status_code == 401  # not customs' signature
    assert at_payments.status_code == 403  # a payment company may not send this type
    assert not TaxBill.objects.exists()


def test_the_parcel_trace_shows_the_bill_and_what_differs(customs: SigningPartner, released: Inventory) -> None:
    estimate(released, "0.00", "19.11", "0.00")
    deliver(customs, ceb816("0", "19.11", "22.05"))
    EnterpriseFactory.create(customs_code=HEAD["ebc_code"], roles=[Role.EBC])

    trace = selectors.parcel_trace(enterprise=released.sender, ebp_code=released.ebp_code, order_no=released.order_no)

    assert trace is not None
    assert [bill.tax_no for bill in trace.tax_bills] == [TAX_NO]
    assert trace.tax_bills[0].differs
    assert any(event["type"] == "tax_bill" for event in trace.events)
