"""Carriers' tracking events and what they add up to per waybill.

A carrier reports where a parcel is (``TrackingEvent``), by API or signed webhook, in any order
and sometimes twice. ``WaybillTrack`` keeps, per waybill (``logistics_code`` + ``logistics_no``),
what the events say now: the latest event by ``occurred_at`` (not by arrival), whether the
single window holds the waybill, whether it is late, and what was done about its delivery.
``DelayNorm`` is the usual time a parcel stays at a status, learned from history.

The waybill itself is another app's: a track names it by its business key and copies the codes
of its parcel's parties (``single_window.waybills.waybill_facts``), never a foreign key.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class TrackingStatus(models.TextChoices):
    """The status code list carriers report with, in the order of a journey."""

    PICKED_UP = "picked_up", _("picked up")
    DEPARTED = "departed", _("departed")
    ARRIVED_HUB = "arrived_hub", _("arrived at hub")
    AT_CUSTOMS = "at_customs", _("at customs")
    RELEASED = "released", _("released (carrier's report)")
    OUT_FOR_DELIVERY = "out_for_delivery", _("out for delivery")
    DELIVERED = "delivered", _("delivered")
    EXCEPTION = "exception", _("exception")


# A journey's order: of two events at the same instant on the same leg, the later status is current.
STATUS_RANK: dict[str, int] = {status: rank for rank, status in enumerate(TrackingStatus.values)}


class TransportMode(models.TextChoices):
    AIR = "air", _("air")
    SEA = "sea", _("sea")
    RAIL = "rail", _("rail")
    ROAD = "road", _("road")
    EXPRESS = "express", _("express")


class EventSource(models.TextChoices):
    API = "api", _("API")
    WEBHOOK = "webhook", _("signed webhook")


class DeliveryNoticeState(models.TextChoices):
    """What became of a delivery: customs told (CEB513), or flagged as delivered before release."""

    NONE = "none", _("none")
    SENT = "sent", _("sent to customs")
    NOT_RELEASED_FLAGGED = "not_released_flagged", _("delivered before release (flagged)")


class WaybillTrack(models.Model):
    Status = TrackingStatus
    Mode = TransportMode
    Notice = DeliveryNoticeState

    logistics_code = models.CharField(_("carrier"), max_length=64)
    logistics_no = models.CharField(_("waybill number"), max_length=60)
    # The single window holds the waybill (the hub's waybill_facts found it). An unknown track
    # is kept until expires_at, waiting for its waybill, then deleted with its events.
    known = models.BooleanField(_("known waybill"), default=False)
    known_at = models.DateTimeField(_("known since"), null=True, blank=True)
    expires_at = models.DateTimeField(_("expires at (unknown waybill)"), null=True, blank=True)
    # The parcel's parties and place, copied from waybill_facts when the waybill is known.
    ebp_code = models.CharField(_("e-commerce platform"), max_length=64, blank=True)
    order_no = models.CharField(_("order number"), max_length=60, blank=True)
    ebc_code = models.CharField(_("e-commerce enterprise"), max_length=64, blank=True)
    agent_code = models.CharField(_("declaring agent"), max_length=64, blank=True)
    customs_code = models.CharField(_("customs district"), max_length=4, blank=True)
    # The carrier's park, when the carrier is registered with one.
    park_code = models.CharField(_("carrier's park"), max_length=32, blank=True)
    # The list's release as last seen (receipt 800); None: not released when last asked.
    released_at = models.DateTimeField(_("list released at (last seen)"), null=True, blank=True)
    first_event_at = models.DateTimeField(_("first event at"), null=True, blank=True)
    last_event_at = models.DateTimeField(_("last event at"), null=True, blank=True)
    last_received_at = models.DateTimeField(_("last event received at"), null=True, blank=True)
    # The latest event by occurred_at: where the parcel is now.
    current_status = models.CharField(_("status"), max_length=20, choices=TrackingStatus.choices, blank=True)
    current_leg = models.PositiveIntegerField(_("leg"), null=True, blank=True)
    current_mode = models.CharField(_("transport mode"), max_length=10, choices=TransportMode.choices, blank=True)
    current_at = models.DateTimeField(_("status since"), null=True, blank=True)
    delayed = models.BooleanField(_("delayed"), default=False)
    delayed_since = models.DateTimeField(_("delayed since"), null=True, blank=True)
    # How many times the track was flagged delayed (the share of delayed waybills counts > 0).
    delays = models.PositiveIntegerField(_("times delayed"), default=0)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)
    delivery_notice = models.CharField(
        _("delivery notice"), max_length=24, choices=DeliveryNoticeState.choices, default=DeliveryNoticeState.NONE
    )
    delivery_notice_at = models.DateTimeField(_("delivery notice at"), null=True, blank=True)
    delivered_before_release = models.BooleanField(_("delivered before release"), default=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("waybill track")
        verbose_name_plural = _("waybill tracks")
        ordering = ("-last_event_at", "-id")
        constraints = [
            models.UniqueConstraint(fields=("logistics_code", "logistics_no"), name="waybilltrack_key_unique"),
            models.CheckConstraint(
                condition=Q(current_status="") | Q(current_status__in=TrackingStatus.values),
                name="waybilltrack_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(current_mode="") | Q(current_mode__in=TransportMode.values),
                name="waybilltrack_mode_valid",
            ),
            models.CheckConstraint(
                condition=Q(delivery_notice__in=DeliveryNoticeState.values), name="waybilltrack_notice_valid"
            ),
            models.CheckConstraint(
                condition=Q(current_leg__isnull=True) | Q(current_leg__gte=1), name="waybilltrack_leg_positive"
            ),
            # An unknown track always has its expiry; a known one never.
            models.CheckConstraint(
                condition=Q(known=True, expires_at__isnull=True) | Q(known=False, expires_at__isnull=False),
                name="waybilltrack_expiry_iff_unknown",
            ),
        ]
        indexes = [
            # The unknown-waybill sweep: unknown tracks by expiry.
            models.Index(fields=("known", "expires_at"), name="waybilltrack_unknown_idx"),
            # The delay sweep: known tracks not delayed, not delivered, by the time of their status.
            models.Index(
                fields=("current_at",),
                condition=Q(known=True, delayed=False, delivered_at__isnull=True),
                name="waybilltrack_watch_idx",
            ),
            # The admin's and monitoring's lists of delayed waybills by carrier.
            models.Index(fields=("logistics_code", "delayed"), name="waybilltrack_carrier_idx"),
            # The timeline's parties: an e-commerce enterprise's tracks.
            models.Index(fields=("ebc_code",), name="waybilltrack_ebc_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.logistics_code}/{self.logistics_no}"


class TrackingEvent(models.Model):
    Status = TrackingStatus
    Mode = TransportMode
    Source = EventSource

    track = models.ForeignKey(WaybillTrack, verbose_name=_("track"), on_delete=models.CASCADE, related_name="events")
    logistics_code = models.CharField(_("carrier"), max_length=64)
    logistics_no = models.CharField(_("waybill number"), max_length=60)
    status = models.CharField(_("status"), max_length=20, choices=TrackingStatus.choices)
    place = models.CharField(_("place"), max_length=200, blank=True)
    occurred_at = models.DateTimeField(_("occurred at"))
    transport_mode = models.CharField(_("transport mode"), max_length=10, choices=TransportMode.choices)
    leg = models.PositiveIntegerField(_("leg"))
    source = models.CharField(_("source"), max_length=10, choices=EventSource.choices)
    received_at = models.DateTimeField(_("received at"), auto_now_add=True)

    class Meta:
        verbose_name = _("tracking event")
        verbose_name_plural = _("tracking events")
        ordering = ("occurred_at", "id")
        constraints = [
            # The same event sent twice (a retry, a webhook redelivered) is stored once.
            models.UniqueConstraint(
                fields=("logistics_code", "logistics_no", "status", "occurred_at", "leg"),
                name="trackingevent_dedupe",
            ),
            models.CheckConstraint(condition=Q(status__in=TrackingStatus.values), name="trackingevent_status_valid"),
            models.CheckConstraint(
                condition=Q(transport_mode__in=TransportMode.values), name="trackingevent_mode_valid"
            ),
            models.CheckConstraint(condition=Q(source__in=EventSource.values), name="trackingevent_source_valid"),
            models.CheckConstraint(condition=Q(leg__gte=1), name="trackingevent_leg_positive"),
        ]
        indexes = [
            # The timeline, and the norms' "next event of the same waybill": a track's events in time order.
            models.Index(fields=("track", "occurred_at"), name="trackingevent_timeline_idx"),
            # The nightly norms read the last 90 days.
            models.Index(fields=("occurred_at",), name="trackingevent_occurred_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.logistics_code}/{self.logistics_no} {self.status} {self.occurred_at:%Y-%m-%d %H:%M}"


class DelayNorm(models.Model):
    """The usual time a carrier's parcels stay at ``status`` on a route (mode + leg): the p90 of
    the time from an event of that status to the next event of the same waybill, over the last
    90 days. Recomputed nightly; used when it counts at least ``LOGISTICS_DELAY_MIN_SAMPLES``."""

    logistics_code = models.CharField(_("carrier"), max_length=64)
    transport_mode = models.CharField(_("transport mode"), max_length=10, choices=TransportMode.choices)
    leg = models.PositiveIntegerField(_("leg"))
    status = models.CharField(_("status"), max_length=20, choices=TrackingStatus.choices)
    seconds = models.PositiveIntegerField(_("usual time (seconds, p90)"))
    samples = models.PositiveIntegerField(_("samples"))
    computed_at = models.DateTimeField(_("computed at"))

    class Meta:
        verbose_name = _("delay norm")
        verbose_name_plural = _("delay norms")
        ordering = ("logistics_code", "transport_mode", "leg", "status")
        constraints = [
            models.UniqueConstraint(
                fields=("logistics_code", "transport_mode", "leg", "status"), name="delaynorm_key_unique"
            ),
            models.CheckConstraint(condition=Q(status__in=TrackingStatus.values), name="delaynorm_status_valid"),
            models.CheckConstraint(condition=Q(transport_mode__in=TransportMode.values), name="delaynorm_mode_valid"),
            models.CheckConstraint(condition=Q(leg__gte=1), name="delaynorm_leg_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.logistics_code} {self.transport_mode}/{self.leg} {self.status}: {self.seconds}s"
