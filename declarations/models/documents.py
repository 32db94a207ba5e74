"""The four import documents: order (CEB311), payment (CEB411), waybill (CEB511) and
declaration list, or inventory (CEB621), with the list's cancellation request (CEB623) and
its return requests (CEB625).

Columns follow the message specification (declarations/spec.py). ID numbers are stored
encrypted, with a keyed hash of the normalised number for lookups; the plaintext is never
stored.
"""

from __future__ import annotations

from typing import ClassVar

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from core.models import TimeStampedModel
from single_window.models import Enterprise, InboundMessage


class DocumentStatus(models.TextChoices):
    DRAFT = "draft", _("draft")
    DECLARED = "declared", _("declared")
    DELETED = "deleted", _("deleted")


class IdentityVerification(models.TextChoices):
    """The payment company's check that the payer may pay for the buyer (DOMAIN.md section 3, rule 3)."""

    NOT_REQUESTED = "not_requested", _("not requested")
    REQUESTED = "requested", _("requested")
    VERIFIED = "verified", _("verified")
    REFUSED = "refused", _("refused")


class InventoryStatus(models.TextChoices):
    """The list's lifecycle (DOMAIN.md section 3)."""

    DRAFT = "draft", _("draft")
    PENDING_DOCUMENTS = "pending_documents", _("waiting for documents")
    MATCH_FAILED = "match_failed", _("matching failed")
    MATCHED = "matched", _("matched")
    # A system of the declare step asked to wait (a review, a guarantee, stock) until held_until.
    HELD = "held", _("held before declaring")
    # A system of the declare step asked a regulator to look first (the risk review queue);
    # not customs' manual review (300), which comes after acceptance.
    RISK_REVIEW = "risk_review", _("in risk review")
    # The regulator who reviewed it refused it: never to customs in this version.
    RISK_REJECTED = "risk_rejected", _("rejected in risk review")
    # A system of the declare step blocked it (a watch list, a rule): never to customs in this version.
    RISK_BLOCKED = "risk_blocked", _("blocked by risk control")
    # A regulator returned it to its enterprise before it reached customs: a change (appType 2)
    # is matched and judged afresh (declarations.workbench.services).
    CORRECTION_REQUESTED = "correction_requested", _("returned for correction")
    DECLARED = "declared", _("declared to customs")
    SEND_FAILED = "send_failed", _("sending failed")
    ACCEPTED = "accepted", _("accepted by customs")
    REJECTED = "rejected", _("rejected by customs")
    MANUAL_REVIEW = "manual_review", _("manual review")
    INSPECTION = "inspection", _("inspection")
    DETAINED = "detained", _("detained")
    RELEASED = "released", _("released")
    CLOSED = "closed", _("closed")
    CANCELLED = "cancelled", _("cancelled")
    RETURNED = "returned", _("returned")
    DELETED = "deleted", _("deleted")


# States in which a list has gone to customs: it can no longer be changed or deleted.
INVENTORY_DECLARED_STATES = frozenset(
    {
        InventoryStatus.DECLARED,
        InventoryStatus.ACCEPTED,
        InventoryStatus.MANUAL_REVIEW,
        InventoryStatus.INSPECTION,
        InventoryStatus.DETAINED,
        InventoryStatus.RELEASED,
        InventoryStatus.CLOSED,
        InventoryStatus.CANCELLED,
        InventoryStatus.RETURNED,
    }
)


def _non_negative(model: str, *fields: str) -> list[models.CheckConstraint]:
    return [
        models.CheckConstraint(
            condition=Q(**{f"{field}__gte": 0}) | Q(**{f"{field}__isnull": True}), name=f"{model}_{field}_non_negative"
        )
        for field in fields
    ]


class Declaration(TimeStampedModel):
    """What every declared document carries: who sent it, its version and its state."""

    sender = models.ForeignKey(Enterprise, verbose_name=_("sender"), on_delete=models.PROTECT, related_name="+")
    guid = models.CharField(_("system unique number (GUID)"), max_length=36)
    app_type = models.CharField(_("submission type"), max_length=1)
    app_time = models.DateTimeField(_("submission time"))
    app_status = models.CharField(_("submission status"), max_length=3)
    version = models.PositiveIntegerField(_("version"), default=1)
    # The decimals each amount was sent with ({"goods_value": 2}), so it is answered as it came;
    # an amount not named here (stored before scales were kept) is answered without trailing zeros.
    amount_scales = models.JSONField(_("decimals as sent"), default=dict, blank=True)

    # Names of fields that hold personal information (masked to all but the sender).
    personal_fields: ClassVar[tuple[str, ...]] = ()

    class Meta:
        abstract = True

    @property
    def audit_excluded(self) -> tuple[str, ...]:
        """Left out of the audit log (``core.audit.snapshot``): the personal fields, and ID
        numbers in every form (ciphertext and lookup hash)."""
        identity = [f.name for f in self._meta.concrete_fields if f.name.endswith(("_id_number_encrypted", "_id_hash"))]
        return (*self.personal_fields, *identity)


class CustomsReceipt(models.Model):
    """What customs last answered about an order, payment or waybill the single window forwarded
    for its sender (CEB312/412/512 ``returnStatus`` and ``returnInfo``); blank until it answers."""

    customs_status = models.CharField(_("customs receipt status"), max_length=10, blank=True)
    customs_note = models.CharField(_("customs note"), max_length=500, blank=True)
    # Customs has taken a version of this document (a receipt 2, 3, 100 or 120): a later version
    # goes out as a change (appType 2); until then every version goes out as new (appType 1).
    customs_holds = models.BooleanField(_("customs holds a version"), default=False)
    # Set, in the transaction that declared this version, when the gateway is to build and sign
    # it; cleared when it is packed into a message (``customs.gateway``). As ``Inventory``'s.
    dispatch_requested_at = models.DateTimeField(_("dispatch requested at"), null=True, blank=True)

    class Meta:
        abstract = True


class Order(CustomsReceipt, Declaration):
    status = models.CharField(_("status"), max_length=16, choices=DocumentStatus.choices, default=DocumentStatus.DRAFT)
    order_type = models.CharField(_("order type"), max_length=1)
    order_no = models.CharField(_("order number"), max_length=60)
    ebp_code = models.CharField(_("e-commerce platform code"), max_length=18)
    ebp_name = models.CharField(_("e-commerce platform name"), max_length=100)
    ebc_code = models.CharField(_("e-commerce enterprise code"), max_length=18)
    ebc_name = models.CharField(_("e-commerce enterprise name"), max_length=100)
    goods_value = models.DecimalField(_("goods value"), max_digits=19, decimal_places=5)
    freight = models.DecimalField(_("freight"), max_digits=19, decimal_places=5)
    discount = models.DecimalField(_("non-cash discount"), max_digits=19, decimal_places=5)
    tax_total = models.DecimalField(_("tax withheld"), max_digits=19, decimal_places=5)
    actual_paid = models.DecimalField(_("amount actually paid"), max_digits=19, decimal_places=5)
    currency = models.CharField(_("currency"), max_length=3)
    buyer_reg_no = models.CharField(_("buyer's registration number"), max_length=60)
    buyer_name = models.CharField(_("buyer's name"), max_length=60)
    buyer_telephone = models.CharField(_("buyer's telephone"), max_length=30)
    buyer_id_type = models.CharField(_("buyer's ID type"), max_length=1)
    buyer_id_number_encrypted = models.TextField(_("buyer's ID number (encrypted)"))
    buyer_id_hash = models.CharField(_("buyer's ID number (lookup hash)"), max_length=64)
    pay_code = models.CharField(_("payment enterprise code"), max_length=18, blank=True)
    pay_name = models.CharField(_("payment enterprise name"), max_length=100, blank=True)
    pay_transaction_id = models.CharField(_("payment transaction number"), max_length=60, blank=True)
    batch_numbers = models.CharField(_("goods batch numbers"), max_length=100, blank=True)
    consignee = models.CharField(_("consignee's name"), max_length=100)
    consignee_telephone = models.CharField(_("consignee's telephone"), max_length=50)
    consignee_address = models.CharField(_("consignee's address"), max_length=200)
    consignee_district = models.CharField(_("consignee's administrative division code"), max_length=6, blank=True)
    note = models.CharField(_("note"), max_length=1000, blank=True)

    personal_fields = ("buyer_name", "buyer_telephone", "consignee", "consignee_telephone", "consignee_address")

    class Meta:
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        constraints = [
            # Business key: one live order per platform and order number.
            models.UniqueConstraint(
                fields=["ebp_code", "order_no"], condition=~Q(status="deleted"), name="order_business_key"
            ),
            models.CheckConstraint(condition=Q(status__in=DocumentStatus.values), name="order_status_valid"),
            *_non_negative("order", "goods_value", "freight", "discount", "tax_total", "actual_paid"),
        ]
        indexes = [
            # Lists by status and change time: WHERE sender = ? AND status = ? AND updated_at > ?
            models.Index(fields=["sender", "updated_at", "id"], name="order_sender_updated_idx"),
            # Matching and the buyer's history: WHERE buyer_id_hash = ?
            models.Index(fields=["buyer_id_hash"], name="order_buyer_idx"),
            # The gateway's packing and its sweep: WHERE dispatch_requested_at <= now, by sender.
            models.Index(
                fields=["dispatch_requested_at"],
                condition=Q(dispatch_requested_at__isnull=False),
                name="order_dispatch_due_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.ebp_code}/{self.order_no}"


class OrderItem(models.Model):
    order = models.ForeignKey(Order, verbose_name=_("order"), on_delete=models.CASCADE, related_name="items")
    gnum = models.IntegerField(_("item number"))
    item_no = models.CharField(_("enterprise's item number (SKU)"), max_length=30, blank=True)
    item_name = models.CharField(_("enterprise's goods name"), max_length=250)
    gmodel = models.CharField(_("specification and model"), max_length=510)
    item_describe = models.CharField(_("enterprise's goods description"), max_length=1000, blank=True)
    bar_code = models.CharField(_("barcode"), max_length=50, blank=True)
    unit = models.CharField(_("unit of measure"), max_length=3)
    qty = models.DecimalField(_("quantity"), max_digits=19, decimal_places=5)
    price = models.DecimalField(_("unit price"), max_digits=19, decimal_places=5)
    total_price = models.DecimalField(_("total price"), max_digits=19, decimal_places=5)
    currency = models.CharField(_("currency"), max_length=3)
    country = models.CharField(_("country of origin"), max_length=3)
    note = models.CharField(_("note"), max_length=1000, blank=True)
    # As ``Declaration.amount_scales``.
    amount_scales = models.JSONField(_("decimals as sent"), default=dict, blank=True)

    class Meta:
        verbose_name = _("order item")
        verbose_name_plural = _("order items")
        ordering = ("gnum",)
        constraints = [
            models.UniqueConstraint(fields=["order", "gnum"], name="order_item_gnum_unique"),
            *_non_negative("order_item", "qty", "price", "total_price"),
        ]

    def __str__(self) -> str:
        return f"{self.gnum} {self.item_name}"


class Payment(CustomsReceipt, Declaration):
    status = models.CharField(_("status"), max_length=16, choices=DocumentStatus.choices, default=DocumentStatus.DRAFT)
    pay_code = models.CharField(_("payment enterprise code"), max_length=18)
    pay_name = models.CharField(_("payment enterprise name"), max_length=100)
    pay_transaction_id = models.CharField(_("payment transaction number"), max_length=60)
    order_no = models.CharField(_("order number"), max_length=60)
    ebp_code = models.CharField(_("e-commerce platform code"), max_length=18)
    ebp_name = models.CharField(_("e-commerce platform name"), max_length=100)
    payer_id_type = models.CharField(_("payer's ID type"), max_length=1)
    payer_id_number_encrypted = models.TextField(_("payer's ID number (encrypted)"))
    payer_id_hash = models.CharField(_("payer's ID number (lookup hash)"), max_length=64)
    payer_name = models.CharField(_("payer's name"), max_length=60)
    telephone = models.CharField(_("payer's telephone"), max_length=60, blank=True)
    amount_paid = models.DecimalField(_("amount paid"), max_digits=19, decimal_places=5)
    currency = models.CharField(_("payment currency"), max_length=3)
    pay_time = models.DateTimeField(_("payment time"))
    note = models.CharField(_("note"), max_length=1000, blank=True)
    # Asked when the payer is not the buyer; a new version of the payment is asked again.
    identity_verification = models.CharField(
        _("identity verification"),
        max_length=16,
        choices=IdentityVerification.choices,
        default=IdentityVerification.NOT_REQUESTED,
    )
    identity_verified_at = models.DateTimeField(_("identity verification answered at"), null=True, blank=True)

    personal_fields = ("payer_name", "telephone")

    class Meta:
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        constraints = [
            models.UniqueConstraint(
                fields=["pay_code", "pay_transaction_id"], condition=~Q(status="deleted"), name="payment_business_key"
            ),
            models.CheckConstraint(condition=Q(status__in=DocumentStatus.values), name="payment_status_valid"),
            models.CheckConstraint(
                condition=Q(identity_verification__in=IdentityVerification.values),
                name="payment_identity_verification_valid",
            ),
            *_non_negative("payment", "amount_paid"),
        ]
        indexes = [
            models.Index(fields=["sender", "updated_at", "id"], name="payment_sender_updated_idx"),
            # Matching finds the payment of an order: WHERE ebp_code = ? AND order_no = ?
            models.Index(fields=["ebp_code", "order_no"], name="payment_order_idx"),
            # The gateway's packing and its sweep: WHERE dispatch_requested_at <= now, by sender.
            models.Index(
                fields=["dispatch_requested_at"],
                condition=Q(dispatch_requested_at__isnull=False),
                name="payment_dispatch_due_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.pay_code}/{self.pay_transaction_id}"


class Waybill(CustomsReceipt, Declaration):
    status = models.CharField(_("status"), max_length=16, choices=DocumentStatus.choices, default=DocumentStatus.DRAFT)
    # A waybill number may be used again after six months; each use is a new generation.
    generation = models.PositiveIntegerField(_("generation"), default=1)
    logistics_code = models.CharField(_("logistics enterprise code"), max_length=18)
    logistics_name = models.CharField(_("logistics enterprise name"), max_length=100)
    logistics_no = models.CharField(_("waybill number"), max_length=60)
    bill_no = models.CharField(_("bill of lading number"), max_length=37, blank=True)
    order_no = models.CharField(_("order number"), max_length=60)
    freight = models.DecimalField(_("freight"), max_digits=19, decimal_places=5, null=True, blank=True)
    insured_fee = models.DecimalField(_("insured value fee"), max_digits=19, decimal_places=5, null=True, blank=True)
    currency = models.CharField(_("currency"), max_length=3)
    weight = models.DecimalField(_("gross weight (kg)"), max_digits=19, decimal_places=5)
    pack_no = models.IntegerField(_("number of packages"))
    goods_info = models.CharField(_("main goods information"), max_length=200, blank=True)
    consignee = models.CharField(_("consignee's name"), max_length=100)
    consignee_address = models.CharField(_("consignee's address"), max_length=200)
    consignee_telephone = models.CharField(_("consignee's telephone"), max_length=50)
    note = models.CharField(_("note"), max_length=1000, blank=True)

    personal_fields = ("consignee", "consignee_address", "consignee_telephone")

    class Meta:
        verbose_name = _("waybill")
        verbose_name_plural = _("waybills")
        constraints = [
            models.UniqueConstraint(
                fields=["logistics_code", "logistics_no", "generation"], name="waybill_business_key"
            ),
            models.CheckConstraint(condition=Q(status__in=DocumentStatus.values), name="waybill_status_valid"),
            *_non_negative("waybill", "freight", "insured_fee", "weight"),
        ]
        indexes = [
            models.Index(fields=["sender", "updated_at", "id"], name="waybill_sender_updated_idx"),
            # Matching finds a waybill by the list's logistics code and number.
            models.Index(fields=["logistics_code", "logistics_no", "-generation"], name="waybill_key_idx"),
            # The gateway's packing and its sweep: WHERE dispatch_requested_at <= now, by sender.
            models.Index(
                fields=["dispatch_requested_at"],
                condition=Q(dispatch_requested_at__isnull=False),
                name="waybill_dispatch_due_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.logistics_code}/{self.logistics_no}"


class Inventory(Declaration):
    status = models.CharField(
        _("status"), max_length=20, choices=InventoryStatus.choices, default=InventoryStatus.DRAFT
    )
    # What a list in pending_documents still waits for: ["order", "payment", "waybill"].
    waiting_for = models.JSONField(_("waiting for"), default=list, blank=True)
    # A held list is judged again by then, and fails the declare step if still not let through.
    held_until = models.DateTimeField(_("held until"), null=True, blank=True)
    # Set when the list is declared and cleared once it is packed into a CEB621 handed to the
    # outbox (or refused): the gateway signs after the deciding transaction, outside its locks.
    dispatch_requested_at = models.DateTimeField(_("dispatch requested at"), null=True, blank=True)
    order_no = models.CharField(_("order number"), max_length=60)
    ebp_code = models.CharField(_("e-commerce platform code"), max_length=18)
    ebp_name = models.CharField(_("e-commerce platform name"), max_length=100)
    ebc_code = models.CharField(_("e-commerce enterprise code"), max_length=18)
    ebc_name = models.CharField(_("e-commerce enterprise name"), max_length=100)
    logistics_no = models.CharField(_("waybill number"), max_length=60)
    logistics_code = models.CharField(_("logistics enterprise code"), max_length=18)
    logistics_name = models.CharField(_("logistics enterprise name"), max_length=100)
    cop_no = models.CharField(_("enterprise's internal number"), max_length=20, blank=True)
    pre_no = models.CharField(_("pre-entry number"), max_length=18, blank=True)
    assure_code = models.CharField(_("tax guarantor code"), max_length=30)
    ems_no = models.CharField(_("account book number"), max_length=30, blank=True)
    invt_no = models.CharField(_("customs list number"), max_length=18, blank=True)
    ie_flag = models.CharField(_("import/export flag"), max_length=1)
    decl_time = models.DateField(_("declaration date"))
    customs_code = models.CharField(_("customs district of declaration"), max_length=4)
    port_code = models.CharField(_("port customs code"), max_length=4)
    ie_date = models.DateField(_("import date"), null=True, blank=True)
    buyer_id_type = models.CharField(_("buyer's ID type"), max_length=1)
    buyer_id_number_encrypted = models.TextField(_("buyer's ID number (encrypted)"))
    buyer_id_hash = models.CharField(_("buyer's ID number (lookup hash)"), max_length=64)
    buyer_name = models.CharField(_("buyer's name"), max_length=60)
    buyer_telephone = models.CharField(_("buyer's telephone"), max_length=30)
    consignee_address = models.CharField(_("consignee's address"), max_length=200)
    agent_code = models.CharField(_("declaring enterprise code"), max_length=18)
    agent_name = models.CharField(_("declaring enterprise name"), max_length=100)
    area_code = models.CharField(_("bonded-zone enterprise code"), max_length=18, blank=True)
    area_name = models.CharField(_("bonded-zone enterprise name"), max_length=100, blank=True)
    trade_mode = models.CharField(_("trade mode"), max_length=4)
    traf_mode = models.CharField(_("transport mode"), max_length=1)
    traf_no = models.CharField(_("means of transport number"), max_length=100, blank=True)
    voyage_no = models.CharField(_("flight or voyage number"), max_length=32, blank=True)
    bill_no = models.CharField(_("bill of lading number"), max_length=37, blank=True)
    loct_no = models.CharField(_("supervised site code"), max_length=10, blank=True)
    license_no = models.CharField(_("licence number"), max_length=19, blank=True)
    country = models.CharField(_("country (region) of departure"), max_length=3)
    freight = models.DecimalField(_("freight"), max_digits=19, decimal_places=5)
    insured_fee = models.DecimalField(_("insurance fee"), max_digits=19, decimal_places=5)
    currency = models.CharField(_("currency"), max_length=3)
    wrap_type = models.CharField(_("packaging type code"), max_length=1, blank=True)
    pack_no = models.IntegerField(_("number of packages"))
    gross_weight = models.DecimalField(_("gross weight (kg)"), max_digits=19, decimal_places=5)
    net_weight = models.DecimalField(_("net weight (kg)"), max_digits=19, decimal_places=5)
    note = models.CharField(_("note"), max_length=1000, blank=True)
    # The customs XML message this version of the list came in (None: sent as JSON). The
    # gateway forwards those exact bytes when the enterprise signed them and they hold this list only.
    source_message = models.ForeignKey(
        InboundMessage,
        verbose_name=_("source message"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    personal_fields = ("buyer_name", "buyer_telephone", "consignee_address")

    class Meta:
        verbose_name = _("declaration list")
        verbose_name_plural = _("declaration lists")
        permissions = [("view_personal_data", _("Can see buyers' names, phones and addresses unmasked"))]
        constraints = [
            # Business key: the declaring enterprise's own number for the list.
            models.UniqueConstraint(
                fields=["agent_code", "cop_no"], condition=~Q(status="deleted"), name="inventory_business_key"
            ),
            # One live list per parcel and e-commerce enterprise. Documents of a parcel share
            # ebp_code + order_no, and a list matches only the order of its own e-commerce
            # enterprise (``clearance.matching.parcel_documents``): only one of them can ever
            # match the order. With ebc_code in the key, a list that names someone else's order
            # number takes no number from the order's own enterprise (its list is not refused
            # as a duplicate, -621004) and never matches that order.
            models.UniqueConstraint(
                fields=["ebp_code", "order_no", "ebc_code"],
                condition=~Q(status="deleted"),
                name="inventory_one_per_order",
            ),
            models.CheckConstraint(condition=Q(status__in=InventoryStatus.values), name="inventory_status_valid"),
            models.CheckConstraint(condition=Q(trade_mode__in=["9610", "1210"]), name="inventory_trade_mode_import"),
            *_non_negative("inventory", "freight", "insured_fee", "gross_weight", "net_weight"),
        ]
        indexes = [
            models.Index(fields=["sender", "updated_at", "id"], name="inventory_sender_updated_idx"),
            # Regulators search by buyer: WHERE buyer_id_hash = ?
            models.Index(fields=["buyer_id_hash"], name="inventory_buyer_idx"),
            # Regulators' and matching lookups by waybill.
            models.Index(fields=["logistics_code", "logistics_no"], name="inventory_waybill_idx"),
            # The dispatch sweep: WHERE dispatch_requested_at IS NOT NULL ORDER BY dispatch_requested_at.
            models.Index(
                fields=["dispatch_requested_at"],
                condition=Q(dispatch_requested_at__isnull=False),
                name="inventory_dispatch_due_idx",
            ),
            # The held sweep: WHERE status = 'held' AND held_until <= now.
            models.Index(fields=["held_until"], condition=Q(status="held"), name="inventory_held_idx"),
            # The regulators' review queue, oldest first: WHERE status = 'risk_review' ORDER BY updated_at.
            models.Index(fields=["updated_at"], condition=Q(status="risk_review"), name="inventory_risk_review_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.agent_code}/{self.cop_no}"


class InventoryInReview(Inventory):
    """The lists in risk review, as the regulators' review queue shows them (a proxy: its own
    admin page and permissions; "change" is the right to approve or reject)."""

    class Meta:
        proxy = True
        verbose_name = _("list in risk review")
        verbose_name_plural = _("risk review queue")


class InventoryItem(models.Model):
    inventory = models.ForeignKey(
        Inventory, verbose_name=_("declaration list"), on_delete=models.CASCADE, related_name="items"
    )
    gnum = models.IntegerField(_("item number"))
    item_record_no = models.CharField(_("account book item number"), max_length=30, blank=True)
    item_no = models.CharField(_("enterprise's item number (SKU)"), max_length=20, blank=True)
    item_name = models.CharField(_("enterprise's goods name"), max_length=250, blank=True)
    gcode = models.CharField(_("commodity code"), max_length=10)
    gname = models.CharField(_("goods name"), max_length=250)
    gmodel = models.CharField(_("specification and model"), max_length=510)
    bar_code = models.CharField(_("barcode"), max_length=50, blank=True)
    country = models.CharField(_("country (region) of origin"), max_length=3)
    trade_country = models.CharField(_("trading country (region)"), max_length=3, blank=True)
    currency = models.CharField(_("currency"), max_length=3)
    qty = models.DecimalField(_("quantity"), max_digits=19, decimal_places=5)
    unit = models.CharField(_("unit of measure"), max_length=3)
    qty1 = models.DecimalField(_("legal quantity"), max_digits=19, decimal_places=5)
    unit1 = models.CharField(_("legal unit of measure"), max_length=3)
    qty2 = models.DecimalField(_("second quantity"), max_digits=19, decimal_places=5, null=True, blank=True)
    unit2 = models.CharField(_("second unit of measure"), max_length=3, blank=True)
    price = models.DecimalField(_("unit price"), max_digits=19, decimal_places=5)
    total_price = models.DecimalField(_("total price"), max_digits=19, decimal_places=5)
    note = models.CharField(_("note"), max_length=1000, blank=True)
    # As ``Declaration.amount_scales``.
    amount_scales = models.JSONField(_("decimals as sent"), default=dict, blank=True)

    class Meta:
        verbose_name = _("declaration list item")
        verbose_name_plural = _("declaration list items")
        ordering = ("gnum",)
        constraints = [
            models.UniqueConstraint(fields=["inventory", "gnum"], name="inventory_item_gnum_unique"),
            *_non_negative("inventory_item", "qty", "qty1", "qty2", "price", "total_price"),
        ]

    def __str__(self) -> str:
        return f"{self.gnum} {self.gname}"


class InventoryCancellation(TimeStampedModel):
    """A request to cancel a declared list (CEB623); sent to customs by the gateway."""

    class Status(models.TextChoices):
        RECORDED = "recorded", _("recorded")
        SENT = "sent", _("sent to customs")
        ACCEPTED = "accepted", _("accepted")
        REJECTED = "rejected", _("rejected")

    inventory = models.ForeignKey(
        Inventory, verbose_name=_("declaration list"), on_delete=models.PROTECT, related_name="cancellations"
    )
    requested_by = models.ForeignKey(
        Enterprise, verbose_name=_("requested by"), on_delete=models.PROTECT, related_name="+"
    )
    reason = models.CharField(_("reason"), max_length=1000)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.RECORDED)

    class Meta:
        verbose_name = _("cancellation request")
        verbose_name_plural = _("cancellation requests")
        constraints = [
            models.CheckConstraint(condition=~Q(reason=""), name="cancellation_reason_required"),
            # One open request per list at a time.
            models.UniqueConstraint(
                fields=["inventory"], condition=Q(status__in=["recorded", "sent"]), name="cancellation_one_open"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.inventory}: {self.reason[:40]}"


class InventoryReturn(TimeStampedModel):
    """A return request of a released list (退货申请, CEB625), whole or of some lines; sent to
    customs by the gateway and answered by CEB626. It never moves the list's lifecycle: the
    list stays released, and what customs concluded goes back to the buyer's annual quota."""

    class Status(models.TextChoices):
        RECORDED = "recorded", _("recorded")
        SENT = "sent", _("sent to customs")
        ENTERED = "entered", _("entered by customs")  # CEB626 120
        CONCLUDED = "concluded", _("concluded")  # CEB626 399
        REFUSED = "refused", _("refused")  # CEB626 100 or a negative code

    inventory = models.ForeignKey(
        Inventory, verbose_name=_("declaration list"), on_delete=models.PROTECT, related_name="returns"
    )
    requested_by = models.ForeignKey(
        Enterprise, verbose_name=_("requested by"), on_delete=models.PROTECT, related_name="+"
    )
    # The InvtRefundHead guid of the CEB625 (36 characters, upper case): customs' answer names it.
    guid = models.CharField(_("system unique number (GUID)"), max_length=36, unique=True)
    reason = models.CharField(_("reason"), max_length=1000)
    whole_list = models.BooleanField(_("whole list"), default=False)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.RECORDED)
    # Customs' last answer (CEB626): its returnStatus, returnInfo and returnTime.
    return_status = models.CharField(_("customs return status"), max_length=10, blank=True)
    return_info = models.CharField(_("customs return info"), max_length=1000, blank=True)
    answered_at = models.DateTimeField(_("answered at"), null=True, blank=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    concluded_at = models.DateTimeField(_("concluded at"), null=True, blank=True)
    # The dutiable value of the goods returned (CNY, two decimals): the estimate's item values
    # pro rata to the quantity returned.
    dutiable_value = models.DecimalField(_("dutiable value returned"), max_digits=19, decimal_places=2)
    # What went back to the buyer's annual quota at the conclusion (set once: a repeated 399
    # gives back nothing more).
    quota_given_back = models.BooleanField(_("given back to the quota"), default=False)
    quota_amount = models.DecimalField(_("amount given back"), max_digits=19, decimal_places=2, default=0)

    class Meta:
        verbose_name = _("return request")
        verbose_name_plural = _("return requests")
        constraints = [
            models.CheckConstraint(condition=~Q(reason=""), name="inventory_return_reason_required"),
            models.CheckConstraint(
                condition=Q(status__in=["recorded", "sent", "entered", "concluded", "refused"]),
                name="inventory_return_status_valid",
            ),
            models.CheckConstraint(condition=Q(dutiable_value__gte=0), name="inventory_return_value_non_negative"),
            models.CheckConstraint(
                condition=Q(quota_amount__gte=0) & Q(quota_amount__lte=models.F("dutiable_value")),
                name="inventory_return_quota_amount_range",
            ),
            # Only a concluded return gives anything back.
            models.CheckConstraint(
                condition=Q(quota_given_back=False) | Q(status="concluded"),
                name="inventory_return_quota_only_concluded",
            ),
        ]
        indexes = [
            # What remains of a list to return, and its returns in the trace: WHERE inventory_id = ?
            # (the foreign key's own index); customs' answer without a known guid:
            # WHERE inventory_id = ? AND status IN (open) ORDER BY created_at.
            models.Index(
                fields=["inventory", "created_at"],
                condition=Q(status__in=["recorded", "sent", "entered"]),
                name="inventory_return_open_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.inventory}: {self.reason[:40]}"


class InventoryReturnItem(models.Model):
    """One line of a return: the list's line (``gnum``) and the quantity returned."""

    inventory_return = models.ForeignKey(
        InventoryReturn, verbose_name=_("return request"), on_delete=models.CASCADE, related_name="items"
    )
    gnum = models.IntegerField(_("item number"))
    gcode = models.CharField(_("commodity code"), max_length=10)
    gname = models.CharField(_("goods name"), max_length=250)
    qty = models.DecimalField(_("quantity"), max_digits=19, decimal_places=5)
    unit = models.CharField(_("unit of measure"), max_length=3)
    dutiable_value = models.DecimalField(_("dutiable value returned"), max_digits=19, decimal_places=2)

    class Meta:
        verbose_name = _("return request item")
        verbose_name_plural = _("return request items")
        ordering = ("gnum",)
        constraints = [
            models.UniqueConstraint(fields=["inventory_return", "gnum"], name="inventory_return_item_gnum_unique"),
            models.CheckConstraint(condition=Q(qty__gt=0), name="inventory_return_item_qty_positive"),
            models.CheckConstraint(condition=Q(dutiable_value__gte=0), name="inventory_return_item_value_non_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.gnum} {self.gname} x {self.qty}"
