"""The bonded stock API: a warehouse operator records goods in and reads its account book.

Both are for the book's warehouse operator (an active enterprise with role ``area`` whose code
is the book's ``area_code``). Any other enterprise is answered as if the book did not exist
(404 ``not_found``), as for any key it may not see; an enterprise without the ``area`` role
may not record goods in at all (403 ``role_required``).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.errors import NotFoundError
from core.idempotency import idempotent
from core.openapi import problems
from logistics import stock
from logistics.models import StockAccountBook, StockItem, StockReceipt
from single_window.permissions import caller_enterprise

MAX_LINES = 500


class QtyString(serializers.DecimalField):
    """A quantity as a decimal string in ASCII digits, above 0, up to 5 decimals; a JSON
    number is refused so no float rounds it. Answered without trailing zeros."""

    default_error_messages = {
        "not_a_string": _('Send quantities as decimal strings, for example "12.5".'),
        "not_positive": _("The quantity must be more than 0."),
    }

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(max_digits=19, decimal_places=5, coerce_to_string=True, **kwargs)

    def to_internal_value(self, data: Any) -> Decimal:
        if not isinstance(data, str) or not data.isascii():
            self.fail("not_a_string")
        value = super().to_internal_value(data.strip())
        if value <= 0:
            self.fail("not_positive")
        return value

    def to_representation(self, value: Any) -> str:
        return stock.qty_text(Decimal(value))


class Quantity(serializers.DecimalField):
    """A quantity in an answer: a decimal string without trailing zeros."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(max_digits=19, decimal_places=5, coerce_to_string=True, read_only=True, **kwargs)

    def to_representation(self, value: Any) -> str:
        return stock.qty_text(Decimal(value))


class StockItemOutput(serializers.Serializer[Any]):
    item_record_no = serializers.CharField(help_text="The item record number on the account book (itemRecordNo).")
    gcode = serializers.CharField()
    name = serializers.CharField()
    unit = serializers.CharField(help_text="The customs unit code the item's quantities are kept in.")
    on_hand = Quantity(help_text="In the warehouse.")
    reserved = Quantity(help_text="Reserved by declared lists not yet released by customs.")
    available = Quantity(help_text="on_hand - reserved: what a new list may reserve.")


class StockBookOutput(serializers.Serializer[Any]):
    ems_no = serializers.CharField(help_text="The account book number (emsNo).")
    area_code = serializers.CharField(help_text="The warehouse operator's code (areaCode).")
    park_code = serializers.CharField(help_text="The operator's park; empty when it is in none.")
    name = serializers.CharField()
    items = StockItemOutput(many=True)


def book_data(book: StockAccountBook, items: list[StockItem]) -> dict[str, Any]:
    return {
        "ems_no": book.ems_no,
        "area_code": book.area_code,
        "park_code": book.park_code,
        "name": book.name,
        "items": [
            {
                "item_record_no": i.item_record_no,
                "gcode": i.gcode,
                "name": i.name,
                "unit": i.unit,
                "on_hand": i.on_hand,
                "reserved": i.reserved,
                "available": i.available,
            }
            for i in items
        ],
    }


_ITEM_EXAMPLE = {
    "item_record_no": "REC-0001",
    "gcode": "1901101000",
    "name": "婴儿配方奶粉 Infant formula 800g",
    "unit": "007",
    "on_hand": "120",
    "reserved": "3",
    "available": "117",
}
BOOK_EXAMPLE = {
    "ems_no": "T2901W000001",
    "area_code": "3301960007",
    "park_code": "HZ-XS",
    "name": "杭州综合保税区示例仓 Demo bonded warehouse",
    "items": [_ITEM_EXAMPLE],
}


class StockApi(APIView):
    class QuerySerializer(serializers.Serializer[Any]):
        ems_no = serializers.CharField(max_length=30)

        class Meta:
            ref_name = "StockQuery"

    @extend_schema(
        operation_id="logistics_stock",
        tags=["logistics"],
        summary="Your account book's stock: on hand, reserved and available per item",
        description=(
            "For the warehouse operator whose code is the book's areaCode. `on_hand` is what the "
            "warehouse holds by the receipts recorded and the lists customs released; `reserved` is "
            "what declared 1210 lists will take; `available` is what a new list may reserve. "
            "Quantities are decimal strings in the item's unit. A book of another operator is "
            "answered 404, as one nobody keeps."
        ),
        parameters=[
            OpenApiParameter(
                "ems_no",
                str,
                required=True,
                description="The account book number (emsNo).",
                examples=[OpenApiExample("Book", value="T2901W000001")],
            )
        ],
        responses={
            200: OpenApiResponse(StockBookOutput, examples=[OpenApiExample("Stock", value=BOOK_EXAMPLE)]),
            **problems(400, 404),
        },
    )
    def get(self, request: Request) -> Response:
        query = self.QuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        book = stock.book_of_operator(enterprise=caller_enterprise(request), ems_no=query.validated_data["ems_no"])
        if book is None:
            raise NotFoundError()
        return Response(StockBookOutput(book_data(book, list(stock.book_items(book=book)))).data)


class StockReceiptLineInput(serializers.Serializer[Any]):
    item_record_no = serializers.CharField(max_length=30, help_text="The item record number (itemRecordNo).")
    gcode = serializers.RegexField(r"^[0-9]{10}$", help_text="The HS code, 10 digits.")
    name = serializers.CharField(max_length=250)
    unit = serializers.RegexField(r"^[0-9]{3}$", help_text="The customs unit code, 3 digits.")
    qty = QtyString(help_text="Quantity received, above 0, as a decimal string.")

    class Meta:
        ref_name = "StockReceiptLineInput"


class StockReceiptLineOutput(serializers.Serializer[Any]):
    line_no = serializers.IntegerField()
    item_record_no = serializers.CharField(source="item.item_record_no")
    qty = Quantity()


class StockReceiptOutput(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    ems_no = serializers.CharField()
    reference = serializers.CharField()
    received_at = serializers.DateTimeField()
    lines = StockReceiptLineOutput(many=True)
    items = StockItemOutput(many=True, help_text="The book's figures of the items received, after this receipt.")


def receipt_data(receipt: StockReceipt) -> dict[str, Any]:
    lines = list(receipt.lines.select_related("item").order_by("line_no"))
    # Read after the receipt committed: the items' figures include it.
    items = sorted({line.item.pk: line.item for line in lines}.values(), key=lambda i: i.item_record_no)
    return {
        "id": receipt.pk,
        "ems_no": receipt.book.ems_no,
        "reference": receipt.reference,
        "received_at": receipt.received_at,
        "lines": lines,
        "items": book_data(receipt.book, items)["items"],
    }


RECEIPT_REQUEST_EXAMPLE = {
    "ems_no": "T2901W000001",
    "reference": "GRN-2026-12-0001",
    "received_at": "2026-12-03T09:30:00+08:00",
    "lines": [
        {
            "item_record_no": "REC-0001",
            "gcode": "1901101000",
            "name": "婴儿配方奶粉 Infant formula 800g",
            "unit": "007",
            "qty": "120",
        }
    ],
}
RECEIPT_EXAMPLE = {
    "id": 41,
    "ems_no": "T2901W000001",
    "reference": "GRN-2026-12-0001",
    "received_at": "2026-12-03T09:30:00+08:00",
    "lines": [{"line_no": 1, "item_record_no": "REC-0001", "qty": "120"}],
    "items": [{**_ITEM_EXAMPLE, "on_hand": "120", "reserved": "0", "available": "120"}],
}


class StockReceiptCreateApi(APIView):
    class InputSerializer(serializers.Serializer[Any]):
        ems_no = serializers.CharField(max_length=30, help_text="The account book number (emsNo).")
        reference = serializers.CharField(max_length=64, help_text="Your goods-in document number; once per book.")
        received_at = serializers.DateTimeField(help_text="When the goods arrived (ISO 8601 with offset).")
        lines = StockReceiptLineInput(many=True, allow_empty=False, help_text=f"1 to {MAX_LINES} lines.")

        class Meta:
            ref_name = "StockReceiptCreate"

        def validate_lines(self, value: list[dict[str, Any]]) -> list[dict[str, Any]]:
            if len(value) > MAX_LINES:
                raise serializers.ValidationError(
                    _("At most %(n)d lines a receipt.") % {"n": MAX_LINES}, code="max_length"
                )
            return value

    @extend_schema(
        operation_id="logistics_stock_receipts_create",
        tags=["logistics"],
        summary="Record goods in on your bonded account book",
        description=(
            "For a bonded warehouse operator (role `area`). Each line adds its quantity to the "
            "item's `on_hand` on the book `ems_no`; an item record number the book does not keep "
            "yet is opened in the line's unit. A book nobody keeps yet is opened for you (your "
            "code becomes its areaCode). A book of another operator: 404. A line in another unit "
            "than its item is kept in: 400 `stock_unit_mismatch`. The same `reference` again: "
            "409 `stock_receipt_duplicate` with `existing_id` (or, with the same "
            "`Idempotency-Key` and body, the first answer replayed). Lists held for this book's "
            "stock are judged again once the receipt is recorded."
        ),
        parameters=[
            OpenApiParameter(
                "Idempotency-Key", str, OpenApiParameter.HEADER, description="Makes a retry safe; kept 24 hours."
            )
        ],
        request=InputSerializer,
        responses={201: StockReceiptOutput, **problems(400, 404, 409, 415, 422)},
        examples=[
            OpenApiExample("Goods in", value=RECEIPT_REQUEST_EXAMPLE, request_only=True),
            OpenApiExample("Recorded", value=RECEIPT_EXAMPLE, response_only=True, status_codes=["201"]),
        ],
    )
    @idempotent
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        receipt = stock.receipt_record(
            operator=caller_enterprise(request),
            ems_no=values["ems_no"],
            reference=values["reference"],
            received_at=values["received_at"],
            lines=[stock.ReceiptLine(**line) for line in values["lines"]],
            actor=request.user.actor,  # type: ignore[union-attr]
        )
        return Response(StockReceiptOutput(receipt_data(receipt)).data, status=status.HTTP_201_CREATED)
