"""The export documents (message specification chapter 2): the export order or overseas-warehouse
booking (CEB303), the payment receipt (收款单, CEB403), the waybill (CEB505), the arrival at the
supervised site (运抵单, CEB507), the departure (离境单, CEB509), the export list (申报清单,
CEB603) with its cancellation (CEB605) and the master/sub bill grouping lists under one transport
document (清单总分单, CEB607).

Each is sent by the party the spec names, stored by its business key with a version (a change,
appType 2, replaces the stored row and bumps its version), forwarded to customs by the gateway
(``declarations.export.gateway``) and answered by customs' receipt (CEB304/404/506/508/510/604/
606/608), whose last code and note it keeps. The export list has a lifecycle of its own
(``ExportListStatus``), every move of it kept in ``ExportListStatusChange``.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from core.models import TimeStampedModel
from declarations.models.documents import Declaration, DocumentStatus
from single_window.models import Enterprise, InboundMessage, OutboxMessage


class ExportOrderType(models.TextChoices):
    B2C = "E", _("B2C export order")
    B2B = "B", _("B2B export order")
    WAREHOUSE = "W", _("overseas warehouse booking")


class ExportTradeMode(models.TextChoices):
    DIRECT = "9610", _("9610 B2C direct export")
    SPECIAL_ZONE = "1210", _("1210 special-zone export")
    B2B_DIRECT = "9710", _("9710 B2B direct export")
    OVERSEAS_WAREHOUSE = "9810", _("9810 export to an overseas warehouse")


class ExportListStatus(models.TextChoices):
    """The export list's lifecycle (docs/export.md)."""

    DRAFT = "draft", _("draft")
    PENDING_DOCUMENTS = "pending_documents", _("waiting for documents")
    MATCH_FAILED = "match_failed", _("matching failed")
    MATCHED = "matched", _("matched")
    DECLARED = "declared", _("declared to customs")
    SEND_FAILED = "send_failed", _("sending failed")
    ACCEPTED = "accepted", _("accepted by customs")
    REJECTED = "rejected", _("rejected by customs")
    MANUAL_REVIEW = "manual_review", _("manual review")
    INSPECTION = "inspection", _("inspection")
    CONCLUDED = "concluded", _("concluded by customs")
    RELEASED = "released", _("released")
    # Gathered into a summary declaration (CEB701): nothing of the list changes any more.
    SUMMARISED = "summarised", _("summarised")
    CLOSED = "closed", _("closed")
    CANCELLED = "cancelled", _("cancelled")
    DELETED = "deleted", _("deleted")


# States in which a list has gone to customs: the enterprise can no longer change or delete it.
EXPORT_LIST_DECLARED_STATES = frozenset(
    {
        ExportListStatus.DECLARED,
        ExportListStatus.ACCEPTED,
        ExportListStatus.MANUAL_REVIEW,
        ExportListStatus.INSPECTION,
        ExportListStatus.CONCLUDED,
        ExportListStatus.RELEASED,
        ExportListStatus.SUMMARISED,
        ExportListStatus.CLOSED,
        ExportListStatus.CANCELLED,
    }
)


def _non_negative(model: str, *fields: str) -> list[models.CheckConstraint]:
    return [
        models.CheckConstraint(
            condition=Q(**{f"{field}__gte": 0}) | Q(**{f"{field}__isnull": True}), name=f"{model}_{field}_non_negative"
        )
        for field in fields
    ]


class ExportCustomsState(models.Model):
    """What customs last answered about a document the single window forwarded for its sender,
    and the outgoing message that carried its latest version."""

    customs_status = models.CharField(_("customs receipt status"), max_length=10, blank=True)
    customs_note = models.CharField(_("customs note"), max_length=1000, blank=True)
    customs_answered_at = models.DateTimeField(_("customs answered at"), null=True, blank=True)
    # Customs has taken a version (a receipt other than a refusal): a later version goes out as
    # a change (appType 2), a deletion as appType 3; until then every version goes out as new.
    customs_holds = models.BooleanField(_("customs holds a version"), default=False)
    # Set, in the transaction that stored a declared version, when the gateway is to build and
    # sign it; cleared when it is packed into a message.
    dispatch_requested_at = models.DateTimeField(_("dispatch requested at"), null=True, blank=True)
    # The outbox row carrying the latest version (None: not sent yet).
    message = models.ForeignKey(
        OutboxMessage, verbose_name=_("message"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The customs XML message this version came in (None: sent as JSON).
    source_message = models.ForeignKey(
        InboundMessage,
        verbose_name=_("source message"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        abstract = True


def _status_field() -> models.CharField:
    return models.CharField(_("status"), max_length=16, choices=DocumentStatus.choices, default=DocumentStatus.DRAFT)


def _dispatch_index(name: str) -> models.Index:
    # The gateway's sweep: WHERE dispatch_requested_at IS NOT NULL ORDER BY dispatch_requested_at.
    return models.Index(
        fields=["dispatch_requested_at"], condition=Q(dispatch_requested_at__isnull=False), name=f"{name}_dispatch_idx"
    )


class ExportOrder(ExportCustomsState, Declaration):
    """An export order (E B2C, B B2B) or an overseas-warehouse booking (W): CEB303."""

    status = _status_field()
    order_type = models.CharField(_("order type"), max_length=1, choices=ExportOrderType.choices)
    order_no = models.CharField(_("order number"), max_length=60)
    ebp_code = models.CharField(_("e-commerce platform code"), max_length=18)
    ebp_name = models.CharField(_("e-commerce platform name"), max_length=100)
    ebc_code = models.CharField(_("e-commerce enterprise code"), max_length=18)
    ebc_name = models.CharField(_("e-commerce enterprise name"), max_length=100)
    goods_value = models.DecimalField(_("goods value"), max_digits=19, decimal_places=5)
    freight = models.DecimalField(_("freight"), max_digits=19, decimal_places=5)
    currency = models.CharField(_("currency"), max_length=3)
    note = models.CharField(_("note"), max_length=1000, blank=True)

    class Meta:
        verbose_name = _("export order")
        verbose_name_plural = _("export orders")
        constraints = [
            # Business key: one live order per platform and order number.
            models.UniqueConstraint(
                fields=["ebp_code", "order_no"], condition=~Q(status="deleted"), name="export_order_business_key"
            ),
            models.CheckConstraint(condition=Q(status__in=DocumentStatus.values), name="export_order_status_valid"),
            models.CheckConstraint(condition=Q(order_type__in=ExportOrderType.values), name="export_order_type_valid"),
            *_non_negative("export_order", "goods_value", "freight"),
        ]
        indexes = [
            # A sender's documents by change time: WHERE sender_id = ? ORDER BY updated_at, id
            models.Index(fields=["sender", "updated_at", "id"], name="export_order_sender_idx"),
            _dispatch_index("export_order"),
        ]

    def __str__(self) -> str:
        return f"{self.ebp_code}/{self.order_no}"


class ExportOrderItem(models.Model):
    order = models.ForeignKey(
        ExportOrder, verbose_name=_("export order"), on_delete=models.CASCADE, related_name="items"
    )
    gnum = models.IntegerField(_("item number"))
    item_no = models.CharField(_("enterprise's item number (SKU)"), max_length=30)
    item_name = models.CharField(_("enterprise's goods name"), max_length=250)
    item_describe = models.CharField(_("enterprise's goods description"), max_length=1000, blank=True)
    bar_code = models.CharField(_("barcode"), max_length=50, blank=True)
    unit = models.CharField(_("unit of measure"), max_length=3)
    currency = models.CharField(_("currency"), max_length=3)
    qty = models.DecimalField(_("quantity"), max_digits=19, decimal_places=5)
    price = models.DecimalField(_("unit price"), max_digits=19, decimal_places=5)
    total_price = models.DecimalField(_("total price"), max_digits=19, decimal_places=5)
    note = models.CharField(_("note"), max_length=1000, blank=True)
    amount_scales = models.JSONField(_("decimals as sent"), default=dict, blank=True)

    class Meta:
        verbose_name = _("export order item")
        verbose_name_plural = _("export order items")
        ordering = ("gnum",)
        constraints = [
            models.UniqueConstraint(fields=["order", "gnum"], name="export_order_item_gnum_unique"),
            *_non_negative("export_order_item", "qty", "price", "total_price"),
        ]

    def __str__(self) -> str:
        return f"{self.gnum} {self.item_name}"


class ExportPaymentReceipt(ExportCustomsState, Declaration):
    """The payment company's record of money received for an export order (收款单, CEB403)."""

    status = _status_field()
    ebp_code = models.CharField(_("e-commerce platform code"), max_length=18)
    ebp_name = models.CharField(_("e-commerce platform name"), max_length=100)
    ebc_code = models.CharField(_("e-commerce enterprise code"), max_length=18)
    ebc_name = models.CharField(_("e-commerce enterprise name"), max_length=100)
    order_no = models.CharField(_("order number"), max_length=60)
    pay_code = models.CharField(_("payment enterprise code"), max_length=18)
    pay_name = models.CharField(_("payment enterprise name"), max_length=100)
    pay_no = models.CharField(_("payment transaction number"), max_length=60, blank=True)
    charge = models.DecimalField(_("amount received"), max_digits=19, decimal_places=5)
    currency = models.CharField(_("currency"), max_length=3)
    accounting_date = models.DateTimeField(_("time credited"))
    note = models.CharField(_("note"), max_length=1000, blank=True)

    class Meta:
        verbose_name = _("export payment receipt")
        verbose_name_plural = _("export payment receipts")
        constraints = [
            # Business key: customs' receipt (CEB404) names the order by ebcCode + orderNo.
            models.UniqueConstraint(
                fields=["ebc_code", "order_no"], condition=~Q(status="deleted"), name="export_receipt_business_key"
            ),
            models.CheckConstraint(condition=Q(status__in=DocumentStatus.values), name="export_receipt_status_valid"),
            *_non_negative("export_receipt", "charge"),
        ]
        indexes = [
            models.Index(fields=["sender", "updated_at", "id"], name="export_receipt_sender_idx"),
            # Matching finds the receipt of an order: WHERE ebp_code = ? AND order_no = ?
            models.Index(fields=["ebp_code", "order_no"], name="export_receipt_order_idx"),
            _dispatch_index("export_receipt"),
        ]

    def __str__(self) -> str:
        return f"{self.ebc_code}/{self.order_no}"


class ExportWaybill(ExportCustomsState, Declaration):
    """The carrier's waybill of an export parcel (CEB505)."""

    status = _status_field()
    logistics_code = models.CharField(_("logistics enterprise code"), max_length=18)
    logistics_name = models.CharField(_("logistics enterprise name"), max_length=100)
    logistics_no = models.CharField(_("waybill number"), max_length=32)
    freight = models.DecimalField(_("freight"), max_digits=19, decimal_places=5)
    insured_fee = models.DecimalField(_("insured value fee"), max_digits=19, decimal_places=5)
    currency = models.CharField(_("currency"), max_length=3)
    gross_weight = models.DecimalField(_("gross weight (kg)"), max_digits=19, decimal_places=5)
    pack_no = models.IntegerField(_("number of packages"))
    goods_info = models.CharField(_("main goods information"), max_length=200)
    ebc_code = models.CharField(_("e-commerce enterprise code"), max_length=18, blank=True)
    ebc_name = models.CharField(_("e-commerce enterprise name"), max_length=100, blank=True)
    ebc_telephone = models.CharField(_("e-commerce enterprise's telephone"), max_length=50, blank=True)
    note = models.CharField(_("note"), max_length=1000, blank=True)

    # A small seller's telephone is often a person's own: masked to all but the sender.
    personal_fields = ("ebc_telephone",)

    class Meta:
        verbose_name = _("export waybill")
        verbose_name_plural = _("export waybills")
        constraints = [
            models.UniqueConstraint(
                fields=["logistics_code", "logistics_no"],
                condition=~Q(status="deleted"),
                name="export_waybill_business_key",
            ),
            models.CheckConstraint(condition=Q(status__in=DocumentStatus.values), name="export_waybill_status_valid"),
            *_non_negative("export_waybill", "freight", "insured_fee", "gross_weight"),
        ]
        indexes = [
            models.Index(fields=["sender", "updated_at", "id"], name="export_waybill_sender_idx"),
            _dispatch_index("export_waybill"),
        ]

    def __str__(self) -> str:
        return f"{self.logistics_code}/{self.logistics_no}"


class ExportArrival(ExportCustomsState, Declaration):
    """The supervised site operator's record of parcels arrived at its site (运抵单, CEB507)."""

    status = _status_field()
    customs_code = models.CharField(_("customs district of declaration"), max_length=4)
    cop_no = models.CharField(_("enterprise's internal number"), max_length=30)
    pre_no = models.CharField(_("pre-entry number"), max_length=18, blank=True)
    operator_code = models.CharField(_("site operator code"), max_length=18)
    operator_name = models.CharField(_("site operator name"), max_length=100)
    loct_no = models.CharField(_("supervised site code"), max_length=10, blank=True)
    ie_flag = models.CharField(_("import/export flag"), max_length=1, default="E")
    traf_mode = models.CharField(_("transport mode"), max_length=1)
    bill_no = models.CharField(_("bill of lading number"), max_length=37, blank=True)
    domestic_traf_no = models.CharField(_("domestic means of transport number"), max_length=100)
    logistics_code = models.CharField(_("logistics enterprise code"), max_length=18)
    logistics_name = models.CharField(_("logistics enterprise name"), max_length=100)
    msg_count = models.PositiveIntegerField(_("message count"), default=1)
    msg_seq_no = models.PositiveIntegerField(_("message sequence number"), default=1)
    note = models.CharField(_("note"), max_length=1000, blank=True)

    class Meta:
        verbose_name = _("export arrival")
        verbose_name_plural = _("export arrivals")
        constraints = [
            models.UniqueConstraint(
                fields=["operator_code", "cop_no"], condition=~Q(status="deleted"), name="export_arrival_business_key"
            ),
            models.CheckConstraint(condition=Q(status__in=DocumentStatus.values), name="export_arrival_status_valid"),
            models.CheckConstraint(condition=Q(ie_flag="E"), name="export_arrival_export"),
        ]
        indexes = [
            models.Index(fields=["sender", "updated_at", "id"], name="export_arrival_sender_idx"),
            _dispatch_index("export_arrival"),
        ]

    def __str__(self) -> str:
        return f"{self.operator_code}/{self.cop_no}"


class ExportArrivalItem(models.Model):
    arrival = models.ForeignKey(
        ExportArrival, verbose_name=_("export arrival"), on_delete=models.CASCADE, related_name="items"
    )
    gnum = models.IntegerField(_("item number"))
    logistics_no = models.CharField(_("waybill number"), max_length=32)
    total_package_no = models.CharField(_("consolidated package number"), max_length=37, blank=True)
    note = models.CharField(_("note"), max_length=1000, blank=True)
    amount_scales = models.JSONField(_("decimals as sent"), default=dict, blank=True)

    class Meta:
        verbose_name = _("export arrival item")
        verbose_name_plural = _("export arrival items")
        ordering = ("gnum",)
        constraints = [models.UniqueConstraint(fields=["arrival", "gnum"], name="export_arrival_item_gnum_unique")]
        indexes = [
            # Has this parcel arrived: WHERE logistics_no = ? (joined to the arrival's logistics code).
            models.Index(fields=["logistics_no"], name="export_arrival_parcel_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.gnum} {self.logistics_no}"


class ExportDeparture(ExportCustomsState, Declaration):
    """The carrier's record of parcels that left the country (离境单, CEB509)."""

    status = _status_field()
    customs_code = models.CharField(_("customs district of declaration"), max_length=4)
    cop_no = models.CharField(_("enterprise's internal number"), max_length=30)
    pre_no = models.CharField(_("pre-entry number"), max_length=18, blank=True)
    logistics_code = models.CharField(_("logistics enterprise code"), max_length=18)
    logistics_name = models.CharField(_("logistics enterprise name"), max_length=100)
    traf_mode = models.CharField(_("transport mode"), max_length=1)
    traf_name = models.CharField(_("name of the means of transport"), max_length=100, blank=True)
    voyage_no = models.CharField(_("flight or voyage number"), max_length=32, blank=True)
    bill_no = models.CharField(_("bill of lading number"), max_length=37, blank=True)
    leave_time = models.DateTimeField(_("departure time"))
    msg_count = models.PositiveIntegerField(_("message count"), default=1)
    msg_seq_no = models.PositiveIntegerField(_("message sequence number"), default=1)
    note = models.CharField(_("note"), max_length=1000, blank=True)

    class Meta:
        verbose_name = _("export departure")
        verbose_name_plural = _("export departures")
        constraints = [
            models.UniqueConstraint(
                fields=["logistics_code", "cop_no"],
                condition=~Q(status="deleted"),
                name="export_departure_business_key",
            ),
            models.CheckConstraint(condition=Q(status__in=DocumentStatus.values), name="export_departure_status_valid"),
        ]
        indexes = [
            models.Index(fields=["sender", "updated_at", "id"], name="export_departure_sender_idx"),
            _dispatch_index("export_departure"),
        ]

    def __str__(self) -> str:
        return f"{self.logistics_code}/{self.cop_no}"


class ExportDepartureItem(models.Model):
    departure = models.ForeignKey(
        ExportDeparture, verbose_name=_("export departure"), on_delete=models.CASCADE, related_name="items"
    )
    gnum = models.IntegerField(_("item number"))
    total_package_no = models.CharField(_("consolidated package number"), max_length=37, blank=True)
    logistics_no = models.CharField(_("waybill number"), max_length=32)
    note = models.CharField(_("note"), max_length=1000, blank=True)
    amount_scales = models.JSONField(_("decimals as sent"), default=dict, blank=True)

    class Meta:
        verbose_name = _("export departure item")
        verbose_name_plural = _("export departure items")
        ordering = ("gnum",)
        constraints = [models.UniqueConstraint(fields=["departure", "gnum"], name="export_departure_item_gnum_unique")]
        indexes = [
            # Has this parcel departed: WHERE logistics_no = ? (joined to the departure's logistics code).
            models.Index(fields=["logistics_no"], name="export_departure_parcel_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.gnum} {self.logistics_no}"


class ExportList(ExportCustomsState, Declaration):
    """The export declaration list (申报清单, CEB603), by its declaring agent."""

    status = models.CharField(
        _("status"), max_length=20, choices=ExportListStatus.choices, default=ExportListStatus.DRAFT
    )
    # What a list in pending_documents still waits for: ["order", "receipt", "waybill"].
    waiting_for = models.JSONField(_("waiting for"), default=list, blank=True)
    # The rules that failed, by their stable names, when the list is in match_failed.
    match_failures = models.JSONField(_("failed matching rules"), default=list, blank=True)
    customs_code = models.CharField(_("customs district of declaration"), max_length=4)
    ebp_code = models.CharField(_("e-commerce platform code"), max_length=18)
    ebp_name = models.CharField(_("e-commerce platform name"), max_length=100)
    order_no = models.CharField(_("order number"), max_length=60)
    logistics_code = models.CharField(_("logistics enterprise code"), max_length=18)
    logistics_name = models.CharField(_("logistics enterprise name"), max_length=100)
    logistics_no = models.CharField(_("waybill number"), max_length=32)
    cop_no = models.CharField(_("enterprise's internal number"), max_length=30)
    pre_no = models.CharField(_("pre-entry number"), max_length=18, blank=True)
    invt_no = models.CharField(_("customs list number"), max_length=20, blank=True)
    ie_flag = models.CharField(_("import/export flag"), max_length=1, default="E")
    port_code = models.CharField(_("port customs code"), max_length=4)
    ie_date = models.DateField(_("export date"))
    statistics_flag = models.CharField(_("declaration business type"), max_length=1)
    agent_code = models.CharField(_("declaring enterprise code"), max_length=18)
    agent_name = models.CharField(_("declaring enterprise name"), max_length=100)
    ebc_code = models.CharField(_("e-commerce enterprise code"), max_length=18)
    ebc_name = models.CharField(_("e-commerce enterprise name"), max_length=100)
    owner_code = models.CharField(_("producer and seller code"), max_length=18)
    owner_name = models.CharField(_("producer and seller name"), max_length=100)
    iac_code = models.CharField(_("zone enterprise code"), max_length=18, blank=True)
    iac_name = models.CharField(_("zone enterprise name"), max_length=100, blank=True)
    ems_no = models.CharField(_("account book number"), max_length=30, blank=True)
    trade_mode = models.CharField(_("trade mode"), max_length=4, choices=ExportTradeMode.choices)
    traf_mode = models.CharField(_("transport mode"), max_length=1)
    traf_name = models.CharField(_("name of the means of transport"), max_length=100, blank=True)
    voyage_no = models.CharField(_("flight or voyage number"), max_length=32, blank=True)
    bill_no = models.CharField(_("bill of lading number"), max_length=37, blank=True)
    total_package_no = models.CharField(_("consolidated package number"), max_length=37, blank=True)
    loct_no = models.CharField(_("supervised site code"), max_length=10, blank=True)
    license_no = models.CharField(_("licence number"), max_length=19, blank=True)
    country = models.CharField(_("country (region) of arrival"), max_length=3)
    pod = models.CharField(_("port of destination"), max_length=4)
    freight = models.DecimalField(_("freight"), max_digits=19, decimal_places=5)
    f_currency = models.CharField(_("freight currency"), max_length=3)
    f_flag = models.CharField(_("freight flag"), max_length=1, default="3")
    insured_fee = models.DecimalField(_("insurance fee"), max_digits=19, decimal_places=5)
    i_currency = models.CharField(_("insurance currency"), max_length=3)
    i_flag = models.CharField(_("insurance flag"), max_length=1, default="3")
    wrap_type = models.CharField(_("packaging type code"), max_length=1)
    pack_no = models.IntegerField(_("number of packages"))
    gross_weight = models.DecimalField(_("gross weight (kg)"), max_digits=19, decimal_places=5)
    net_weight = models.DecimalField(_("net weight (kg)"), max_digits=19, decimal_places=5)
    note = models.CharField(_("note"), max_length=1000, blank=True)

    class Meta:
        verbose_name = _("export list")
        verbose_name_plural = _("export lists")
        constraints = [
            # Business key: the declaring agent's own number for the list.
            models.UniqueConstraint(
                fields=["agent_code", "cop_no"], condition=~Q(status="deleted"), name="export_list_business_key"
            ),
            # One live list per parcel (a platform's order), whoever declares it.
            models.UniqueConstraint(
                fields=["ebp_code", "order_no"], condition=~Q(status="deleted"), name="export_list_one_per_order"
            ),
            models.CheckConstraint(condition=Q(status__in=ExportListStatus.values), name="export_list_status_valid"),
            models.CheckConstraint(
                condition=Q(trade_mode__in=ExportTradeMode.values), name="export_list_trade_mode_valid"
            ),
            models.CheckConstraint(condition=Q(ie_flag="E"), name="export_list_export"),
            # A special-zone export names the zone warehouse enterprise and its account book.
            models.CheckConstraint(
                condition=~Q(trade_mode="1210") | (~Q(iac_code="") & ~Q(ems_no="")),
                name="export_list_1210_zone_named",
            ),
            *_non_negative("export_list", "freight", "insured_fee", "gross_weight", "net_weight"),
        ]
        indexes = [
            models.Index(fields=["sender", "updated_at", "id"], name="export_list_sender_idx"),
            # Matching and the trace find a parcel's list by its waybill.
            models.Index(fields=["logistics_code", "logistics_no"], name="export_list_waybill_idx"),
            _dispatch_index("export_list"),
        ]

    def __str__(self) -> str:
        return f"{self.agent_code}/{self.cop_no}"


class ExportListItem(models.Model):
    export_list = models.ForeignKey(
        ExportList, verbose_name=_("export list"), on_delete=models.CASCADE, related_name="items"
    )
    gnum = models.IntegerField(_("item number"))
    item_no = models.CharField(_("enterprise's item number (SKU)"), max_length=20)
    item_record_no = models.CharField(_("account book item number"), max_length=30, blank=True)
    item_name = models.CharField(_("enterprise's goods name"), max_length=250, blank=True)
    gcode = models.CharField(_("commodity code"), max_length=10)
    gname = models.CharField(_("goods name"), max_length=250)
    gmodel = models.CharField(_("specification and model"), max_length=250)
    bar_code = models.CharField(_("barcode"), max_length=50)
    country = models.CharField(_("country (region) of destination"), max_length=3)
    currency = models.CharField(_("currency"), max_length=3)
    qty = models.DecimalField(_("quantity"), max_digits=19, decimal_places=5)
    qty1 = models.DecimalField(_("legal quantity"), max_digits=19, decimal_places=5)
    qty2 = models.DecimalField(_("second quantity"), max_digits=19, decimal_places=5, null=True, blank=True)
    unit = models.CharField(_("unit of measure"), max_length=3)
    unit1 = models.CharField(_("legal unit of measure"), max_length=3)
    unit2 = models.CharField(_("second unit of measure"), max_length=3, blank=True)
    price = models.DecimalField(_("unit price"), max_digits=19, decimal_places=5)
    total_price = models.DecimalField(_("total price"), max_digits=19, decimal_places=5)
    note = models.CharField(_("note"), max_length=1000, blank=True)
    amount_scales = models.JSONField(_("decimals as sent"), default=dict, blank=True)

    class Meta:
        verbose_name = _("export list item")
        verbose_name_plural = _("export list items")
        ordering = ("gnum",)
        constraints = [
            models.UniqueConstraint(fields=["export_list", "gnum"], name="export_list_item_gnum_unique"),
            *_non_negative("export_list_item", "qty", "qty1", "qty2", "price", "total_price"),
        ]

    def __str__(self) -> str:
        return f"{self.gnum} {self.gname}"


class ExportListStatusChange(models.Model):
    """One move of an export list, or one customs receipt (CEB604) about it. Append-only; a
    receipt that would move the list backwards is kept with ``applied`` False."""

    export_list = models.ForeignKey(
        ExportList, verbose_name=_("export list"), on_delete=models.CASCADE, related_name="status_changes"
    )
    from_status = models.CharField(_("from status"), max_length=20, choices=ExportListStatus.choices, blank=True)
    to_status = models.CharField(_("to status"), max_length=20, choices=ExportListStatus.choices)
    source = models.CharField(_("source"), max_length=16)
    receipt_code = models.CharField(_("receipt code"), max_length=10, blank=True)
    receipt_time = models.DateTimeField(_("receipt time"), null=True, blank=True)
    message_id = models.CharField(_("receipt message GUID"), max_length=36, blank=True)
    note = models.CharField(_("note"), max_length=1000, blank=True)
    applied = models.BooleanField(_("applied"), default=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("export list status change")
        verbose_name_plural = _("export list status changes")
        ordering = ("created_at", "id")
        constraints = [
            # The same receipt (list, code, returnTime) is recorded once.
            models.UniqueConstraint(
                fields=["export_list", "receipt_code", "receipt_time"],
                condition=Q(receipt_time__isnull=False),
                name="export_list_change_receipt_once",
            ),
            models.CheckConstraint(
                condition=Q(from_status="") | Q(from_status__in=ExportListStatus.values),
                name="export_list_change_from_valid",
            ),
            models.CheckConstraint(
                condition=Q(to_status__in=ExportListStatus.values), name="export_list_change_to_valid"
            ),
            models.CheckConstraint(
                condition=Q(source__in=["single_window", "customs_receipt", "enterprise"]),
                name="export_list_change_source_valid",
            ),
        ]
        indexes = [
            # The history of a list in time order (trace): WHERE export_list_id = ? ORDER BY created_at, id
            models.Index(fields=["export_list", "created_at", "id"], name="export_list_change_history_idx"),
        ]

    def __str__(self) -> str:
        code = f" ({self.receipt_code})" if self.receipt_code else ""
        return f"{self.export_list_id}: {self.from_status or '-'} -> {self.to_status}{code}"


class ExportListCancellation(ExportCustomsState, TimeStampedModel):
    """A request to cancel a declared export list (撤销申请单, CEB605), answered by CEB606."""

    class Status(models.TextChoices):
        RECORDED = "recorded", _("recorded")
        SENT = "sent", _("sent to customs")
        ACCEPTED = "accepted", _("accepted")
        REJECTED = "rejected", _("rejected")

    export_list = models.ForeignKey(
        ExportList, verbose_name=_("export list"), on_delete=models.PROTECT, related_name="cancellations"
    )
    requested_by = models.ForeignKey(
        Enterprise, verbose_name=_("requested by"), on_delete=models.PROTECT, related_name="+"
    )
    guid = models.CharField(_("system unique number (GUID)"), max_length=36, unique=True)
    cop_no = models.CharField(_("enterprise's internal number"), max_length=30)
    reason = models.CharField(_("reason for cancellation"), max_length=1000)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.RECORDED)

    class Meta:
        verbose_name = _("export list cancellation")
        verbose_name_plural = _("export list cancellations")
        constraints = [
            models.CheckConstraint(condition=~Q(reason=""), name="export_cancellation_reason_required"),
            models.CheckConstraint(
                condition=Q(status__in=["recorded", "sent", "accepted", "rejected"]),
                name="export_cancellation_status_valid",
            ),
            # One open request per list at a time.
            models.UniqueConstraint(
                fields=["export_list"],
                condition=Q(status__in=["recorded", "sent"]),
                name="export_cancellation_one_open",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.export_list}: {self.reason[:40]}"


class ExportMasterBill(ExportCustomsState, Declaration):
    """Master/sub bills: lists grouped under one transport document (清单总分单, CEB607), by
    the declaring agent."""

    status = _status_field()
    customs_code = models.CharField(_("customs district of declaration"), max_length=4)
    cop_no = models.CharField(_("enterprise's internal number"), max_length=30)
    pre_no = models.CharField(_("pre-entry number"), max_length=18, blank=True)
    agent_code = models.CharField(_("declaring enterprise code"), max_length=18)
    agent_name = models.CharField(_("declaring enterprise name"), max_length=100)
    loct_no = models.CharField(_("supervised site code"), max_length=10, blank=True)
    traf_mode = models.CharField(_("transport mode"), max_length=1)
    traf_name = models.CharField(_("name of the means of transport"), max_length=100)
    voyage_no = models.CharField(_("flight or voyage number"), max_length=32)
    bill_no = models.CharField(_("bill of lading number"), max_length=37)
    domestic_traf_no = models.CharField(_("domestic means of transport number"), max_length=100, blank=True)
    gross_weight = models.DecimalField(_("gross weight (kg)"), max_digits=19, decimal_places=5)
    logistics_code = models.CharField(_("logistics enterprise code"), max_length=18)
    logistics_name = models.CharField(_("logistics enterprise name"), max_length=100)
    msg_count = models.PositiveIntegerField(_("message count"), default=1)
    msg_seq_no = models.PositiveIntegerField(_("message sequence number"), default=1)
    note = models.CharField(_("note"), max_length=1000, blank=True)

    class Meta:
        verbose_name = _("master bill")
        verbose_name_plural = _("master bills")
        constraints = [
            models.UniqueConstraint(
                fields=["agent_code", "cop_no"], condition=~Q(status="deleted"), name="export_master_bill_business_key"
            ),
            models.CheckConstraint(
                condition=Q(status__in=DocumentStatus.values), name="export_master_bill_status_valid"
            ),
            *_non_negative("export_master_bill", "gross_weight"),
        ]
        indexes = [
            models.Index(fields=["sender", "updated_at", "id"], name="export_master_sender_idx"),
            _dispatch_index("export_master"),
        ]

    def __str__(self) -> str:
        return f"{self.agent_code}/{self.cop_no}"


class ExportMasterBillItem(models.Model):
    master_bill = models.ForeignKey(
        ExportMasterBill, verbose_name=_("master bill"), on_delete=models.CASCADE, related_name="items"
    )
    gnum = models.IntegerField(_("item number"))
    total_package_no = models.CharField(_("consolidated package number"), max_length=60, blank=True)
    logistics_no = models.CharField(_("waybill number"), max_length=32)
    invt_no = models.CharField(_("customs list number"), max_length=20, blank=True)
    note = models.CharField(_("note"), max_length=1000, blank=True)
    amount_scales = models.JSONField(_("decimals as sent"), default=dict, blank=True)

    class Meta:
        verbose_name = _("master bill item")
        verbose_name_plural = _("master bill items")
        ordering = ("gnum",)
        constraints = [
            models.UniqueConstraint(fields=["master_bill", "gnum"], name="export_master_bill_item_gnum_unique")
        ]
        indexes = [models.Index(fields=["logistics_no"], name="export_master_bill_item_idx")]

    def __str__(self) -> str:
        return f"{self.gnum} {self.logistics_no}"
