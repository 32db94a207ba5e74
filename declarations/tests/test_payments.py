"""Payments (CEB411) in JSON: the payment enterprise's own rules, parties and duplicates."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from rest_framework.test import APIClient

from core.crypto import decrypt_text
from declarations.intake import codes, examples
from declarations.intake.identity import id_number_hash
from declarations.models import Payment
from declarations.tests.helpers import (
    BUYER_ID,
    BUYER_ID_BAD_CHECK,
    BUYER_ID_ENDING_X,
    EBC_CODE,
    PAY_CODE,
    Send,
    assert_rejected,
    detail_url,
    key_url,
    stored_rows,
)
from tests.factories import Persona, assert_problem

pytestmark = pytest.mark.usefixtures("parties")

TRANSACTION_ID = examples.PAYMENT["pay_transaction_id"]


def test_it_stores_a_valid_payment_and_answers_with_it(send: Send, pay: Persona) -> None:
    response = send("payment")

    assert response.status_code == 201, response.content
    body = response.json()
    payment = Payment.objects.get()
    assert (body["id"], body["status"], body["amount_paid"]) == (payment.pk, "declared", "445.13")
    assert payment.sender == pay.enterprise
    assert (payment.pay_code, payment.pay_transaction_id) == (PAY_CODE, TRANSACTION_ID)
    assert payment.amount_paid == Decimal("445.13")
    assert payment.payer_id_hash == id_number_hash(BUYER_ID)


@pytest.mark.parametrize(
    ("changes", "field", "code"),
    [
        pytest.param({"amount_paid": "-0.01"}, "amount_paid", "min_value", id="negative"),
        pytest.param({"amount_paid": "445.130001"}, "amount_paid", "max_decimal_places", id="six-decimals"),
        pytest.param({"amount_paid": 445.13}, "amount_paid", "not_a_string", id="json-number"),
        pytest.param({"currency": "502"}, "currency", codes.CURRENCY_NOT_CNY, id="currency"),
        pytest.param({"payer_id_type": "3"}, "payer_id_type", codes.ID_TYPE_NOT_RESIDENT_CARD, id="id-type"),
        pytest.param(
            {"payer_id_number": BUYER_ID_BAD_CHECK}, "payer_id_number", codes.ID_NUMBER_INVALID, id="id-check"
        ),
        pytest.param({"payer_id_number": BUYER_ID[:17]}, "payer_id_number", codes.ID_NUMBER_INVALID, id="id-short"),
        pytest.param({"pay_time": "2026-11-25"}, "pay_time", "invalid_timestamp", id="pay-time-format"),
        pytest.param({"app_type": "4"}, "app_type", codes.INVALID_APP_TYPE, id="app-type"),
        pytest.param({"app_status": "3"}, "app_status", codes.INVALID_APP_STATUS, id="app-status"),
    ],
)
def test_it_rejects_a_payment_that_breaks_a_rule_of_its_own(
    send: Send, changes: dict[str, Any], field: str, code: str
) -> None:
    before = stored_rows()

    response = send("payment", **changes)

    assert_rejected(response, field, code)
    assert BUYER_ID_BAD_CHECK.encode() not in response.content
    assert stored_rows() == before


def test_a_payer_id_number_with_a_lower_case_x_is_stored_as_the_upper_case_number(send: Send) -> None:
    response = send("payment", payer_id_number=BUYER_ID_ENDING_X.lower())

    assert response.status_code == 201, response.content
    payment = Payment.objects.get()
    assert payment.payer_id_hash == id_number_hash(BUYER_ID_ENDING_X)
    assert decrypt_text(payment.payer_id_number_encrypted) == BUYER_ID_ENDING_X


@pytest.mark.parametrize(
    ("changes", "field", "code"),
    [
        pytest.param({"ebp_code": "3301969999"}, "ebp_code", codes.UNKNOWN_ENTERPRISE, id="unknown-platform"),
        pytest.param({"ebp_code": EBC_CODE}, "ebp_code", codes.ROLE_MISSING, id="platform-lacks-role"),
    ],
)
def test_it_rejects_a_payment_naming_a_party_that_cannot_be_one(
    send: Send, changes: dict[str, Any], field: str, code: str
) -> None:
    before = stored_rows()

    assert_rejected(send("payment", **changes), field, code)

    assert stored_rows() == before


def test_it_rejects_a_payment_from_a_suspended_payment_enterprise_named_by_another(send: Send, pay: Persona) -> None:
    pay.enterprise.status = pay.enterprise.Status.SUSPENDED
    pay.enterprise.save(update_fields=["status"])
    before = stored_rows()

    # The suspended enterprise itself can no longer call; nobody else may send in its name.
    assert_problem(send("payment"), 403, "enterprise_suspended")
    assert_rejected(send("payment", by="ebp"), "pay_code", codes.ENTERPRISE_NOT_ACTIVE)

    assert stored_rows() == before


@pytest.mark.parametrize("sender", ["outsider", "ebp", "ebc"])
def test_only_the_payment_enterprise_sends_its_payment(send: Send, sender: str) -> None:
    before = stored_rows()

    assert_rejected(send("payment", by=sender), "pay_code", codes.NOT_YOUR_DOCUMENT)

    assert stored_rows() == before


def test_a_second_payment_with_the_same_transaction_id_is_a_conflict(send: Send) -> None:
    first = send("payment").json()
    before = stored_rows()

    body = assert_problem(send("payment", order_no="SW-OTHER"), 409, codes.DUPLICATE)

    assert body["existing_id"] == first["id"]
    assert body["customs_code"] == "-401007"
    assert stored_rows() == before
    assert Payment.objects.get().order_no == examples.PAYMENT["order_no"]


def test_the_payment_is_read_by_id_and_by_business_key(send: Send, clients: dict[str, APIClient]) -> None:
    payment_id = send("payment").json()["id"]

    by_id = clients["pay"].get(detail_url("payment", payment_id))
    by_key = clients["pay"].get(key_url("payment", PAY_CODE, TRANSACTION_ID))

    assert by_id.status_code == by_key.status_code == 200
    assert by_id.json() == by_key.json()
    assert by_id.json()["payer_name"] == examples.PAYMENT["payer_name"]
