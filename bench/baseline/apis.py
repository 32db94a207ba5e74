"""``POST /orders``: validate an order-shaped body, insert one row, answer its id."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from bench.baseline.models import BaselineOrder


def _amount() -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=19, decimal_places=5, min_value=0)


class OrderItemInput(serializers.Serializer[Any]):
    gnum = serializers.IntegerField(min_value=1)
    item_no = serializers.CharField(max_length=30, required=False)
    item_name = serializers.CharField(max_length=250)
    gmodel = serializers.CharField(max_length=510)
    unit = serializers.CharField(min_length=3, max_length=3)
    qty = _amount()
    price = _amount()
    total_price = _amount()
    currency = serializers.CharField(min_length=3, max_length=3)
    country = serializers.CharField(min_length=3, max_length=3)


class OrderInput(serializers.Serializer[Any]):
    guid = serializers.CharField(min_length=36, max_length=36)
    app_type = serializers.CharField(max_length=1)
    app_time = serializers.RegexField(r"^[0-9]{14}$")
    app_status = serializers.CharField(max_length=3)
    order_type = serializers.CharField(max_length=1)
    order_no = serializers.CharField(max_length=60)
    ebp_code = serializers.CharField(max_length=18)
    ebp_name = serializers.CharField(max_length=100)
    ebc_code = serializers.CharField(max_length=18)
    ebc_name = serializers.CharField(max_length=100)
    goods_value = _amount()
    freight = _amount()
    discount = _amount()
    tax_total = _amount()
    actual_paid = _amount()
    currency = serializers.CharField(min_length=3, max_length=3)
    buyer_reg_no = serializers.CharField(max_length=60)
    buyer_name = serializers.CharField(max_length=60)
    buyer_telephone = serializers.CharField(max_length=30)
    buyer_id_type = serializers.CharField(max_length=1)
    buyer_id_number = serializers.CharField(max_length=60)
    pay_code = serializers.CharField(max_length=18, required=False)
    pay_name = serializers.CharField(max_length=100, required=False)
    pay_transaction_id = serializers.CharField(max_length=60, required=False)
    consignee = serializers.CharField(max_length=100)
    consignee_telephone = serializers.CharField(max_length=50)
    consignee_address = serializers.CharField(max_length=200)
    consignee_district = serializers.CharField(max_length=6, required=False)
    items = OrderItemInput(many=True)


class OrderCreateApi(APIView):
    def post(self, request: Request) -> Response:
        data = OrderInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        order = BaselineOrder.objects.create(
            order_no=values["order_no"],
            ebp_code=values["ebp_code"],
            goods_value=values["goods_value"],
            actual_paid=values["actual_paid"],
            buyer_name=values["buyer_name"],
            body=request.data,
        )
        return Response({"id": order.pk, "order_no": order.order_no}, status=status.HTTP_201_CREATED)
