"""What the declaration tests share besides fixtures: the demo codes, URLs and small checks."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from django.db import models

from core import errors
from core.models import IdempotencyRecord
from declarations.intake import examples
from declarations.intake.apis import PLURAL
from declarations.models import (
    Inventory,
    InventoryCancellation,
    InventoryItem,
    Order,
    OrderItem,
    Payment,
    Waybill,
)
from tests.factories import assert_problem

if TYPE_CHECKING:
    from rest_framework.response import _MonkeyPatchedResponse as ApiResponse

EBP_CODE = examples.ORDER["ebp_code"]
EBC_CODE = examples.ORDER["ebc_code"]
PAY_CODE = examples.PAYMENT["pay_code"]
LOGISTICS_CODE = examples.WAYBILL["logistics_code"]
AGENT_CODE = examples.INVENTORY["agent_code"]
BUYER_ID = examples.BUYER_ID
BUYER_NAME = examples.ORDER["buyer_name"]
# A valid resident ID number whose check character is X (sent as x, it is the same buyer).
BUYER_ID_ENDING_X = "33010619900300018X"
# The example's number with a wrong check character.
BUYER_ID_BAD_CHECK = BUYER_ID[:17] + ("5" if BUYER_ID[17] != "5" else "7")

# The sender of each document in the demo parcel.
SENDER_OF = {"order": "ebp", "payment": "pay", "waybill": "logistics", "inventory": "agent"}


def document(kind: str, *, item: int | None = None, drop: tuple[str, ...] = (), **changes: Any) -> dict[str, Any]:
    """The example document with ``changes`` made to its head, or to its item ``item``;
    ``drop`` removes fields (of the same place)."""
    data = examples.document(kind)
    target: dict[str, Any] = data if item is None else data["items"][item]
    target.update(changes)
    for name in drop:
        target.pop(name, None)
    return data


def url(kind: str) -> str:
    return f"/api/v1/{PLURAL[kind]}"


def detail_url(kind: str, document_id: int) -> str:
    return f"{url(kind)}/{document_id}"


def key_url(kind: str, first: str, second: str) -> str:
    return f"{url(kind)}/{first}/{second}"


def count(model: type[models.Model]) -> int:
    return model._default_manager.count()


def stored_rows() -> dict[str, int]:
    """How many rows every table of the import documents holds: equal before and after a refusal."""
    tables = (Order, OrderItem, Payment, Waybill, Inventory, InventoryItem, InventoryCancellation, IdempotencyRecord)
    return {model.__name__: count(model) for model in tables}


def errors_of(body: dict[str, Any]) -> set[tuple[str | None, str]]:
    """``(field, code)`` of each entry of a problem's ``errors``."""
    return {(error["field"], error["code"]) for error in body.get("errors", [])}


def assert_rejected(response: ApiResponse, field: str, code: str) -> dict[str, Any]:
    """A 400 problem whose ``errors`` name ``field`` with the stable ``code``."""
    body = assert_problem(response, 400, errors.VALIDATION_FAILED)
    assert (field, code) in errors_of(body), body
    return body


class Send(Protocol):
    def __call__(
        self,
        kind: str,
        data: dict[str, Any] | None = None,
        *,
        by: str | None = None,
        key: str | None = None,
        **changes: Any,
    ) -> ApiResponse: ...
