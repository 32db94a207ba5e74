"""The payment company simulator over real HTTP: POST /verify, then the signed result."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from simulators.payment import PaymentConfig, PaymentSimulator, decide, load_pairs
from simulators.tests.support import SECRET, Receiver, expected_signature

PAYER = {"payer_name": "王芳", "payer_id_number": "110105198512120022"}
BUYER_SAME = {"buyer_name": "王芳", "buyer_id_number": "110105198512120022"}
BUYER_CHILD = {"buyer_name": "王小明", "buyer_id_number": "110105199003070017"}  # in the default table
BUYER_OTHER = {"buyer_name": "李四", "buyer_id_number": "11010519491231002X"}


@pytest.fixture
def payment(receiver: Receiver) -> Iterator[PaymentSimulator]:
    simulator = PaymentSimulator(PaymentConfig(port=0, callback_url=receiver.url, secret=SECRET, delay=0.01)).start()
    yield simulator
    simulator.stop()


def request(request_id: str, **people: str) -> dict[str, str]:
    return {
        "request_id": request_id,
        "pay_code": "4403169D3W",
        "pay_transaction_id": f"PAY-{request_id}",
        "order_no": f"ORDER-{request_id}",
        **people,
    }


def verify(simulator: PaymentSimulator, body: dict[str, Any]) -> httpx.Response:
    return httpx.post(f"http://127.0.0.1:{simulator.port}/verify", json=body)


@pytest.mark.parametrize(
    ("buyer", "verified", "reason"),
    [
        (BUYER_SAME, True, "same_person"),
        (BUYER_CHILD, True, "verified_pair"),
        (BUYER_OTHER, False, "not_same_person"),
    ],
)
def test_verification_result_is_called_back_signed(
    payment: PaymentSimulator, receiver: Receiver, buyer: dict[str, str], verified: bool, reason: str
) -> None:
    response = verify(payment, request("R1", **PAYER, **buyer))

    assert response.status_code == 202
    assert response.json() == {"request_id": "R1", "status": "accepted"}
    (callback,) = receiver.wait_for(lambda cs: len(cs) >= 1)
    assert json.loads(callback.body) == {
        "request_id": "R1",
        "pay_transaction_id": "PAY-R1",
        "verified": verified,
        "reason": reason,
    }
    headers = callback.headers
    assert headers["content-type"] == "application/json"
    assert headers["webhook-signature"] == expected_signature(
        SECRET, headers["webhook-id"], headers["webhook-timestamp"], callback.body
    )


def test_hashes_and_normalised_numbers_compare() -> None:
    pairs = load_pairs(None)
    digest = hashlib.sha256(b"11010519491231002X").hexdigest()

    assert decide({"payer_name": "李四", "payer_id_number": "110105 19491231002x", **BUYER_OTHER}, pairs) == (
        True,
        "same_person",
    )
    hashed = {"payer_name": "李四", "payer_id_number_hash": digest, "buyer_name": "李四"}
    assert decide({**hashed, "buyer_id_number_hash": digest.upper()}, pairs) == (True, "same_person")
    assert decide({**hashed, "buyer_id_number": "11010519491231002X"}, pairs) == (True, "same_person")
    assert decide({**hashed, "buyer_id_number": "110105198512120022"}, pairs)[0] is False


def test_the_same_request_keeps_its_webhook_id_and_a_bad_request_is_400(
    payment: PaymentSimulator, receiver: Receiver, tmp_path: Path
) -> None:
    body = request("R2", **PAYER, **BUYER_OTHER)

    verify(payment, body)
    verify(payment, body)
    missing = verify(payment, {"request_id": "R3"})

    callbacks = receiver.wait_for(lambda cs: len(cs) >= 2)
    assert callbacks[0].headers["webhook-id"] == callbacks[1].headers["webhook-id"]
    assert missing.status_code == 400
    assert "pay_code" in missing.json()["missing"]
    assert httpx.get(f"http://127.0.0.1:{payment.port}/health").json()["status"] == "ok"
