"""Partners' messages in: verified by the partner's Standard
Webhooks signature, stored first with the body encrypted, applied once by a task through the
handler a system registered, kept with the reason when nobody can read them.

The hub knows no system, so these tests register a handler of their own; the customs receipts
that ``declarations`` applies are tested in ``declarations/tests/test_receipts.py``.
"""

from __future__ import annotations

import datetime
import time
from collections.abc import Callable
from typing import Any

import pytest
import time_machine
from kombu.exceptions import OperationalError

from config.celery import app as celery_app
from core.crypto import decrypt_bytes, encrypt_bytes
from single_window import error_codes, inbox, tasks
from single_window.models import InboxMessage, PartnerKind
from tests.factories import assert_problem
from tests.partner_webhooks import SigningPartner, new_message_id, post_webhook, register_partner, signed_headers

TYPE = "TestReceipt"
BODY = f"<{TYPE}><buyer>张三 110101199003074514</buyer></{TYPE}>".encode()

pytestmark = pytest.mark.django_db


@pytest.fixture
def customs() -> SigningPartner:
    return register_partner("CUSTOMS-TEST", PartnerKind.CUSTOMS)


@pytest.fixture
def applied(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """A handler for ``TestReceipt`` that records the bodies it applied."""
    bodies: list[bytes] = []

    def handler(message: InboxMessage, body: bytes) -> str:
        bodies.append(body)
        return f"applied {len(body)} bytes"

    monkeypatch.setitem(inbox.HANDLERS, TYPE, customs_only(handler))
    return bodies


def customs_only(handler: inbox.Handler) -> inbox.InboxHandler:
    return inbox.InboxHandler(apply=handler, partner_kinds=frozenset({PartnerKind.CUSTOMS}))


def apply(message: InboxMessage) -> InboxMessage:
    tasks.apply_inbox_message(inbox_message_id=message.pk)
    message.refresh_from_db()
    return message


# --- Accepted ------------------------------------------------------------------------------------


def test_a_signed_message_is_stored_encrypted_then_applied_by_the_task(
    customs: SigningPartner, applied: list[bytes]
) -> None:
    message_id = new_message_id()

    response = post_webhook(BODY, signed_headers(customs.secret, BODY, message_id=message_id))

    assert response.status_code == 202, response.content
    assert response.json() == {"message_id": message_id, "duplicate": False, "state": "received"}
    message = InboxMessage.objects.get()
    assert (message.partner, message.message_id, message.message_type) == (customs.partner, message_id, TYPE)
    assert (message.state, message.content_type, message.applied_at) == ("received", "application/xml", None)
    assert "110101199003074514" not in message.body_encrypted
    assert BODY not in message.body_encrypted.encode()
    assert decrypt_bytes(message.body_encrypted) == BODY
    assert applied == []

    message = apply(message)

    assert applied == [BODY]
    assert (message.state, message.note) == ("applied", f"applied {len(BODY)} bytes")
    assert message.applied_at is not None


def test_a_message_is_applied_once_however_often_the_task_runs(customs: SigningPartner, applied: list[bytes]) -> None:
    post_webhook(BODY, signed_headers(customs.secret, BODY))
    message = InboxMessage.objects.get()

    apply(message)
    apply(message)
    tasks.sweep_inbox()

    assert applied == [BODY]


def test_a_signature_by_any_active_partner_of_the_kind_is_accepted(
    customs: SigningPartner, applied: list[bytes]
) -> None:
    second = register_partner("CUSTOMS-NB", PartnerKind.CUSTOMS)

    response = post_webhook(BODY, signed_headers(second.secret, BODY))

    assert response.status_code == 202
    assert InboxMessage.objects.get().partner == second.partner


def test_a_signature_within_five_minutes_is_accepted(customs: SigningPartner) -> None:
    headers = signed_headers(customs.secret, BODY)
    with time_machine.travel(time.time() + 295, tick=False):
        response = post_webhook(BODY, headers)

    assert response.status_code == 202


# --- Refused -------------------------------------------------------------------------------------


def _wrong_secret(partner: SigningPartner) -> dict[str, str]:
    return signed_headers("whsec_" + "QUJD" * 8, BODY)


def _other_body(partner: SigningPartner) -> dict[str, str]:
    return signed_headers(partner.secret, BODY + b" ")


def _without(header: str) -> Callable[[SigningPartner], dict[str, str]]:
    def make(partner: SigningPartner) -> dict[str, str]:
        headers = signed_headers(partner.secret, BODY)
        del headers[header]
        return headers

    return make


def _timestamp_not_a_number(partner: SigningPartner) -> dict[str, str]:
    return {**signed_headers(partner.secret, BODY), "HTTP_WEBHOOK_TIMESTAMP": "soon"}


REFUSED: dict[str, Callable[[SigningPartner], dict[str, str]]] = {
    "wrong secret": _wrong_secret,
    "body changed after signing": _other_body,
    "no webhook-id": _without("HTTP_WEBHOOK_ID"),
    "no webhook-timestamp": _without("HTTP_WEBHOOK_TIMESTAMP"),
    "no webhook-signature": _without("HTTP_WEBHOOK_SIGNATURE"),
    "no headers at all": lambda _partner: {},
    "timestamp not a number": _timestamp_not_a_number,
}


@pytest.mark.parametrize("case", REFUSED.keys())
def test_a_message_not_signed_by_the_partner_is_refused_and_nothing_is_stored(
    customs: SigningPartner, applied: list[bytes], case: str
) -> None:
    response = post_webhook(BODY, REFUSED[case](customs))

    assert_problem(response, 401, inbox.WEBHOOK_SIGNATURE_INVALID)
    assert not InboxMessage.objects.exists()


@pytest.mark.parametrize("seconds", [301, -301, 3600])
def test_a_stale_or_future_signature_is_refused_and_nothing_is_stored(customs: SigningPartner, seconds: int) -> None:
    headers = signed_headers(customs.secret, BODY)

    with time_machine.travel(time.time() + seconds, tick=False):
        response = post_webhook(BODY, headers)

    assert_problem(response, 401, inbox.WEBHOOK_SIGNATURE_INVALID)
    assert not InboxMessage.objects.exists()


def test_a_signature_by_a_partner_of_another_kind_is_refused(customs: SigningPartner) -> None:
    payment = register_partner("PAY-TEST", PartnerKind.PAYMENT)

    response = post_webhook(BODY, signed_headers(payment.secret, BODY))

    assert_problem(response, 401, inbox.WEBHOOK_SIGNATURE_INVALID)
    assert not InboxMessage.objects.exists()


PAYMENTS_WEBHOOK = "/api/v1/webhooks/payments"


def test_a_message_of_a_type_the_partner_kind_may_not_send_is_stored_refused_and_never_applied(
    customs: SigningPartner, applied: list[bytes]
) -> None:
    payment = register_partner("PAY-TEST", PartnerKind.PAYMENT)
    message_id = new_message_id()

    response = post_webhook(BODY, signed_headers(payment.secret, BODY, message_id=message_id), url=PAYMENTS_WEBHOOK)
    tasks.sweep_inbox()

    body = assert_problem(response, 403, error_codes.WEBHOOK_MESSAGE_TYPE_NOT_ALLOWED)
    assert (body["message_id"], body["message_type"]) == (message_id, TYPE)
    message = InboxMessage.objects.get()
    assert (message.partner, message.message_id, message.message_type) == (payment.partner, message_id, TYPE)
    assert (message.state, message.note) == ("unreadable", f"refused: a payment partner may not send {TYPE}")
    assert message.applied_at is not None
    assert applied == []


def test_a_stored_message_of_a_type_its_partner_kind_may_not_send_is_refused_when_applied(
    customs: SigningPartner, applied: list[bytes]
) -> None:
    """A row stored before its type was restricted (or by any other path) is checked again."""
    payment = register_partner("PAY-TEST", PartnerKind.PAYMENT)
    message = InboxMessage.objects.create(
        partner=payment.partner,
        message_id=new_message_id(),
        message_type=TYPE,
        content_type="application/xml",
        body_encrypted=encrypt_bytes(BODY),
    )

    message = apply(message)

    assert (message.state, message.note) == ("unreadable", f"refused: a payment partner may not send {TYPE}")
    assert applied == []


def test_a_signature_by_an_inactive_partner_is_refused(customs: SigningPartner) -> None:
    customs.partner.active = False
    customs.partner.save(update_fields=["active"])

    response = post_webhook(BODY, signed_headers(customs.secret, BODY))

    assert_problem(response, 401, inbox.WEBHOOK_SIGNATURE_INVALID)
    assert not InboxMessage.objects.exists()


def test_the_refusal_is_problem_json_in_chinese_too(customs: SigningPartner) -> None:
    response = post_webhook(BODY, {}, HTTP_ACCEPT_LANGUAGE="zh-Hans")

    body = assert_problem(response, 401, inbox.WEBHOOK_SIGNATURE_INVALID)
    assert body["detail"] == "Webhook 签名缺失、错误或已过期。"


# --- Replays -------------------------------------------------------------------------------------


def test_the_same_message_id_twice_is_acknowledged_and_applied_once(
    customs: SigningPartner, applied: list[bytes]
) -> None:
    message_id = new_message_id()
    first = post_webhook(BODY, signed_headers(customs.secret, BODY, message_id=message_id))
    apply(InboxMessage.objects.get())

    # A redelivery is signed again, with a fresh timestamp, under the same id.
    with time_machine.travel(time.time() + 60, tick=False):
        again = post_webhook(BODY, signed_headers(customs.secret, BODY, message_id=message_id))
    tasks.sweep_inbox()

    assert first.status_code == 202
    assert again.status_code == 200, again.content
    assert again.json() == {"message_id": message_id, "duplicate": True, "state": "applied"}
    assert InboxMessage.objects.count() == 1
    assert applied == [BODY]


def test_a_replay_before_the_first_was_applied_is_applied_once(customs: SigningPartner, applied: list[bytes]) -> None:
    message_id = new_message_id()
    post_webhook(BODY, signed_headers(customs.secret, BODY, message_id=message_id))
    again = post_webhook(BODY, signed_headers(customs.secret, BODY, message_id=message_id))

    assert again.json() == {"message_id": message_id, "duplicate": True, "state": "received"}
    apply(InboxMessage.objects.get())
    tasks.sweep_inbox()
    assert applied == [BODY]


# --- Unreadable ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"this is not XML", "no system reads message type '(unknown)'"),
        (b"", "no system reads message type '(unknown)'"),
        (b"<?xml version='1.0'?><ceb:CEB999Message xmlns:ceb='x'/>", "no system reads message type 'CEB999Message'"),
    ],
    ids=["not XML", "empty", "unknown message"],
)
def test_a_body_nobody_reads_stays_stored_with_the_reason(customs: SigningPartner, body: bytes, reason: str) -> None:
    response = post_webhook(body, signed_headers(customs.secret, body))

    assert response.status_code == 202
    message = apply(InboxMessage.objects.get())
    assert (message.state, message.note) == ("unreadable", reason)
    assert decrypt_bytes(message.body_encrypted) == body


def test_a_message_its_handler_refuses_stays_stored_with_the_reason_and_its_effects_undone(
    customs: SigningPartner, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(message: InboxMessage, body: bytes) -> str:
        register_partner("WRITTEN-BEFORE-REFUSING", PartnerKind.CARRIER)
        msg = "returnTime '2026' is not YYYYMMDDhhmmss[SSS]"
        raise inbox.InboxRejected(msg)

    monkeypatch.setitem(inbox.HANDLERS, TYPE, customs_only(refuse))
    post_webhook(BODY, signed_headers(customs.secret, BODY))

    message = apply(InboxMessage.objects.get())

    assert (message.state, message.note) == ("unreadable", "returnTime '2026' is not YYYYMMDDhhmmss[SSS]")
    assert not type(customs.partner).objects.filter(code="WRITTEN-BEFORE-REFUSING").exists()


# --- The sweep -----------------------------------------------------------------------------------


def _broker_down(**kwargs: Any) -> None:
    msg = "Error 111 connecting to localhost:6379. Connection refused."
    raise OperationalError(msg)


def test_a_message_stored_while_the_broker_was_down_is_applied_by_the_sweep(
    customs: SigningPartner,
    applied: list[bytes],
    monkeypatch: pytest.MonkeyPatch,
    django_capture_on_commit_callbacks: Any,
) -> None:
    monkeypatch.setattr(celery_app, "send_task", _broker_down)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = post_webhook(BODY, signed_headers(customs.secret, BODY))

    assert response.status_code == 202
    assert len(callbacks) == 1
    message = InboxMessage.objects.get()
    assert message.state == "received"
    assert applied == []

    assert tasks.sweep_inbox() == 1

    message.refresh_from_db()
    assert message.state == "applied"
    assert applied == [BODY]
    assert tasks.sweep_inbox() == 0


def test_the_sweep_goes_on_past_a_message_that_fails(
    customs: SigningPartner, applied: list[bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    def fail(message: InboxMessage, body: bytes) -> str:
        msg = "the database went away"
        raise RuntimeError(msg)

    monkeypatch.setitem(inbox.HANDLERS, "Failing", customs_only(fail))
    failing = b"<Failing/>"
    post_webhook(failing, signed_headers(customs.secret, failing))
    with time_machine.travel(datetime.timedelta(seconds=1)):
        post_webhook(BODY, signed_headers(customs.secret, BODY))

    assert tasks.sweep_inbox() == 2

    states = dict(InboxMessage.objects.values_list("message_type", "state"))
    assert states == {"Failing": "received", TYPE: "applied"}
    assert applied == [BODY]
