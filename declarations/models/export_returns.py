"""Export returns (出口退货): parcels of a released export list coming back (trade mode 9661, or
1261 from a special zone). The return request (退货申请单, CEB213) by the e-commerce enterprise
or its declaring agent is answered by CEB214; the supervised site operator's tally of what came
back (退货理货明细单, CEB215) by CEB216. See docs/export-summaries.md, "Returns".
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from core.models import TimeStampedModel
from declarations.models.export import ExportList
from single_window.models import Enterprise, OutboxMessage

RETURN_TRADE_MODES = ("9661", "1261")


class ExportReturn(TimeStampedModel):
    """A return request of (some of) an export list's goods, CEB213. Its business key is the
    declaring agent's own number (``agent_code`` + ``cop_no``, the spec's coElNo); a change
    (appType 2) with a later ``app_time`` replaces the lines while customs has not taken it."""

    class Status(models.TextChoices):
        SENT = "sent", _("sent to customs")
        SEND_FAILED = "send_failed", _("sending failed")
        ENTERED = "entered", _("entered by customs")  # CEB214 120 (or 300/500 on the way)
        RELEASED = "released", _("released")  # CEB214 800
        REFUSED = "refused", _("refused")  # CEB214 100 or a negative code

    export_list = models.ForeignKey(
        ExportList, verbose_name=_("export list"), on_delete=models.PROTECT, related_name="returns"
    )
    requested_by = models.ForeignKey(
        Enterprise, verbose_name=_("requested by"), on_delete=models.PROTECT, related_name="+"
    )
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.SENT)
    version = models.PositiveIntegerField(_("version"), default=1)
    guid = models.CharField(_("system unique number (GUID)"), max_length=36, unique=True)
    app_time = models.DateTimeField(_("submission time"))
    cop_no = models.CharField(_("enterprise's internal number"), max_length=30)
    customs_code = models.CharField(_("customs district of declaration"), max_length=4)
    loct_no = models.CharField(_("supervised site code"), max_length=10, blank=True)
    ebp_code = models.CharField(_("e-commerce platform code"), max_length=18)
    ebp_name = models.CharField(_("e-commerce platform name"), max_length=100)
    ebc_code = models.CharField(_("e-commerce enterprise code"), max_length=18)
    ebc_name = models.CharField(_("e-commerce enterprise name"), max_length=100)
    logistics_code = models.CharField(_("logistics enterprise code"), max_length=18)
    logistics_name = models.CharField(_("logistics enterprise name"), max_length=100)
    logistics_no = models.CharField(_("waybill number"), max_length=80)
    invt_no = models.CharField(_("customs list number"), max_length=20)
    trade_mode = models.CharField(_("return supervision mode"), max_length=4)
    agent_code = models.CharField(_("declaring enterprise code"), max_length=18)
    agent_name = models.CharField(_("declaring enterprise name"), max_length=100)
    bill_no = models.CharField(_("bill of lading number"), max_length=37)
    traf_mode = models.CharField(_("transport mode"), max_length=1)
    traf_name = models.CharField(_("name of the means of transport"), max_length=100)
    port_code = models.CharField(_("port customs code"), max_length=4)
    reason = models.CharField(_("reason for return"), max_length=500)
    country = models.CharField(_("country (region) of departure"), max_length=3)
    voyage_no = models.CharField(_("flight or voyage number"), max_length=32)
    note = models.CharField(_("note"), max_length=500, blank=True)
    message = models.ForeignKey(
        OutboxMessage, verbose_name=_("message"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    send_note = models.CharField(_("sending note"), max_length=500, blank=True)
    return_status = models.CharField(_("customs return status"), max_length=10, blank=True)
    return_info = models.CharField(_("customs return info"), max_length=1000, blank=True)
    answered_at = models.DateTimeField(_("answered at"), null=True, blank=True)

    class Meta:
        verbose_name = _("export return")
        verbose_name_plural = _("export returns")
        constraints = [
            models.UniqueConstraint(fields=["agent_code", "cop_no"], name="export_return_business_key"),
            models.CheckConstraint(condition=Q(trade_mode__in=RETURN_TRADE_MODES), name="export_return_trade_mode"),
            models.CheckConstraint(condition=~Q(reason=""), name="export_return_reason_required"),
            models.CheckConstraint(
                condition=Q(status__in=["sent", "send_failed", "entered", "released", "refused"]),
                name="export_return_status_valid",
            ),
        ]
        indexes = [
            # What earlier returns took of a list: WHERE export_list_id = ? (the foreign key's index).
            # A tally finds its return by the parcel: WHERE logistics_code = ? AND logistics_no = ?
            models.Index(fields=["logistics_code", "logistics_no"], name="export_return_parcel_idx"),
            # A caller's returns, newest first: WHERE requested_by_id = ? ORDER BY id DESC
            models.Index(fields=["requested_by", "-id"], name="export_return_requester_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.agent_code}/{self.cop_no}"


class ExportReturnItem(models.Model):
    """A line returned: the list's line (``gnum``) and what came back of it."""

    export_return = models.ForeignKey(
        ExportReturn, verbose_name=_("export return"), on_delete=models.CASCADE, related_name="items"
    )
    gnum = models.PositiveIntegerField(_("item number"))
    gcode = models.CharField(_("commodity code"), max_length=10)
    gname = models.CharField(_("goods name"), max_length=250)
    gmodel = models.CharField(_("specification and model"), max_length=250)
    qty = models.DecimalField(_("quantity"), max_digits=19, decimal_places=5)
    unit = models.CharField(_("unit of measure"), max_length=3)
    qty1 = models.DecimalField(_("legal quantity"), max_digits=19, decimal_places=5)
    unit1 = models.CharField(_("legal unit of measure"), max_length=3)
    qty2 = models.DecimalField(_("second quantity"), max_digits=19, decimal_places=5, null=True, blank=True)
    unit2 = models.CharField(_("second unit of measure"), max_length=3, blank=True)
    note = models.CharField(_("note"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("export return item")
        verbose_name_plural = _("export return items")
        ordering = ("gnum",)
        constraints = [
            models.UniqueConstraint(fields=["export_return", "gnum"], name="export_return_item_gnum_unique"),
            models.CheckConstraint(condition=Q(qty__gt=0) & Q(qty1__gt=0), name="export_return_item_qty_positive"),
            models.CheckConstraint(
                condition=Q(qty2__isnull=True) | Q(qty2__gt=0), name="export_return_item_qty2_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.gnum} {self.gname} x {self.qty}"


class ExportReturnTally(TimeStampedModel):
    """The supervised site operator's tally of a returned parcel (CEB215), answered by CEB216."""

    class Status(models.TextChoices):
        SENT = "sent", _("sent to customs")
        SEND_FAILED = "send_failed", _("sending failed")
        CONCLUDED = "concluded", _("concluded")  # CEB216 399
        REFUSED = "refused", _("refused")  # CEB216 100 or a negative code

    export_return = models.ForeignKey(
        ExportReturn, verbose_name=_("export return"), on_delete=models.PROTECT, related_name="tallies"
    )
    requested_by = models.ForeignKey(
        Enterprise, verbose_name=_("requested by"), on_delete=models.PROTECT, related_name="+"
    )
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.SENT)
    guid = models.CharField(_("system unique number (GUID)"), max_length=36, unique=True)
    app_time = models.DateTimeField(_("submission time"))
    cop_no = models.CharField(_("enterprise's internal number"), max_length=20)
    customs_code = models.CharField(_("customs district of declaration"), max_length=4)
    operator_code = models.CharField(_("site operator code"), max_length=18)
    operator_name = models.CharField(_("site operator name"), max_length=100)
    logistics_code = models.CharField(_("logistics enterprise code"), max_length=18)
    logistics_name = models.CharField(_("logistics enterprise name"), max_length=100)
    logistics_no = models.CharField(_("waybill number"), max_length=80)
    invt_no = models.CharField(_("customs list number"), max_length=20, blank=True)
    bill_no = models.CharField(_("bill of lading number"), max_length=37)
    traf_mode = models.CharField(_("transport mode"), max_length=1)
    traf_name = models.CharField(_("name of the means of transport"), max_length=100)
    voyage_no = models.CharField(_("flight or voyage number"), max_length=32)
    location = models.CharField(_("storage location of the goods"), max_length=250, blank=True)
    note = models.CharField(_("note"), max_length=250, blank=True)
    message = models.ForeignKey(
        OutboxMessage, verbose_name=_("message"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    send_note = models.CharField(_("sending note"), max_length=500, blank=True)
    return_status = models.CharField(_("customs return status"), max_length=10, blank=True)
    return_info = models.CharField(_("customs return info"), max_length=1000, blank=True)
    answered_at = models.DateTimeField(_("answered at"), null=True, blank=True)

    class Meta:
        verbose_name = _("export return tally")
        verbose_name_plural = _("export return tallies")
        constraints = [
            models.UniqueConstraint(fields=["operator_code", "cop_no"], name="export_return_tally_business_key"),
            models.CheckConstraint(
                condition=Q(status__in=["sent", "send_failed", "concluded", "refused"]),
                name="export_return_tally_status_valid",
            ),
        ]
        indexes = [
            # Customs' CEB216 names the tally: WHERE operator_code = ? AND logistics_no = ?
            models.Index(fields=["operator_code", "logistics_no"], name="export_tally_parcel_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.operator_code}/{self.cop_no}"
