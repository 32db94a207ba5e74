"""One enterprise, one identity.

An enterprise may be named by its customs code or by its USCC. Every party code of a document
is stored as the enterprise's own code (its customs code), so business keys, the one list per
order, matching and the buyer's quota treat both names as the same enterprise.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from declarations.intake import codes
from declarations.models import Inventory, Order, Payment, QuotaReservation, Waybill
from declarations.tests.helpers import (
    AGENT_CODE,
    EBC_CODE,
    EBP_CODE,
    LOGISTICS_CODE,
    PAY_CODE,
    Send,
    key_url,
    stored_rows,
)
from declarations.tests.parcels import assert_declared, list_of, parcel, quota, submit
from tests.factories import Persona, assert_problem

pytestmark = pytest.mark.usefixtures("parties")


def by_uscc(parties: dict[str, Persona], docs: dict[str, dict[str, object]]) -> dict[str, dict[str, object]]:
    """The same documents, every party named by its USCC instead of its customs code."""
    uscc = {p.enterprise.customs_code: p.enterprise.uscc for p in parties.values()}
    return {
        kind: {name: uscc.get(value, value) if isinstance(value, str) else value for name, value in data.items()}
        for kind, data in docs.items()
    }


def test_the_same_parcel_sent_again_under_the_platforms_uscc_is_a_duplicate_and_charged_once(
    send: Send, parties: dict[str, Persona]
) -> None:
    first = parcel(1)
    submit(send, first)
    reserved = quota()
    assert reserved is not None
    # The same order again, the platform named by its USCC; its own payment, waybill and list.
    again = parcel(2)
    for kind in ("order", "payment", "waybill", "inventory"):
        again[kind]["order_no"] = first["order"]["order_no"]
    again = by_uscc({"ebp": parties["ebp"]}, again)
    rows = stored_rows()

    order = send("order", again["order"])
    inventory = send("inventory", again["inventory"])

    assert assert_problem(order, 409, codes.DUPLICATE)["customs_code"] == "-301010"
    assert assert_problem(inventory, 409, codes.DUPLICATE)["customs_code"] == "-621004"
    assert stored_rows() == rows
    assert list(Order.objects.values_list("ebp_code", flat=True)) == [EBP_CODE]
    assert Inventory.objects.count() == 1
    assert QuotaReservation.objects.count() == 1
    assert quota() == reserved
    assert reserved.reserved == Decimal("408.00")


def test_documents_naming_their_parties_by_uscc_are_stored_under_the_customs_codes_and_match(
    send: Send, parties: dict[str, Persona]
) -> None:
    docs = parcel(1)
    submit(send, docs, arrival=("order",))  # the order under the customs codes
    named_by_uscc = by_uscc(parties, docs)

    submit(send, named_by_uscc, arrival=("payment", "waybill", "inventory"))

    inventory = list_of(docs)
    assert_declared(inventory)
    assert (inventory.ebp_code, inventory.ebc_code, inventory.logistics_code, inventory.agent_code) == (
        EBP_CODE,
        EBC_CODE,
        LOGISTICS_CODE,
        AGENT_CODE,
    )
    assert inventory.assure_code == docs["inventory"]["assure_code"]
    assert list(Payment.objects.values_list("pay_code", "ebp_code")) == [(PAY_CODE, EBP_CODE)]
    assert list(Waybill.objects.values_list("logistics_code", flat=True)) == [LOGISTICS_CODE]


def test_an_order_naming_its_payment_enterprise_by_uscc_stores_its_customs_code(
    send: Send, parties: dict[str, Persona]
) -> None:
    response = send("order", pay_code=parties["pay"].enterprise.uscc, ebc_code=parties["ebc"].enterprise.uscc)

    assert response.status_code == 201, response.content
    assert (response.json()["pay_code"], response.json()["ebc_code"]) == (PAY_CODE, EBC_CODE)
    assert list(Order.objects.values_list("pay_code", "ebc_code")) == [(PAY_CODE, EBC_CODE)]


def test_a_code_nobody_registered_is_kept_as_sent_and_refused(send: Send) -> None:
    response = send("order", ebc_code="9133010099999999XX")

    assert response.status_code == 400
    assert not Order.objects.exists()


def test_a_document_is_read_by_either_code_of_its_platform(
    send: Send, parties: dict[str, Persona], clients: dict[str, APIClient]
) -> None:
    order_no = send("order").json()["order_no"]
    uscc = parties["ebp"].enterprise.uscc
    assert uscc is not None

    by_key = clients["ebp"].get(key_url("order", uscc, order_no))
    trace = clients["ebp"].get(f"/api/v1/orders/{uscc}/{order_no}/trace")

    assert by_key.status_code == 200, by_key.content
    assert by_key.json()["ebp_code"] == EBP_CODE
    assert trace.status_code == 200, trace.content
    assert trace.json()["order"]["order_no"] == order_no
