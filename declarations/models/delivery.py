"""What the customs side of logistics sends: a carrier's delivery of a released parcel (the
waybill's signed-for status, CEB513, answered by CEB514) and a supervised site operator's
arrival manifest (入库明细单, CEB711, answered by CEB712).

Neither moves a list's lifecycle: a delivered parcel's list stays ``released`` (only customs'
899 closes a list).
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from core.models import TimeStampedModel
from declarations.models.documents import Waybill
from single_window.models import Enterprise, OutboxMessage


class CustomsAnswerStatus(models.TextChoices):
    """Where a message the single window sends for an enterprise stands with customs."""

    RECORDED = "recorded", _("recorded")
    SENT = "sent", _("sent to customs")
    ANSWERED = "answered", _("answered by customs")  # 120
    REFUSED = "refused", _("refused by customs")  # 100 or a negative code
    SEND_FAILED = "send_failed", _("sending failed")


# States a customs answer may still move.
OPEN_STATES = (CustomsAnswerStatus.RECORDED, CustomsAnswerStatus.SENT, CustomsAnswerStatus.SEND_FAILED)


class WaybillDeliveryNotice(TimeStampedModel):
    """A carrier delivered a parcel customs had released: customs is told with a CEB513
    (``logisticsStatus`` S, signed for the logistics enterprise) and answers with a CEB514.
    One per waybill (a parcel is signed for once)."""

    Status = CustomsAnswerStatus

    waybill = models.ForeignKey(
        Waybill, verbose_name=_("waybill"), on_delete=models.PROTECT, related_name="delivery_notices"
    )
    logistics_code = models.CharField(_("logistics enterprise code"), max_length=18)
    logistics_no = models.CharField(_("waybill number"), max_length=60)
    delivered_at = models.DateTimeField(_("delivered at"))
    place = models.CharField(_("place"), max_length=200, blank=True)
    note = models.CharField(_("note"), max_length=1000, blank=True)
    # The LogisticsStatus guid of the CEB513 (36 characters, upper case).
    guid = models.CharField(_("system unique number (GUID)"), max_length=36)
    status = models.CharField(
        _("status"), max_length=16, choices=CustomsAnswerStatus.choices, default=CustomsAnswerStatus.RECORDED
    )
    # Why it did not leave, or what became of the message.
    send_note = models.CharField(_("sending note"), max_length=500, blank=True)
    # The outbox row that carries the CEB513 (None: it never left).
    message = models.ForeignKey(
        OutboxMessage, verbose_name=_("message"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Customs' answer (CEB514): its returnStatus, returnInfo and returnTime.
    return_status = models.CharField(_("customs return status"), max_length=10, blank=True)
    return_info = models.CharField(_("customs return info"), max_length=1000, blank=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    answered_at = models.DateTimeField(_("answered at"), null=True, blank=True)

    class Meta:
        verbose_name = _("delivery notice")
        verbose_name_plural = _("delivery notices")
        constraints = [
            models.UniqueConstraint(fields=["waybill"], name="delivery_notice_one_per_waybill"),
            models.CheckConstraint(
                condition=Q(status__in=CustomsAnswerStatus.values), name="delivery_notice_status_valid"
            ),
        ]
        indexes = [
            # Customs' answer (CEB514) names the waybill: WHERE logistics_code = ? AND logistics_no = ?
            models.Index(fields=["logistics_code", "logistics_no"], name="delivery_notice_waybill_idx"),
            # The outcome of the outbox message: WHERE message_id = ? (the foreign key's own index).
        ]

    def __str__(self) -> str:
        return f"{self.logistics_code}/{self.logistics_no}"


class ArrivalManifest(TimeStampedModel):
    """A supervised site operator's arrival manifest (入库明细单, CEB711, section 3.15): the
    parcels of one conveyance unloaded at its site, each by its waybill; customs answers with a
    CEB712 (section 3.16) and numbers it (``rkdNo``)."""

    Status = CustomsAnswerStatus

    operator = models.ForeignKey(
        Enterprise, verbose_name=_("site operator"), on_delete=models.PROTECT, related_name="+"
    )
    guid = models.CharField(_("system unique number (GUID)"), max_length=36, unique=True)
    cop_no = models.CharField(_("enterprise's internal number"), max_length=20)
    customs_code = models.CharField(_("customs district code"), max_length=4)
    operator_code = models.CharField(_("site operator code"), max_length=18)
    operator_name = models.CharField(_("site operator name"), max_length=100)
    ie_flag = models.CharField(_("import/export flag"), max_length=1)
    traf_mode = models.CharField(_("transport mode"), max_length=1)
    traf_no = models.CharField(_("means of transport number"), max_length=100)
    voyage_no = models.CharField(_("flight or voyage number"), max_length=32)
    bill_no = models.CharField(_("bill of lading number"), max_length=37)
    logistics_code = models.CharField(_("logistics enterprise code"), max_length=18)
    logistics_name = models.CharField(_("logistics enterprise name"), max_length=100)
    unload_location = models.CharField(_("unload location"), max_length=100, blank=True)
    note = models.CharField(_("note"), max_length=1000, blank=True)
    status = models.CharField(
        _("status"), max_length=16, choices=CustomsAnswerStatus.choices, default=CustomsAnswerStatus.RECORDED
    )
    send_note = models.CharField(_("sending note"), max_length=500, blank=True)
    message = models.ForeignKey(
        OutboxMessage, verbose_name=_("message"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Customs' numbers and last answer (CEB712).
    pre_no = models.CharField(_("pre-entry number"), max_length=18, blank=True)
    rkd_no = models.CharField(_("customs arrival manifest number"), max_length=18, blank=True)
    return_status = models.CharField(_("customs return status"), max_length=10, blank=True)
    return_info = models.CharField(_("customs return info"), max_length=1000, blank=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    answered_at = models.DateTimeField(_("answered at"), null=True, blank=True)

    class Meta:
        verbose_name = _("arrival manifest")
        verbose_name_plural = _("arrival manifests")
        constraints = [
            # Business key: the operator's own number for the manifest.
            models.UniqueConstraint(fields=["operator", "cop_no"], name="arrival_manifest_business_key"),
            models.CheckConstraint(
                condition=Q(status__in=CustomsAnswerStatus.values), name="arrival_manifest_status_valid"
            ),
            models.CheckConstraint(condition=Q(ie_flag="I"), name="arrival_manifest_import"),
        ]
        indexes = [
            # Customs' answer (CEB712) names it: WHERE operator_code = ? AND cop_no = ?
            models.Index(fields=["operator_code", "cop_no"], name="arrival_manifest_answer_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.operator_code}/{self.cop_no}"


class ArrivalManifestLine(models.Model):
    """One parcel of a manifest: its line number and waybill."""

    manifest = models.ForeignKey(
        ArrivalManifest, verbose_name=_("arrival manifest"), on_delete=models.CASCADE, related_name="lines"
    )
    gnum = models.PositiveIntegerField(_("item number"))
    logistics_no = models.CharField(_("waybill number"), max_length=60)
    waybill = models.ForeignKey(Waybill, verbose_name=_("waybill"), on_delete=models.PROTECT, related_name="+")
    note = models.CharField(_("note"), max_length=1000, blank=True)

    class Meta:
        verbose_name = _("arrival manifest line")
        verbose_name_plural = _("arrival manifest lines")
        ordering = ("gnum",)
        constraints = [
            models.UniqueConstraint(fields=["manifest", "gnum"], name="arrival_manifest_line_gnum_unique"),
            models.CheckConstraint(condition=Q(gnum__gte=1), name="arrival_manifest_line_gnum_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.gnum} {self.logistics_no}"
