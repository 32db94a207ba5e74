"""Customs' receipts about export documents (CEB304 ... CEB608) through the hub's inbox: each
receipt code's effect on an export list, backwards and repeated receipts, documents' answers."""

from __future__ import annotations

import pytest
from lxml import etree

from declarations.customs import xml
from declarations.export import examples, services
from declarations.export.receipt_codes import CODES
from declarations.models import (
    ExportList,
    ExportListCancellation,
    ExportListStatus,
    ExportListStatusChange,
    ExportMasterBill,
    ExportOrder,
    ExportWaybill,
)
from declarations.tests.export.conftest import XSend
from single_window import tasks
from single_window.models import Event, InboxMessage, PartnerKind
from tests.partner_webhooks import SigningPartner, new_message_id, post_webhook, register_partner, signed_headers

pytestmark = pytest.mark.django_db

S = ExportListStatus


def _q(name: str) -> str:
    return f"{{{xml.CEB_NS}}}{name}"


def receipt_body(message: str, element: str, values: dict[str, str]) -> bytes:
    root = etree.Element(_q(message), nsmap={"ceb": xml.CEB_NS})
    root.set("guid", xml.new_guid())
    root.set("version", "1.0")
    item = etree.SubElement(root, _q(element))
    for name, value in values.items():
        etree.SubElement(item, _q(name)).text = value
    body: bytes = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    xml.read_message(body, expected_message=message)  # valid against the export schema
    return body


def list_receipt(code: str, *, time: str = "20261203102000000", invt_no: str = "") -> bytes:
    return receipt_body(
        "CEB604Message",
        "InventoryReturn",
        {
            "guid": examples.LIST["guid"],
            "agentCode": examples.AGENT_CODE,
            "copNo": examples.LIST["cop_no"],
            "preNo": "B20261203000000001",
            "invtNo": invt_no,
            "ebcCode": examples.EBC_CODE,
            "ebpCode": examples.EBP_CODE,
            "orderNo": examples.ORDER_NO,
            "statisticsFlag": "A",
            "returnStatus": code,
            "returnTime": time,
            "returnInfo": "回执 receipt",
        },
    )


@pytest.fixture
def customs_partner(db: None) -> SigningPartner:
    return register_partner("CUSTOMS-HZ", PartnerKind.CUSTOMS)


def deliver(customs: SigningPartner, body: bytes) -> InboxMessage:
    """Post the receipt as customs does (a signed webhook), then run the task the hub scheduled."""
    message_id = new_message_id()
    response = post_webhook(body, signed_headers(customs.secret, body, message_id=message_id))
    assert response.status_code in {200, 202}, response.content
    message = InboxMessage.objects.get(partner=customs.partner, message_id=message_id)
    tasks.apply_inbox_message(inbox_message_id=message.pk)
    message.refresh_from_db()
    assert message.state == InboxMessage.State.APPLIED, message.note
    return message


@pytest.fixture
def declared_list(xsend: XSend) -> ExportList:
    """A list put straight into ``declared`` (what matching and the declare step do)."""
    assert xsend("export_list").status_code == 201
    export_list = ExportList.objects.get()
    ExportList.objects.filter(pk=export_list.pk).update(status=S.DECLARED)
    export_list.refresh_from_db()
    return export_list


# The state each code moves a declared list to.
EXPECTED = {
    "1": S.DECLARED,
    "2": S.DECLARED,
    "3": S.DECLARED,
    "4": S.SEND_FAILED,
    "100": S.REJECTED,
    "120": S.ACCEPTED,
    "300": S.MANUAL_REVIEW,
    "399": S.CONCLUDED,
    "500": S.INSPECTION,
    "800": S.RELEASED,
    "899": S.DECLARED,  # closing needs release first: recorded, not applied
    "-621001": S.REJECTED,
}


def test_every_code_of_the_table_has_an_expected_effect() -> None:
    assert set(CODES) <= set(EXPECTED)


@pytest.mark.parametrize(("code", "expected"), list(EXPECTED.items()))
def test_each_receipt_code_moves_a_declared_list_as_the_table_says(
    declared_list: ExportList, customs_partner: SigningPartner, code: str, expected: str
) -> None:
    deliver(customs_partner, list_receipt(code))

    declared_list.refresh_from_db()
    assert declared_list.status == expected
    assert declared_list.customs_status == code
    change = ExportListStatusChange.objects.get(export_list=declared_list, source="customs_receipt")
    assert change.receipt_code == code
    assert change.applied is (expected != S.DECLARED or code in ("1", "2", "3"))


def test_release_after_acceptance_and_closing_after_release(
    declared_list: ExportList, customs_partner: SigningPartner
) -> None:
    for code, time in (("120", "20261203102000000"), ("800", "20261203102100000"), ("899", "20261203102200000")):
        deliver(customs_partner, list_receipt(code, time=time, invt_no="29012026E000000001"))

    declared_list.refresh_from_db()
    assert declared_list.status == S.CLOSED
    assert declared_list.invt_no == "29012026E000000001"
    moves = list(
        ExportListStatusChange.objects.filter(export_list=declared_list, source="customs_receipt").values_list(
            "to_status", flat=True
        )
    )
    assert moves == [S.ACCEPTED, S.RELEASED, S.CLOSED]
    assert Event.objects.filter(type="export_list.status_changed", payload__to_status=S.RELEASED).exists()


def test_a_late_acceptance_after_release_is_recorded_and_changes_nothing(
    declared_list: ExportList, customs_partner: SigningPartner
) -> None:
    deliver(customs_partner, list_receipt("800", time="20261203102100000"))
    deliver(customs_partner, list_receipt("120", time="20261203102000000"))

    declared_list.refresh_from_db()
    assert declared_list.status == S.RELEASED
    late = ExportListStatusChange.objects.get(export_list=declared_list, receipt_code="120")
    assert late.applied is False


def test_the_same_receipt_twice_is_recorded_once(declared_list: ExportList, customs_partner: SigningPartner) -> None:
    deliver(customs_partner, list_receipt("120"))
    deliver(customs_partner, list_receipt("120"))

    assert ExportListStatusChange.objects.filter(export_list=declared_list, receipt_code="120").count() == 1


def test_an_order_receipt_records_customs_answer_and_a_late_progress_code_does_not_undo_it(
    xsend: XSend, customs_partner: SigningPartner
) -> None:
    assert xsend("export_order").status_code == 201

    def order_receipt(code: str) -> bytes:
        return receipt_body(
            "CEB304Message",
            "OrderReturn",
            {
                "guid": examples.ORDER["guid"],
                "ebpCode": examples.EBP_CODE,
                "ebcCode": examples.EBC_CODE,
                "orderNo": examples.ORDER_NO,
                "returnStatus": code,
                "returnTime": "20261203102000000",
                "returnInfo": "ok",
            },
        )

    deliver(customs_partner, order_receipt("120"))
    deliver(customs_partner, order_receipt("2"))

    order = ExportOrder.objects.get()
    assert order.customs_status == "120"
    assert order.customs_holds is True
    assert Event.objects.filter(type="export.document_answered", payload__return_status="120").exists()


def test_a_waybill_receipt_finds_the_waybill_by_its_number(xsend: XSend, customs_partner: SigningPartner) -> None:
    assert xsend("export_waybill").status_code == 201

    deliver(
        customs_partner,
        receipt_body(
            "CEB506Message",
            "LogisticsReturn",
            {
                "guid": examples.WAYBILL["guid"],
                "logisticsCode": examples.LOGISTICS_CODE,
                "logisticsNo": examples.LOGISTICS_NO,
                "returnStatus": "399",
                "returnTime": "20261203102000000",
                "returnInfo": "海关审结",
            },
        ),
    )

    assert ExportWaybill.objects.get().customs_status == "399"


def test_customs_accepting_a_cancellation_cancels_the_list(
    declared_list: ExportList, customs_partner: SigningPartner
) -> None:
    ExportList.objects.filter(pk=declared_list.pk).update(status=S.RELEASED, invt_no="29012026E000000001")
    declared_list.refresh_from_db()
    cancellation = services.export_list_cancel_request(
        export_list=declared_list, reason="买家取消", requested_by=declared_list.sender
    )

    deliver(
        customs_partner,
        receipt_body(
            "CEB606Message",
            "InvtCancelReturn",
            {
                "guid": cancellation.guid,
                "agentCode": examples.AGENT_CODE,
                "copNo": cancellation.cop_no,
                "preNo": "B20261203000000002",
                "invtNo": "29012026E000000001",
                "returnStatus": "399",
                "returnTime": "20261203190000000",
                "returnInfo": "撤单审结",
            },
        ),
    )

    declared_list.refresh_from_db()
    cancellation.refresh_from_db()
    assert cancellation.status == ExportListCancellation.Status.ACCEPTED
    assert declared_list.status == S.CANCELLED
    assert Event.objects.filter(type="export_list.cancellation_answered", payload__return_status="399").exists()


def test_a_master_bill_receipt_finds_it_by_the_agent_and_its_number(
    xsend: XSend, customs_partner: SigningPartner
) -> None:
    assert xsend("export_list").status_code == 201
    assert xsend("export_master_bill").status_code == 201

    deliver(
        customs_partner,
        receipt_body(
            "CEB608Message",
            "WayBillReturn",
            {
                "guid": examples.MASTER_BILL["guid"],
                "agentCode": examples.AGENT_CODE,
                "logisticsCode": examples.LOGISTICS_CODE,
                "copNo": examples.MASTER_BILL["cop_no"],
                "preNo": "B20261203000000003",
                "billNo": examples.MASTER_BILL["bill_no"],
                "msgSeqNo": "1",
                "returnStatus": "120",
                "returnTime": "20261203170100000",
                "returnInfo": "海关入库",
            },
        ),
    )

    master_bill = ExportMasterBill.objects.get()
    assert (master_bill.customs_status, master_bill.pre_no) == ("120", "B20261203000000003")
