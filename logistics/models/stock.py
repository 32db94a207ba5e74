"""Bonded warehouse stock (trade mode 1210): the account books (``emsNo``) of the bonded-zone
warehouses, what each holds per item record number, and what declared lists reserve on it.

``on_hand`` is what the warehouse holds; ``reserved`` is what declared lists will take when
customs releases them; ``available = on_hand - reserved``. Every change to the two figures is
one conditional UPDATE of the item's row (``logistics.stock``), so parallel declarations never
reserve more than is on hand, and each change is a ledger row (``StockMovement``). The CHECKs
below are the last line: a bug that would drive a figure negative fails its transaction.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from core.models import TimeStampedModel

if TYPE_CHECKING:
    from django_stubs_ext import StrPromise as _StrPromise


def qty_field(verbose_name: str | _StrPromise, **options: Any) -> models.DecimalField[Decimal, Decimal]:
    """A quantity in the item's unit, five decimals as lists declare it (N19,5)."""
    return models.DecimalField(verbose_name, max_digits=19, decimal_places=5, **options)


class StockAccountBook(TimeStampedModel):
    """A bonded account book (电子账册, ``emsNo``) of one warehouse operator (``areaCode``)."""

    ems_no = models.CharField(_("account book number"), max_length=30, unique=True)
    area_code = models.CharField(
        _("warehouse operator"),
        max_length=18,
        help_text=_("The bonded-zone warehouse enterprise's code, as lists name it (areaCode)."),
    )
    # The park of the operator when it is registered in one: the regulators' scope.
    park_code = models.CharField(_("park"), max_length=16, blank=True)
    name = models.CharField(_("name"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("stock account book")
        verbose_name_plural = _("stock account books")
        ordering = ("ems_no",)
        indexes = [
            # The operator's books (the API's ownership check, the admin's search).
            models.Index(fields=["area_code"], name="stock_book_area_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.ems_no} ({self.area_code})"


class StockItem(TimeStampedModel):
    """One item record (``itemRecordNo``) of a book, with what is on hand and reserved."""

    book = models.ForeignKey(
        StockAccountBook, verbose_name=_("account book"), on_delete=models.PROTECT, related_name="items"
    )
    item_record_no = models.CharField(_("item record number"), max_length=30)
    gcode = models.CharField(_("HS code"), max_length=10, blank=True)
    name = models.CharField(_("goods name"), max_length=250, blank=True)
    unit = models.CharField(_("unit"), max_length=3, help_text=_("Customs unit code the quantities are kept in."))
    on_hand = qty_field(_("on hand"), default=Decimal(0))
    reserved = qty_field(_("reserved"), default=Decimal(0))

    class Meta:
        verbose_name = _("stock item")
        verbose_name_plural = _("stock items")
        ordering = ("book", "item_record_no")
        constraints = [
            # Also the index of the declare step's lookup (book, item_record_no).
            models.UniqueConstraint(fields=["book", "item_record_no"], name="stock_item_once_per_book"),
            models.CheckConstraint(condition=Q(on_hand__gte=0), name="stock_on_hand_non_negative"),
            models.CheckConstraint(condition=Q(reserved__gte=0), name="stock_reserved_non_negative"),
            models.CheckConstraint(condition=Q(reserved__lte=F("on_hand")), name="stock_reserved_within_on_hand"),
        ]

    def __str__(self) -> str:
        return f"{self.item_record_no} {self.name}"

    @property
    def available(self) -> Decimal:
        return self.on_hand - self.reserved


class ReservationState(models.TextChoices):
    RESERVED = "reserved", _("reserved")
    CONSUMED = "consumed", _("left the warehouse (released by customs)")
    RELEASED = "released", _("given back")


class StockReservation(models.Model):
    """What one version of a list holds of one item (one row per list version and item)."""

    State = ReservationState

    # Whose list: an import declaration list, or an export list (1210 special-zone export).
    list_kind = models.CharField(_("list kind"), max_length=8, default="import")
    inventory_id = models.BigIntegerField(_("list id"))
    list_version = models.PositiveIntegerField(_("list version"))
    book = models.ForeignKey(
        StockAccountBook, verbose_name=_("account book"), on_delete=models.PROTECT, related_name="reservations"
    )
    item = models.ForeignKey(StockItem, verbose_name=_("item"), on_delete=models.PROTECT, related_name="reservations")
    cop_no = models.CharField(_("list number (enterprise)"), max_length=20, blank=True)
    agent_code = models.CharField(_("declaring agent"), max_length=18, blank=True)
    qty = qty_field(_("quantity"))
    state = models.CharField(_("state"), max_length=10, choices=ReservationState.choices)
    outcome = models.CharField(_("outcome"), max_length=20, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("stock reservation")
        verbose_name_plural = _("stock reservations")
        ordering = ("-created_at", "-id")
        constraints = [
            # Also the index of consume/release (inventory_id, list_version, list_kind).
            models.UniqueConstraint(
                fields=["inventory_id", "list_version", "list_kind", "item"], name="stock_reservation_once_per_item"
            ),
            models.CheckConstraint(condition=Q(list_kind__in=["import", "export"]), name="stock_reservation_list_kind"),
            models.CheckConstraint(condition=Q(qty__gt=0), name="stock_reservation_positive"),
            models.CheckConstraint(condition=Q(state__in=ReservationState.values), name="stock_reservation_state"),
        ]

    def __str__(self) -> str:
        return f"{self.cop_no} v{self.list_version}: {self.qty} {self.state}"


class StockShortfall(models.Model):
    """A list held for its stock: an item short, or a book or item not kept. Open until the
    list is let through or given up; a receipt into the book has its open shortfalls judged
    again."""

    # As ``StockReservation.list_kind``.
    list_kind = models.CharField(_("list kind"), max_length=8, default="import")
    inventory_id = models.BigIntegerField(_("list id"))
    list_version = models.PositiveIntegerField(_("list version"))
    book = models.ForeignKey(
        StockAccountBook,
        verbose_name=_("account book"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="shortfalls",
    )
    ems_no = models.CharField(_("account book number"), max_length=30)
    area_code = models.CharField(_("warehouse operator"), max_length=18, blank=True)
    cop_no = models.CharField(_("list number (enterprise)"), max_length=20, blank=True)
    agent_code = models.CharField(_("declaring agent"), max_length=18, blank=True)
    park_code = models.CharField(_("park"), max_length=16, blank=True)
    code = models.CharField(_("reason"), max_length=40)
    item_record_no = models.CharField(_("item record number"), max_length=30, blank=True)
    required = qty_field(_("required"), default=Decimal(0))
    available = qty_field(_("available then"), default=Decimal(0))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)

    class Meta:
        verbose_name = _("stock shortfall")
        verbose_name_plural = _("stock shortfalls")
        ordering = ("-created_at", "-id")
        constraints = [
            models.UniqueConstraint(fields=["inventory_id", "list_version", "list_kind"], name="stock_shortfall_once"),
            models.CheckConstraint(condition=Q(list_kind__in=["import", "export"]), name="stock_shortfall_list_kind"),
        ]
        indexes = [
            # A receipt's reconsideration: the open shortfalls of its book.
            models.Index(fields=["ems_no"], condition=Q(resolved_at__isnull=True), name="stock_shortfall_open_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.cop_no}: {self.code} {self.item_record_no}"


class StockReceipt(models.Model):
    """A goods-in document: what arrived in the warehouse under one reference."""

    book = models.ForeignKey(
        StockAccountBook, verbose_name=_("account book"), on_delete=models.PROTECT, related_name="receipts"
    )
    reference = models.CharField(_("reference"), max_length=64)
    received_at = models.DateTimeField(_("received at"))
    recorded_by = models.CharField(_("recorded by"), max_length=100, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("stock receipt")
        verbose_name_plural = _("stock receipts")
        ordering = ("-received_at", "-id")
        constraints = [
            models.UniqueConstraint(fields=["book", "reference"], name="stock_receipt_reference_once"),
        ]

    def __str__(self) -> str:
        return f"{self.reference} ({self.book_id})"


class StockReceiptLine(models.Model):
    receipt = models.ForeignKey(StockReceipt, verbose_name=_("receipt"), on_delete=models.CASCADE, related_name="lines")
    line_no = models.PositiveIntegerField(_("line"))
    item = models.ForeignKey(StockItem, verbose_name=_("item"), on_delete=models.PROTECT, related_name="receipt_lines")
    qty = qty_field(_("quantity"))

    class Meta:
        verbose_name = _("stock receipt line")
        verbose_name_plural = _("stock receipt lines")
        ordering = ("receipt", "line_no")
        constraints = [
            models.UniqueConstraint(fields=["receipt", "line_no"], name="stock_receipt_line_once"),
            models.CheckConstraint(condition=Q(qty__gt=0), name="stock_receipt_line_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.receipt_id}/{self.line_no}"


class MovementKind(models.TextChoices):
    RECEIPT = "receipt", _("goods in")
    RESERVE = "reserve", _("reserved for a declared list")
    RELEASE = "release", _("reservation given back")
    CONSUME = "consume", _("goods out (released by customs)")
    RETURN = "return", _("goods back in (cancelled or returned)")
    ADJUSTMENT = "adjustment", _("adjustment")


class StockMovement(models.Model):
    """The ledger of an item: one row per change of its figures."""

    Kind = MovementKind

    book = models.ForeignKey(
        StockAccountBook, verbose_name=_("account book"), on_delete=models.PROTECT, related_name="movements"
    )
    item = models.ForeignKey(StockItem, verbose_name=_("item"), on_delete=models.PROTECT, related_name="movements")
    kind = models.CharField(_("kind"), max_length=10, choices=MovementKind.choices)
    on_hand_change = qty_field(_("on hand change"), default=Decimal(0))
    reserved_change = qty_field(_("reserved change"), default=Decimal(0))
    inventory_id = models.BigIntegerField(_("list id"), null=True, blank=True)
    reference = models.CharField(_("reference"), max_length=64, blank=True)
    note = models.CharField(_("note"), max_length=500, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("stock movement")
        verbose_name_plural = _("stock movements")
        ordering = ("-created_at", "-id")
        constraints = [models.CheckConstraint(condition=Q(kind__in=MovementKind.values), name="stock_movement_kind")]

    def __str__(self) -> str:
        return f"{self.item_id} {self.kind}"
