"""A supervised site operator's arrival manifest (入库明细单) to customs and back: the CEB711
(section 3.15, tables 3-50 to 3-53) built from the stored manifest and signed for the operator,
and customs' answer, the CEB712 (section 3.16, table 3-56).

- ``arrival_send``: build the CEB711 (``Delivery``: ``DeliveryHead``, one ``DeliveryList`` per
  parcel; ``BaseTransfer``), sign it with the operator's active key, check it against the
  schema and put it in the outbox to customs, in the caller's transaction. Raises
  ``gateway.GatewayRefusal`` when it can't leave: the intake refuses the request, so nothing
  is stored that can't leave.
- What became of it (``gateway.register_message_outcomes``): handed to customs → ``sent``;
  dead or refused as a whole → ``send_failed``.
- CEB712 (from customs only), found by operatorCode + copNo: 120 (海关入库) and 399 (审结) →
  ``answered`` with customs' ``rkdNo`` when it gives one; 100 or a negative code → ``refused``;
  1, 2, 3, 4 are noted only (``preNo`` is kept). An answered or refused manifest changes no
  more. Each answer that moves it tells the operator (``arrival.answered``).
"""

from __future__ import annotations

from django.utils import timezone
from lxml import etree

from core.times import ceb_time
from declarations import events
from declarations.customs import gateway
from declarations.customs.delivery import read, return_time
from declarations.models import ArrivalManifest, ArrivalManifestLine
from declarations.models.delivery import OPEN_STATES
from single_window.inbox import register_handler
from single_window.models import InboxMessage, OutboxMessage, PartnerKind

CEB711 = "CEB711Message"
CEB712 = "CEB712Message"
ANSWERED = frozenset({"120", "399"})
REFUSED = "100"


def _sub(parent: etree._Element, name: str, value: str, *, required: bool = True) -> None:
    if value or required:
        etree.SubElement(parent, gateway.ceb_name(name)).text = value


def arrival_message(*, manifest: ArrivalManifest, lines: list[ArrivalManifestLine]) -> etree._Element:
    """The unsigned CEB711 of a stored manifest, in the schema's order."""
    root = gateway.message_root(CEB711)
    delivery = etree.SubElement(root, gateway.ceb_name("Delivery"))
    head = etree.SubElement(delivery, gateway.ceb_name("DeliveryHead"))
    for name, value, required in (
        ("guid", manifest.guid, True),
        ("appType", "1", True),
        ("appTime", ceb_time(manifest.created_at), True),
        ("appStatus", "2", True),
        ("customsCode", manifest.customs_code, True),
        ("copNo", manifest.cop_no, True),
        ("operatorCode", manifest.operator_code, True),
        ("operatorName", manifest.operator_name[:100], True),
        ("ieFlag", manifest.ie_flag, True),
        ("trafMode", manifest.traf_mode, True),
        ("trafNo", manifest.traf_no, True),
        ("voyageNo", manifest.voyage_no, True),
        ("billNo", manifest.bill_no, True),
        ("logisticsCode", manifest.logistics_code, True),
        ("logisticsName", manifest.logistics_name, True),
        ("unloadLocation", manifest.unload_location, False),
        ("note", manifest.note, False),
    ):
        _sub(head, name, value, required=required)
    for line in lines:
        element = etree.SubElement(delivery, gateway.ceb_name("DeliveryList"))
        _sub(element, "gnum", str(line.gnum))
        _sub(element, "logisticsNo", line.logistics_no)
        _sub(element, "note", line.note, required=False)
    gateway.base_transfer(root, manifest.operator)
    return root


def arrival_send(*, manifest: ArrivalManifest, lines: list[ArrivalManifestLine]) -> OutboxMessage:
    """Sign, check and enqueue the manifest's CEB711 in the caller's transaction; raises
    ``gateway.GatewayRefusal`` when it can't leave."""
    message = gateway.enqueue_signed(
        root=arrival_message(manifest=manifest, lines=lines),
        declarant=manifest.operator,
        message_type=CEB711,
        ordering_key=f"arrival:{manifest.pk}",
    )
    manifest.message = message
    manifest.save(update_fields=["message", "updated_at"])
    return message


def _on_sent(message: OutboxMessage) -> None:
    now = timezone.now()
    ArrivalManifest.objects.filter(message=message, status=ArrivalManifest.Status.RECORDED).update(
        status=ArrivalManifest.Status.SENT, sent_at=now, updated_at=now
    )


def _on_failed(message: OutboxMessage) -> None:
    note = gateway.NOTE_DEAD.format(error=message.last_error)[:500]
    ArrivalManifest.objects.filter(
        message=message, status__in=[ArrivalManifest.Status.RECORDED, ArrivalManifest.Status.SENT]
    ).update(status=ArrivalManifest.Status.SEND_FAILED, send_note=note, updated_at=timezone.now())


def _text(element: etree._Element, name: str) -> str:
    return (element.findtext(gateway.ceb_name(name)) or "").strip()


def apply_arrival_receipts(message: InboxMessage, body: bytes) -> str:
    """Customs' answers to arrival manifests (CEB712)."""
    root = read(body, CEB712)
    outcomes = []
    for element in root.iterchildren(gateway.ceb_name("DeliveryReturn")):
        operator_code, cop_no = _text(element, "operatorCode"), _text(element, "copNo")
        status, info = _text(element, "returnStatus"), _text(element, "returnInfo")
        label = f"{operator_code}/{cop_no}"
        found = ArrivalManifest.objects.select_for_update().select_related("operator").filter(cop_no=cop_no)
        if operator_code:
            found = found.filter(operator_code=operator_code)
        manifest = found.order_by("-id").first()
        if manifest is None:
            outcomes.append(f"{label}: no such arrival manifest")
            continue
        pre_no = _text(element, "preNo")
        if pre_no and pre_no != manifest.pre_no:
            ArrivalManifest.objects.filter(pk=manifest.pk).update(pre_no=pre_no[:18])
            manifest.pre_no = pre_no[:18]
        if manifest.status not in OPEN_STATES:
            outcomes.append(f"{label}: {status} ignored, manifest {manifest.pk} is {manifest.status}")
            continue
        if status in ANSWERED:
            manifest.status = ArrivalManifest.Status.ANSWERED
            manifest.rkd_no = _text(element, "rkdNo")[:18] or manifest.rkd_no
        elif status == REFUSED or status.startswith("-"):
            manifest.status = ArrivalManifest.Status.REFUSED
        else:
            outcomes.append(f"{label}: {status} noted")
            continue
        manifest.return_status, manifest.return_info = status[:10], info[:1000]
        manifest.answered_at = return_time(_text(element, "returnTime"))
        manifest.save(update_fields=["status", "rkd_no", "return_status", "return_info", "answered_at", "updated_at"])
        events.arrival_answered(manifest=manifest)
        outcomes.append(f"{label}: manifest {manifest.pk} {manifest.status}")
    return "; ".join(outcomes) or "no DeliveryReturn"


def register() -> None:
    """Called once, from ``DeclarationsConfig.ready``."""
    gateway.register_message_outcomes(CEB711, gateway.MessageOutcomes(on_sent=_on_sent, on_failed=_on_failed))
    register_handler(CEB712, apply_arrival_receipts, partner_kinds=(PartnerKind.CUSTOMS,))
