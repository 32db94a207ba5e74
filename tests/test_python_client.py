"""The Python client (``clients/python``) against the live test server, and its retries,
problems and webhook check against scripted answers; the Postman collection against the schema."""
# The gateway tests' fixtures are imported by name, and pytest hands them in by name.
# ruff: noqa: F811

from __future__ import annotations

import datetime
import email.utils
import importlib.util
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
from django.core.management import call_command
from django.db import transaction
from pytest_django.live_server_helper import LiveServer
from rest_framework.test import APIClient

from core import errors
from declarations.event_types import INVENTORY_STATUS_CHANGED
from declarations.tests.parcels import parcel
from declarations.tests.test_gateway import (  # noqa: F401
    agent_keys,
    agent_signing_key,
    customs,
    customs_simulator,
    gateway_on,
    simulator_certificates,
)
from single_window import inbox, outbox
from single_window.events import event_publish
from single_window.models import Partner
from single_window_client import Client, ProblemError, WebhookVerificationError, verify_webhook
from single_window_client.client import retry_after_seconds
from tests.factories import Persona
from tests.fake_receiver import FakeReceiver

ROOT = Path(__file__).resolve().parents[1]
EXPORTER = ROOT / "clients" / "postman" / "export.py"
SEND_PARCEL = ROOT / "clients" / "python" / "examples" / "send_parcel.py"
COLLECTION = ROOT / "clients" / "postman" / "single-window.postman_collection.json"
PROBLEM = "application/problem+json"


def load_script(path: Path) -> ModuleType:
    """A script of ``clients/`` (not a package) as a module."""
    spec = importlib.util.spec_from_file_location(f"client_script_{path.stem}", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def client_of(who: Persona, live_server: LiveServer, **options: Any) -> Client:
    return Client(live_server.url, who.raw_key, timeout=10, **options)


@pytest.fixture
def party_clients(parties: dict[str, Persona], live_server: LiveServer) -> Iterator[dict[str, Client]]:
    """A client of the live server for each party of the demo parcel."""
    made = {name: client_of(who, live_server) for name, who in parties.items()}
    yield made
    for client in made.values():
        client.close()


# --- Against the live server -----------------------------------------------------------------


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.usefixtures("reseed_after_flush")
def test_a_parcel_sent_with_the_client_is_declared_traced_and_told_on_the_event_feed(
    party_clients: dict[str, Client],
) -> None:
    """The documents are the example script's: the README's examples under fresh keys."""
    docs = load_script(SEND_PARCEL).fresh_parcel()
    assert docs["order"]["order_no"] != parcel(0)["order"]["order_no"]
    agent = party_clients["agent"]
    start = agent.last_sequence()

    order = party_clients["ebp"].submit_order(docs["order"])
    payment = party_clients["pay"].submit_payment(docs["payment"])
    waybill = party_clients["logistics"].submit_waybill(docs["waybill"])
    inventory = party_clients["agent"].submit_inventory(docs["inventory"])

    assert (order["order_no"], payment["pay_transaction_id"], waybill["logistics_no"]) == (
        docs["order"]["order_no"],
        docs["payment"]["pay_transaction_id"],
        docs["waybill"]["logistics_no"],
    )
    assert (inventory["status"], inventory["waiting_for"]) == ("declared", [])
    event = agent.wait_for_event(
        INVENTORY_STATUS_CHANGED,
        lambda e: e["data"]["order_no"] == docs["order"]["order_no"] and e["data"]["to_status"] == "declared",
        timeout=10,
        after=start,
        poll_interval=0.1,
    )
    assert event["data"]["inventory_id"] == inventory["id"]
    assert event["sequence"] > start
    feed = list(agent.events(start, limit=1))  # one event a page: the iterator reads every page
    assert [e["sequence"] for e in feed] == list(range(start + 1, feed[-1]["sequence"] + 1))
    assert event in feed
    trace = party_clients["ebp"].get_trace(docs["order"]["ebp_code"], docs["order"]["order_no"])
    assert trace["order"]["id"] == order["id"]
    assert trace["inventory"]["status"] == "declared"
    assert any(step.get("to_status") == "declared" for step in trace["events"])


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.usefixtures("reseed_after_flush")
def test_a_bad_document_raises_a_problem_with_every_broken_field(party_clients: dict[str, Client]) -> None:
    document = {**parcel(42)["order"], "goods_value": 398.0}
    del document["order_no"]

    with pytest.raises(ProblemError) as raised:
        party_clients["ebp"].submit_order(document)

    problem = raised.value
    assert (problem.status, problem.code) == (400, errors.VALIDATION_FAILED)
    assert problem.title
    assert problem.detail
    assert problem.instance == "/api/v1/orders"
    fields = problem.field_codes()
    assert {"order_no", "goods_value"} <= fields.keys(), problem.errors
    assert all(error.message for error in problem.errors)
    with pytest.raises(ProblemError) as missing:
        party_clients["ebp"].get_trace("3301960001", "NO-SUCH-ORDER")
    assert (missing.value.status, missing.value.code, missing.value.errors) == (404, errors.NOT_FOUND, [])


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.usefixtures("reseed_after_flush")
def test_a_batch_answers_each_document_and_a_reused_key_replays_the_first_answer(
    party_clients: dict[str, Client],
) -> None:
    ebp = party_clients["ebp"]
    good, bad = parcel(43)["order"], {**parcel(44)["order"], "freight": 10}

    answer = ebp.submit_batch([("order", good), {"kind": "order", "document": bad}], idempotency_key="batch-43")

    assert (answer["accepted"], answer["refused"]) == (1, 1)
    assert [r["status"] for r in answer["results"]] == ["accepted", "refused"]
    documents = [{"kind": "order", "document": good}, {"kind": "order", "document": bad}]
    replayed = ebp.request("POST", "/batches", json={"documents": documents}, idempotency_key="batch-43")
    assert replayed.headers["Idempotent-Replayed"] == "true"
    assert replayed.json() == answer


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.usefixtures("reseed_after_flush", "agent_signing_key")
def test_the_example_script_sends_a_parcel_and_sees_it_released_on_the_event_feed(
    parties: dict[str, Persona],
    live_server: LiveServer,
    customs: tuple[Partner, str],
    customs_simulator: str,
    *,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """``send_parcel.py`` as an integrator runs it; the workers' part (relaying the outbox to
    the customs simulator, applying its receipts) is done here meanwhile."""
    partner, _secret = customs
    Partner.objects.filter(pk=partner.pk).update(endpoint_url=f"{customs_simulator}/ceb")
    for variable, party in (
        ("SW_KEY_EBP", "ebp"),
        ("SW_KEY_PAY", "pay"),
        ("SW_KEY_LOGISTICS", "logistics"),
        ("SW_KEY_AGENT", "agent"),
    ):
        monkeypatch.setenv(variable, parties[party].raw_key)
    script = load_script(SEND_PARCEL)
    outcome: list[int] = []
    run = threading.Thread(
        target=lambda: outcome.append(script.main(["--base-url", live_server.url, "--timeout", "30"]))
    )

    run.start()
    deadline = time.monotonic() + 40
    while run.is_alive() and time.monotonic() < deadline:
        outbox.outbox_relay_batch()
        for message_id in inbox.inbox_pending_ids():
            inbox.inbox_apply(message_id=message_id)
        time.sleep(0.1)
    run.join(timeout=5)

    assert outcome == [0], capsys.readouterr()
    printed = capsys.readouterr().out
    assert "inventory" in printed
    assert " released " in printed


# --- Retries, against scripted answers -------------------------------------------------------


class Script:
    """A MockTransport handler answering from a list; records each request and each wait."""

    def __init__(self, *answers: httpx.Response | Exception) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []
        self.waits: list[float] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    def client(self, **options: Any) -> Client:
        return Client(
            "http://sw.test", "sw_test_key", transport=httpx.MockTransport(self), sleep=self.waits.append, **options
        )


def problem(status: int, code: str, headers: dict[str, str] | None = None) -> httpx.Response:
    body = {"type": f"urn:single-window:problem:{code}", "title": "t", "status": status, "detail": "d", "code": code}
    return httpx.Response(status, json=body, headers={"Content-Type": PROBLEM, **(headers or {})})


def test_a_post_is_retried_after_503_with_the_same_idempotency_key_after_retry_after() -> None:
    script = Script(problem(503, "unavailable", {"Retry-After": "2"}), httpx.Response(201, json={"id": 7}))

    stored = script.client().submit_order({"order_no": "SW1"})

    assert stored == {"id": 7}
    assert script.waits == [2.0]
    first, second = script.requests
    assert first.url == "http://sw.test/api/v1/orders"
    assert first.headers["Authorization"] == "Bearer sw_test_key"
    assert first.headers["Idempotency-Key"] == second.headers["Idempotency-Key"]
    assert len(first.headers["Idempotency-Key"]) == 36  # a uuid4
    assert first.content == second.content


def test_every_post_gets_its_own_key_unless_one_is_given() -> None:
    script = Script(*(httpx.Response(201, json={}) for _ in range(3)))
    client = script.client()

    client.submit_payment({})
    client.submit_payment({})
    client.submit_waybill({}, idempotency_key="mine")

    keys = [r.headers["Idempotency-Key"] for r in script.requests]
    assert keys[0] != keys[1]
    assert keys[2] == "mine"


def test_connection_errors_429_and_http_dates_are_retried_and_waits_are_capped() -> None:
    later = email.utils.format_datetime(datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=30), True)
    script = Script(
        httpx.ConnectError("refused"),
        problem(429, "throttled", {"Retry-After": later}),
        problem(502, "http_502", {"Retry-After": "3600"}),
        httpx.Response(200, json={"events": [], "next_after": 0}),
    )

    assert list(script.client(max_retries=3, max_retry_wait=10, backoff=0.25).events()) == []

    assert len(script.requests) == 4
    # No answer: the backoff; an HTTP date 30 s ahead and 3600 s: both capped at max_retry_wait.
    assert script.waits == [0.25, 10, 10]


def test_retries_stop_at_max_retries_with_the_last_problem() -> None:
    script = Script(*(problem(503, "unavailable", {"Retry-After": "1"}) for _ in range(3)))

    with pytest.raises(ProblemError) as raised:
        script.client(max_retries=2).submit_inventory({})

    assert (raised.value.status, raised.value.code) == (503, "unavailable")
    assert script.waits == [1.0, 1.0]


def test_a_refusal_is_not_retried_and_a_non_problem_answer_still_raises_a_problem_error() -> None:
    refusal = Script(problem(409, "duplicate_document"))
    with pytest.raises(ProblemError):
        refusal.client().submit_order({})
    assert (len(refusal.requests), refusal.waits) == (1, [])

    html = Script(httpx.Response(500, text="<h1>Server Error</h1>", headers={"Content-Type": "text/html"}))
    with pytest.raises(ProblemError) as raised:
        html.client().get_trace("3301960001", "SW1")
    assert (raised.value.status, raised.value.code, raised.value.title) == (500, "http_500", "Internal Server Error")


def test_retry_after_reads_seconds_and_http_dates() -> None:
    now = datetime.datetime(2026, 11, 25, 2, 0, tzinfo=datetime.UTC)

    assert retry_after_seconds("5", now=now) == 5.0
    assert retry_after_seconds("Wed, 25 Nov 2026 02:00:30 GMT", now=now) == 30.0
    assert retry_after_seconds("Wed, 25 Nov 2026 01:00:00 GMT", now=now) == 0.0
    assert retry_after_seconds("soon", now=now) is None
    assert retry_after_seconds(None) is None


# --- Webhooks --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_verify_webhook_accepts_a_real_delivery_and_refuses_a_tampered_body_or_an_old_timestamp(
    owner: Persona, owner_client: APIClient, webhook_receiver: FakeReceiver
) -> None:
    registered = owner_client.post(
        "/api/v1/webhooks/endpoints",
        {"url": webhook_receiver.url, "event_types": [INVENTORY_STATUS_CHANGED]},
        format="json",
    )
    assert registered.status_code == 201, registered.content
    secret = registered.json()["secret"]
    with transaction.atomic():
        event_publish(enterprise=owner.enterprise, type=INVENTORY_STATUS_CHANGED, payload={"inventory_id": 1})
    assert outbox.outbox_relay_batch() == 1
    (delivery,) = webhook_receiver.requests
    headers, body = delivery.headers, delivery.body
    sent_at = int(headers["webhook-timestamp"])

    assert verify_webhook(secret, headers, body) == headers["webhook-id"]
    assert verify_webhook(secret, {k.upper(): v for k, v in headers.items()}, body.decode()) == headers["webhook-id"]
    tampered = json.dumps({**json.loads(body), "data": {"inventory_id": 2}}).encode()
    for bad_secret, bad_headers, bad_body, now in (
        (secret, headers, tampered, None),
        (secret, headers, body, sent_at + 301),
        (secret, headers, body, sent_at - 301),
        ("whsec_" + "A" * 44, headers, body, None),
        (secret, {**headers, "webhook-id": "msg_other"}, body, None),
        (secret, {k: v for k, v in headers.items() if k != "webhook-signature"}, body, None),
    ):
        with pytest.raises(WebhookVerificationError):
            verify_webhook(bad_secret, bad_headers, bad_body, now=now)
    # Within a longer tolerance the same old delivery passes.
    assert verify_webhook(secret, headers, body, tolerance=600, now=sent_at + 301) == headers["webhook-id"]
    # A rotating endpoint sends two signatures; one that matches is enough.
    rotated = {**headers, "webhook-signature": "v1,bm90LXRoaXM= " + headers["webhook-signature"]}
    assert verify_webhook(secret, rotated, body, now=time.time())


# --- The Postman collection ------------------------------------------------------------------


def _exporter() -> ModuleType:
    return load_script(EXPORTER)


@pytest.fixture(scope="module")
def schema(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    path = tmp_path_factory.mktemp("openapi") / "openapi.json"
    call_command("spectacular", "--format", "openapi-json", "--file", str(path))
    loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return loaded


def test_the_committed_postman_collection_is_what_the_exporter_makes_of_the_current_schema(
    schema: dict[str, Any],
) -> None:
    exporter = _exporter()

    expected = exporter.render(exporter.build_collection(schema))

    assert COLLECTION.read_text(encoding="utf-8") == expected, "stale: run python clients/postman/export.py"


def test_the_postman_collection_has_a_request_for_every_operation(schema: dict[str, Any]) -> None:
    exporter = _exporter()
    collection = json.loads(COLLECTION.read_text(encoding="utf-8"))
    requests = {item["id"]: item["request"] for folder in collection["item"] for item in folder["item"]}

    operations = {op["operationId"]: (method, path, op) for method, path, op in exporter.operations(schema)}
    assert requests.keys() == operations.keys()
    assert collection["info"]["schema"] == "https://schema.getpostman.com/json/collection/v2.1.0/collection.json"
    assert collection["auth"] == {
        "type": "bearer",
        "bearer": [{"key": "token", "value": "{{api_key}}", "type": "string"}],
    }
    assert {v["key"] for v in collection["variable"]} == {"base_url", "api_key"}
    for operation_id, (method, path, _op) in operations.items():
        request = requests[operation_id]
        assert request["method"] == method.upper()
        assert request["url"]["raw"].startswith("{{base_url}}/api/")
        assert len(request["url"]["path"]) == len([s for s in path.split("/") if s]) + path.endswith("/")
    order = requests["orders_submit"]
    assert json.loads(order["body"]["raw"])["order_no"] == "SW20261125000001"
    assert {"key": "Idempotency-Key", "value": "{{$guid}}", "description": "Makes a retry safe."} in order["header"]
    assert requests["health"]["auth"] == {"type": "noauth"}
    assert requests["orders_trace"]["url"]["raw"].endswith("/api/v1/orders/:first/:second/trace")
