"""An ``app_time`` ahead of the single window's clock.

``app_time`` orders a document's versions: a version not later than the stored one is ignored.
A document dated far in the future (``99991231235959``) would therefore lock its own sender out
of every later change; it is refused on intake, beyond ``APP_TIME_FUTURE_TOLERANCE_SECONDS``
(clocks differ a little), for JSON and XML alike.
"""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone
from pytest_django.fixtures import Settings
from rest_framework.test import APIClient

from core.times import ceb_time
from declarations.intake import codes, examples
from declarations.models import Order
from declarations.tests.customs_xml import message_xml, read_answer, returns
from declarations.tests.helpers import EBP_CODE, Send, assert_rejected, stored_rows, url

pytestmark = pytest.mark.usefixtures("parties")

KINDS = ("order", "payment", "waybill", "inventory")


def ahead(seconds: int) -> str:
    return ceb_time(timezone.now() + datetime.timedelta(seconds=seconds))


@pytest.mark.parametrize("kind", KINDS)
def test_a_document_dated_in_the_year_9999_is_refused_and_nothing_is_stored(send: Send, kind: str) -> None:
    before = stored_rows()

    response = send(kind, app_time="99991231235959")

    assert_rejected(response, "app_time", codes.APP_TIME_IN_FUTURE)
    assert stored_rows() == before


def test_the_sender_keeps_changing_its_order_after_a_far_future_change_was_refused(send: Send) -> None:
    assert send("order").status_code == 201

    refused = send("order", app_type="2", app_time="99991231235959", note="locks everyone out")
    later = send("order", app_type="2", app_time=ahead(-60), note="a real change")

    assert_rejected(refused, "app_time", codes.APP_TIME_IN_FUTURE)
    assert later.status_code == 200, later.content
    assert (Order.objects.get().version, Order.objects.get().note) == (2, "a real change")


def test_a_clock_a_little_ahead_is_within_the_tolerance(send: Send, settings: Settings) -> None:
    settings.APP_TIME_FUTURE_TOLERANCE_SECONDS = 600

    within = send("order", app_time=ahead(540))
    beyond = send("order", order_no="SW-BEYOND-0001", app_time=ahead(720))

    assert within.status_code == 201, within.content
    assert_rejected(beyond, "app_time", codes.APP_TIME_IN_FUTURE)
    assert list(Order.objects.values_list("order_no", flat=True)) == [examples.ORDER["order_no"]]


def test_an_xml_order_dated_in_the_future_is_refused_with_the_code_in_its_receipt(
    clients: dict[str, APIClient],
) -> None:
    body = message_xml("order", [examples.document("order", app_time="99991231235959")], cop_code=EBP_CODE)
    before = stored_rows()

    [result] = returns(read_answer(clients["ebp"].post(url("order"), data=body, content_type="application/xml")))

    assert result["returnStatus"] == "-1"
    assert f"[{codes.APP_TIME_IN_FUTURE}]" in result["returnInfo"]
    assert "appTime" in result["returnInfo"] or "app_time" in result["returnInfo"]
    assert stored_rows() == {**before, "IdempotencyRecord": stored_rows()["IdempotencyRecord"]}
