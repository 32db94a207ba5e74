"""End to end, with customs and the Celery worker their own processes: the monthly task gathers a
consignor's released export lists of the previous month into a summary, split into two CEB701
messages signed for the declaring agent; the worker relays them to the customs simulator and
applies its CEB702 answers (the summary number) and CEB792 result, which come back by signed
webhooks. Nothing here calls the relay or the inbox."""

# The gateway tests' fixtures are imported by name, and pytest hands them in by name.
# ruff: noqa: F811

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest
from pytest_django.fixtures import Settings

from declarations.export import summaries
from declarations.export import summaries_build as build
from declarations.models import ExportListStatus
from declarations.models.export_summary import ExportSummary
from declarations.tasks import export_summaries_monthly
from declarations.tests.export_summary_support import make_list
from declarations.tests.test_gateway import (  # noqa: F401
    _free_port,
    _healthy,
    celery_worker_process,
    customs,
    customs_simulator,
    gateway_on,
)
from single_window import services as hub
from single_window.models import EnterpriseSigningKey, Event, InboxMessage, OutboxMessage, OutboxState, Partner
from tests.certificates import KeyPair, make_key_pair
from tests.factories import TEST_ACTOR, Persona


@pytest.fixture(scope="module")
def broker_keys() -> KeyPair:
    return make_key_pair(common_name="Partner Broker")


@pytest.fixture
def simulator_certificates(partner: Persona, broker_keys: KeyPair) -> dict[str, bytes]:
    """Customs knows the declaring agent's certificate."""
    return {partner.code: broker_keys.certificate_pem}


@pytest.fixture
def broker_signing_key(partner: Persona, broker_keys: KeyPair) -> EnterpriseSigningKey:
    return hub.signing_key_register(
        enterprise=partner.enterprise,
        private_key_pem=broker_keys.private_key_text,
        certificate_pem=broker_keys.certificate_text,
        actor=TEST_ACTOR,
    )


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.timeout(240)
@pytest.mark.usefixtures("reseed_after_flush", "celery_worker_process", "broker_signing_key")
def test_the_monthly_task_summarises_a_month_and_customs_answers_it(
    *,
    settings: Settings,
    owner: Persona,
    partner: Persona,
    customs: tuple[Partner, str],
    customs_simulator: str,
    tmp_path: Path,
) -> None:
    customs_partner, _secret = customs
    Partner.objects.filter(pk=customs_partner.pk).update(endpoint_url=f"{customs_simulator}/ceb")
    today = summaries.today_cst()
    start, end = summaries.previous_month(today)
    settings.EXPORT_SUMMARY_DAY = today.day
    settings.EXPORT_SUMMARY_MAX_LISTS = 2
    lists = [make_list(ebc=owner.enterprise, agent=partner.enterprise, ie_date=start) for _ in range(3)]

    made = export_summaries_monthly.apply().get()

    assert made == 1
    summary = ExportSummary.objects.get()
    assert (summary.period_start, summary.period_end, summary.msg_count) == (start, end, 2)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        summary.refresh_from_db()
        if summary.status == ExportSummary.Status.DECLARED:
            break
        time.sleep(0.2)
    else:
        outbox = list(OutboxMessage.objects.values_list("message_type", "state", "last_error"))
        inbox = list(InboxMessage.objects.values_list("message_type", "state", "note"))
        worker_log = (tmp_path / "worker.log").read_text()[-3000:]
        pytest.fail(f"the summary is {summary.status} after 60 s; outbox {outbox}; inbox {inbox}; worker: {worker_log}")

    assert summary.sum_no
    assert summary.decl_seq_no
    assert summary.entry_id
    assert list(summary.messages.values_list("msg_seq_no", "return_status")) == [(1, "120"), (2, "120")]
    sent = OutboxMessage.objects.filter(message_type=build.CEB701)
    assert sent.count() == 2
    assert set(sent.values_list("state", flat=True)) == {OutboxState.SENT}
    assert {e.type for e in Event.objects.filter(enterprise=owner.enterprise)} >= {
        summaries.SUMMARY_ACCEPTED,
        summaries.SUMMARY_RESULT,
    }
    for export_list in lists:
        export_list.refresh_from_db()
        assert export_list.status == ExportListStatus.SUMMARISED
    log = httpx.get(f"{customs_simulator}/messages", timeout=5).json()
    taken = [entry for entry in log["received"] if entry.get("message_type") == build.CEB701]
    assert sorted(entry["export"]["msgSeqNo"] for entry in taken) == [1, 2]
    assert all(partner.code in entry["signers"] for entry in taken)
