"""Summary declarations (CEB701 → CEB702, CEB792): a consignor's released export lists of a
month gathered once, figures that add up, the split into signed messages, customs' answers."""

from __future__ import annotations

import datetime
import io
import threading
from collections.abc import Callable
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.db import IntegrityError, connection, transaction
from lxml import etree
from pytest_django.fixtures import Settings
from rest_framework.test import APIClient

from declarations.customs import xml
from declarations.export import summaries
from declarations.export import summaries_build as build
from declarations.models import ExportList, ExportListItem, ExportListStatus, ExportListStatusChange
from declarations.models.export_summary import ExportSummary, ExportSummaryLine, ExportSummaryList
from declarations.tests.export_summary_support import ceb702, ceb792, deliver, make_list
from single_window import services as hub
from single_window.models import EnterpriseSigningKey, Event, InboxMessage, OutboxMessage, PartnerKind
from single_window.outbox import message_body
from single_window.signatures import usable_certificates, verify_message_signature
from tests.certificates import KeyPair, make_key_pair
from tests.factories import TEST_ACTOR, Persona, assert_problem
from tests.partner_webhooks import SigningPartner, register_partner

CUSTOMS_CODE = "CUSTOMS-TEST"
NOVEMBER = (datetime.date(2026, 11, 1), datetime.date(2026, 11, 30))
Q = f"{{{xml.CEB_NS}}}"

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def agent_keys() -> KeyPair:
    return make_key_pair(common_name="Partner Broker")


@pytest.fixture
def customs(settings: Settings, db: None) -> SigningPartner:
    settings.CUSTOMS_GATEWAY_ENABLED = True
    settings.CUSTOMS_PARTNER_CODE = CUSTOMS_CODE
    return register_partner(CUSTOMS_CODE, PartnerKind.CUSTOMS)


@pytest.fixture
def agent_key(partner: Persona, agent_keys: KeyPair) -> EnterpriseSigningKey:
    return hub.signing_key_register(
        enterprise=partner.enterprise,
        private_key_pem=agent_keys.private_key_text,
        certificate_pem=agent_keys.certificate_text,
        actor=TEST_ACTOR,
    )


def ceb701s() -> list[etree._Element]:
    rows = OutboxMessage.objects.filter(message_type=build.CEB701).order_by("id")
    return [xml.read_message(message_body(row), expected_message=build.CEB701) for row in rows]


def head_of(root: etree._Element) -> dict[str, str]:
    head = root.find(f"{Q}SummaryApply/{Q}SummaryApplyHead")
    assert head is not None
    return {etree.QName(child).localname: child.text or "" for child in head}


def assemble(owner: Persona, **kwargs: object) -> summaries.AssembleResult:
    return summaries.summaries_assemble(
        enterprise=owner.enterprise,
        period_start=NOVEMBER[0],
        period_end=NOVEMBER[1],
        **kwargs,  # type: ignore[arg-type]
    )


def test_a_summary_adds_up_exactly_to_the_lists_behind_it(
    owner: Persona, partner: Persona, customs: SigningPartner, agent_key: EnterpriseSigningKey
) -> None:
    first = make_list(
        ebc=owner.enterprise,
        agent=partner.enterprise,
        items=[("6109100010", "棉T恤", "2", "19.90"), ("6204420090", "连衣裙", "1", "35.55")],
    )
    second = make_list(ebc=owner.enterprise, agent=partner.enterprise, items=[("6109100010", "棉T恤", "3.5", "30.01")])
    make_list(ebc=owner.enterprise, agent=partner.enterprise, ie_date=datetime.date(2026, 12, 1))  # next month
    make_list(ebc=owner.enterprise, agent=partner.enterprise, statistics_flag="A")  # simplified: not declared again
    make_list(ebc=owner.enterprise, agent=partner.enterprise, status=ExportListStatus.ACCEPTED)  # not released

    result = assemble(owner)

    [summary] = result.created
    assert (summary.status, summary.list_count, summary.msg_count) == ("sent", 2, 1)
    lines = list(ExportSummaryLine.objects.filter(summary=summary).order_by("line_no"))
    assert [(line.code, line.name, line.qty, line.total_price, line.list_count) for line in lines] == [
        ("6109100010", "棉T恤", Decimal("5.5"), Decimal("49.91"), 2),
        ("6204420090", "连衣裙", Decimal(1), Decimal("35.55"), 1),
    ]
    items = ExportListItem.objects.filter(export_list__in=[first, second])
    assert sum(line.total_price for line in lines) == sum(item.total_price for item in items)
    assert sum(line.qty for line in lines) == sum(item.qty for item in items)
    assert summary.gross_weight == first.gross_weight + second.gross_weight
    assert set(ExportSummaryList.objects.filter(summary=summary).values_list("export_list_id", flat=True)) == {
        first.pk,
        second.pk,
    }
    assert set(ExportList.objects.filter(status=ExportListStatus.SUMMARISED).values_list("pk", flat=True)) == {
        first.pk,
        second.pk,
    }
    assert ExportListStatusChange.objects.filter(export_list=first, to_status=ExportListStatus.SUMMARISED).count() == 1
    [root] = ceb701s()
    head = head_of(root)
    assert (head["copNo"], head["ebcCode"], head["agentCode"]) == (summary.cop_no, owner.code, partner.code)
    assert (head["summaryFlag"], head["itemNameFlag"], head["msgCount"], head["msgSeqNo"]) == ("1", "1", "1", "1")
    assert sorted(e.text for e in root.iter(f"{Q}invtNo")) == sorted([first.invt_no, second.invt_no])
    assert verify_message_signature(root=root, candidates=usable_certificates(enterprise=partner.enterprise)).verified


@pytest.mark.usefixtures("customs", "agent_key")
def test_a_summary_of_many_lists_goes_in_numbered_messages_each_valid_and_signed(
    settings: Settings,
    owner: Persona,
    partner: Persona,
) -> None:
    settings.EXPORT_SUMMARY_MAX_LISTS = 2
    lists = [make_list(ebc=owner.enterprise, agent=partner.enterprise) for _ in range(5)]

    [summary] = assemble(owner).created

    roots = ceb701s()  # each read back through the export schema
    assert summary.msg_count == 3
    assert [(head_of(r)["msgCount"], head_of(r)["msgSeqNo"]) for r in roots] == [("3", "1"), ("3", "2"), ("3", "3")]
    assert [len(r.findall(f"{Q}SummaryApply/{Q}SummaryApplyList")) for r in roots] == [2, 2, 1]
    assert {head_of(r)["copNo"] for r in roots} == {summary.cop_no}
    carried = [e.text for r in roots for e in r.iter(f"{Q}invtNo")]
    assert sorted(carried) == sorted(export_list.invt_no for export_list in lists)
    assert all(
        verify_message_signature(root=r, candidates=usable_certificates(enterprise=partner.enterprise)).verified
        for r in roots
    )


def test_flag_2_and_categories_make_one_summary_per_producer(
    owner: Persona, partner: Persona, customs: SigningPartner, agent_key: EnterpriseSigningKey
) -> None:
    make_list(ebc=owner.enterprise, agent=partner.enterprise, owner_code="3301960011")
    make_list(
        ebc=owner.enterprise,
        agent=partner.enterprise,
        owner_code="3301960012",
        items=[("6109909090", "衬衫", "1", "5")],
    )

    made = assemble(
        owner, grouping=build.Grouping(build.SummaryFlag.CONSIGNOR_AND_PRODUCER, by_item_name=False)
    ).created

    assert sorted(s.owner_code for s in made) == ["3301960011", "3301960012"]
    assert {line.code for line in ExportSummaryLine.objects.all()} == {"6109"}
    assert {head_of(r)["itemNameFlag"] for r in ceb701s()} == {"0"}


def test_a_list_is_summarised_once_even_when_asked_again(
    owner: Persona, partner: Persona, customs: SigningPartner, agent_key: EnterpriseSigningKey
) -> None:
    make_list(ebc=owner.enterprise, agent=partner.enterprise)
    [summary] = assemble(owner).created

    again = assemble(owner)

    assert again.created == []
    assert [s.pk for s in again.existing] == [summary.pk]
    assert ExportSummary.objects.count() == 1
    assert OutboxMessage.objects.filter(message_type=build.CEB701).count() == 1
    link = ExportSummaryList.objects.get()
    other = ExportSummary.objects.create(
        **{
            f.name: getattr(summary, f.name)
            for f in ExportSummary._meta.concrete_fields
            if f.name not in {"id", "guid", "cop_no"}
        },
        guid="00000000-0000-0000-0000-000000000000",
        cop_no="OTHER",
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        ExportSummaryList.objects.create(
            summary=other, export_list_id=link.export_list_id, invt_no=link.invt_no, msg_seq_no=1
        )


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_assemblies_at_once_summarise_each_list_once(
    owner: Persona, partner: Persona, customs: SigningPartner, agent_key: EnterpriseSigningKey
) -> None:
    lists = [make_list(ebc=owner.enterprise, agent=partner.enterprise) for _ in range(6)]
    barrier = threading.Barrier(2)
    outcomes: list[object] = []

    def run() -> None:
        try:
            barrier.wait()
            outcomes.append(assemble(owner))
        except Exception as exc:  # noqa: BLE001 - the other thread's outcome is what is judged
            outcomes.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    linked = list(ExportSummaryList.objects.values_list("export_list_id", flat=True))
    assert sorted(linked) == sorted(export_list.pk for export_list in lists)
    assert len(outcomes) == 2
    for outcome in outcomes:
        assert isinstance(outcome, summaries.AssembleResult | summaries.SummaryConflict), outcome


def test_without_the_agents_key_the_summary_waits_in_send_failed_and_goes_later(
    owner: Persona, partner: Persona, customs: SigningPartner, agent_keys: KeyPair
) -> None:
    make_list(ebc=owner.enterprise, agent=partner.enterprise)

    [summary] = assemble(owner).created

    assert (summary.status, OutboxMessage.objects.filter(message_type=build.CEB701).count()) == ("send_failed", 0)
    assert "signing key" in summary.send_note
    hub.signing_key_register(
        enterprise=partner.enterprise,
        private_key_pem=agent_keys.private_key_text,
        certificate_pem=agent_keys.certificate_text,
        actor=TEST_ACTOR,
    )
    assert len(summaries.summary_send(summary=summary)) == 1
    summary.refresh_from_db()
    assert summary.status == "sent"


@pytest.mark.usefixtures("agent_key")
def test_customs_number_and_result_are_recorded_and_told(
    settings: Settings,
    owner: Persona,
    partner: Persona,
    customs: SigningPartner,
) -> None:
    settings.EXPORT_SUMMARY_MAX_LISTS = 1
    make_list(ebc=owner.enterprise, agent=partner.enterprise)
    make_list(ebc=owner.enterprise, agent=partner.enterprise)
    [summary] = assemble(owner).created
    keys = {"agent_code": partner.code, "ebc_code": owner.code, "cop_no": summary.cop_no}

    deliver(customs, ceb702(**keys, seq=1, status="120", sum_no="29012026S000000001"))
    summary.refresh_from_db()
    assert (summary.status, summary.sum_no) == ("sent", "29012026S000000001")  # message 2 not answered yet
    deliver(customs, ceb702(**keys, seq=2, status="120", sum_no="29012026S000000001"))
    summary.refresh_from_db()
    assert summary.status == "accepted"
    assert list(summary.messages.values_list("msg_seq_no", "return_status")) == [(1, "120"), (2, "120")]

    inbox = deliver(customs, ceb792(sum_no="29012026S000000001", agent_code=partner.code, ebc_code=owner.code))
    deliver(customs, ceb792(sum_no="29012026S000000001", agent_code=partner.code, ebc_code=owner.code))

    summary.refresh_from_db()
    assert inbox.state == InboxMessage.State.APPLIED, inbox.note
    assert (summary.status, summary.decl_seq_no, summary.entry_id, summary.dec_state) == (
        "declared",
        "29012026D000000001",
        "290120260000000777",
        "P",
    )
    accepted = Event.objects.filter(type=summaries.SUMMARY_ACCEPTED)
    results = Event.objects.filter(type=summaries.SUMMARY_RESULT)
    assert {e.enterprise_id for e in accepted} == {owner.enterprise.pk, partner.enterprise.pk}
    assert results.count() == 2  # once to each party; the repeated CEB792 changes nothing
    assert results.first().payload["entry_id"] == "290120260000000777"  # type: ignore[union-attr]


def test_a_refused_summary_lets_its_lists_be_summarised_again(
    owner: Persona, partner: Persona, customs: SigningPartner, agent_key: EnterpriseSigningKey
) -> None:
    export_list = make_list(ebc=owner.enterprise, agent=partner.enterprise)
    [summary] = assemble(owner).created

    deliver(customs, ceb702(agent_code=partner.code, ebc_code=owner.code, cop_no=summary.cop_no, seq=1, status="100"))

    summary.refresh_from_db()
    export_list.refresh_from_db()
    assert (summary.status, export_list.status) == ("refused", ExportListStatus.RELEASED)
    assert Event.objects.filter(type=summaries.SUMMARY_REFUSED).count() == 2
    [again] = assemble(owner).created
    assert again.pk != summary.pk
    assert ExportSummaryList.objects.get(live=True).summary_id == again.pk


@pytest.mark.usefixtures("customs", "agent_key")
def test_the_monthly_run_summarises_the_previous_month_on_its_day_only(
    settings: Settings,
    owner: Persona,
    partner: Persona,
) -> None:
    settings.EXPORT_SUMMARY_DAY = 1
    make_list(ebc=owner.enterprise, agent=partner.enterprise)

    assert summaries.monthly_run(today=datetime.date(2026, 12, 2)) == []
    [summary] = summaries.monthly_run(today=datetime.date(2026, 12, 1))

    assert (summary.period_start, summary.period_end, summary.enterprise_id) == (*NOVEMBER, owner.enterprise.pk)
    assert summaries.monthly_run(today=datetime.date(2026, 12, 1)) == []


# --- The API ---------------------------------------------------------------------------------


URL = "/api/v1/export/summaries"


@pytest.mark.usefixtures("customs", "agent_key")
def test_an_enterprise_asks_for_its_month_once_and_reads_it_back(
    owner: Persona,
    partner: Persona,
    outsider: Persona,
    client_for: Callable[[Persona], APIClient],
) -> None:
    make_list(ebc=owner.enterprise, agent=partner.enterprise, items=[("6109100010", "棉T恤", "2", "19.90")])
    make_list(ebc=outsider.enterprise, agent=partner.enterprise)  # someone else's list
    client = client_for(owner)

    first = client.post(URL, {"month": "2026-11"}, format="json", HTTP_IDEMPOTENCY_KEY="nov-1")
    replay = client.post(URL, {"month": "2026-11"}, format="json", HTTP_IDEMPOTENCY_KEY="nov-1")
    again = client.post(URL, {"month": "2026-11"}, format="json")

    assert first.status_code == 201, first.content
    assert replay.status_code == 201
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert again.status_code == 200
    assert again.json()["created"] == 0
    [made] = first.json()["summaries"]
    assert again.json()["summaries"][0]["id"] == made["id"]
    assert made["lines"] == [
        {
            "line_no": 1,
            "code": "6109100010",
            "name": "棉T恤",
            "currency": "502",
            "unit": "007",
            "qty": "2",
            "total_price": "19.9",
            "list_count": 1,
            "item_count": 1,
        }
    ]
    assert ExportSummary.objects.count() == 1
    detail = client.get(f"{URL}/{made['id']}")
    assert detail.status_code == 200
    assert [entry["invt_no"] for entry in detail.json()["lists"]] == [ExportSummaryList.objects.get().invt_no]
    assert client_for(partner).get(f"{URL}/{made['id']}").status_code == 200  # the agent that signed it
    assert_problem(client_for(outsider).get(f"{URL}/{made['id']}"), 404, "not_found")
    assert client_for(outsider).get(URL).json()["results"] == []
    assert [s["id"] for s in client.get(URL).json()["results"]] == [made["id"]]


def test_a_bad_period_is_refused_and_changes_nothing(
    owner: Persona, partner: Persona, customs: SigningPartner, client_for: Callable[[Persona], APIClient]
) -> None:
    make_list(ebc=owner.enterprise, agent=partner.enterprise)
    client = client_for(owner)

    backwards = client.post(URL, {"period_start": "2026-11-30", "period_end": "2026-11-01"}, format="json")
    missing = client.post(URL, {}, format="json")

    assert_problem(backwards, 400, "validation_failed")
    assert_problem(missing, 400, "validation_failed")
    assert ExportSummary.objects.count() == 0
    assert ExportList.objects.get().status == ExportListStatus.RELEASED


@pytest.mark.usefixtures("customs")
def test_the_command_assembles_a_month_and_sends_again_what_could_not_leave(
    owner: Persona, partner: Persona, agent_keys: KeyPair
) -> None:
    make_list(ebc=owner.enterprise, agent=partner.enterprise)
    out = io.StringIO()

    call_command("export_summaries", "--month", "2026-11", stdout=out)

    summary = ExportSummary.objects.get()
    assert summary.status == "send_failed"  # the agent has no signing key yet
    assert "1 summaries for 2026-11-01..2026-11-30" in out.getvalue()
    hub.signing_key_register(
        enterprise=partner.enterprise,
        private_key_pem=agent_keys.private_key_text,
        certificate_pem=agent_keys.certificate_text,
        actor=TEST_ACTOR,
    )
    call_command("export_summaries", "--resend", stdout=out)
    summary.refresh_from_db()
    assert summary.status == "sent"
    assert OutboxMessage.objects.filter(message_type=build.CEB701).count() == 1
    with pytest.raises(CommandError):
        call_command("export_summaries", "--month", "2026-13")


@pytest.mark.usefixtures("customs")
def test_the_nightly_run_sends_again_a_summary_that_could_not_leave(
    owner: Persona, partner: Persona, agent_keys: KeyPair
) -> None:
    make_list(ebc=owner.enterprise, agent=partner.enterprise)
    [summary] = assemble(owner).created
    assert summary.status == "send_failed"

    assert summaries.monthly_run(today=datetime.date(2026, 12, 2)) == []  # not the day, no key yet
    hub.signing_key_register(
        enterprise=partner.enterprise,
        private_key_pem=agent_keys.private_key_text,
        certificate_pem=agent_keys.certificate_text,
        actor=TEST_ACTOR,
    )
    summaries.monthly_run(today=datetime.date(2026, 12, 3))

    summary.refresh_from_db()
    assert summary.status == "sent"
    assert OutboxMessage.objects.filter(message_type=build.CEB701).count() == 1
