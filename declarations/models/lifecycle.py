"""The history of a declaration list's status: every move, and every customs receipt (CEB622).

Rows are written only by ``declarations.clearance.lifecycle``; nothing else changes a list's status.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from declarations.models.documents import Inventory, InventoryStatus


class StatusChangeSource(models.TextChoices):
    SINGLE_WINDOW = "single_window", _("single window")
    CUSTOMS_RECEIPT = "customs_receipt", _("customs receipt")
    ENTERPRISE = "enterprise", _("enterprise")


class InventoryStatusChange(models.Model):
    """One move of a list, or one receipt about it. Append-only.

    ``from_status`` is empty for the row that records a list's creation. A customs receipt is
    kept even when it changes nothing: ``applied`` is False for one that would have moved the
    list backwards or that its state does not allow, and ``from_status == to_status`` for one
    that only confirms the state (2 after 3, 399 concluded).
    """

    Source = StatusChangeSource

    inventory = models.ForeignKey(
        Inventory, verbose_name=_("declaration list"), on_delete=models.CASCADE, related_name="status_changes"
    )
    from_status = models.CharField(_("from status"), max_length=20, choices=InventoryStatus.choices, blank=True)
    to_status = models.CharField(_("to status"), max_length=20, choices=InventoryStatus.choices)
    source = models.CharField(_("source"), max_length=16, choices=StatusChangeSource.choices)
    # The receipt's returnStatus ("120", "800", "-621005"); empty for the single window's own moves.
    receipt_code = models.CharField(_("receipt code"), max_length=10, blank=True)
    # The receipt's returnTime.
    receipt_time = models.DateTimeField(_("receipt time"), null=True, blank=True)
    # The guid of the receipt message.
    message_id = models.CharField(_("receipt message GUID"), max_length=36, blank=True)
    note = models.CharField(_("note"), max_length=500, blank=True)
    # What the note says, for a page to show it in the reader's language
    # (declarations.clearance.notes); empty on customs receipts and rows written before.
    note_code = models.CharField(_("note code"), max_length=40, blank=True)
    note_params = models.JSONField(_("note parameters"), default=dict, blank=True)
    applied = models.BooleanField(_("applied"), default=True)
    # The time of the move, also when it is inserted later with others (``core.deferred``).
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("list status change")
        verbose_name_plural = _("list status changes")
        ordering = ("created_at", "id")
        constraints = [
            # The same receipt message is recorded once per list.
            models.UniqueConstraint(
                fields=["inventory", "message_id"], condition=~Q(message_id=""), name="inventory_change_message_once"
            ),
            # The same receipt (list, status, returnTime) is recorded once, whatever its message guid.
            models.UniqueConstraint(
                fields=["inventory", "receipt_code", "receipt_time"],
                condition=Q(receipt_time__isnull=False),
                name="inventory_change_receipt_once",
            ),
            models.CheckConstraint(
                condition=Q(from_status="") | Q(from_status__in=InventoryStatus.values),
                name="inventory_change_from_valid",
            ),
            models.CheckConstraint(condition=Q(to_status__in=InventoryStatus.values), name="inventory_change_to_valid"),
            models.CheckConstraint(
                condition=Q(source__in=StatusChangeSource.values), name="inventory_change_source_valid"
            ),
            # A receipt has a code; the single window's own moves have none.
            models.CheckConstraint(
                condition=~Q(source="customs_receipt") | ~Q(receipt_code=""),
                name="inventory_change_receipt_has_code",
            ),
        ]
        indexes = [
            # The history of a list in time order (trace, admin):
            # WHERE inventory_id = ? ORDER BY created_at, id
            models.Index(fields=["inventory", "created_at", "id"], name="inventory_change_history_idx"),
        ]

    def __str__(self) -> str:
        code = f" ({self.receipt_code})" if self.receipt_code else ""
        return f"{self.inventory_id}: {self.from_status or '-'} -> {self.to_status}{code}"
