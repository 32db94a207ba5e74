"""Summary declarations (汇总申报, CEB701 → CEB702, result CEB792): the services.

``summaries_assemble`` gathers a consignor's released export lists of a period into summary
applications and sends them, in one transaction:

1. claim the consignor's lists that are ``released``, declared for summary declaration
   (``statisticsFlag`` B, 汇总申报), exported (``ie_date``) in the period and in no live
   summary, with ``SELECT ... FOR UPDATE SKIP LOCKED``: a concurrent assembly skips them, and
   the unique link of a list to a live summary (``export_summary_list_once``) refuses whatever
   slips through;
2. group them (``summaries_build.group_lists``: consignor, or consignor and producer; customs
   district; declaring agent) and add up each group's goods lines exactly (``Decimal``);
3. store each summary with its lists, lines and messages, and move each list to
   ``summarised`` (recorded in its history);
4. split each summary's lists into messages of at most ``EXPORT_SUMMARY_MAX_LISTS``
   (``msgCount``/``msgSeqNo``), build each CEB701, sign it for the declaring agent, check it
   against the export schema and put it in the outbox to customs. A summary that can't leave
   (no signing key, no customs partner, a schema refusal) is kept ``send_failed`` with the
   reason, and ``summary_send`` sends it again once the cause is fixed.

Asked again for the same period, nothing new is assembled: the answer is the summaries already
made (idempotent by construction).

Customs' answers come through the hub's inbox: a CEB702 per message (``apply_summary_returns``)
gives the summary number (``sumNo``): every message answered 2/3/120/399 → ``accepted``; 100
or a negative code → ``refused``, and the summary's lists go back to ``released`` (they may be
summarised again). The CEB792 (``apply_summary_results``) gives the customs declaration
(``declSeqNo``, ``entryId``, ``decState``) → ``declared``. Each move is an event to the
consignor and the declaring agent.
"""

from __future__ import annotations

import calendar
import datetime
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from lxml import etree

from core.audit import Actor, audit_record, snapshot
from core.errors import Conflict, FieldError, InvalidInput
from core.models import AuditEntry
from core.times import CHINA_TZ, parse_ceb_time
from declarations.customs import gateway, xml
from declarations.export import events as export_events
from declarations.export import lifecycle
from declarations.export import summaries_build as build
from declarations.export import summaries_codes as codes
from declarations.models import ExportList, ExportListItem, ExportListStatus, ExportListStatusChange
from declarations.models.export_summary import ExportSummary, ExportSummaryLine, ExportSummaryList, ExportSummaryMessage
from single_window import selectors as hub_selectors
from single_window.event_types import register_event_type
from single_window.events import event_publish
from single_window.inbox import InboxRejected, register_handler
from single_window.models import Enterprise, InboxMessage, OutboxMessage, PartnerKind

logger = logging.getLogger(__name__)

# 汇总申报: lists declared for summary declaration (statisticsFlag B); A (简化申报) lists are
# only counted, never declared again.
SUMMARY_DECLARATION = "B"
# CEB702 returnStatus: 2/3 on its way, 120 stored, 399 concluded; 100 (退单) or negative: refused.
ACCEPTING_RETURNS = frozenset({"2", "3", "120", "399"})
REFUSED_RETURN = "100"
NOTE_NO_AGENT = "not sent: the declaring agent {code} is not registered with the single window"

# Events (delivered by the hub's webhooks).
SUMMARY_ACCEPTED = "export.summary_accepted"
SUMMARY_REFUSED = "export.summary_refused"
SUMMARY_RESULT = "export.summary_result"


# --- Periods ------------------------------------------------------------------------------------


def month_period(year: int, month: int) -> tuple[datetime.date, datetime.date]:
    return datetime.date(year, month, 1), datetime.date(year, month, calendar.monthrange(year, month)[1])


def previous_month(today: datetime.date) -> tuple[datetime.date, datetime.date]:
    """The calendar month before ``today``'s (China Standard Time dates)."""
    last = today.replace(day=1) - datetime.timedelta(days=1)
    return month_period(last.year, last.month)


def today_cst() -> datetime.date:
    return timezone.now().astimezone(CHINA_TZ).date()


def max_lists() -> int:
    return max(1, int(getattr(settings, "EXPORT_SUMMARY_MAX_LISTS", build.DEFAULT_MAX_LISTS)))


def default_grouping() -> build.Grouping:
    return build.Grouping(
        summary_flag=build.SummaryFlag(str(getattr(settings, "EXPORT_SUMMARY_FLAG", "1"))),
        by_item_name=bool(getattr(settings, "EXPORT_SUMMARY_BY_ITEM_NAME", True)),
    )


# --- Assembly -------------------------------------------------------------------------------------


class SummaryConflict(Conflict):
    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail, code=code, errors=[FieldError(None, code, detail)])


@dataclass(frozen=True)
class AssembleResult:
    created: list[ExportSummary]
    existing: list[ExportSummary]


def summarisable_lists(
    *, ebc_codes: Sequence[str], period_start: datetime.date, period_end: datetime.date
) -> QuerySet[ExportList]:
    """The consignor's released summary-declaration lists exported in the period and in no live summary."""
    linked = ExportSummaryList.objects.filter(export_list=OuterRef("pk"), live=True)
    return (
        ExportList.objects.filter(
            ebc_code__in=list(ebc_codes),
            status=ExportListStatus.RELEASED,
            statistics_flag=SUMMARY_DECLARATION,
            ie_date__gte=period_start,
            ie_date__lte=period_end,
        )
        .exclude(invt_no="")
        .filter(~Exists(linked))
    )


def _facts(export_list: ExportList, items: Sequence[ExportListItem]) -> build.ListFacts:
    return build.ListFacts(
        list_id=export_list.pk,
        invt_no=export_list.invt_no,
        customs_code=export_list.customs_code,
        ebc_code=export_list.ebc_code,
        ebc_name=export_list.ebc_name,
        owner_code=export_list.owner_code,
        owner_name=export_list.owner_name,
        agent_code=export_list.agent_code,
        agent_name=export_list.agent_name,
        loct_no=export_list.loct_no,
        gross_weight=export_list.gross_weight,
        net_weight=export_list.net_weight,
        items=tuple(
            build.ItemFacts(
                gnum=item.gnum,
                gcode=item.gcode,
                gname=item.gname,
                item_name=item.item_name,
                currency=item.currency,
                unit=item.unit,
                qty=item.qty,
                total_price=item.total_price,
            )
            for item in items
        ),
    )


def summaries_of_period(
    *, enterprise: Enterprise, period_start: datetime.date, period_end: datetime.date
) -> list[ExportSummary]:
    return list(
        ExportSummary.objects.filter(enterprise=enterprise, period_start=period_start, period_end=period_end)
        .exclude(status=ExportSummary.Status.REFUSED)
        .order_by("id")
    )


def summaries_assemble(
    *,
    enterprise: Enterprise,
    period_start: datetime.date,
    period_end: datetime.date,
    grouping: build.Grouping | None = None,
    actor: Actor | None = None,
) -> AssembleResult:
    """Assemble and send the consignor's summaries of the period (see the module's steps).
    Raises ``SummaryConflict`` (409) when a concurrent assembly took a list meanwhile."""
    if period_end < period_start:
        raise InvalidInput.for_field("period_end", codes.SUMMARY_PERIOD_INVALID, _("The period ends before it starts."))
    grouping = grouping or default_grouping()
    actor = actor or Actor(label=f"enterprise:{enterprise.code}", enterprise_id=enterprise.pk)
    try:
        with transaction.atomic():
            created = _assemble(enterprise, period_start, period_end, grouping, actor)
    except IntegrityError as exc:
        # A list linked by a concurrent assembly between our read and our write.
        raise SummaryConflict(codes.SUMMARY_LIST_TAKEN, str(_("A list was summarised meanwhile; ask again."))) from exc
    existing = [
        s
        for s in summaries_of_period(enterprise=enterprise, period_start=period_start, period_end=period_end)
        if s not in created
    ]
    return AssembleResult(created=created, existing=existing)


def _assemble(
    enterprise: Enterprise,
    period_start: datetime.date,
    period_end: datetime.date,
    grouping: build.Grouping,
    actor: Actor,
) -> list[ExportSummary]:
    # 1. Claim.
    claimed = list(
        summarisable_lists(ebc_codes=enterprise.codes, period_start=period_start, period_end=period_end)
        .select_for_update(skip_locked=True, of=("self",))
        .order_by("id")
    )
    if not claimed:
        return []
    items: dict[int, list[ExportListItem]] = {}
    for item in ExportListItem.objects.filter(export_list__in=claimed).order_by("export_list_id", "gnum"):
        items.setdefault(item.export_list_id, []).append(item)
    by_id = {export_list.pk: export_list for export_list in claimed}
    facts = [_facts(export_list, items.get(export_list.pk, [])) for export_list in claimed]
    # 2.-4. Per group.
    created = []
    for key, group in build.group_lists(facts, grouping.summary_flag).items():
        summary = _store(enterprise, key, group, grouping, period_start, period_end, by_id)
        audit_record(
            actor=actor,
            action=AuditEntry.Action.CREATE,
            instance=summary,
            after=snapshot(summary),
            reason=f"summary of {summary.list_count} export lists, {period_start}..{period_end}",
        )
        summary_send(summary=summary)
        summary.refresh_from_db()
        created.append(summary)
    return created


def _new_cop_no(summary_guid: str, today: datetime.date) -> str:
    return f"SUM{today:%Y%m%d}{summary_guid[:8]}{summary_guid[9:13]}"


def _store(  # noqa: PLR0917 - one private step of _assemble, called once
    enterprise: Enterprise,
    key: build.GroupKey,
    group: list[build.ListFacts],
    grouping: build.Grouping,
    period_start: datetime.date,
    period_end: datetime.date,
    by_id: dict[int, ExportList],
) -> ExportSummary:
    first = group[0]
    gross, net = build.weights(group)
    chunks = build.split([facts.invt_no for facts in group], max_lists())
    guid = xml.new_guid()
    summary = ExportSummary.objects.create(
        enterprise=enterprise,
        period_start=period_start,
        period_end=period_end,
        guid=guid,
        cop_no=_new_cop_no(guid, today_cst()),
        customs_code=key.customs_code,
        ebc_code=key.ebc_code,
        ebc_name=first.ebc_name,
        owner_code=key.owner_code,
        owner_name=first.owner_name if key.owner_code else "",
        agent_code=key.agent_code,
        agent_name=first.agent_name,
        decl_agent_code=key.agent_code,
        decl_agent_name=first.agent_name,
        loct_no=first.loct_no if all(f.loct_no == first.loct_no for f in group) else "",
        summary_flag=grouping.summary_flag.value,
        item_name_flag=grouping.item_name_flag,
        list_count=len(group),
        msg_count=len(chunks),
        gross_weight=gross,
        net_weight=net,
    )
    seq_of = {invt_no: seq for seq, chunk in enumerate(chunks, start=1) for invt_no in chunk}
    ExportSummaryList.objects.bulk_create(
        ExportSummaryList(summary=summary, export_list_id=f.list_id, invt_no=f.invt_no, msg_seq_no=seq_of[f.invt_no])
        for f in group
    )
    ExportSummaryLine.objects.bulk_create(
        ExportSummaryLine(
            summary=summary,
            line_no=number,
            code=line.key.code,
            name=line.key.name[:250],
            currency=line.key.currency,
            unit=line.key.unit,
            qty=line.qty,
            total_price=line.total_price,
            list_count=len(line.list_ids),
            item_count=line.item_count,
        )
        for number, line in enumerate(build.summary_lines(group, by_item_name=grouping.by_item_name), start=1)
    )
    ExportSummaryMessage.objects.bulk_create(
        ExportSummaryMessage(
            summary=summary, msg_seq_no=seq, head_guid=build.message_guid(guid, seq), list_count=len(chunk)
        )
        for seq, chunk in enumerate(chunks, start=1)
    )
    _summarise_lists([by_id[f.list_id] for f in group], summary)
    return summary


def _summarise_lists(lists: Sequence[ExportList], summary: ExportSummary) -> None:
    """released -> summarised, through the lists' lifecycle (history and event)."""
    for export_list in lists:
        lifecycle.export_list_transition(
            export_list=export_list, to=ExportListStatus.SUMMARISED, note=f"summary {summary.cop_no}"
        )


def _release_lists(lists: Sequence[ExportList], summary: ExportSummary) -> None:
    """summarised -> released, when customs refused the summary: the one move back the lifecycle
    table does not hold (the list was never summarised in customs' eyes), made compare-and-swap
    and recorded in the list's history like any other."""
    now = timezone.now()
    for export_list in lists:
        moved = ExportList.objects.filter(pk=export_list.pk, status=ExportListStatus.SUMMARISED).update(
            status=ExportListStatus.RELEASED, updated_at=now
        )
        if not moved:
            continue
        ExportListStatusChange.objects.create(
            export_list=export_list,
            from_status=ExportListStatus.SUMMARISED,
            to_status=ExportListStatus.RELEASED,
            source="single_window",
            note=f"summary {summary.cop_no} refused by customs"[:1000],
        )
        export_list.status = ExportListStatus.RELEASED
        export_events.export_list_status_changed(
            export_list=export_list, from_status=ExportListStatus.SUMMARISED, to_status=ExportListStatus.RELEASED
        )


# --- Sending ----------------------------------------------------------------------------------


def summary_head(summary: ExportSummary) -> build.ApplyHead:
    return build.ApplyHead(
        guid=summary.guid,
        app_time=summary.created_at,
        customs_code=summary.customs_code,
        cop_no=summary.cop_no,
        agent_code=summary.agent_code,
        agent_name=summary.agent_name,
        ebc_code=summary.ebc_code,
        ebc_name=summary.ebc_name,
        decl_agent_code=summary.decl_agent_code,
        decl_agent_name=summary.decl_agent_name,
        loct_no=summary.loct_no,
        grouping=build.Grouping(build.SummaryFlag(summary.summary_flag), summary.item_name_flag == "1"),
    )


def summary_messages(summary: ExportSummary, declarant: Enterprise) -> list[tuple[int, etree._Element]]:
    """The summary's unsigned CEB701 messages, by msgSeqNo."""
    head = summary_head(summary)
    transfer = build.Transfer(cop_code=declarant.code, cop_name=declarant.name, dxp_id=settings.CUSTOMS_DXP_ID)
    chunks: dict[int, list[str]] = {}
    for seq, invt_no in (
        summary.lists.filter(live=True).order_by("msg_seq_no", "invt_no").values_list("msg_seq_no", "invt_no")
    ):
        chunks.setdefault(seq, []).append(invt_no)
    return [
        (
            seq,
            build.apply_message(
                head=head, invt_nos=chunks[seq], msg_count=summary.msg_count, msg_seq_no=seq, transfer=transfer
            ),
        )
        for seq in sorted(chunks)
    ]


@transaction.atomic
def summary_send(*, summary: ExportSummary) -> list[OutboxMessage]:
    """Build, sign for the declaring agent, check and enqueue every message of the summary (all
    or none): ``sent``; else ``send_failed`` with the reason. Only an assembled or send_failed
    summary is sent."""
    summary = ExportSummary.objects.select_for_update().get(pk=summary.pk)
    if summary.status not in (ExportSummary.Status.ASSEMBLED, ExportSummary.Status.SEND_FAILED):
        return []
    if not settings.CUSTOMS_GATEWAY_ENABLED:
        return []
    declarant = hub_selectors.enterprise_get_by_code(code=summary.agent_code)
    try:
        if declarant is None:
            raise gateway.GatewayRefusal(NOTE_NO_AGENT.format(code=summary.agent_code))
        with transaction.atomic():
            sent = []
            # Each message goes on its own (customs numbers them: msgSeqNo), not behind the others.
            for seq, root in summary_messages(summary, declarant):
                message = gateway.enqueue_signed(
                    root=root,
                    declarant=declarant,
                    message_type=build.CEB701,
                    ordering_key=f"export_summary:{summary.pk}:{seq}",
                )
                ExportSummaryMessage.objects.filter(summary=summary, msg_seq_no=seq).update(message=message)
                sent.append(message)
    except gateway.GatewayRefusal as refusal:
        logger.warning("summary %s not sent: %s", summary.pk, refusal.note)
        summary.status, summary.send_note = ExportSummary.Status.SEND_FAILED, refusal.note[:500]
        summary.save(update_fields=["status", "send_note", "updated_at"])
        return []
    summary.status, summary.send_note = ExportSummary.Status.SENT, ""
    summary.save(update_fields=["status", "send_note", "updated_at"])
    return sent


def _summary_of_message(message: OutboxMessage) -> ExportSummary | None:
    row = ExportSummaryMessage.objects.filter(message=message).select_related("summary").first()
    return row.summary if row is not None else None


def _on_sent(message: OutboxMessage) -> None:
    """Customs took a CEB701: nothing to do until it answers (CEB702)."""


def _on_failed(message: OutboxMessage) -> None:
    summary = _summary_of_message(message)
    if summary is None:
        return
    note = gateway.NOTE_DEAD.format(error=message.last_error)[:500]
    ExportSummary.objects.filter(pk=summary.pk, status=ExportSummary.Status.SENT).update(
        status=ExportSummary.Status.SEND_FAILED, send_note=note, updated_at=timezone.now()
    )


# --- Customs' answers --------------------------------------------------------------------------


def _time(value: str) -> datetime.datetime:
    try:
        moment = parse_ceb_time(value[:14])
    except ValueError as exc:
        raise InboxRejected(f"time {value!r} is not YYYYMMDDhhmmss[SSS]") from exc
    millis = value[14:17]
    return moment + datetime.timedelta(milliseconds=int(millis)) if millis.isdigit() else moment


def _read(body: bytes, message: str) -> etree._Element:
    try:
        return xml.read_message(body, expected_message=message)
    except xml.MessageRejected as exc:
        raise InboxRejected(f"{message} refused: {exc.detail}") from exc


def _parties(summary: ExportSummary) -> list[Enterprise]:
    found = {summary.enterprise_id: summary.enterprise}
    agent = hub_selectors.enterprise_get_by_code(code=summary.agent_code)
    if agent is not None:
        found.setdefault(agent.pk, agent)
    return [found[pk] for pk in sorted(found)]


def _publish(summary: ExportSummary, event_type: str) -> None:
    payload = {
        "summary_id": summary.pk,
        "cop_no": summary.cop_no,
        "ebc_code": summary.ebc_code,
        "agent_code": summary.agent_code,
        "period_start": summary.period_start.isoformat(),
        "period_end": summary.period_end.isoformat(),
        "status": summary.status,
        "sum_no": summary.sum_no,
        "return_status": summary.return_status,
        "return_info": summary.return_info[:200],
        "decl_seq_no": summary.decl_seq_no,
        "entry_id": summary.entry_id,
        "dec_state": summary.dec_state,
        "list_count": summary.list_count,
    }
    for enterprise in _parties(summary):
        event_publish(enterprise=enterprise, type=event_type, payload=payload, subject=f"export_summary:{summary.pk}")


def _refuse(summary: ExportSummary) -> None:
    """Customs refused the summary: its lists leave it and go back to released."""
    links = list(summary.lists.filter(live=True).select_related("export_list"))
    ExportSummaryList.objects.filter(pk__in=[link.pk for link in links]).update(live=False)
    _release_lists([link.export_list for link in links], summary)


def apply_summary_returns(message: InboxMessage, body: bytes) -> str:
    """Customs' CEB702: one SummaryReturn per CEB701 message, found by agentCode + copNo and
    msgSeqNo. The summary number is kept; once every message is answered with a taking code the
    summary is ``accepted``; a refusal of any message refuses the summary (its lists go back to
    released). A summary refused or declared changes no more."""
    root = _read(body, build.CEB702)
    outcomes = []
    for answer in build.summary_returns(root):
        label = f"{answer.agent_code}/{answer.cop_no}#{answer.msg_seq_no}"
        summary = (
            ExportSummary.objects.select_for_update()
            .filter(cop_no=answer.cop_no, agent_code__in=hub_selectors.codes_naming(code=answer.agent_code))
            .first()
        )
        if summary is None:
            outcomes.append(f"{label}: no such summary")
            continue
        if summary.status in (ExportSummary.Status.REFUSED, ExportSummary.Status.DECLARED):
            outcomes.append(f"{label}: {answer.return_status} ignored, summary {summary.pk} is {summary.status}")
            continue
        at = _time(answer.return_time)
        ExportSummaryMessage.objects.filter(summary=summary, msg_seq_no=answer.msg_seq_no).update(
            return_status=answer.return_status[:10], return_info=answer.return_info[:1000], answered_at=at
        )
        summary.sum_no = answer.sum_no or summary.sum_no
        summary.pre_no = answer.pre_no or summary.pre_no
        summary.return_status, summary.return_info, summary.answered_at = (
            answer.return_status[:10],
            answer.return_info[:1000],
            at,
        )
        event_type = ""
        if answer.return_status == REFUSED_RETURN or answer.return_status.startswith("-"):
            summary.status = ExportSummary.Status.REFUSED
            _refuse(summary)
            event_type = SUMMARY_REFUSED
        elif answer.return_status in ACCEPTING_RETURNS and summary.status != ExportSummary.Status.ACCEPTED:
            answered = set(
                summary.messages.filter(return_status__in=ACCEPTING_RETURNS).values_list("msg_seq_no", flat=True)
            )
            if summary.sum_no and answered >= set(range(1, summary.msg_count + 1)):
                summary.status = ExportSummary.Status.ACCEPTED
                event_type = SUMMARY_ACCEPTED
        summary.save(
            update_fields=["status", "sum_no", "pre_no", "return_status", "return_info", "answered_at", "updated_at"]
        )
        if event_type:
            _publish(summary, event_type)
        outcomes.append(f"{label}: summary {summary.pk} {summary.status}")
    return "; ".join(outcomes) or "no SummaryReturn"


def apply_summary_results(message: InboxMessage, body: bytes) -> str:
    """Customs' CEB792: the customs declaration a summary became, found by its sumNo. Kept
    (declSeqNo, entryId, decState, opDate) and the summary ``declared``; a later result of the
    same summary (the declaration's state moving on) updates the figures and tells again."""
    root = _read(body, build.CEB792)
    outcomes = []
    for result in build.summary_results(root):
        summary = ExportSummary.objects.select_for_update().filter(sum_no=result.sum_no).exclude(sum_no="").first()
        if summary is None:
            outcomes.append(f"{result.sum_no}: no such summary")
            continue
        if summary.status == ExportSummary.Status.REFUSED:
            outcomes.append(f"{result.sum_no}: ignored, summary {summary.pk} is refused")
            continue
        at = _time(result.op_date)
        if summary.status == ExportSummary.Status.DECLARED and (
            summary.decl_seq_no,
            summary.entry_id,
            summary.dec_state,
        ) == (result.decl_seq_no, result.entry_id, result.dec_state):
            outcomes.append(f"{result.sum_no}: summary {summary.pk} already has this result")
            continue
        summary.status = ExportSummary.Status.DECLARED
        summary.decl_seq_no, summary.entry_id, summary.dec_state = result.decl_seq_no, result.entry_id, result.dec_state
        summary.result_at = at
        summary.save(update_fields=["status", "decl_seq_no", "entry_id", "dec_state", "result_at", "updated_at"])
        _publish(summary, SUMMARY_RESULT)
        outcomes.append(f"{result.sum_no}: summary {summary.pk} declared ({result.dec_state})")
    return "; ".join(outcomes) or "no SummaryResult"


# --- The monthly run ----------------------------------------------------------------------------


def consignors_with_lists(*, period_start: datetime.date, period_end: datetime.date) -> list[Enterprise]:
    """The registered consignors with lists to summarise in the period, by id."""
    codes_found = (
        ExportList.objects.filter(
            status=ExportListStatus.RELEASED,
            statistics_flag=SUMMARY_DECLARATION,
            ie_date__gte=period_start,
            ie_date__lte=period_end,
        )
        .exclude(invt_no="")
        .values_list("ebc_code", flat=True)
        .distinct()
    )
    enterprises = {
        e.pk: e for e in Enterprise.objects.filter(Q(customs_code__in=codes_found) | Q(uscc__in=codes_found))
    }
    return [enterprises[pk] for pk in sorted(enterprises)]


def summaries_assemble_period(
    *, period_start: datetime.date, period_end: datetime.date, actor: Actor | None = None
) -> list[ExportSummary]:
    """Assemble every consignor's summaries of the period, each consignor in a transaction of its
    own (one that fails does not hold back the others)."""
    made: list[ExportSummary] = []
    for enterprise in consignors_with_lists(period_start=period_start, period_end=period_end):
        try:
            result = summaries_assemble(
                enterprise=enterprise,
                period_start=period_start,
                period_end=period_end,
                actor=actor or Actor.system("export_summaries"),
            )
        except SummaryConflict:
            logger.warning(
                "summaries of %s for %s..%s: a list was taken meanwhile", enterprise.code, period_start, period_end
            )
            continue
        made.extend(result.created)
    return made


def summaries_resend_failed() -> int:
    """Send again every summary left in ``send_failed`` (a signing key registered since, the
    customs partner back); the ones that still can't leave stay as they are. How many went."""
    sent = 0
    for summary in ExportSummary.objects.filter(status=ExportSummary.Status.SEND_FAILED).order_by("id"):
        sent += bool(summary_send(summary=summary))
    return sent


def monthly_run(*, today: datetime.date | None = None) -> list[ExportSummary]:
    """The beat's daily call: summaries left in ``send_failed`` are sent again; on
    ``EXPORT_SUMMARY_DAY`` the previous month is summarised (the summaries made are returned)."""
    summaries_resend_failed()
    today = today or today_cst()
    if today.day != int(getattr(settings, "EXPORT_SUMMARY_DAY", 1)):
        return []
    start, end = previous_month(today)
    return summaries_assemble_period(period_start=start, period_end=end)


def register() -> None:
    """Called once, from ``DeclarationsConfig.ready``: the events, the CEB701's outcomes with the
    customs sender, and customs' CEB702/CEB792 with the inbox."""
    register_event_type(SUMMARY_ACCEPTED, _("summary declaration accepted"))
    register_event_type(SUMMARY_REFUSED, _("summary declaration refused"))
    register_event_type(SUMMARY_RESULT, _("summary declaration result"))
    gateway.register_message_outcomes(build.CEB701, gateway.MessageOutcomes(on_sent=_on_sent, on_failed=_on_failed))
    customs = (PartnerKind.CUSTOMS,)
    register_handler(build.CEB702, apply_summary_returns, partner_kinds=customs)
    register_handler(build.CEB792, apply_summary_results, partner_kinds=customs)
