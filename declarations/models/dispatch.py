"""What left for customs: which documents, at which version, each outgoing message carries.

The gateway packs up to 100 documents of one declarant and message type into one signed
message (``declarations.customs.gateway``); one row here per document it carries, written in
the transaction that writes the hub's outbox row. Customs answers per document, so a receipt is
matched by the document's keys; these rows say which message a version went in: whether it is
still on its way (the next version waits), and whether it went with others (a message refused
as a whole is split and each document sent again alone).
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from declarations.models.documents import Inventory, Order, Payment, Waybill
from single_window.models import OutboxMessage

# The document columns: exactly one is set on each row.
DOCUMENT_FIELDS = ("inventory", "order", "payment", "waybill")


class CustomsMessageDocument(models.Model):
    """One document (one version of it) an outgoing customs message carries. Rows are never
    changed but for ``split_at``."""

    message = models.ForeignKey(
        OutboxMessage, verbose_name=_("message"), on_delete=models.CASCADE, related_name="customs_documents"
    )
    # Its place in the message, from 0.
    position = models.PositiveSmallIntegerField(_("position"))
    inventory = models.ForeignKey(
        Inventory, verbose_name=_("declaration list"), null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    order = models.ForeignKey(
        Order, verbose_name=_("order"), null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    payment = models.ForeignKey(
        Payment, verbose_name=_("payment"), null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    waybill = models.ForeignKey(
        Waybill, verbose_name=_("waybill"), null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    version = models.PositiveIntegerField(_("version"))
    # Customs refused the message as a whole (CEB900, or a message-level code such as -621029):
    # this document was marked to go again in a message of its own.
    split_at = models.DateTimeField(_("split at"), null=True, blank=True)

    class Meta:
        verbose_name = _("document of a customs message")
        verbose_name_plural = _("documents of customs messages")
        ordering = ("message", "position")
        constraints = [
            models.UniqueConstraint(fields=["message", "position"], name="customs_message_document_position"),
            models.CheckConstraint(
                condition=(
                    Q(inventory__isnull=False, order__isnull=True, payment__isnull=True, waybill__isnull=True)
                    | Q(inventory__isnull=True, order__isnull=False, payment__isnull=True, waybill__isnull=True)
                    | Q(inventory__isnull=True, order__isnull=True, payment__isnull=False, waybill__isnull=True)
                    | Q(inventory__isnull=True, order__isnull=True, payment__isnull=True, waybill__isnull=False)
                ),
                name="customs_message_document_one_document",
            ),
        ]
        # The foreign keys' own indexes serve both lookups: the documents of a message (WHERE
        # message_id = ?) and the messages of a document (WHERE inventory_id = ?), the latter
        # for the packing's "is a version of it still on its way" and for receipts.

    def __str__(self) -> str:
        field = next((name for name in DOCUMENT_FIELDS if getattr(self, f"{name}_id")), "?")
        return f"#{self.message_id}[{self.position}] {field}:{getattr(self, f'{field}_id', '')} v{self.version}"
