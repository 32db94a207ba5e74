"""One registry of the export documents: what differs between them lives in their ``ExportKind``
(tables, business key, message and receipt, serializers, who sends it, who may read it).

Code that handles "an export document" takes an ``ExportKind`` and asks it; a name
("export_order", as in events and the trace) is turned into its kind once, at the edge.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from django.db import models

from declarations.export import codes, spec
from declarations.export.serializers import (
    ExportArrivalInput,
    ExportDepartureInput,
    ExportDocumentInput,
    ExportListInput,
    ExportMasterBillInput,
    ExportOrderInput,
    ExportReceiptInput,
    ExportWaybillInput,
)
from declarations.export.spec import ExportSpec
from declarations.models import (
    Declaration,
    DocumentStatus,
    ExportArrival,
    ExportArrivalItem,
    ExportDeparture,
    ExportDepartureItem,
    ExportList,
    ExportListItem,
    ExportListStatus,
    ExportMasterBill,
    ExportMasterBillItem,
    ExportOrder,
    ExportOrderItem,
    ExportPaymentReceipt,
    ExportWaybill,
)
from single_window.models import Role


@dataclass(frozen=True)
class Sender:
    """A field naming the enterprise that may send the document in its own name, and the roles
    (any one of them) that enterprise must hold."""

    field: str
    roles: tuple[str, ...]


@dataclass(frozen=True, eq=False, repr=False)
class ExportKind:
    name: str  # "export_order": events' "kind", the trace
    plural: str  # "orders": the URL under /api/v1/export/ and (with "export ") the OpenAPI tag
    label: str
    model: type[Declaration]
    line_model: type[models.Model] | None
    line_parent: str
    business_key: tuple[str, str]
    spec: ExportSpec
    input_serializer: type[ExportDocumentInput]
    senders: tuple[Sender, ...]
    # The codes in it that name the enterprises allowed to read it (besides its sender).
    party_fields: tuple[str, ...]
    # The advisory locks a submission takes, in this order: each a (lock name, two fields).
    locks: tuple[tuple[str, tuple[str, str]], ...]
    # The project's conflict code -> customs' code for the same refusal (table 7-2).
    customs_codes: Mapping[str, str]
    declared_status: str = DocumentStatus.DECLARED
    is_list: bool = False

    @property
    def message(self) -> str:
        return self.spec.message

    def __str__(self) -> str:
        return self.name

    def __repr__(self) -> str:
        return f"<ExportKind {self.name}>"


PARCEL = ("export-parcel", ("ebp_code", "order_no"))
WAYBILL_NUMBER = ("export-waybill", ("logistics_code", "logistics_no"))

ORDER = ExportKind(
    name="export_order",
    plural="orders",
    label="export order",
    model=ExportOrder,
    line_model=ExportOrderItem,
    line_parent="order",
    business_key=("ebp_code", "order_no"),
    spec=spec.ORDER,
    input_serializer=ExportOrderInput,
    senders=(Sender("ebp_code", (Role.EBP,)), Sender("ebc_code", (Role.EBC,))),
    party_fields=("ebp_code", "ebc_code"),
    locks=(PARCEL,),
    customs_codes=MappingProxyType(
        {codes.EXPORT_DUPLICATE: "-301010", codes.EXPORT_STALE_APP_TIME: "-301014", "not_found": "-301009"}
    ),
)
RECEIPT = ExportKind(
    name="export_receipt",
    plural="receipts",
    label="payment receipt",
    model=ExportPaymentReceipt,
    line_model=None,
    line_parent="",
    business_key=("ebc_code", "order_no"),
    spec=spec.RECEIPT,
    input_serializer=ExportReceiptInput,
    senders=(Sender("pay_code", (Role.PAY,)),),
    party_fields=("pay_code", "ebp_code", "ebc_code"),
    locks=(PARCEL,),
    customs_codes=MappingProxyType(
        {codes.EXPORT_DUPLICATE: "-401007", codes.EXPORT_STALE_APP_TIME: "-401012", "not_found": "-401006"}
    ),
)
WAYBILL = ExportKind(
    name="export_waybill",
    plural="waybills",
    label="export waybill",
    model=ExportWaybill,
    line_model=None,
    line_parent="",
    business_key=("logistics_code", "logistics_no"),
    spec=spec.WAYBILL,
    input_serializer=ExportWaybillInput,
    senders=(Sender("logistics_code", (Role.LOGISTICS,)),),
    party_fields=("logistics_code", "ebc_code"),
    locks=(WAYBILL_NUMBER,),
    customs_codes=MappingProxyType({codes.EXPORT_DUPLICATE: "-504012", "not_found": "-504014"}),
)
ARRIVAL = ExportKind(
    name="export_arrival",
    plural="arrivals",
    label="arrival at the supervised site",
    model=ExportArrival,
    line_model=ExportArrivalItem,
    line_parent="arrival",
    business_key=("operator_code", "cop_no"),
    spec=spec.ARRIVAL,
    input_serializer=ExportArrivalInput,
    # The supervised site's operator; on postal routes the postal logistics enterprise.
    senders=(Sender("operator_code", (Role.AREA, Role.LOGISTICS)),),
    party_fields=("operator_code", "logistics_code"),
    locks=(("export-arrival", ("operator_code", "cop_no")),),
    customs_codes=MappingProxyType({}),
)
DEPARTURE = ExportKind(
    name="export_departure",
    plural="departures",
    label="departure",
    model=ExportDeparture,
    line_model=ExportDepartureItem,
    line_parent="departure",
    business_key=("logistics_code", "cop_no"),
    spec=spec.DEPARTURE,
    input_serializer=ExportDepartureInput,
    senders=(Sender("logistics_code", (Role.LOGISTICS,)),),
    party_fields=("logistics_code",),
    locks=(("export-departure", ("logistics_code", "cop_no")),),
    customs_codes=MappingProxyType({}),
)
LIST = ExportKind(
    name="export_list",
    plural="lists",
    label="export list",
    model=ExportList,
    line_model=ExportListItem,
    line_parent="export_list",
    business_key=("agent_code", "cop_no"),
    spec=spec.LIST,
    input_serializer=ExportListInput,
    # The declaring agent; an e-commerce enterprise may declare its own lists.
    senders=(Sender("agent_code", (Role.AGENT, Role.EBC)),),
    party_fields=("agent_code", "ebp_code", "ebc_code", "logistics_code", "iac_code"),
    locks=(PARCEL, WAYBILL_NUMBER),
    customs_codes=MappingProxyType({}),
    declared_status=ExportListStatus.PENDING_DOCUMENTS,
    is_list=True,
)
MASTER_BILL = ExportKind(
    name="export_master_bill",
    plural="master-bills",
    label="master bill",
    model=ExportMasterBill,
    line_model=ExportMasterBillItem,
    line_parent="master_bill",
    business_key=("agent_code", "cop_no"),
    spec=spec.MASTER_BILL,
    input_serializer=ExportMasterBillInput,
    senders=(Sender("agent_code", (Role.AGENT, Role.EBC)),),
    party_fields=("agent_code", "logistics_code"),
    locks=(("export-master-bill", ("agent_code", "cop_no")),),
    customs_codes=MappingProxyType({}),
)

KINDS: Mapping[str, ExportKind] = MappingProxyType(
    {kind.name: kind for kind in (ORDER, RECEIPT, WAYBILL, ARRIVAL, DEPARTURE, LIST, MASTER_BILL)}
)
BY_MESSAGE: Mapping[str, ExportKind] = MappingProxyType({kind.message: kind for kind in KINDS.values()})


def rows(kind: ExportKind) -> models.QuerySet[Any]:
    """The documents of ``kind``, typed loosely: the columns written by the gateway and the
    receipts are on every export model, not on their abstract base."""
    manager: Any = kind.model._default_manager
    queryset: models.QuerySet[Any] = manager.all()
    return queryset
