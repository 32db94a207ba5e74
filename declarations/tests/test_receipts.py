"""Customs calling back: CEB622 receipts and CEB624 answers
posted to ``/api/v1/webhooks/customs``, stored by the hub's inbox and applied by the handlers
``declarations`` registered: the list moves through its lifecycle. (Tax bills are finance's:
``tests/test_finance_tax_bills.py``.)

The XML is written here from the customs schema (the simulator's builders were the model, not a
dependency) and checked against ``declarations.customs.xml.customs_schema()`` before it is sent.
"""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Mapping
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from lxml import etree

from declarations.clearance import lifecycle
from declarations.customs import gateway, receipt_codes, xml
from declarations.intake import examples
from declarations.intake.identity import protect_id_number
from declarations.intake.serializers import InventoryInput
from declarations.models import (
    Inventory,
    InventoryCancellation,
    InventoryStatus,
    InventoryStatusChange,
)
from single_window import error_codes, tasks
from single_window.models import Enterprise, Event, InboxMessage, PartnerKind, Role
from tests.factories import EnterpriseFactory, assert_problem
from tests.partner_webhooks import SigningPartner, new_message_id, post_webhook, register_partner, signed_headers

S = InventoryStatus
CST = ZoneInfo("Asia/Shanghai")
HEAD = examples.INVENTORY
INVT_NO = "290120261000000001"
PRE_NO = "B20261125000000001"

pytestmark = pytest.mark.django_db


# --- Customs XML, from the schema -------------------------------------------------------------------


def ceb(name: str) -> str:
    return f"{{{xml.CEB_NS}}}{name}"


def guid() -> str:
    return str(uuid.uuid4()).upper()


def _message(root_name: str) -> etree._Element:
    return etree.Element(ceb(root_name), {"guid": guid(), "version": "1.0"}, nsmap={"ceb": xml.CEB_NS})


def _add(parent: etree._Element, values: Mapping[str, object]) -> None:
    for name, value in values.items():
        if value is not None:
            etree.SubElement(parent, ceb(name)).text = str(value)


def valid(root: etree._Element) -> bytes:
    schema = xml.customs_schema()
    assert schema.validate(root.getroottree()), schema.error_log
    body: bytes = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    return body


def return_time(moment: str, millis: str = "000") -> str:
    """returnTime: YYYYMMDDhhmmssSSS, China Standard Time."""
    return moment + millis


def inventory_return(status: str, at: str, *, cop_no: str = HEAD["cop_no"], **changes: object) -> dict[str, object]:
    """One InventoryReturn of the example list, fields in the schema's order."""
    values: dict[str, object] = {
        "guid": HEAD["guid"],
        "customsCode": HEAD["customs_code"],
        "ebpCode": HEAD["ebp_code"],
        "ebcCode": HEAD["ebc_code"],
        "agentCode": HEAD["agent_code"],
        "copNo": cop_no,
        "preNo": PRE_NO,
        "invtNo": INVT_NO if status not in {"1", "2", "3"} else None,
        "returnStatus": status,
        "returnTime": return_time(at),
        "returnInfo": f"回执 {status}",
    }
    values.update(changes)
    return values


def ceb622(*returns: Mapping[str, object]) -> bytes:
    root = _message("CEB622Message")
    for values in returns:
        _add(etree.SubElement(root, ceb("InventoryReturn")), values)
    return valid(root)


# --- Fixtures and steps -------------------------------------------------------------------------------


@pytest.fixture
def customs() -> SigningPartner:
    return register_partner("CUSTOMS-HZ", PartnerKind.CUSTOMS)


@pytest.fixture
def agent(db: None) -> Enterprise:
    enterprise: Enterprise = EnterpriseFactory.create(customs_code=HEAD["agent_code"], roles=[Role.AGENT])
    return enterprise


def make_list(sender: Enterprise, status: str, **changes: Any) -> Inventory:
    """The example list stored directly in ``status`` (the test starts there)."""
    serializer = InventoryInput(data=examples.document("inventory", **changes))
    assert serializer.is_valid(), serializer.errors
    values = dict(serializer.validated_data)
    values.pop("items")
    encrypted, digest = protect_id_number(values.pop("buyer_id_number"))
    return Inventory.objects.create(
        sender=sender, status=status, buyer_id_number_encrypted=encrypted, buyer_id_hash=digest, **values
    )


@pytest.fixture
def declared(agent: Enterprise) -> Inventory:
    """The example list, matched and declared to customs."""
    return make_list(agent, S.DECLARED)


def deliver(customs: SigningPartner, body: bytes, message_id: str | None = None) -> InboxMessage:
    """Post the message as customs does, then run the task the hub scheduled; the stored row."""
    message_id = message_id or new_message_id()
    response = post_webhook(body, signed_headers(customs.secret, body, message_id=message_id))
    assert response.status_code in {200, 202}, response.content
    message = InboxMessage.objects.get(partner=customs.partner, message_id=message_id)
    tasks.apply_inbox_message(inbox_message_id=message.pk)
    message.refresh_from_db()
    return message


def history(inventory: Inventory) -> list[tuple[str, str, str, bool]]:
    return [
        (change.from_status, change.to_status, change.receipt_code, change.applied)
        for change in lifecycle.inventory_history(inventory=inventory)
    ]


def status_of(inventory: Inventory) -> str:
    inventory.refresh_from_db()
    return inventory.status


# --- CEB622 ---------------------------------------------------------------------------------------------


def test_receipts_move_the_declared_list_to_accepted_then_released(
    customs: SigningPartner, declared: Inventory
) -> None:
    first = deliver(customs, ceb622(inventory_return("2", "20261125140000")))
    assert (first.state, first.message_type) == ("applied", "CEB622Message")
    assert status_of(declared) == S.DECLARED

    accepted = deliver(customs, ceb622(inventory_return("120", "20261125140010")))
    assert accepted.state == "applied"
    assert status_of(declared) == S.ACCEPTED
    assert declared.invt_no == INVT_NO

    released = deliver(customs, ceb622(inventory_return("800", "20261125140020")))

    assert released.state == "applied"
    assert released.note == f"{HEAD['agent_code']}/{HEAD['cop_no']}: applied"
    assert status_of(declared) == S.RELEASED
    assert history(declared) == [
        ("declared", "declared", "2", True),
        ("declared", "accepted", "120", True),
        ("accepted", "released", "800", True),
    ]
    change = InventoryStatusChange.objects.get(inventory=declared, receipt_code="800")
    assert change.receipt_time == datetime.datetime(2026, 11, 25, 14, 0, 20, tzinfo=CST)
    assert change.note == "回执 800"


def test_a_rejection_moves_the_list_to_rejected_with_customs_reason(
    customs: SigningPartner, declared: Inventory
) -> None:
    info = "[-621003] 清单申报失败: 海关退单"

    deliver(customs, ceb622(inventory_return("100", "20261125140010", returnInfo=info)))

    assert status_of(declared) == S.REJECTED
    assert InventoryStatusChange.objects.get(inventory=declared).note == info


def test_the_same_webhook_id_twice_is_acknowledged_and_the_receipt_applied_once(
    customs: SigningPartner, declared: Inventory
) -> None:
    body = ceb622(inventory_return("120", "20261125140010"))
    message_id = new_message_id()
    deliver(customs, body, message_id)

    again = post_webhook(body, signed_headers(customs.secret, body, message_id=message_id))
    tasks.sweep_inbox()

    assert again.status_code == 200
    assert again.json()["duplicate"] is True
    assert InboxMessage.objects.count() == 1
    assert status_of(declared) == S.ACCEPTED
    assert history(declared) == [("declared", "accepted", "120", True)]


def test_the_same_receipt_under_a_new_webhook_id_is_recorded_once(customs: SigningPartner, declared: Inventory) -> None:
    body = ceb622(inventory_return("120", "20261125140010"))

    deliver(customs, body)
    second = deliver(customs, body)

    assert second.state == "applied"
    assert second.note == f"{HEAD['agent_code']}/{HEAD['cop_no']}: duplicate"
    assert history(declared) == [("declared", "accepted", "120", True)]


def test_a_late_receipt_does_not_move_the_released_list_back(customs: SigningPartner, declared: Inventory) -> None:
    deliver(customs, ceb622(inventory_return("120", "20261125140010")))
    deliver(customs, ceb622(inventory_return("800", "20261125140020")))

    deliver(customs, ceb622(inventory_return("120", "20261125140030")))

    assert status_of(declared) == S.RELEASED
    assert [(before, after) for before, after, _code, applied in history(declared) if applied] == [
        ("declared", "accepted"),
        ("accepted", "released"),
    ]


def test_a_receipt_for_an_unknown_list_is_kept_with_the_reason(customs: SigningPartner, declared: Inventory) -> None:
    message = deliver(customs, ceb622(inventory_return("120", "20261125140010", cop_no="COP-NOT-OURS")))

    assert (message.state, message.note) == ("applied", f"{HEAD['agent_code']}/COP-NOT-OURS: no such list")
    assert status_of(declared) == S.DECLARED


def test_a_receipt_with_a_status_customs_does_not_define_is_noted_and_the_others_apply(
    customs: SigningPartner, agent: Enterprise, declared: Inventory
) -> None:
    other = make_list(agent, S.DECLARED, cop_no="COP20261125000002", order_no="SW20261125000002", guid=guid())
    body = ceb622(
        inventory_return("777", "20261125140010"),
        inventory_return("120", "20261125140010", cop_no=other.cop_no),
    )

    message = deliver(customs, body)

    assert message.state == "applied"
    assert message.note == (
        f"{HEAD['agent_code']}/{HEAD['cop_no']}: unknown returnStatus '777'; "
        f"{HEAD['agent_code']}/{other.cop_no}: applied"
    )
    assert (status_of(declared), status_of(other)) == (S.DECLARED, S.ACCEPTED)
    assert tasks.sweep_inbox() == 0


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (
            b"<ceb:CEB622Message xmlns:ceb='http://www.chinaport.gov.cn/ceb'><ceb:InventoryReturn>",
            "CEB622Message refused: ",
        ),
        (
            b"<ceb:CEB622Message xmlns:ceb='http://www.chinaport.gov.cn/ceb' guid='x' version='1.0'/>",
            "CEB622Message refused: ",
        ),
    ],
    ids=["not well-formed", "not valid against the schema"],
)
def test_a_receipt_that_cannot_be_read_stays_stored_with_the_reason(
    customs: SigningPartner, declared: Inventory, body: bytes, reason: str
) -> None:
    message = deliver(customs, body)

    assert message.state == "unreadable"
    assert message.note.startswith(reason), message.note
    assert status_of(declared) == S.DECLARED
    assert not InventoryStatusChange.objects.exists()


def test_a_receipt_stored_while_the_broker_was_down_is_applied_by_the_sweep(
    customs: SigningPartner, declared: Inventory
) -> None:
    body = ceb622(inventory_return("120", "20261125140010"))
    # Stored and acknowledged; the on-commit scheduling never ran (the test's transaction is not committed).
    response = post_webhook(body, signed_headers(customs.secret, body))
    assert response.status_code == 202
    assert status_of(declared) == S.DECLARED

    assert tasks.sweep_inbox() == 1

    assert InboxMessage.objects.get().state == "applied"
    assert status_of(declared) == S.ACCEPTED


# --- CEB624 ---------------------------------------------------------------------------------------------


def ceb624(status: str, at: str) -> bytes:
    root = _message("CEB624Message")
    values = {
        "guid": HEAD["guid"],
        "customsCode": HEAD["customs_code"],
        "agentCode": HEAD["agent_code"],
        "ebpCode": HEAD["ebp_code"],
        "ebcCode": HEAD["ebc_code"],
        "copNo": HEAD["cop_no"],
        "preNo": PRE_NO,
        "invtNo": INVT_NO,
        "returnStatus": status,
        "returnTime": return_time(at),
        "returnInfo": f"撤单回执 {status}",
    }
    _add(etree.SubElement(root, ceb("InvtCancelReturn")), values)
    return valid(root)


@pytest.fixture
def cancellation(agent: Enterprise) -> InventoryCancellation:
    released = make_list(agent, S.RELEASED, invt_no=INVT_NO)
    return InventoryCancellation.objects.create(
        inventory=released, requested_by=agent, reason="买家取消订单", status=InventoryCancellation.Status.SENT
    )


def test_customs_concluding_a_cancellation_cancels_the_list(
    customs: SigningPartner, cancellation: InventoryCancellation
) -> None:
    stored = deliver(customs, ceb624("120", "20261126090000"))
    assert stored.state == InboxMessage.State.APPLIED
    assert status_of(cancellation.inventory) == S.RELEASED

    deliver(customs, ceb624("399", "20261126090500"))

    cancellation.refresh_from_db()
    assert cancellation.status == InventoryCancellation.Status.ACCEPTED
    assert status_of(cancellation.inventory) == S.CANCELLED
    assert history(cancellation.inventory)[-1][:2] == (S.RELEASED, S.CANCELLED)


def test_customs_refusing_a_cancellation_leaves_the_list_released(
    customs: SigningPartner, cancellation: InventoryCancellation
) -> None:
    deliver(customs, ceb624("-623005", "20261126090000"))

    cancellation.refresh_from_db()
    assert cancellation.status == InventoryCancellation.Status.REJECTED
    assert status_of(cancellation.inventory) == S.RELEASED


# --- Negative codes, several returns in one message ----------------------------------------------


@pytest.mark.parametrize("code", ["-621008", "-621004"])
def test_a_negative_code_that_means_customs_has_the_list_leaves_it_declared(
    customs: SigningPartner, declared: Inventory, code: str
) -> None:
    deliver(customs, ceb622(inventory_return(code, "20261125140000")))

    assert status_of(declared) == S.DECLARED
    assert history(declared) == [("declared", "declared", code, True)]


def test_a_negative_code_that_means_customs_has_the_list_brings_a_send_failed_list_back(
    customs: SigningPartner, agent: Enterprise
) -> None:
    inventory = make_list(agent, S.SEND_FAILED)

    deliver(customs, ceb622(inventory_return("-621004", "20261125140000")))

    assert status_of(inventory) == S.DECLARED


def test_customs_asking_for_the_list_again_schedules_a_resend_and_keeps_it_declared(
    customs: SigningPartner, declared: Inventory
) -> None:
    before = timezone.now()

    deliver(customs, ceb622(inventory_return("-621022", "20261125140000")))

    assert status_of(declared) == S.DECLARED
    assert history(declared) == [("declared", "declared", "-621022", True)]
    assert declared.dispatch_requested_at is not None
    assert declared.dispatch_requested_at >= before + gateway.RESEND_FIRST_DELAY
    # The second request waits twice as long.
    deliver(customs, ceb622(inventory_return("-621022", "20261125140100")))
    declared.refresh_from_db()
    assert declared.dispatch_requested_at is not None
    assert declared.dispatch_requested_at >= before + 2 * gateway.RESEND_FIRST_DELAY


def test_after_too_many_requests_to_send_again_the_list_is_given_up(
    customs: SigningPartner, declared: Inventory
) -> None:
    for n in range(receipt_codes.MAX_RETRIES + 1):
        deliver(customs, ceb622(inventory_return("-621020", f"202611251400{n:02d}")))

    assert status_of(declared) == S.SEND_FAILED


def test_a_final_negative_code_rejects_the_list(customs: SigningPartner, declared: Inventory) -> None:
    deliver(customs, ceb622(inventory_return("-621005", "20261125140000")))

    assert status_of(declared) == S.REJECTED


def test_every_tabled_code_has_a_meaning_and_one_effect() -> None:
    for code in receipt_codes.NEGATIVE:
        assert receipt_codes.meaning(code)
        assert receipt_codes.PROCESSING_ERROR.fullmatch(code)
    assert receipt_codes.effect("-621005") is receipt_codes.Effect.FINAL
    assert receipt_codes.effect("120") is receipt_codes.Effect.MOVE


def test_the_returns_of_one_message_apply_in_return_time_order(customs: SigningPartner, declared: Inventory) -> None:
    # Written out of order, as a message gathering several returns may be.
    body = ceb622(
        inventory_return("800", "20261125140020"),
        inventory_return("2", "20261125140000"),
        inventory_return("120", "20261125140010"),
    )

    message = deliver(customs, body)

    assert message.state == "applied"
    assert status_of(declared) == S.RELEASED
    assert history(declared) == [
        ("declared", "declared", "2", True),
        ("declared", "accepted", "120", True),
        ("accepted", "released", "800", True),
    ]


def test_the_same_return_repeated_in_one_message_is_recorded_once(customs: SigningPartner, declared: Inventory) -> None:
    # The official sample repeats one return ten times.
    body = ceb622(*[inventory_return("120", "20261125140010") for _ in range(10)])

    deliver(customs, body)
    deliver(customs, body)  # and the whole message again, under another webhook id

    assert status_of(declared) == S.ACCEPTED
    assert history(declared) == [("declared", "accepted", "120", True)]


def test_one_message_may_answer_for_several_lists(customs: SigningPartner, agent: Enterprise) -> None:
    first = make_list(agent, S.DECLARED)
    second = make_list(agent, S.DECLARED, cop_no="COP-SECOND", order_no="SW-SECOND")

    deliver(
        customs,
        ceb622(
            inventory_return("120", "20261125140010"), inventory_return("100", "20261125140020", cop_no="COP-SECOND")
        ),
    )

    assert (status_of(first), status_of(second)) == (S.ACCEPTED, S.REJECTED)


def test_customs_returning_a_cancellation_closes_it_as_refused_and_allows_a_new_one(
    customs: SigningPartner, cancellation: InventoryCancellation
) -> None:
    deliver(customs, ceb624("100", "20261126090000"))

    cancellation.refresh_from_db()
    assert cancellation.status == InventoryCancellation.Status.REJECTED
    assert status_of(cancellation.inventory) == S.RELEASED
    told = Event.objects.get(type="inventory.cancellation_answered")
    assert (told.payload["status"], told.payload["return_status"]) == ("rejected", "100")
    again = InventoryCancellation.objects.create(
        inventory=cancellation.inventory, requested_by=cancellation.requested_by, reason="再次申请"
    )
    assert again.status == InventoryCancellation.Status.RECORDED


# --- Only customs may send receipts ----------------------------------------------------------------------

PAYMENTS_WEBHOOK = "/api/v1/webhooks/payments"


def test_a_receipt_signed_with_a_payment_company_secret_is_refused_recorded_and_not_applied(
    customs: SigningPartner, declared: Inventory
) -> None:
    payment = register_partner("PAY-TEST", PartnerKind.PAYMENT)
    body = ceb622(inventory_return("800", "20261125140020"))
    message_id = new_message_id()

    response = post_webhook(body, signed_headers(payment.secret, body, message_id=message_id), url=PAYMENTS_WEBHOOK)
    # Whatever was stored, a worker or the sweep running over it must not apply it.
    for stored in InboxMessage.objects.all():
        tasks.apply_inbox_message(inbox_message_id=stored.pk)
    tasks.sweep_inbox()

    assert status_of(declared) == S.DECLARED
    assert history(declared) == []
    assert_problem(response, 403, error_codes.WEBHOOK_MESSAGE_TYPE_NOT_ALLOWED)
    message = InboxMessage.objects.get()
    assert (message.partner, message.message_id, message.message_type) == (payment.partner, message_id, "CEB622Message")
    assert message.state == "unreadable"
    assert message.note == "refused: a payment partner may not send CEB622Message"


def test_a_refused_receipt_sent_again_is_refused_again(declared: Inventory) -> None:
    payment = register_partner("PAY-TEST", PartnerKind.PAYMENT)
    body = ceb622(inventory_return("800", "20261125140020"))
    message_id = new_message_id()
    post_webhook(body, signed_headers(payment.secret, body, message_id=message_id), url=PAYMENTS_WEBHOOK)

    again = post_webhook(body, signed_headers(payment.secret, body, message_id=message_id), url=PAYMENTS_WEBHOOK)
    tasks.sweep_inbox()

    assert_problem(again, 403, error_codes.WEBHOOK_MESSAGE_TYPE_NOT_ALLOWED)
    assert InboxMessage.objects.get().state == "unreadable"
    assert status_of(declared) == S.DECLARED
