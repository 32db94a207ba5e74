"""Export returns (出口退货): the return request (CEB213 → CEB214) and the site operator's tally
(CEB215 → CEB216).

``export_return_request`` is the one entry for JSON and XML. In one transaction, under the
list's row lock (two requests of one list never both take the same quantity):

1. the list must be one customs released (``released``, ``summarised`` or ``closed``);
2. the trade mode is the list's return mode: 9661 for a list of 9610, 9710 or 9810 (一般出口),
   1261 for 1210 (特殊区域出口); left out, it is filled in;
3. each line names a line of the list (``gnum``) with the same goods code, name and units, and
   quantities (``qty``, ``qty1``, ``qty2``) above 0 and not above what the list declared less
   what earlier returns customs has not refused took;
4. the return is stored and sent, signed for the requesting enterprise (its ``agentCode``), as
   a CEB213 through the outbox. One that can't leave is refused, so nothing is stored that
   can't reach customs.

Versions: the return's key is ``agent_code`` + ``cop_no`` (the spec's coElNo); appType 1 with a
key filed before is ``export_return_duplicate``; appType 2 replaces a return customs refused or
that could not be sent, with a later ``app_time`` (``export_return_stale_app_time`` otherwise).

Customs' CEB214 (found by agentCode + coElNo): 120/300/500 ``entered``, 800 ``released``, 100 or
a negative code ``refused``. The tally (CEB215) is the site operator's: it names a parcel of a
return request (``logistics_code`` + ``logistics_no``), is sent signed for the operator and
answered by CEB216: 399 ``concluded``, 100 or negative ``refused``.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from lxml import etree

from core.audit import Actor, audit_record, snapshot
from core.errors import Conflict, FieldError, InvalidInput
from core.models import AuditEntry
from core.times import parse_ceb_time
from declarations.customs import gateway, xml
from declarations.export import returns_codes as codes
from declarations.export import returns_xml
from declarations.models import ExportList, ExportListStatus
from declarations.models.export_returns import ExportReturn, ExportReturnItem, ExportReturnTally
from single_window import selectors as hub_selectors
from single_window.event_types import register_event_type
from single_window.events import event_publish
from single_window.inbox import InboxRejected, register_handler
from single_window.models import Enterprise, InboxMessage, OutboxDestination, OutboxMessage, PartnerKind
from single_window.outbox import outbox_enqueue

RETURNABLE_STATES = (ExportListStatus.RELEASED, ExportListStatus.SUMMARISED, ExportListStatus.CLOSED)
SPECIAL_ZONE_EXPORT = "1210"
RETURN_GENERAL, RETURN_SPECIAL_ZONE = "9661", "1261"
TAKING_STATES = (ExportReturn.Status.SENT, ExportReturn.Status.ENTERED, ExportReturn.Status.RELEASED)
CHANGEABLE_STATES = (ExportReturn.Status.REFUSED, ExportReturn.Status.SEND_FAILED)
ENTERED_RETURNS = frozenset({"120", "300", "500", "505", "600"})
RELEASED_RETURN = "800"
CONCLUDED_TALLY = "399"
REFUSED = "100"

RETURN_ANSWERED = "export.return_answered"
TALLY_ANSWERED = "export.return_tally_answered"


def return_trade_mode(export_list: ExportList) -> str:
    return RETURN_SPECIAL_ZONE if export_list.trade_mode == SPECIAL_ZONE_EXPORT else RETURN_GENERAL


class ReturnConflict(Conflict):
    def __init__(self, code: str, detail: str, **extra: object) -> None:
        super().__init__(detail, code=code, errors=[FieldError(None, code, detail)], extra=dict(extra))


# --- Signing and sending -------------------------------------------------------------------------


def _enqueue(*, root: etree._Element, declarant: Enterprise, message_type: str, ordering_key: str) -> OutboxMessage:
    """Signed for ``declarant``, checked against the export schema, in the outbox to customs;
    raises ``gateway.GatewayRefusal``."""
    return gateway.enqueue_signed(root=root, declarant=declarant, message_type=message_type, ordering_key=ordering_key)


def _forward(*, body: bytes, message_type: str, ordering_key: str) -> OutboxMessage:
    """The enterprise's own signed message, as it came (it was read and checked on intake)."""
    return outbox_enqueue(
        destination_kind=OutboxDestination.CUSTOMS,
        destination=gateway._partner_code(),
        ordering_key=ordering_key,
        message_type=message_type,
        payload=body,
        headers=gateway.XML_HEADERS,
    )


def _transfer(enterprise: Enterprise) -> returns_xml.Transfer:
    return returns_xml.Transfer(cop_code=enterprise.code, cop_name=enterprise.name, dxp_id=settings.CUSTOMS_DXP_ID)


# --- The return request ----------------------------------------------------------------------------


def returned_quantities(
    *, export_list: ExportList, exclude: ExportReturn | None = None
) -> dict[int, tuple[Decimal, Decimal, Decimal]]:
    """What earlier returns customs has not refused took of each line: (qty, qty1, qty2) by gnum."""
    taken: dict[int, tuple[Decimal, Decimal, Decimal]] = {}
    rows = ExportReturnItem.objects.filter(
        export_return__export_list=export_list, export_return__status__in=TAKING_STATES
    )
    if exclude is not None:
        rows = rows.exclude(export_return=exclude)
    for gnum, qty, qty1, qty2 in rows.values_list("gnum", "qty", "qty1", "qty2"):
        before = taken.get(gnum, (Decimal(0), Decimal(0), Decimal(0)))
        taken[gnum] = (before[0] + qty, before[1] + qty1, before[2] + (qty2 or Decimal(0)))
    return taken


def _check_lines(export_list: ExportList, lines: Sequence[Mapping[str, Any]], exclude: ExportReturn | None) -> None:
    items = {item.gnum: item for item in export_list.items.all()}
    taken = returned_quantities(export_list=export_list, exclude=exclude)
    problems: list[FieldError] = []
    seen: set[int] = set()
    for index, line in enumerate(lines):
        where = f"items[{index}]"
        item = items.get(int(line["gnum"]))
        if item is None or item.gnum in seen:
            problems.append(
                FieldError(
                    f"{where}.gnum",
                    codes.EXPORT_RETURN_UNKNOWN_GNUM,
                    _("The list has no such line, or it is named twice."),
                )
            )
            continue
        seen.add(item.gnum)
        problems.extend(
            FieldError(f"{where}.{name}", codes.EXPORT_RETURN_LINE_MISMATCH, _("It must be as the list declared it."))
            for name in ("gcode", "gname", "unit", "unit1")
            if str(line.get(name, "")) != getattr(item, name)
        )
        if (line.get("unit2") or "") != item.unit2:
            problems.append(
                FieldError(
                    f"{where}.unit2", codes.EXPORT_RETURN_LINE_MISMATCH, _("It must be as the list declared it.")
                )
            )
        done = taken.get(item.gnum, (Decimal(0), Decimal(0), Decimal(0)))
        limits = (("qty", item.qty, done[0]), ("qty1", item.qty1, done[1]), ("qty2", item.qty2, done[2]))
        for name, declared, before in limits:
            asked = line.get(name)
            if asked is None:
                continue
            if declared is None or Decimal(asked) > declared - before:
                left = format(((declared or Decimal(0)) - before).normalize(), "f")
                problems.append(
                    FieldError(
                        f"{where}.{name}",
                        codes.EXPORT_RETURN_QTY_EXCEEDS,
                        _("More than the list declared less earlier returns: at most %(left)s.") % {"left": left},
                    )
                )
    if problems:
        raise InvalidInput(_("The return has invalid lines."), errors=problems)


def _head_values(export_return: ExportReturn, app_type: str) -> dict[str, Any]:
    values = {field.name: getattr(export_return, field.name) for field in ExportReturn._meta.concrete_fields}
    return {**values, "app_type": app_type, "app_status": "2", "ie_flag": "I", "pre_no": ""}


def _line_values(export_return: ExportReturn) -> list[dict[str, Any]]:
    return [
        {field.name: getattr(item, field.name) for field in ExportReturnItem._meta.concrete_fields}
        for item in export_return.items.all()
    ]


def _send_return(export_return: ExportReturn, declarant: Enterprise, *, app_type: str, signed: bytes | None) -> None:
    if not settings.CUSTOMS_GATEWAY_ENABLED:
        return
    try:
        key = f"export_return:{export_return.pk}"
        if signed is not None:
            message = _forward(body=signed, message_type=returns_xml.CEB213, ordering_key=key)
        else:
            root = returns_xml.refund_message(
                head=_head_values(export_return, app_type),
                lines=_line_values(export_return),
                transfer=_transfer(declarant),
            )
            message = _enqueue(root=root, declarant=declarant, message_type=returns_xml.CEB213, ordering_key=key)
    except gateway.GatewayRefusal as refusal:
        raise ReturnConflict(codes.EXPORT_RETURN_NOT_SENDABLE, refusal.note) from None
    export_return.message = message
    export_return.save(update_fields=["message", "updated_at"])


HEAD_FIELDS = (
    "customs_code",
    "loct_no",
    "logistics_code",
    "logistics_name",
    "logistics_no",
    "bill_no",
    "traf_mode",
    "traf_name",
    "port_code",
    "reason",
    "country",
    "voyage_no",
    "note",
)
LINE_FIELDS = ("gnum", "gcode", "gname", "gmodel", "qty", "unit", "qty1", "unit1", "qty2", "unit2", "note")


@transaction.atomic
def export_return_request(
    *,
    export_list: ExportList,
    data: Mapping[str, Any],
    requested_by: Enterprise,
    actor: Actor | None = None,
    signed: bytes | None = None,
) -> tuple[ExportReturn, bool]:
    """Record a return request (or its change) of ``export_list`` and send it; returns the
    return and whether it is new. ``data`` holds the head fields (``HEAD_FIELDS``, ``cop_no``,
    ``app_type``, ``app_time``, optional ``trade_mode`` and ``guid``) and ``items``.
    ``signed``: the enterprise's own signed CEB213 holding this return alone, forwarded as it came."""
    export_list = ExportList.objects.select_for_update().get(pk=export_list.pk)
    # 1. The list's state.
    if export_list.status not in RETURNABLE_STATES or not export_list.invt_no:
        raise ReturnConflict(
            codes.EXPORT_RETURN_NOT_ALLOWED,
            str(_("Only goods of a list customs released can be returned.")),
            existing_id=export_list.pk,
            list_status=export_list.status,
        )
    # 2. The trade mode.
    expected = return_trade_mode(export_list)
    trade_mode = data.get("trade_mode") or expected
    if trade_mode != expected:
        raise InvalidInput.for_field(
            "trade_mode",
            codes.EXPORT_RETURN_TRADE_MODE,
            _("A return of this list is declared under %(mode)s.") % {"mode": expected},
        )
    cop_no, app_time, app_type = data["cop_no"], data["app_time"], data.get("app_type", "1")
    existing = ExportReturn.objects.select_for_update().filter(agent_code=requested_by.code, cop_no=cop_no).first()
    if app_type == "1" and existing is not None:
        raise ReturnConflict(
            codes.EXPORT_RETURN_DUPLICATE,
            str(_("A return with this cop_no was filed before.")),
            existing_id=existing.pk,
        )
    if app_type == "2":
        if existing is None or existing.export_list_id != export_list.pk:
            raise ReturnConflict(codes.EXPORT_RETURN_CHANGE_NOT_ALLOWED, str(_("There is no such return to change.")))
        if existing.status not in CHANGEABLE_STATES:
            raise ReturnConflict(
                codes.EXPORT_RETURN_CHANGE_NOT_ALLOWED,
                str(_("Customs holds this return; it can no longer be changed.")),
                existing_id=existing.pk,
            )
        if app_time <= existing.app_time:
            raise ReturnConflict(
                codes.EXPORT_RETURN_STALE_APP_TIME,
                str(_("The app_time is not later than the stored version's.")),
                existing_id=existing.pk,
            )
    # 3. The lines.
    lines = list(data["items"])
    _check_lines(export_list, lines, existing)
    head = {name: data.get(name, "") or "" for name in HEAD_FIELDS}
    fields = {
        **head,
        "guid": data.get("guid") or xml.new_guid(),
        "app_time": app_time,
        "cop_no": cop_no,
        "trade_mode": trade_mode,
        "ebp_code": export_list.ebp_code,
        "ebp_name": export_list.ebp_name,
        "ebc_code": export_list.ebc_code,
        "ebc_name": export_list.ebc_name,
        "invt_no": export_list.invt_no,
        "agent_code": requested_by.code,
        "agent_name": requested_by.name[:100],
        "status": ExportReturn.Status.SENT,
        "send_note": "",
        "return_status": "",
        "return_info": "",
        "answered_at": None,
    }
    before = snapshot(existing) if existing is not None else None
    try:
        with transaction.atomic():
            if existing is None:
                export_return = ExportReturn.objects.create(
                    export_list=export_list, requested_by=requested_by, **fields
                )
            else:
                for name, value in fields.items():
                    setattr(existing, name, value)
                existing.version += 1
                existing.save()
                existing.items.all().delete()
                export_return = existing
            ExportReturnItem.objects.bulk_create(
                ExportReturnItem(
                    export_return=export_return,
                    **{name: line.get(name) for name in LINE_FIELDS if line.get(name) is not None},
                )
                for line in lines
            )
    except IntegrityError:
        raise ReturnConflict(
            codes.EXPORT_RETURN_DUPLICATE, str(_("A return with this guid or cop_no was filed before."))
        ) from None
    # 4. Send.
    _send_return(export_return, requested_by, app_type=app_type, signed=signed)
    audit_record(
        actor=actor or Actor(label=f"enterprise:{requested_by.code}", enterprise_id=requested_by.pk),
        action=AuditEntry.Action.CREATE if existing is None else AuditEntry.Action.UPDATE,
        instance=export_return,
        before=before,
        after=snapshot(export_return),
        reason=f"export return of list {export_list.pk} ({export_list.invt_no})",
    )
    return export_return, existing is None


# --- The tally -----------------------------------------------------------------------------------


@transaction.atomic
def export_return_tally(
    *, data: Mapping[str, Any], operator: Enterprise, actor: Actor | None = None
) -> ExportReturnTally:
    """Record the site operator's tally of a returned parcel and send it signed (CEB215)."""
    export_return = (
        ExportReturn.objects.filter(logistics_code=data["logistics_code"], logistics_no=data["logistics_no"])
        .exclude(status=ExportReturn.Status.REFUSED)
        .order_by("-id")
        .first()
    )
    if export_return is None:
        raise InvalidInput.for_field(
            "logistics_no", codes.EXPORT_TALLY_UNKNOWN_RETURN, _("No return request names this parcel.")
        )
    try:
        with transaction.atomic():
            tally = ExportReturnTally.objects.create(
                export_return=export_return,
                requested_by=operator,
                guid=xml.new_guid(),
                app_time=data["app_time"],
                cop_no=data["cop_no"],
                customs_code=data["customs_code"],
                operator_code=operator.code,
                operator_name=operator.name[:100],
                logistics_code=export_return.logistics_code,
                logistics_name=export_return.logistics_name,
                logistics_no=export_return.logistics_no,
                invt_no=export_return.invt_no,
                bill_no=data.get("bill_no") or export_return.bill_no,
                traf_mode=data.get("traf_mode") or export_return.traf_mode,
                traf_name=data.get("traf_name") or export_return.traf_name,
                voyage_no=data.get("voyage_no") or export_return.voyage_no,
                location=data.get("location", ""),
                note=data.get("note", ""),
            )
    except IntegrityError:
        raise ReturnConflict(
            codes.EXPORT_TALLY_DUPLICATE, str(_("A tally with this cop_no was filed before."))
        ) from None
    if settings.CUSTOMS_GATEWAY_ENABLED:
        values = {field.name: getattr(tally, field.name) for field in ExportReturnTally._meta.concrete_fields}
        values.update(app_type="1", app_status="2", ie_flag="I", pre_no="")
        try:
            tally.message = _enqueue(
                root=returns_xml.tally_message(values=values, transfer=_transfer(operator)),
                declarant=operator,
                message_type=returns_xml.CEB215,
                ordering_key=f"export_return:{export_return.pk}",
            )
        except gateway.GatewayRefusal as refusal:
            raise ReturnConflict(codes.EXPORT_RETURN_NOT_SENDABLE, refusal.note) from None
        tally.save(update_fields=["message", "updated_at"])
    audit_record(
        actor=actor or Actor(label=f"enterprise:{operator.code}", enterprise_id=operator.pk),
        action=AuditEntry.Action.CREATE,
        instance=tally,
        after=snapshot(tally),
        reason=f"tally of export return {export_return.pk}",
    )
    return tally


# --- What became of the messages, and customs' answers ---------------------------------------------


def _on_sent(message: OutboxMessage) -> None:
    """Customs took the message; its answer follows (CEB214, CEB216)."""


def _failed(model: type[ExportReturn] | type[ExportReturnTally]) -> Any:
    def on_failed(message: OutboxMessage) -> None:
        note = gateway.NOTE_DEAD.format(error=message.last_error)[:500]
        model.objects.filter(message=message, status="sent").update(
            status="send_failed", send_note=note, updated_at=timezone.now()
        )

    return on_failed


def _time(value: str) -> datetime.datetime:
    try:
        moment = parse_ceb_time(value[:14])
    except ValueError as exc:
        raise InboxRejected(f"returnTime {value!r} is not YYYYMMDDhhmmss[SSS]") from exc
    millis = value[14:17]
    return moment + datetime.timedelta(milliseconds=int(millis)) if millis.isdigit() else moment


def _read(body: bytes, message: str) -> etree._Element:
    try:
        return xml.read_message(body, expected_message=message)
    except xml.MessageRejected as exc:
        raise InboxRejected(f"{message} refused: {exc.detail}") from exc


def _tell(enterprises: Sequence[Enterprise], event_type: str, payload: dict[str, Any], subject: str) -> None:
    for enterprise in sorted({e.pk: e for e in enterprises}.values(), key=lambda e: e.pk):
        event_publish(enterprise=enterprise, type=event_type, payload=payload, subject=subject)


def apply_refund_returns(message: InboxMessage, body: bytes) -> str:
    """Customs' CEB214: 120/300/500... entered, 800 released, 100 or negative refused; 1-4 noted;
    a refused or released return changes no more."""
    root = _read(body, returns_xml.CEB214)
    outcomes = []
    for answer in returns_xml.refund_answers(root):
        label = f"{answer.agent_or_operator}/{answer.cop_no}"
        export_return = (
            ExportReturn.objects.select_for_update()
            .filter(agent_code__in=hub_selectors.codes_naming(code=answer.agent_or_operator), cop_no=answer.cop_no)
            .first()
        )
        if export_return is None:
            outcomes.append(f"{label}: no such return")
            continue
        if export_return.status in (ExportReturn.Status.REFUSED, ExportReturn.Status.RELEASED):
            outcomes.append(
                f"{label}: {answer.return_status} ignored, return {export_return.pk} is {export_return.status}"
            )
            continue
        status = answer.return_status
        if status == RELEASED_RETURN:
            export_return.status = ExportReturn.Status.RELEASED
        elif status == REFUSED or status.startswith("-"):
            export_return.status = ExportReturn.Status.REFUSED
        elif status in ENTERED_RETURNS:
            export_return.status = ExportReturn.Status.ENTERED
        else:
            outcomes.append(f"{label}: {status} noted")
            continue
        export_return.return_status, export_return.return_info = status[:10], answer.return_info[:1000]
        export_return.answered_at = _time(answer.return_time)
        export_return.save(update_fields=["status", "return_status", "return_info", "answered_at", "updated_at"])
        payload = {
            "return_id": export_return.pk,
            "cop_no": export_return.cop_no,
            "invt_no": export_return.invt_no,
            "agent_code": export_return.agent_code,
            "ebc_code": export_return.ebc_code,
            "status": export_return.status,
            "return_status": status,
            "return_info": export_return.return_info[:200],
        }
        parties = [export_return.requested_by]
        ebc = hub_selectors.enterprise_get_by_code(code=export_return.ebc_code)
        if ebc is not None:
            parties.append(ebc)
        _tell(parties, RETURN_ANSWERED, payload, f"export_return:{export_return.pk}")
        outcomes.append(f"{label}: return {export_return.pk} {export_return.status}")
    return "; ".join(outcomes) or "no RefundReturn"


def apply_tally_returns(message: InboxMessage, body: bytes) -> str:
    """Customs' CEB216: 399 concluded, 100 or negative refused; anything else noted."""
    root = _read(body, returns_xml.CEB216)
    outcomes = []
    for answer in returns_xml.tally_answers(root):
        label = f"{answer.agent_or_operator}/{answer.cop_no}"
        tally = (
            ExportReturnTally.objects.select_for_update()
            .filter(operator_code__in=hub_selectors.codes_naming(code=answer.agent_or_operator), cop_no=answer.cop_no)
            .first()
        )
        if tally is None:
            outcomes.append(f"{label}: no such tally")
            continue
        if tally.status in (ExportReturnTally.Status.CONCLUDED, ExportReturnTally.Status.REFUSED):
            outcomes.append(f"{label}: {answer.return_status} ignored, tally {tally.pk} is {tally.status}")
            continue
        status = answer.return_status
        if status == CONCLUDED_TALLY:
            tally.status = ExportReturnTally.Status.CONCLUDED
        elif status == REFUSED or status.startswith("-"):
            tally.status = ExportReturnTally.Status.REFUSED
        else:
            outcomes.append(f"{label}: {status} noted")
            continue
        tally.return_status, tally.return_info = status[:10], answer.return_info[:1000]
        tally.answered_at = _time(answer.return_time)
        tally.save(update_fields=["status", "return_status", "return_info", "answered_at", "updated_at"])
        payload = {
            "tally_id": tally.pk,
            "return_id": tally.export_return_id,
            "cop_no": tally.cop_no,
            "logistics_no": tally.logistics_no,
            "status": tally.status,
            "return_status": status,
        }
        _tell(
            [tally.requested_by, tally.export_return.requested_by],
            TALLY_ANSWERED,
            payload,
            f"export_return:{tally.export_return_id}",
        )
        outcomes.append(f"{label}: tally {tally.pk} {tally.status}")
    return "; ".join(outcomes) or "no InvtRefundDetailReturn"


def register() -> None:
    """Called once, from ``DeclarationsConfig.ready``."""
    register_event_type(RETURN_ANSWERED, _("export return answered"))
    register_event_type(TALLY_ANSWERED, _("export return tally answered"))
    for message_type, model in ((returns_xml.CEB213, ExportReturn), (returns_xml.CEB215, ExportReturnTally)):
        gateway.register_message_outcomes(
            message_type, gateway.MessageOutcomes(on_sent=_on_sent, on_failed=_failed(model))
        )
    customs = (PartnerKind.CUSTOMS,)
    register_handler(returns_xml.CEB214, apply_refund_returns, partner_kinds=customs)
    register_handler(returns_xml.CEB216, apply_tally_returns, partner_kinds=customs)
