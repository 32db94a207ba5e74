"""One registry of the four import documents: order, payment, waybill and declaration list.

Everything that differs between them lives in their ``DocumentType``: the tables, the business
key, the customs message and its receipt, the serializers in and out, who sends it, customs'
codes for its refusals. Code that handles "a document" takes a ``DocumentType`` and asks it,
rather than comparing names; a name ("order", as in URLs, events and ``Inventory.waiting_for``)
is turned into its type once, at the edge (``kind_of``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from django.db import models

from declarations.customs import spec
from declarations.customs.spec import DocumentSpec
from declarations.intake import codes, outputs
from declarations.intake.serializers import DocumentInput, InventoryInput, OrderInput, PaymentInput, WaybillInput
from declarations.models import (
    Declaration,
    DocumentStatus,
    Inventory,
    InventoryItem,
    InventoryStatus,
    Order,
    OrderItem,
    Payment,
    Waybill,
)
from single_window.models import Role


@dataclass(frozen=True)
class ParcelKey:
    """Two fields that tie the documents of one parcel together, and the lock they name."""

    lock: str
    fields: tuple[str, str]

    def lock_name(self, data: Mapping[str, Any]) -> str:
        first, second = self.fields
        return f"{self.lock}:{data[first]}:{data[second]}"


# All four documents share ebpCode + orderNo (DOMAIN.md section 3); the list finds its waybill
# by the waybill's own number.
PARCEL = ParcelKey("parcel", ("ebp_code", "order_no"))
WAYBILL_NUMBER = ParcelKey("waybill", ("logistics_code", "logistics_no"))


def _customs_codes(name: str) -> Mapping[str, str]:
    return MappingProxyType({code: customs for (kind, code), customs in codes.CUSTOMS_CODES.items() if kind == name})


# Four instances, compared (and hashed) by identity.
@dataclass(frozen=True, eq=False, repr=False)
class DocumentType:
    name: str  # "order": URLs' kind, events' "kind", a list's ``waiting_for``
    plural: str  # "orders": the URL and the OpenAPI tag
    model: type[Declaration]
    line_model: type[models.Model] | None
    line_parent: str  # the line's foreign key to its document; "" without lines
    business_key: tuple[str, str]
    spec: DocumentSpec
    input_serializer: type[DocumentInput]
    output_serializer: type[outputs.DocumentOutput]
    page_serializer: type[outputs.DocumentPage]  # a page of the list endpoint
    receipt_message: str  # customs' answer to ``message``
    # Who sends it in its own name (DOMAIN.md section 3). ``intake.rules`` has the whole rule:
    # an order may also come from the e-commerce enterprise or its agent, a list from the
    # e-commerce enterprise itself.
    sender_role: Role
    customs_codes: Mapping[str, str]  # the project's conflict code -> customs' code for it
    # The codes in it that name the enterprises allowed to read it (besides its sender).
    party_fields: tuple[str, ...]
    # The keys that tie it to its parcel; a submission locks them in this order. A list names
    # an order or payment by the parcel, a waybill by its number.
    parcel_keys: tuple[ParcelKey, ...]
    declared_status: str  # the state a declared (app_status 2) submission enters
    # The declaration list: matched against the other three, declared to customs once matched,
    # signed by its declarant, with a lifecycle of its own.
    is_list: bool = False
    # A waybill number may be used again six months on: each use is a generation, the latest wins.
    reusable_key: bool = False

    @property
    def message(self) -> str:
        """The customs message: CEB311Message, CEB411Message, CEB511Message or CEB621Message."""
        return self.spec.message

    @property
    def link(self) -> ParcelKey:
        """How a list names this document."""
        if self.is_list:
            msg = "a list names the other documents; nothing names the list"
            raise TypeError(msg)
        (key,) = self.parcel_keys
        return key

    def __str__(self) -> str:
        return self.name

    def __repr__(self) -> str:
        return f"<DocumentType {self.name}>"


ORDER = DocumentType(
    name="order",
    plural="orders",
    model=Order,
    line_model=OrderItem,
    line_parent="order",
    business_key=("ebp_code", "order_no"),
    spec=spec.ORDER,
    input_serializer=OrderInput,
    output_serializer=outputs.OrderOutput,
    page_serializer=outputs.OrderPage,
    receipt_message="CEB312Message",
    sender_role=Role.EBP,
    customs_codes=_customs_codes("order"),
    party_fields=("ebp_code", "ebc_code", "pay_code"),
    parcel_keys=(PARCEL,),
    declared_status=DocumentStatus.DECLARED,
)
PAYMENT = DocumentType(
    name="payment",
    plural="payments",
    model=Payment,
    line_model=None,
    line_parent="",
    business_key=("pay_code", "pay_transaction_id"),
    spec=spec.PAYMENT,
    input_serializer=PaymentInput,
    output_serializer=outputs.PaymentOutput,
    page_serializer=outputs.PaymentPage,
    receipt_message="CEB412Message",
    sender_role=Role.PAY,
    customs_codes=_customs_codes("payment"),
    party_fields=("pay_code", "ebp_code"),
    parcel_keys=(PARCEL,),
    declared_status=DocumentStatus.DECLARED,
)
WAYBILL = DocumentType(
    name="waybill",
    plural="waybills",
    model=Waybill,
    line_model=None,
    line_parent="",
    business_key=("logistics_code", "logistics_no"),
    spec=spec.WAYBILL,
    input_serializer=WaybillInput,
    output_serializer=outputs.WaybillOutput,
    page_serializer=outputs.WaybillPage,
    receipt_message="CEB512Message",
    sender_role=Role.LOGISTICS,
    customs_codes=_customs_codes("waybill"),
    party_fields=("logistics_code",),
    parcel_keys=(WAYBILL_NUMBER,),
    declared_status=DocumentStatus.DECLARED,
    reusable_key=True,
)
INVENTORY = DocumentType(
    name="inventory",
    plural="inventories",
    model=Inventory,
    line_model=InventoryItem,
    line_parent="inventory",
    business_key=("agent_code", "cop_no"),
    spec=spec.INVENTORY,
    input_serializer=InventoryInput,
    output_serializer=outputs.InventoryOutput,
    page_serializer=outputs.InventoryPage,
    receipt_message="CEB622Message",
    sender_role=Role.AGENT,
    customs_codes=_customs_codes("inventory"),
    party_fields=("ebp_code", "ebc_code", "logistics_code", "agent_code", "assure_code"),
    parcel_keys=(PARCEL, WAYBILL_NUMBER),
    declared_status=InventoryStatus.PENDING_DOCUMENTS,
    is_list=True,
)

# In the order the API describes them.
KINDS: Mapping[str, DocumentType] = MappingProxyType({kind.name: kind for kind in (ORDER, PAYMENT, WAYBILL, INVENTORY)})
_BY_MODEL: Mapping[type[models.Model], DocumentType] = MappingProxyType({kind.model: kind for kind in KINDS.values()})


def kind_of(name: str | DocumentType) -> DocumentType:
    """The document type of a name ("order"), for callers at the edge that hold a name; a type
    is its own. ``LookupError`` for any other name."""
    if isinstance(name, DocumentType):
        return name
    try:
        return KINDS[name]
    except KeyError:
        msg = f"no document type {name!r}; one of {', '.join(KINDS)}"
        raise LookupError(msg) from None


def kind_for_model(model: type[models.Model] | models.Model) -> DocumentType:
    """The document type of a document model or instance; ``LookupError`` for any other."""
    cls = model if isinstance(model, type) else type(model)
    try:
        return _BY_MODEL[cls]
    except KeyError:
        msg = f"{cls.__name__} is not a document model"
        raise LookupError(msg) from None
