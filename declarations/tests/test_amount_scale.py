"""Amounts come back at the scale they were accepted (docs/conventions.md, "Amounts"): "12.50"
is answered "12.50", in the 201, on GET and in the message forwarded to customs; the column is
decimal(19,5) and the scale is kept beside it (``amount_scales``). A row stored before scales
were kept is answered as before, without trailing zeros.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from pytest_django.fixtures import Settings
from rest_framework.test import APIClient

from declarations.customs import xml
from declarations.intake import examples
from declarations.models import Order, OrderItem, Waybill
from declarations.tests.customs_xml import ceb, message_xml
from declarations.tests.helpers import EBP_CODE, Send, assert_rejected, detail_url, document, url
from single_window import services as hub
from single_window.models import OutboxMessage, PartnerKind
from single_window.outbox import message_body
from tests.certificates import make_key_pair
from tests.factories import TEST_ACTOR, Persona
from tests.partner_webhooks import register_partner


@pytest.mark.parametrize("freight", ["12.50", "12.5", "10", "0.00", "0.12345"])
def test_an_amount_is_answered_at_the_scale_it_was_sent(
    send: Send, clients: dict[str, APIClient], freight: str
) -> None:
    response = send("waybill", freight=freight)

    assert response.status_code == 201, response.content
    assert response.json()["freight"] == freight
    shown = clients["logistics"].get(detail_url("waybill", response.json()["id"]))
    assert shown.json()["freight"] == freight
    # The column keeps five decimals; the scale is kept beside it.
    waybill = Waybill.objects.get(pk=response.json()["id"])
    assert waybill.freight == Decimal(freight)
    assert waybill.amount_scales["freight"] == len(freight.partition(".")[2])


def test_every_amount_of_an_order_and_its_items_keeps_its_scale(send: Send, clients: dict[str, APIClient]) -> None:
    data = document("order", freight="12.50", actual_paid="447.630", discount="0")
    data["items"][0].update(qty="2.0", price="99", total_price="198.000")

    response = send("order", data)

    assert response.status_code == 201, response.content
    shown = clients["ebp"].get(detail_url("order", response.json()["id"])).json()
    for answer in (response.json(), shown):
        head = {name: answer[name] for name in ("goods_value", "freight", "discount", "tax_total", "actual_paid")}
        assert head == {
            "goods_value": "398.00",
            "freight": "12.50",
            "discount": "0",
            "tax_total": "37.13",
            "actual_paid": "447.630",
        }
        first, second = answer["items"]
        assert (first["qty"], first["price"], first["total_price"]) == ("2.0", "99", "198.000")
        assert (second["qty"], second["price"], second["total_price"]) == ("1", "200.00", "200.00")


def test_a_change_answers_at_the_new_versions_scale(send: Send) -> None:
    assert send("waybill", freight="10.00").status_code == 201

    changed = send("waybill", app_type="2", app_time="20261125110500", freight="10.0")

    assert changed.status_code == 200, changed.content
    assert changed.json()["freight"] == "10.0"


def test_an_amount_left_out_has_no_scale_and_is_null(send: Send) -> None:
    response = send("waybill", document("waybill", drop=("insured_fee",)))

    assert response.status_code == 201, response.content
    assert response.json()["insured_fee"] is None
    assert "insured_fee" not in Waybill.objects.get(pk=response.json()["id"]).amount_scales


def test_more_than_five_decimals_is_still_refused(send: Send) -> None:
    assert_rejected(send("waybill", freight="12.500000"), "freight", "max_decimal_places")


def test_a_row_stored_before_scales_were_kept_is_answered_without_trailing_zeros(
    send: Send, clients: dict[str, APIClient]
) -> None:
    order_id = send("order", freight="12.50", actual_paid="447.63").json()["id"]
    Order.objects.filter(pk=order_id).update(amount_scales={})
    OrderItem.objects.filter(order_id=order_id).update(amount_scales={})

    shown = clients["ebp"].get(detail_url("order", order_id)).json()

    assert (shown["goods_value"], shown["freight"], shown["discount"]) == ("398", "12.5", "0")
    assert shown["items"][0]["price"] == "99"


def test_an_order_sent_as_xml_keeps_its_scale(clients: dict[str, APIClient]) -> None:
    body = message_xml("order", [document("order", freight="12.50", actual_paid="447.63")], cop_code=EBP_CODE)

    response = clients["ebp"].post(url("order"), data=body, content_type="application/xml")

    assert response.status_code == 200, response.content
    order = Order.objects.get(order_no=examples.ORDER["order_no"])
    shown = clients["ebp"].get(detail_url("order", order.pk)).json()
    assert (shown["goods_value"], shown["freight"]) == ("398.00", "12.50")


def test_the_forwarded_ceb311_carries_the_amounts_at_their_scale(send: Send, settings: Settings, ebp: Persona) -> None:
    settings.CUSTOMS_GATEWAY_ENABLED = True
    settings.CUSTOMS_PARTNER_CODE = "CUSTOMS-TEST"
    settings.CUSTOMS_DXP_ID = "DXPENT0000TEST01"
    register_partner("CUSTOMS-TEST", PartnerKind.CUSTOMS)
    keys = make_key_pair(common_name="Demo Platform")
    hub.signing_key_register(
        enterprise=ebp.enterprise,
        private_key_pem=keys.private_key_pem.decode(),
        certificate_pem=keys.certificate_text,
        actor=TEST_ACTOR,
    )

    assert send("order", freight="12.50", actual_paid="447.63").status_code == 201

    message = OutboxMessage.objects.get(destination_kind="customs", message_type="CEB311Message")
    root = xml.read_message(message_body(message), expected_message="CEB311Message")
    [element] = root.findall(ceb("Order"))
    sent = xml.document_dict(element, xml.SPECS_BY_MESSAGE["CEB311Message"])
    assert (sent["goods_value"], sent["freight"], sent["discount"], sent["actual_paid"]) == (
        "398.00",
        "12.50",
        "0",
        "447.63",
    )
    assert [(line["qty"], line["price"]) for line in sent["items"]] == [("2", "99.00"), ("1", "200.00")]
