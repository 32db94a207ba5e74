"""Every answer of the document endpoints is what the OpenAPI description says it is.

One parcel goes through the API (each document new, then changed, the list declared with its
tax estimate), its documents are read back every way there is (by id, by business key, in a
list, in the parcel's trace) by their sender and by another party, and each JSON body is
validated against the response schema of its operation in the generated description. The
schemas are made strict first (no property beyond the documented ones), so a field the
answer has and the description lacks fails as surely as a missing or mistyped one.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from openapi_schema_validator import OAS30ReadValidator
from rest_framework.test import APIClient

from declarations import kinds
from declarations.tests.helpers import SENDER_OF, Send, detail_url, key_url, url
from declarations.tests.parcels import parcel

if TYPE_CHECKING:
    from rest_framework.response import _MonkeyPatchedResponse as ApiResponse

pytestmark = pytest.mark.usefixtures("parties")

HTTP_METHODS = {"get", "put", "post", "delete", "patch"}
ACTIONS = ("submit", "list", "retrieve", "by_key")
# A later version of every document: its change (app_type 2) is taken.
LATER = "20261126090000"
# A party besides the sender that each document names, so masked answers are checked too.
OTHER_READER = {"order": "ebc", "payment": "ebp", "waybill": None, "inventory": "ebp"}


@pytest.fixture(scope="module")
def description() -> dict[str, Any]:
    """The OpenAPI description as served, with every object schema closed to other properties."""
    generated = SchemaGenerator().get_schema(request=None, public=True)
    served: dict[str, Any] = json.loads(OpenApiJsonRenderer().render(generated))
    served["components"] = _closed(served["components"])
    return served


def _closed(node: Any) -> Any:
    """``node`` with ``additionalProperties: false`` on every object schema that sets nothing.

    drf-spectacular writes a nullable reference as ``allOf: [$ref], nullable: true``, which
    OpenAPI 3.0.3 leaves to the tools (``nullable`` only qualifies a ``type``); it is read here
    as the reference or null.
    """
    node = copy.deepcopy(node)
    for schema in _dicts(node):
        if "properties" in schema and "additionalProperties" not in schema:
            schema["additionalProperties"] = False
        if schema.get("nullable") and "allOf" in schema and "type" not in schema:
            schema["anyOf"] = [{"allOf": schema.pop("allOf")}, {"enum": [None]}]
            del schema["nullable"]
    return node


def _dicts(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _dicts(value)
    elif isinstance(node, list):
        for value in node:
            yield from _dicts(value)


def _operation(description: dict[str, Any], operation_id: str) -> dict[str, Any]:
    for item in description["paths"].values():
        for method, operation in item.items():
            if method in HTTP_METHODS and operation["operationId"] == operation_id:
                found: dict[str, Any] = operation
                return found
    raise LookupError(operation_id)


def _problems(description: dict[str, Any], schema: dict[str, Any], body: Any) -> list[str]:
    """Why ``body`` does not fit ``schema`` (``$ref`` resolved against the description)."""
    root = {**_closed(schema), "components": description["components"]}
    validator = OAS30ReadValidator(root, format_checker=OAS30ReadValidator.FORMAT_CHECKER)
    return [
        f"{'/'.join(map(str, error.absolute_path)) or '(body)'}: {error.message}"
        for error in validator.iter_errors(body)
    ]


def assert_documented(description: dict[str, Any], operation_id: str, response: ApiResponse) -> None:
    """The response's status is documented for the operation, and its JSON body fits that schema."""
    status = str(response.status_code)
    responses = _operation(description, operation_id)["responses"]
    assert status in responses, f"{operation_id} answered {status}, documented: {sorted(responses)}"
    content = responses[status].get("content", {})
    assert "application/json" in content, f"{operation_id} {status}: documented as {sorted(content)}"
    problems = _problems(description, content["application/json"]["schema"], response.json())
    assert problems == [], f"{operation_id} {status}:\n" + "\n".join(problems)


@pytest.fixture
def submitted(send: Send) -> dict[str, Any]:
    """The parcel's submissions, (operation, response) in order, and the parcel's documents.

    The list comes first as a draft and is declared by its change, so it waits for all three;
    each document is then stored and changed, the payment last (stored as a draft, declared by
    its change): the list then matches, is declared and carries its tax estimate.
    """
    docs = parcel(7)
    answers: list[tuple[str, ApiResponse]] = []

    def submit(kind: kinds.DocumentType, expected: int, **changes: Any) -> None:
        response = send(kind.name, {**docs[kind.name], **changes})
        assert response.status_code == expected, (kind.name, response.content)
        answers.append((f"{kind.plural}_submit", response))

    submit(kinds.INVENTORY, 201, app_status="1")
    submit(kinds.INVENTORY, 200, app_type="2", app_time=LATER)
    for kind in (kinds.ORDER, kinds.WAYBILL):
        submit(kind, 201)
        submit(kind, 200, app_type="2", app_time=LATER)
    submit(kinds.PAYMENT, 201, app_status="1")
    submit(kinds.PAYMENT, 200, app_type="2", app_time=LATER)
    return {"answers": answers, "docs": docs}


def test_every_submission_answers_as_documented(description: dict[str, Any], submitted: dict[str, Any]) -> None:
    answers: list[tuple[str, ApiResponse]] = submitted["answers"]

    for operation_id, response in answers:
        assert_documented(description, operation_id, response)
    # The list, declared before anything else arrived, answered that it waits for all three.
    assert answers[1][1].json()["waiting_for"] == ["order", "payment", "waybill"]


@pytest.mark.parametrize("kind", kinds.KINDS.values(), ids=kinds.KINDS.keys())
def test_every_read_answers_as_documented(
    description: dict[str, Any], submitted: dict[str, Any], clients: dict[str, APIClient], kind: kinds.DocumentType
) -> None:
    sent = submitted["docs"][kind.name]
    first, second = (sent[name] for name in kind.business_key)
    readers = [who for who in (SENDER_OF[kind.name], OTHER_READER[kind.name]) if who is not None]

    for who in readers:
        client = clients[who]
        page = client.get(url(kind.name))
        assert page.status_code == 200, page.content
        assert_documented(description, f"{kind.plural}_list", page)
        (row,) = page.json()["results"]
        assert_documented(description, f"{kind.plural}_retrieve", client.get(detail_url(kind.name, row["id"])))
        assert_documented(description, f"{kind.plural}_by_key", client.get(key_url(kind.name, first, second)))
    if kind.is_list:
        assert row["status"] == "declared"
        assert row["tax_estimate"] is not None


def test_the_trace_answers_as_documented(
    description: dict[str, Any], submitted: dict[str, Any], clients: dict[str, APIClient]
) -> None:
    order = submitted["docs"]["order"]

    for who in ("ebp", "logistics"):
        response = clients[who].get(f"/api/v1/orders/{order['ebp_code']}/{order['order_no']}/trace")
        assert response.status_code == 200, response.content
        assert_documented(description, "orders_trace", response)
        assert {event["type"] for event in response.json()["events"]} == {
            "document_received",
            "status_change",
            "rule_result",
        }


def _examples(operation: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any], Any]]:
    for status, response in operation["responses"].items():
        media = response.get("content", {}).get("application/json")
        if media is None:
            continue
        for name, example in media.get("examples", {}).items():
            yield f"{status} {name}", media["schema"], example["value"]


@pytest.mark.parametrize(
    "operation_id",
    [
        *(f"{kind.plural}_{action}" for kind in kinds.KINDS.values() for action in ACTIONS),
        "orders_trace",
    ],
)
def test_the_documented_examples_fit_their_schemas(description: dict[str, Any], operation_id: str) -> None:
    """What a reader copies from the description is what the API could answer."""
    checked = 0
    for label, schema, value in _examples(_operation(description, operation_id)):
        problems = _problems(description, schema, value)
        assert problems == [], f"{operation_id} {label}:\n" + "\n".join(problems)
        checked += 1
    assert checked >= 1
