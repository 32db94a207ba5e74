"""The four import documents as the API answers with them: one serializer per document type.

What these produce is the answer itself (submit, read, list, the parcel's trace), and what the
OpenAPI description shows, so the two can't drift apart. The fields come from the field table
(``declarations.customs.spec``), in its order, between the document's state and its times.

Every serializer needs ``context={"viewer": <Enterprise>}``: ID numbers are always masked (no
answer carries one in full); names, phones and addresses are shown to the document's sender
only and masked for the other parties.
"""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any, ClassVar

from rest_framework import serializers

from core.crypto import decrypt_text
from core.masking import mask_value
from core.times import ceb_time, iso_china
from declarations.customs.spec import INVENTORY, ORDER, PAYMENT, WAYBILL, DocumentSpec, Field, Kind
from declarations.intake.amounts import amount_text
from declarations.intake.identity import masked_id_number
from declarations.models import Declaration, DocumentStatus, InventoryReturn, InventoryStatus, TaxEstimate

# The documents a list waits for (``Inventory.waiting_for``).
AWAITED_DOCUMENTS = ("order", "payment", "waybill")


def plain(value: Any, kind: Kind, *, scale: int | None = None) -> Any:
    """A stored value as the JSON document carries it: decimals at the scale they were accepted
    (``scale``; without trailing zeros when none was recorded), times as YYYYMMDDhhmmss and dates
    as YYYYMMDD in China Standard Time (as the XML writes them)."""
    if value is None:
        return None
    if kind is Kind.DECIMAL and isinstance(value, Decimal):
        return amount_text(value, scale)
    if kind is Kind.TIMESTAMP and isinstance(value, datetime.datetime):
        return ceb_time(value)
    if kind is Kind.DATE and isinstance(value, datetime.date):
        return value.strftime("%Y%m%d")
    return value


class SpecValue(serializers.CharField):
    """A text, code, decimal, time or date field of the table (all strings in JSON)."""

    def __init__(self, *, kind: Kind, **kwargs: Any) -> None:
        self.kind = kind
        super().__init__(allow_null=True, **kwargs)

    def to_representation(self, value: Any) -> Any:
        return plain(value, self.kind)


class SpecAmount(serializers.CharField):
    """A decimal field of the table, at the scale it was accepted (the row's ``amount_scales``)."""

    def __init__(self, *, name: str) -> None:
        self.amount = name
        super().__init__(source="*", allow_null=True)

    def to_representation(self, value: Any) -> Any:
        scale = getattr(value, "amount_scales", {}).get(self.amount)
        return plain(getattr(value, self.amount), Kind.DECIMAL, scale=scale)


class MaskedIdNumber(serializers.CharField):
    """Read from the encrypted column and masked, for the sender too."""

    def __init__(self, *, name: str) -> None:
        super().__init__(source=f"{name}_encrypted", allow_null=True, help_text="masked")

    def to_representation(self, value: Any) -> str:
        return masked_id_number(decrypt_text(value))


class ChinaTime(serializers.DateTimeField):
    """ISO 8601 with +08:00, whatever time zone the process has active."""

    def to_representation(self, value: Any) -> str:
        return iso_china(value)


def spec_field(field: Field) -> serializers.Field[Any, Any, Any, Any]:
    if field.name.endswith("_id_number"):
        return MaskedIdNumber(name=field.name)
    if field.kind is Kind.INTEGER:
        return serializers.IntegerField(allow_null=True)
    if field.kind is Kind.DECIMAL:
        return SpecAmount(name=field.name)
    return SpecValue(kind=field.kind)


class LineOutput(serializers.Serializer[Any]):
    """One line (item) of an order or a list: every field of the table's line."""

    lines: ClassVar[tuple[Field, ...]]

    def get_fields(self) -> dict[str, serializers.Field[Any, Any, Any, Any]]:
        return {field.name: spec_field(field) for field in self.lines}


class OrderItemOutput(LineOutput):
    lines = ORDER.lines

    class Meta:
        ref_name = "OrderItemOutput"


class InventoryItemOutput(LineOutput):
    lines = INVENTORY.lines

    class Meta:
        ref_name = "InventoryItemOutput"


class DocumentOutput(serializers.Serializer[Declaration]):
    """A document as its API shows it to ``context["viewer"]``.

    The answer reads: the document's state (``LEADING``), every head field of ``spec`` in the
    table's order, what the subclass declares besides (items, tax estimate), the times.
    """

    spec: ClassVar[DocumentSpec]
    LEADING: ClassVar[tuple[str, ...]] = ("id", "status", "waiting_for", "customs_status", "version")
    TRAILING: ClassVar[tuple[str, ...]] = ("created_at", "updated_at")

    id = serializers.IntegerField()
    version = serializers.IntegerField()
    created_at = ChinaTime()
    updated_at = ChinaTime()

    def get_fields(self) -> dict[str, serializers.Field[Any, Any, Any, Any]]:
        declared = super().get_fields()
        fields = {name: declared.pop(name) for name in self.LEADING if name in declared}
        fields.update({field.name: spec_field(field) for field in self.spec.head})
        trailing = {name: declared.pop(name) for name in self.TRAILING}
        return {**fields, **declared, **trailing}

    def to_representation(self, instance: Declaration) -> dict[str, Any]:
        data: dict[str, Any] = super().to_representation(instance)
        if instance.sender_id != self.context["viewer"].pk:
            for name in self.spec.personal_fields:
                if not name.endswith("_id_number"):  # already masked, for everyone
                    data[name] = mask_value(name, data[name])
        return data


class ForwardedDocumentOutput(DocumentOutput):
    """An order, payment or waybill: the single window forwards it to customs for its sender."""

    status = serializers.ChoiceField(choices=DocumentStatus.choices)
    customs_status = serializers.CharField(
        allow_blank=True,
        help_text="Customs' last returnStatus for the document the single window forwarded for its sender "
        "(CEB312/412/512: 2 in progress, 120 stored, 100 returned, negative: refused); blank if none.",
    )


class OrderOutput(ForwardedDocumentOutput):
    """An order (CEB311). Names, phones and addresses are masked unless the caller sent it; ID numbers always are."""

    spec = ORDER
    items = OrderItemOutput(many=True)

    class Meta:
        ref_name = "OrderOutput"


class PaymentOutput(ForwardedDocumentOutput):
    """A payment (CEB411). Names, phones and addresses are masked unless the caller sent it; ID numbers always are."""

    spec = PAYMENT

    class Meta:
        ref_name = "PaymentOutput"


class WaybillOutput(ForwardedDocumentOutput):
    """A waybill (CEB511). Names, phones and addresses are masked unless the caller sent it; ID numbers always are."""

    spec = WAYBILL

    class Meta:
        ref_name = "WaybillOutput"


class TaxEstimateItemOutput(serializers.Serializer[Any]):
    gnum = serializers.IntegerField()
    gcode = serializers.CharField()
    dutiable_value = serializers.CharField(help_text="Yuan, a decimal string.")
    customs_tax = serializers.CharField()
    value_added_tax = serializers.CharField()
    consumption_tax = serializers.CharField()

    class Meta:
        ref_name = "TaxEstimateItem"


class TaxEstimateOutput(serializers.Serializer[TaxEstimate]):
    """The single window's estimate, in the shape of the customs tax bill (CEB816); yuan as
    decimal strings."""

    mode = serializers.ChoiceField(choices=TaxEstimate.Mode.choices)
    dutiable_total = serializers.CharField()
    customs_tax = serializers.CharField()
    value_added_tax = serializers.CharField()
    consumption_tax = serializers.CharField()
    tax_total = serializers.CharField()
    items = TaxEstimateItemOutput(many=True)

    class Meta:
        ref_name = "TaxEstimate"


class InventoryOutput(DocumentOutput):
    """A declaration list (CEB621), with what it waits for and its estimated tax. Names, phones
    and addresses are masked unless the caller sent it; ID numbers always are."""

    spec = INVENTORY
    status = serializers.ChoiceField(choices=InventoryStatus.choices)
    waiting_for = serializers.ListField(child=serializers.ChoiceField(choices=AWAITED_DOCUMENTS))
    items = InventoryItemOutput(many=True)
    # Loaded with the list (``selectors.documents_visible_to``), not one query per list.
    tax_estimate = TaxEstimateOutput(
        allow_null=True, help_text="The estimated tax bill (CEB816 shape) once the list is matched; else null."
    )

    class Meta:
        ref_name = "InventoryOutput"


class DocumentPage(serializers.Serializer[Any]):
    """A page of documents in the order they last changed; ``next`` and ``previous`` carry the
    cursor of the pages around it (null at either end). ``results``: the subclass's documents."""

    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)


class OrderPage(DocumentPage):
    results = OrderOutput(many=True)

    class Meta:
        ref_name = "PaginatedOrderOutputList"


class PaymentPage(DocumentPage):
    results = PaymentOutput(many=True)

    class Meta:
        ref_name = "PaginatedPaymentOutputList"


class WaybillPage(DocumentPage):
    results = WaybillOutput(many=True)

    class Meta:
        ref_name = "PaginatedWaybillOutputList"


class InventoryPage(DocumentPage):
    results = InventoryOutput(many=True)

    class Meta:
        ref_name = "PaginatedInventoryOutputList"


class BatchResultOutput(serializers.Serializer[Any]):
    """What became of one document of a batch."""

    index = serializers.IntegerField(help_text="The document's place in the batch, from 0.")
    kind = serializers.CharField()
    status = serializers.ChoiceField(choices=["accepted", "refused"])
    id = serializers.IntegerField(required=False, help_text="Accepted: the document's id.")
    created = serializers.BooleanField(required=False, help_text="Accepted: a new document (app_type 1).")
    document_status = serializers.CharField(required=False, help_text="Accepted: the document's state now.")
    problem = serializers.DictField(
        required=False, help_text="Refused: the problem details a single submission would have answered."
    )

    class Meta:
        ref_name = "BatchResult"


class BatchOutput(serializers.Serializer[Any]):
    accepted = serializers.IntegerField()
    refused = serializers.IntegerField()
    results = BatchResultOutput(many=True)

    class Meta:
        ref_name = "BatchAnswer"


class InventoryReturnItemOutput(serializers.Serializer[Any]):
    gnum = serializers.IntegerField(help_text="The list's line.")
    gcode = serializers.CharField()
    gname = serializers.CharField()
    qty = serializers.SerializerMethodField(help_text="The quantity returned, a decimal string.")
    unit = serializers.CharField()
    dutiable_value = serializers.CharField(help_text="Yuan, a decimal string: the estimate's, pro rata.")

    class Meta:
        ref_name = "InventoryReturnItem"

    def get_qty(self, item: Any) -> str:
        return amount_text(item.qty, None)


class InventoryReturnOutput(serializers.Serializer[Any]):
    """A return request (CEB625) and customs' last answer to it (CEB626)."""

    id = serializers.IntegerField()
    inventory_id = serializers.IntegerField()
    guid = serializers.CharField(help_text="The InvtRefundHead guid customs' answer names.")
    reason = serializers.CharField()
    whole_list = serializers.BooleanField()
    status = serializers.ChoiceField(choices=InventoryReturn.Status.choices)
    items = InventoryReturnItemOutput(many=True)
    dutiable_value = serializers.CharField(help_text="Yuan, two decimals: what the lines returned are worth.")
    quota_given_back = serializers.BooleanField(help_text="True once customs concluded it and the quota took it back.")
    quota_amount = serializers.CharField(help_text="Yuan given back to the buyer's annual quota.")
    return_status = serializers.CharField(allow_blank=True, help_text="Customs' last CEB626 returnStatus.")
    return_info = serializers.CharField(allow_blank=True)
    created_at = ChinaTime()
    sent_at = ChinaTime(allow_null=True)
    answered_at = ChinaTime(allow_null=True)
    concluded_at = ChinaTime(allow_null=True)

    class Meta:
        ref_name = "InventoryReturn"
