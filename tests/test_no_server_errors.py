"""No request makes the server fail: odd input is a 4xx problem+json with a stable code.

Each case once answered 500 (or, worse, was taken): JSON nested deeper than the parser can
recurse, pagination cursors that decode but point nowhere, NUL and other control characters
in the path (PostgreSQL refuses NUL in text), digits other than ASCII in the
``webhook-timestamp`` header and in amounts (``int()`` and ``Decimal()`` read Arabic-Indic and
full-width digits). Every refusal leaves nothing stored.
"""

from __future__ import annotations

import base64
import time
from typing import Any

import pytest
from rest_framework.test import APIClient

from core import errors
from declarations.models import Order
from declarations.tests.helpers import Send, document
from single_window.error_codes import WEBHOOK_SIGNATURE_INVALID
from single_window.models import InboxMessage, PartnerKind, WebhookEndpoint
from tests.factories import assert_problem
from tests.partner_webhooks import (
    SigningPartner,
    new_message_id,
    post_webhook,
    register_partner,
    signature,
    signed_headers,
)

pytestmark = pytest.mark.django_db

ORDERS = "/api/v1/orders"
DEPTH = 10_000

ARABIC_INDIC = str.maketrans("0123456789", "".join(chr(0x0660 + n) for n in range(10)))
FULL_WIDTH = str.maketrans("0123456789", "".join(chr(0xFF10 + n) for n in range(10)))


# --- Bodies the parser cannot read -----------------------------------------------------------


@pytest.mark.parametrize(
    "body", ["[" * DEPTH + "]" * DEPTH, '{"a":' * DEPTH + "1" + "}" * DEPTH], ids=["arrays", "objects"]
)
@pytest.mark.parametrize(
    ("path", "stored"),
    [(ORDERS, Order.objects), ("/api/v1/webhooks/endpoints", WebhookEndpoint.objects)],
    ids=["orders", "webhook-endpoints"],
)
def test_json_nested_too_deep_is_a_parse_error(
    clients: dict[str, APIClient], body: str, path: str, stored: Any
) -> None:
    response = clients["ebp"].post(path, data=body, content_type="application/json")

    assert_problem(response, 400, errors.PARSE_ERROR)
    assert stored.count() == 0


def test_a_partners_signed_json_nested_too_deep_is_kept_unread(django_capture_on_commit_callbacks: Any) -> None:
    """Signed, so it is the partner's to send: stored like any body nobody can read."""
    customs = register_partner("CUSTOMS-TEST", PartnerKind.CUSTOMS)
    body = ("[" * DEPTH + "]" * DEPTH).encode()

    response = post_webhook(body, signed_headers(customs.secret, body), content_type="application/json")

    assert response.status_code == 202, response.content
    assert InboxMessage.objects.get().message_type == ""


# --- Pagination cursors -----------------------------------------------------------------------


def _cursor(querystring: str) -> str:
    """A cursor as DRF makes one: base64 of a query string (p: position, o: offset, r: reverse)."""
    return base64.b64encode(querystring.encode()).decode()


@pytest.mark.parametrize(
    "cursor",
    [
        "not a cursor",
        _cursor("o=x"),
        _cursor("p=not-a-time"),
        _cursor("p=2026-11-25+10%3A15%3A00%00"),
        _cursor("p=%00"),
        _cursor("p=99999-01-01"),
    ],
    ids=["garbage", "bad-offset", "position-not-a-time", "position-with-nul", "position-nul", "year"],
)
def test_a_cursor_that_points_nowhere_is_not_found(clients: dict[str, APIClient], cursor: str) -> None:
    response = clients["ebp"].get(ORDERS, {"cursor": cursor})

    assert_problem(response, 404, errors.NOT_FOUND)


# --- Control characters in the path and the query -------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/orders/%00abc/x",
        "/api/v1/orders/abc/x%00",
        "/api/v1/orders/%00abc/x/trace",
        "/api/v1/payments/%01abc/x",
        "/api/v1/orders/abc%1F/x",
        "/api/v1/enterprises/%00",
    ],
)
def test_control_characters_in_the_path_are_not_found(clients: dict[str, APIClient], path: str) -> None:
    assert_problem(clients["ebp"].get(path), 404, errors.NOT_FOUND)


def test_nul_in_a_query_parameter_is_a_field_error(clients: dict[str, APIClient]) -> None:
    response = clients["ebp"].get(ORDERS, {"status": "\x00"})

    body = assert_problem(response, 400, errors.VALIDATION_FAILED)
    assert [(e["field"], e["code"]) for e in body["errors"]] == [("status", errors.INVALID)]


# --- Digits other than ASCII -------------------------------------------------------------------


@pytest.fixture
def customs() -> SigningPartner:
    return register_partner("CUSTOMS-TEST", PartnerKind.CUSTOMS)


@pytest.mark.parametrize("digits", [ARABIC_INDIC, FULL_WIDTH], ids=["arabic-indic", "full-width"])
def test_a_webhook_timestamp_in_other_digits_is_refused(customs: SigningPartner, digits: dict[int, str]) -> None:
    """Signed over the ASCII time, sent in other digits: int() would read it as the same time."""
    body = b"<CEB622Message/>"
    message_id, now = new_message_id(), int(time.time())
    headers = {
        "HTTP_WEBHOOK_ID": message_id,
        "HTTP_WEBHOOK_TIMESTAMP": str(now).translate(digits),
        "HTTP_WEBHOOK_SIGNATURE": signature(customs.secret, message_id, now, body),
    }

    assert_problem(post_webhook(body, headers), 401, WEBHOOK_SIGNATURE_INVALID)
    assert InboxMessage.objects.count() == 0


def test_a_webhook_timestamp_with_a_digit_int_cannot_read_is_refused(customs: SigningPartner) -> None:
    """A superscript two is a digit to str.isdigit() (and arrives as one byte, Latin-1)."""
    body = b"<CEB622Message/>"
    headers = signed_headers(customs.secret, body)
    headers["HTTP_WEBHOOK_TIMESTAMP"] = headers["HTTP_WEBHOOK_TIMESTAMP"][:-1] + "²"

    assert_problem(post_webhook(body, headers), 401, WEBHOOK_SIGNATURE_INVALID)
    assert InboxMessage.objects.count() == 0


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"freight": "10.00".translate(FULL_WIDTH)}, "freight"),
        ({"goods_value": "398.00".translate(ARABIC_INDIC)}, "goods_value"),
        ({"tax_total": "37.13".translate(ARABIC_INDIC)}, "tax_total"),
        ({"freight": "1".translate(FULL_WIDTH) + "0.00"}, "freight"),
    ],
    ids=["full-width", "arabic-indic", "arabic-indic-tax", "one-full-width-digit"],
)
def test_an_amount_in_other_digits_is_a_field_error(send: Send, changes: dict[str, Any], field: str) -> None:
    response = send("order", **changes)

    body = assert_problem(response, 400, errors.VALIDATION_FAILED)
    assert (field, errors.INVALID) in [(e["field"], e["code"]) for e in body["errors"]]
    assert Order.objects.count() == 0


def test_an_item_amount_and_number_in_other_digits_are_field_errors(send: Send) -> None:
    data = document("order", item=0, total_price="198.00".translate(ARABIC_INDIC), gnum="1".translate(FULL_WIDTH))

    response = send("order", data)

    body = assert_problem(response, 400, errors.VALIDATION_FAILED)
    found = {(e["field"], e["code"]) for e in body["errors"]}
    assert {("items[0].total_price", errors.INVALID), ("items[0].gnum", errors.INVALID)} <= found
    assert Order.objects.count() == 0


def test_amounts_in_ascii_digits_are_still_taken(send: Send) -> None:
    """The control case of the ones above: the same document, as the example writes it."""
    assert send("order").status_code == 201
    assert Order.objects.count() == 1
