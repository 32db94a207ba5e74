"""Summary declarations (汇总申报): a consignor's released export lists of a period gathered
into one application (CEB701, in one or more messages), customs' number for it (CEB702) and its
result, the customs declaration it became (CEB792). See docs/export-summaries.md.

A list is summarised once: ``ExportSummaryList`` links it to at most one live summary (a
unique constraint on the list among live links; a summary customs refused lets its lists go).
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from core.models import TimeStampedModel
from declarations.models.export import ExportList
from single_window.models import Enterprise, OutboxMessage


class ExportSummary(TimeStampedModel):
    """One summary application: the lists of one consignor (and producer, under flag 2),
    declaring customs and declaring agent, released in ``period_start``..``period_end``."""

    class Status(models.TextChoices):
        ASSEMBLED = "assembled", _("assembled")
        SENT = "sent", _("sent to customs")
        SEND_FAILED = "send_failed", _("sending failed")
        ACCEPTED = "accepted", _("accepted by customs")  # CEB702 with customs' summary number
        REFUSED = "refused", _("refused by customs")  # CEB702 100 or a negative code
        DECLARED = "declared", _("customs declaration made")  # CEB792

    enterprise = models.ForeignKey(
        Enterprise, verbose_name=_("consignor"), on_delete=models.PROTECT, related_name="export_summaries"
    )
    period_start = models.DateField(_("period start"))
    period_end = models.DateField(_("period end"))
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.ASSEMBLED)
    # The head of every CEB701 message of the summary.
    guid = models.CharField(_("system unique number (GUID)"), max_length=36, unique=True)
    cop_no = models.CharField(_("enterprise's internal number"), max_length=30, unique=True)
    customs_code = models.CharField(_("customs district of declaration"), max_length=4)
    ebc_code = models.CharField(_("consignor code"), max_length=18)
    ebc_name = models.CharField(_("consignor name"), max_length=100)
    owner_code = models.CharField(_("producer and seller code"), max_length=18, blank=True)
    owner_name = models.CharField(_("producer and seller name"), max_length=100, blank=True)
    agent_code = models.CharField(_("declaring enterprise code"), max_length=18)
    agent_name = models.CharField(_("declaring enterprise name"), max_length=100)
    decl_agent_code = models.CharField(_("customs broker code"), max_length=18)
    decl_agent_name = models.CharField(_("customs broker name"), max_length=100)
    loct_no = models.CharField(_("supervised site code"), max_length=10, blank=True)
    summary_flag = models.CharField(_("consignor summary flag"), max_length=1)
    item_name_flag = models.CharField(_("summarised by goods name"), max_length=1)
    list_count = models.PositiveIntegerField(_("number of lists"))
    msg_count = models.PositiveIntegerField(_("message count"))
    gross_weight = models.DecimalField(_("gross weight (kg)"), max_digits=19, decimal_places=5)
    net_weight = models.DecimalField(_("net weight (kg)"), max_digits=19, decimal_places=5)
    send_note = models.CharField(_("sending note"), max_length=500, blank=True)
    # Customs' answers: CEB702 (summary number) and CEB792 (the customs declaration).
    sum_no = models.CharField(_("summary application number"), max_length=18, blank=True)
    pre_no = models.CharField(_("pre-entry number"), max_length=18, blank=True)
    return_status = models.CharField(_("customs return status"), max_length=10, blank=True)
    return_info = models.CharField(_("customs return info"), max_length=1000, blank=True)
    answered_at = models.DateTimeField(_("answered at"), null=True, blank=True)
    decl_seq_no = models.CharField(_("summary unified number"), max_length=18, blank=True)
    entry_id = models.CharField(_("customs declaration number"), max_length=18, blank=True)
    dec_state = models.CharField(_("customs declaration state"), max_length=3, blank=True)
    result_at = models.DateTimeField(_("result received at"), null=True, blank=True)

    class Meta:
        verbose_name = _("summary declaration")
        verbose_name_plural = _("summary declarations")
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["assembled", "sent", "send_failed", "accepted", "refused", "declared"]),
                name="export_summary_status_valid",
            ),
            models.CheckConstraint(condition=Q(summary_flag__in=["1", "2"]), name="export_summary_flag_valid"),
            models.CheckConstraint(condition=Q(item_name_flag__in=["0", "1"]), name="export_summary_item_flag_valid"),
            models.CheckConstraint(condition=Q(period_end__gte=models.F("period_start")), name="export_summary_period"),
            models.CheckConstraint(
                condition=Q(list_count__gt=0) & Q(msg_count__gt=0) & Q(msg_count__lte=models.F("list_count")),
                name="export_summary_counts",
            ),
            # Under flag 2 the producer is part of the group; under flag 1 it is not.
            models.CheckConstraint(
                condition=Q(summary_flag="1", owner_code="") | (Q(summary_flag="2") & ~Q(owner_code="")),
                name="export_summary_owner_by_flag",
            ),
        ]
        indexes = [
            # An enterprise's summaries, newest first: WHERE enterprise_id = ? ORDER BY period_start DESC, id DESC
            models.Index(fields=["enterprise", "-period_start", "-id"], name="export_summary_enterprise_idx"),
            # Customs' CEB792 names the summary by its number: WHERE sum_no = ?
            models.Index(fields=["sum_no"], condition=~Q(sum_no=""), name="export_summary_sum_no_idx"),
            # The agent's summaries: WHERE agent_code = ?
            models.Index(fields=["agent_code", "-period_start"], name="export_summary_agent_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.cop_no} ({self.ebc_code} {self.period_start:%Y-%m-%d}..{self.period_end:%Y-%m-%d})"


class ExportSummaryList(models.Model):
    """A list in a summary, and the message (``msg_seq_no``) that carries it. ``live`` is False
    once customs refused the summary: the list may then be summarised again."""

    summary = models.ForeignKey(
        ExportSummary, verbose_name=_("summary declaration"), on_delete=models.CASCADE, related_name="lists"
    )
    export_list = models.ForeignKey(
        ExportList, verbose_name=_("export list"), on_delete=models.PROTECT, related_name="summary_links"
    )
    invt_no = models.CharField(_("customs list number"), max_length=20)
    msg_seq_no = models.PositiveIntegerField(_("message sequence number"))
    live = models.BooleanField(_("in force"), default=True)

    class Meta:
        verbose_name = _("summarised list")
        verbose_name_plural = _("summarised lists")
        ordering = ("msg_seq_no", "invt_no")
        constraints = [
            # A list is summarised once and only once (while its summary stands).
            models.UniqueConstraint(fields=["export_list"], condition=Q(live=True), name="export_summary_list_once"),
            models.UniqueConstraint(fields=["summary", "export_list"], name="export_summary_list_unique"),
            models.CheckConstraint(condition=Q(msg_seq_no__gte=1), name="export_summary_list_seq_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.summary_id}: {self.invt_no}"


class ExportSummaryLine(models.Model):
    """One goods line of a summary: the sum of the list lines of one goods code and name (or
    4-digit category), currency and unit."""

    summary = models.ForeignKey(
        ExportSummary, verbose_name=_("summary declaration"), on_delete=models.CASCADE, related_name="lines"
    )
    line_no = models.PositiveIntegerField(_("line number"))
    code = models.CharField(_("goods code"), max_length=10)
    name = models.CharField(_("goods name"), max_length=250, blank=True)
    currency = models.CharField(_("currency"), max_length=3)
    unit = models.CharField(_("unit of measure"), max_length=3)
    qty = models.DecimalField(_("quantity"), max_digits=19, decimal_places=5)
    total_price = models.DecimalField(_("total price"), max_digits=19, decimal_places=5)
    list_count = models.PositiveIntegerField(_("number of lists"))
    item_count = models.PositiveIntegerField(_("number of list items"))

    class Meta:
        verbose_name = _("summary line")
        verbose_name_plural = _("summary lines")
        ordering = ("line_no",)
        constraints = [
            models.UniqueConstraint(fields=["summary", "line_no"], name="export_summary_line_no_unique"),
            models.CheckConstraint(condition=Q(qty__gte=0) & Q(total_price__gte=0), name="export_summary_line_amounts"),
        ]

    def __str__(self) -> str:
        return f"{self.line_no} {self.code} {self.name}"


class ExportSummaryMessage(models.Model):
    """One CEB701 message of a summary (``msg_seq_no`` of ``msg_count``) and customs' answer
    to it (CEB702)."""

    summary = models.ForeignKey(
        ExportSummary, verbose_name=_("summary declaration"), on_delete=models.CASCADE, related_name="messages"
    )
    msg_seq_no = models.PositiveIntegerField(_("message sequence number"))
    head_guid = models.CharField(_("system unique number (GUID)"), max_length=36, unique=True)
    list_count = models.PositiveIntegerField(_("number of lists"))
    message = models.ForeignKey(
        OutboxMessage, verbose_name=_("message"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    return_status = models.CharField(_("customs return status"), max_length=10, blank=True)
    return_info = models.CharField(_("customs return info"), max_length=1000, blank=True)
    answered_at = models.DateTimeField(_("answered at"), null=True, blank=True)

    class Meta:
        verbose_name = _("summary message")
        verbose_name_plural = _("summary messages")
        ordering = ("msg_seq_no",)
        constraints = [
            models.UniqueConstraint(fields=["summary", "msg_seq_no"], name="export_summary_message_seq_unique"),
            models.CheckConstraint(condition=Q(msg_seq_no__gte=1), name="export_summary_message_seq_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.summary_id} #{self.msg_seq_no}"
