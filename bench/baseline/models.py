from __future__ import annotations

from typing import ClassVar

from django.db import models


class BaselineOrder(models.Model):
    """One order as the baseline stores it: its key, its amounts and the body as sent."""

    order_no = models.CharField(max_length=60)
    ebp_code = models.CharField(max_length=18)
    goods_value = models.DecimalField(max_digits=19, decimal_places=5)
    actual_paid = models.DecimalField(max_digits=19, decimal_places=5)
    buyer_name = models.CharField(max_length=60)
    body = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)

    objects: ClassVar[models.Manager[BaselineOrder]] = models.Manager()

    class Meta:
        app_label = "baseline"
        db_table = "bench_baseline_order"

    def __str__(self) -> str:
        return f"{self.ebp_code}/{self.order_no}"
