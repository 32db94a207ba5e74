"""Matching rule 3's exception: the payment company verifies a payer who is not the buyer.

A parcel whose payer is someone else fails matching and asks the payment company, through
the outbox, with digests of the ID numbers only; the signed answer comes back to
``POST /api/v1/webhooks/payments``, is stored in the inbox and applied: verified, the list is
matched again and declared; refused, it stays ``match_failed``. The last test runs the real
payment simulator as a process over real HTTP.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from django.db import transaction
from rest_framework.test import APIClient

from core.audit import Actor
from declarations.clearance import matching
from declarations.models import IdentityVerification, Inventory, InventoryStatus, Payment, RuleResult
from declarations.tests.helpers import BUYER_NAME, Send
from declarations.tests.parcels import BUYER_ID, assert_declared, buyer_hash, buyer_id, list_of, parcel, submit
from single_window import inbox, outbox, services
from single_window.models import InboxMessage, OutboxDestination, OutboxMessage, OutboxState, Partner, PartnerKind
from tests.factories import Persona
from tests.ports import free_port

pytestmark = pytest.mark.usefixtures("parties")

WEBHOOK = "/api/v1/webhooks/payments"
PAYER_NAME = "王芳"
PAYER_ID = buyer_id(21)
VERIFIED_NOTE = "verified by the payment company"
REQUESTED_NOTE = "identity verification requested from the payment company"
REFUSED_NOTE = "the payment company did not verify the payer for the buyer"


def sha256(number: str) -> str:
    return hashlib.sha256(number.encode()).hexdigest()


def paid_by_someone_else(n: int) -> dict[str, dict[str, Any]]:
    docs = parcel(n)
    docs["payment"].update(payer_name=PAYER_NAME, payer_id_number=PAYER_ID)
    return docs


def register_payment_partner(*, pay: Persona, endpoint_url: str = "http://127.0.0.1:9/verify") -> tuple[Partner, str]:
    return services.partner_register(
        code="PAY-VERIFY",
        name="Payment company (verification)",
        kind=PartnerKind.PAYMENT,
        endpoint_url=endpoint_url,
        enterprise=pay.enterprise,
        actor=Actor.system("tests"),
    )


@pytest.fixture
def payment_partner(pay: Persona) -> tuple[Partner, str]:
    return register_payment_partner(pay=pay)


def signed(secret: str, body: bytes, message_id: str | None = None) -> dict[str, Any]:
    """Standard Webhooks headers, written out here so a signing bug can't confirm itself."""
    message_id = message_id or f"msg_{uuid.uuid4().hex}"
    timestamp = int(time.time())
    key = base64.b64decode(secret.removeprefix("whsec_"))
    digest = hmac.new(key, f"{message_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return {
        "HTTP_WEBHOOK_ID": message_id,
        "HTTP_WEBHOOK_TIMESTAMP": str(timestamp),
        "HTTP_WEBHOOK_SIGNATURE": "v1," + base64.b64encode(digest).decode(),
    }


def answer(secret: str, payment: Payment, *, verified: bool, request_id: str | None = None) -> InboxMessage:
    """The payment company's callback, posted and then applied as the inbox task would."""
    body = json.dumps(
        {
            "request_id": request_id or f"payment-{payment.pk}-v{payment.version}",
            "pay_transaction_id": payment.pay_transaction_id,
            "verified": verified,
            "reason": "verified_pair" if verified else "not_same_person",
        }
    ).encode()
    response = APIClient().post(WEBHOOK, data=body, content_type="application/json", **signed(secret, body))
    assert response.status_code == 202, response.content
    stored = InboxMessage.objects.get(message_id=response.json()["message_id"])
    applied = inbox.inbox_apply(message_id=stored.pk)
    assert applied is not None
    return applied


def verification_requests() -> list[OutboxMessage]:
    return list(OutboxMessage.objects.filter(destination_kind=OutboxDestination.PARTNER).order_by("id"))


def last_run(inventory: Inventory, rule: str = "payer_is_buyer") -> list[tuple[str, str, str]]:
    results = RuleResult.objects.filter(inventory=inventory)
    run = max(results.values_list("run", flat=True))
    return [(r.outcome, r.field, r.note) for r in results.filter(run=run, rule=rule).order_by("id")]


def payment_of(docs: dict[str, dict[str, Any]]) -> Payment:
    return Payment.objects.get(pay_transaction_id=docs["payment"]["pay_transaction_id"])


# --- Asking --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_payer_who_is_not_the_buyer_is_put_to_the_payment_company_with_digests_only(
    send: Send, payment_partner: tuple[Partner, str]
) -> None:
    docs = paid_by_someone_else(1)

    submit(send, docs)

    payment = payment_of(docs)
    assert payment.identity_verification == IdentityVerification.REQUESTED
    assert payment.identity_verified_at is None
    inventory = list_of(docs)
    assert inventory.status == InventoryStatus.MATCH_FAILED
    assert last_run(inventory) == [
        ("failed", "payer_name", REQUESTED_NOTE),
        ("failed", "payer_id_number", REQUESTED_NOTE),
    ]
    [message] = verification_requests()
    partner, _secret = payment_partner
    assert (message.destination, message.ordering_key, message.state) == (
        partner.code,
        f"payment:{payment.pk}",
        OutboxState.PENDING,
    )
    raw = outbox.message_body(message).decode()
    assert json.loads(raw) == {
        "request_id": f"payment-{payment.pk}-v1",
        "pay_code": docs["payment"]["pay_code"],
        "pay_transaction_id": docs["payment"]["pay_transaction_id"],
        "order_no": docs["order"]["order_no"],
        "payer_name": PAYER_NAME,
        "payer_id_number_hash": sha256(PAYER_ID),
        "buyer_name": BUYER_NAME,
        "buyer_id_number_hash": sha256(BUYER_ID),
    }
    # Neither the numbers nor the single window's own lookup hashes leave; no field names a number.
    for secret_value in (PAYER_ID, BUYER_ID, buyer_hash(PAYER_ID), buyer_hash(BUYER_ID)):
        assert secret_value not in raw
    assert '"payer_id_number"' not in raw
    assert '"buyer_id_number"' not in raw


@pytest.mark.django_db
def test_matching_again_asks_the_payment_company_once(send: Send, payment_partner: tuple[Partner, str]) -> None:
    docs = paid_by_someone_else(2)
    submit(send, docs)

    with transaction.atomic():
        matching.documents_changed(kind="payment", document=payment_of(docs))

    assert len(verification_requests()) == 1
    assert last_run(list_of(docs))[0] == ("failed", "payer_name", REQUESTED_NOTE)


@pytest.mark.django_db
def test_a_payer_who_is_the_buyer_needs_no_verification(send: Send, payment_partner: tuple[Partner, str]) -> None:
    docs = parcel(3)

    submit(send, docs)

    assert payment_of(docs).identity_verification == IdentityVerification.NOT_REQUESTED
    assert verification_requests() == []
    assert_declared(list_of(docs))


@pytest.mark.django_db
def test_without_a_payment_partner_the_rule_fails_and_nothing_is_asked(send: Send) -> None:
    docs = paid_by_someone_else(4)

    submit(send, docs)

    assert payment_of(docs).identity_verification == IdentityVerification.NOT_REQUESTED
    assert verification_requests() == []
    inventory = list_of(docs)
    assert inventory.status == InventoryStatus.MATCH_FAILED
    assert last_run(inventory) == [("failed", "payer_name", ""), ("failed", "payer_id_number", "")]


# --- Answers -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_verified_payer_passes_rule_3_and_the_list_is_declared(
    send: Send, payment_partner: tuple[Partner, str]
) -> None:
    docs = paid_by_someone_else(5)
    submit(send, docs)
    _partner, secret = payment_partner

    applied = answer(secret, payment_of(docs), verified=True)

    assert (applied.state, applied.message_type) == (InboxMessage.State.APPLIED, "payment.identity_verification")
    payment = payment_of(docs)
    assert payment.identity_verification == IdentityVerification.VERIFIED
    assert payment.identity_verified_at is not None
    inventory = list_of(docs)
    assert_declared(inventory)
    assert last_run(inventory) == [("passed", "", VERIFIED_NOTE)]


@pytest.mark.django_db
def test_a_refused_payer_leaves_the_list_match_failed(send: Send, payment_partner: tuple[Partner, str]) -> None:
    docs = paid_by_someone_else(6)
    submit(send, docs)
    _partner, secret = payment_partner

    applied = answer(secret, payment_of(docs), verified=False)

    assert applied.state == InboxMessage.State.APPLIED
    assert payment_of(docs).identity_verification == IdentityVerification.REFUSED
    inventory = list_of(docs)
    assert inventory.status == InventoryStatus.MATCH_FAILED
    assert last_run(inventory) == [
        ("failed", "payer_name", REFUSED_NOTE),
        ("failed", "payer_id_number", REFUSED_NOTE),
    ]


@pytest.mark.django_db
def test_an_answer_for_an_older_version_of_the_payment_is_ignored(
    send: Send, payment_partner: tuple[Partner, str]
) -> None:
    docs = paid_by_someone_else(7)
    submit(send, docs)
    payment = payment_of(docs)
    _partner, secret = payment_partner

    applied = answer(secret, payment, verified=True, request_id=f"payment-{payment.pk}-v9")

    assert applied.state == InboxMessage.State.APPLIED
    assert "ignored" in applied.note
    assert payment_of(docs).identity_verification == IdentityVerification.REQUESTED
    assert list_of(docs).status == InventoryStatus.MATCH_FAILED


@pytest.mark.django_db
def test_a_wrongly_signed_answer_is_refused_and_nothing_is_stored(
    send: Send, payment_partner: tuple[Partner, str]
) -> None:
    docs = paid_by_someone_else(8)
    submit(send, docs)
    body = json.dumps({"request_id": "payment-1-v1", "pay_transaction_id": "x", "verified": True}).encode()
    other_secret = "whsec_" + base64.b64encode(b"0" * 32).decode()

    response = APIClient().post(WEBHOOK, data=body, content_type="application/json", **signed(other_secret, body))

    assert response.status_code == 401
    assert InboxMessage.objects.count() == 0
    assert payment_of(docs).identity_verification == IdentityVerification.REQUESTED


# --- End to end with the payment simulator ------------------------------------------------


@pytest.fixture
def payment_simulator(tmp_path: Path, live_server: Any, pay: Persona) -> Iterator[tuple[Partner, str]]:
    """The payment simulator on its own port, calling back the live server; the pair of this
    file's payer and the example buyer is in its table of verified pairs."""
    pairs = tmp_path / "verified_pairs.json"
    pairs.write_text(
        json.dumps(
            [
                {
                    "payer_name": PAYER_NAME,
                    "payer_id_number": PAYER_ID,
                    "buyer_name": BUYER_NAME,
                    "buyer_id_number": BUYER_ID,
                }
            ]
        ),
        encoding="utf-8",
    )
    port = free_port()
    partner, secret = register_payment_partner(pay=pay, endpoint_url=f"http://127.0.0.1:{port}/verify")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "simulators.payment",
            "--port",
            str(port),
            "--callback-url",
            f"{live_server.url}{WEBHOOK}",
            "--secret",
            secret,
            "--verified-pairs",
            str(pairs),
            "--delay",
            "0.1",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert process.poll() is None, "the payment simulator exited"
            assert time.monotonic() < deadline, "the payment simulator did not start"
            time.sleep(0.1)
        yield partner, secret
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.usefixtures("reseed_after_flush")
def test_the_payment_simulator_verifies_the_payer_and_the_list_is_declared(
    send: Send, payment_simulator: tuple[Partner, str]
) -> None:
    docs = paid_by_someone_else(9)
    submit(send, docs)
    assert list_of(docs).status == InventoryStatus.MATCH_FAILED
    assert payment_of(docs).identity_verification == IdentityVerification.REQUESTED

    deadline = time.monotonic() + 15
    while list_of(docs).status != InventoryStatus.DECLARED:
        assert time.monotonic() < deadline, (list_of(docs).status, payment_of(docs).identity_verification)
        outbox.outbox_relay_batch()  # what the relay task runs
        for message_id in inbox.inbox_pending_ids():  # what the inbox task runs
            inbox.inbox_apply(message_id=message_id)
        time.sleep(0.1)

    [request] = verification_requests()
    assert request.state == OutboxState.SENT
    callback = InboxMessage.objects.get(partner=payment_simulator[0])
    assert (callback.state, callback.message_type) == (InboxMessage.State.APPLIED, "payment.identity_verification")
    payment = payment_of(docs)
    assert payment.identity_verification == IdentityVerification.VERIFIED
    inventory = list_of(docs)
    assert_declared(inventory)
    assert last_run(inventory) == [("passed", "", VERIFIED_NOTE)]
