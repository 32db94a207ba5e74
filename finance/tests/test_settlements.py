"""Settlement files over HTTP: each kind of mismatch, CSV and JSON, who reads a report, the
events, the stored file and its retention."""

from __future__ import annotations

import datetime
import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from core import errors
from core.crypto import decrypt_bytes
from finance import codes, event_types
from finance.models import ExchangeRate, SettlementFile, SettlementMismatch, SettlementReport
from finance.settlements import file_associated_data
from finance.tasks import purge_settlement_files
from finance.tests.helpers import DAY, SETTLEMENTS, DemoPayments, csv_text, row, upload_json
from single_window.lookups import payments_of
from single_window.models import Event
from tests.factories import Persona, assert_problem

NOV_24 = datetime.date(2026, 11, 24)


def _mismatches(report_id: int) -> list[dict[str, Any]]:
    return [
        dict(values)
        for values in SettlementMismatch.objects.filter(report_id=report_id)
        .order_by("id")
        .values(
            "kind",
            "line",
            "first_line",
            "pay_transaction_id",
            "order_no",
            "ebp_code",
            "file_amount",
            "file_currency",
            "file_amount_cny",
            "rate",
            "rate_date",
            "recorded_amount",
        )
    ]


def _nothing_stored() -> None:
    assert not SettlementReport.objects.exists()
    assert not SettlementFile.objects.exists()
    assert not SettlementMismatch.objects.exists()
    assert not Event.objects.filter(type=event_types.SETTLEMENT_RECONCILED).exists()


# The file of the first tests: T1 as declared, T2 in USD at a rate that does not give 100.00,
# T1 again, another company's transaction and one nobody declared; T3 is not in it.
ROWS = [
    row("T1", "O1", "445.13"),
    row("T2", "O2", "14.00", currency="502", paid_at="20261125113000"),
    row("T1", "O1", "445.13"),
    row("OTHER1", "O1", "445.13", paid_at="20261125120000"),
    row("NOBODY", "O9", "10.00"),
]


@pytest.mark.django_db
def test_each_kind_of_mismatch_is_reported_and_stored(
    payments: DemoPayments, usd_rate: ExchangeRate, clients: dict[str, APIClient]
) -> None:
    response = upload_json(clients["pay"], ROWS)

    assert response.status_code == 201, response.content
    body = response.json()
    report = SettlementReport.objects.get()
    assert body["id"] == report.pk
    assert (report.row_count, report.payment_count, report.matched_count, report.mismatch_count) == (5, 3, 1, 5)
    assert body["mismatches_by_kind"] == {"missing": 1, "amount_differs": 1, "duplicate": 1, "unknown": 2}
    assert _mismatches(report.pk) == [
        {
            "kind": "amount_differs",
            "line": 2,
            "first_line": None,
            "pay_transaction_id": "T2",
            "order_no": "O2",
            "ebp_code": "3301960001",
            "file_amount": Decimal("14.00"),
            "file_currency": "502",
            "file_amount_cny": Decimal("99.73"),  # 14 x 7.1234 = 99.7276
            "rate": Decimal("7.1234"),
            "rate_date": NOV_24,
            "recorded_amount": Decimal("100.00"),
        },
        {
            "kind": "duplicate",
            "line": 3,
            "first_line": 1,
            "pay_transaction_id": "T1",
            "order_no": "O1",
            "ebp_code": "3301960001",
            "file_amount": Decimal("445.13"),
            "file_currency": "142",
            "file_amount_cny": Decimal("445.13"),
            "rate": Decimal(1),
            "rate_date": datetime.date(2026, 11, 25),
            "recorded_amount": Decimal("445.13"),
        },
        *[
            {
                "kind": "unknown",
                "line": line,
                "first_line": None,
                "pay_transaction_id": transaction_id,
                "order_no": order_no,
                "ebp_code": "",
                "file_amount": Decimal(amount),
                "file_currency": "142",
                "file_amount_cny": Decimal(amount),
                "rate": Decimal(1),
                "rate_date": datetime.date(2026, 11, 25),
                "recorded_amount": None,
            }
            for line, transaction_id, order_no, amount in ((4, "OTHER1", "O1", "445.13"), (5, "NOBODY", "O9", "10.00"))
        ],
        {
            "kind": "missing",
            "line": None,
            "first_line": None,
            "pay_transaction_id": "T3",
            "order_no": "O3",
            "ebp_code": "3301960001",
            "file_amount": None,
            "file_currency": "",
            "file_amount_cny": None,
            "rate": None,
            "rate_date": None,
            "recorded_amount": Decimal("50.00"),
        },
    ]
    shown = {m["pay_transaction_id"] + str(m["line"]): m for m in body["mismatches"]}
    assert shown["T22"]["file_amount_cny"] == "99.73"
    assert shown["T22"]["rate"] == "7.1234"
    assert shown["T22"]["rate_date"] == "2026-11-24"
    assert shown["T22"]["recorded_amount"] == "100.00"


@pytest.mark.django_db
def test_another_companys_transaction_looks_exactly_like_one_nobody_declared(
    payments: DemoPayments, clients: dict[str, APIClient]
) -> None:
    response = upload_json(clients["pay"], [row("OTHER1", "O1", "445.13"), row("NOBODY", "O1", "445.13")])

    assert response.status_code == 201, response.content
    theirs, nobodys = response.json()["mismatches"][:2]
    assert theirs["kind"] == nobodys["kind"] == "unknown"
    differing = {k for k in theirs if theirs[k] != nobodys[k]}
    assert differing == {"line", "pay_transaction_id"}


@pytest.mark.django_db
def test_the_uploaders_transaction_named_with_another_order_is_unknown_and_the_payment_missing(
    payments: DemoPayments, clients: dict[str, APIClient]
) -> None:
    rows = [row("T1", "O2", "445.13"), row("T2", "O2", "100.00"), row("T3", "O3", "50")]

    response = upload_json(clients["pay"], rows)

    assert response.status_code == 201
    assert [(m["kind"], m["pay_transaction_id"]) for m in response.json()["mismatches"]] == [
        ("unknown", "T1"),
        ("missing", "T1"),
    ]
    assert SettlementReport.objects.get().matched_count == 2


@pytest.mark.django_db
def test_a_foreign_currency_row_that_converts_to_the_payment_matches(
    payments: DemoPayments, clients: dict[str, APIClient]
) -> None:
    ExchangeRate.objects.create(currency="502", rate_date=datetime.date(2026, 11, 25), rate=Decimal("7.1220"))
    rows = [row("T1", "O1", "62.50", currency="502"), row("T2", "O2", "100"), row("T3", "O3", "50.00000")]

    response = upload_json(clients["pay"], rows)

    assert response.status_code == 201
    assert response.json()["mismatches"] == []
    assert SettlementReport.objects.get().matched_count == 3


@pytest.mark.django_db
@pytest.mark.parametrize("how", ["multipart", "text/csv"])
def test_a_csv_file_is_reconciled_like_json(
    how: str, payments: DemoPayments, usd_rate: ExchangeRate, clients: dict[str, APIClient]
) -> None:
    text = "# settlement of 2026-11-25\n" + csv_text(ROWS)
    if how == "multipart":
        response = clients["pay"].post(
            SETTLEMENTS,
            {"period_start": DAY, "period_end": DAY, "file": SimpleUploadedFile("s.csv", text.encode(), "text/csv")},
            format="multipart",
        )
    else:
        response = clients["pay"].post(
            f"{SETTLEMENTS}?period_start={DAY}&period_end={DAY}", text.encode(), content_type="text/csv"
        )

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["format"] == "csv"
    assert body["mismatches_by_kind"] == {"missing": 1, "amount_differs": 1, "duplicate": 1, "unknown": 2}
    # Lines of the file: the comment is line 1, the header line 2.
    assert [(m["kind"], m["line"]) for m in body["mismatches"]] == [
        ("amount_differs", 4),
        ("duplicate", 5),
        ("unknown", 6),
        ("unknown", 7),
        ("missing", None),
    ]
    assert SettlementMismatch.objects.get(kind="duplicate").first_line == 3
    stored = SettlementFile.objects.get()
    assert stored.content_type == "text/csv"
    assert decrypt_bytes(stored.content_encrypted, associated_data=file_associated_data(body["id"])) == text.encode()


@pytest.mark.django_db
def test_the_file_is_stored_encrypted(payments: DemoPayments, clients: dict[str, APIClient]) -> None:
    response = upload_json(clients["pay"], [row("T1", "O1", "445.13")])

    stored = SettlementFile.objects.get()
    assert '"pay_transaction_id"' not in stored.content_encrypted  # quotes never occur in base64
    plain = decrypt_bytes(stored.content_encrypted, associated_data=file_associated_data(response.json()["id"]))
    assert json.loads(plain)["rows"][0]["pay_transaction_id"] == "T1"


@pytest.mark.django_db
def test_the_uploader_and_the_parties_of_each_order_with_a_mismatch_are_told(
    payments: DemoPayments,
    usd_rate: ExchangeRate,
    parties: dict[str, Persona],
    other_pay: Persona,
    clients: dict[str, APIClient],
) -> None:
    response = upload_json(clients["pay"], ROWS)
    report_id = response.json()["id"]

    events = {e.enterprise_id: e for e in Event.objects.filter(type=event_types.SETTLEMENT_RECONCILED)}
    assert set(events) == {parties[name].enterprise.pk for name in ("pay", "ebp", "ebc")}
    mine = events[parties["pay"].enterprise.pk]
    assert mine.subject == f"settlement:{report_id}"
    assert mine.payload["report_id"] == report_id
    assert mine.payload["mismatches"] == {"missing": 1, "amount_differs": 1, "duplicate": 1, "unknown": 2}
    for name in ("ebp", "ebc"):
        told = events[parties[name].enterprise.pk].payload
        assert "report_id" not in told
        assert told["pay_code"] == parties["pay"].code
        # Their orders' mismatches only: never an unknown row.
        assert sorted((m["kind"], m["pay_transaction_id"]) for m in told["mismatches"]) == [
            ("amount_differs", "T2"),
            ("duplicate", "T1"),
            ("missing", "T3"),
        ]
    assert not Event.objects.filter(enterprise=other_pay.enterprise, type=event_types.SETTLEMENT_RECONCILED).exists()


@pytest.mark.django_db
def test_a_file_without_mismatches_tells_the_uploader_only(
    payments: DemoPayments, parties: dict[str, Persona], clients: dict[str, APIClient]
) -> None:
    upload_json(clients["pay"], [row("T1", "O1", "445.13"), row("T2", "O2", "100"), row("T3", "O3", "50")])

    told = Event.objects.filter(type=event_types.SETTLEMENT_RECONCILED).values_list("enterprise_id", flat=True)
    assert list(told) == [parties["pay"].enterprise.pk]


# --- Refusals: nothing stored --------------------------------------------------------------------


@pytest.mark.django_db
def test_a_row_in_a_currency_without_a_rate_refuses_the_file(
    payments: DemoPayments, clients: dict[str, APIClient]
) -> None:
    rows = [row("T1", "O1", "445.13"), row("NOBODY", "O9", "62.50", currency="502")]

    body = assert_problem(upload_json(clients["pay"], rows), 400, errors.VALIDATION_FAILED)

    assert [(e["field"], e["code"]) for e in body["errors"]] == [("rows[1].currency", codes.EXCHANGE_RATE_MISSING)]
    _nothing_stored()


@pytest.mark.django_db
def test_every_bad_field_is_named_and_nothing_is_stored(payments: DemoPayments, clients: dict[str, APIClient]) -> None:
    rows: list[Any] = [
        {**row("T1", "O1", "445.13"), "amount": 445.13},  # a JSON number
        row("T2", "O2", "-1"),
        row("T3", "O3", "50", currency="840"),  # ISO's USD, not customs'
        row("T3", "O3", "50", paid_at="20261126000001"),  # the next day
        {**row("", "O3", "50"), "paid_at": "yesterday"},
        "T4,O4",
    ]

    body = assert_problem(upload_json(clients["pay"], rows), 400, errors.VALIDATION_FAILED)

    assert [(e["field"], e["code"]) for e in body["errors"]] == [
        ("rows[0].amount", errors.INVALID),
        ("rows[1].amount", errors.INVALID),
        ("rows[2].currency", codes.SETTLEMENT_CURRENCY_UNKNOWN),
        ("rows[3].paid_at", codes.SETTLEMENT_ROW_OUTSIDE_PERIOD),
        ("rows[4].pay_transaction_id", errors.REQUIRED),
        ("rows[4].paid_at", errors.INVALID),
        ("rows[5]", errors.INVALID),
    ]
    _nothing_stored()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("period", "field", "code"),
    [
        ({"period_start": DAY}, "period_end", errors.REQUIRED),
        ({"period_start": "2026-11-25", "period_end": "2026-11-24"}, "period_end", codes.SETTLEMENT_PERIOD_INVALID),
        ({"period_start": "2026-10-01", "period_end": "2026-11-25"}, "period_end", codes.SETTLEMENT_PERIOD_INVALID),
        ({"period_start": DAY, "period_end": "2099-01-01"}, "period_end", codes.SETTLEMENT_PERIOD_INVALID),
        ({"period_start": "25/11/2026", "period_end": DAY}, "period_start", errors.INVALID),
    ],
)
def test_a_bad_period_is_refused(
    period: dict[str, str], field: str, code: str, pay: Persona, client_for: Callable[[Persona], APIClient]
) -> None:
    response = client_for(pay).post(SETTLEMENTS, {**period, "rows": []}, format="json")

    body = assert_problem(response, 400, errors.VALIDATION_FAILED)
    assert (field, code) in [(e["field"], e["code"]) for e in body["errors"]]
    _nothing_stored()


@pytest.mark.django_db
def test_a_csv_file_with_another_header_is_refused(pay: Persona, client_for: Callable[[Persona], APIClient]) -> None:
    response = client_for(pay).post(
        f"{SETTLEMENTS}?period_start={DAY}&period_end={DAY}",
        b"transaction,amount\nT1,445.13\n",
        content_type="text/csv",
    )

    body = assert_problem(response, 400, codes.SETTLEMENT_FILE_INVALID)
    assert body["errors"][0]["field"] == "file"
    _nothing_stored()


@pytest.mark.django_db
def test_a_csv_problem_names_the_line_of_the_file(payments: DemoPayments, clients: dict[str, APIClient]) -> None:
    text = csv_text([row("T1", "O1", "445.13"), row("T2", "O2", "1O0.00")])

    response = clients["pay"].post(
        f"{SETTLEMENTS}?period_start={DAY}&period_end={DAY}", text.encode(), content_type="text/csv"
    )

    body = assert_problem(response, 400, errors.VALIDATION_FAILED)
    assert [(e["field"], e["code"]) for e in body["errors"]] == [("lines[3].amount", errors.INVALID)]
    _nothing_stored()


@pytest.mark.django_db
def test_only_a_payment_enterprise_uploads(payments: DemoPayments, clients: dict[str, APIClient]) -> None:
    assert_problem(upload_json(clients["ebp"], [row("T1", "O1", "445.13")]), 403, errors.ROLE_REQUIRED)
    _nothing_stored()


# --- Who reads a report -----------------------------------------------------------------------


@pytest.mark.django_db
def test_only_the_uploader_reads_its_report(
    payments: DemoPayments,
    other_pay: Persona,
    clients: dict[str, APIClient],
    client_for: Callable[[Persona], APIClient],
) -> None:
    report_id = upload_json(clients["pay"], [row("T1", "O1", "445.13")]).json()["id"]

    mine = clients["pay"].get(f"{SETTLEMENTS}/{report_id}")
    assert mine.status_code == 200
    assert mine.json()["mismatches_by_kind"]["missing"] == 2
    listed = clients["pay"].get(SETTLEMENTS).json()
    assert [r["id"] for r in listed["results"]] == [report_id]
    assert listed["results"][0]["mismatches_by_kind"] == {
        "missing": 2,
        "amount_differs": 0,
        "duplicate": 0,
        "unknown": 0,
    }

    for outsider in (client_for(other_pay), clients["ebp"], clients["ebc"], clients["outsider"]):
        assert_problem(outsider.get(f"{SETTLEMENTS}/{report_id}"), 404, errors.NOT_FOUND)
        assert outsider.get(SETTLEMENTS).json()["results"] == []
    assert_problem(clients["pay"].get(f"{SETTLEMENTS}/{report_id + 1000}"), 404, errors.NOT_FOUND)


@pytest.mark.django_db
def test_a_retry_with_the_same_idempotency_key_stores_one_report(
    payments: DemoPayments, clients: dict[str, APIClient]
) -> None:
    rows = [row("T1", "O1", "445.13")]
    first = upload_json(clients["pay"], rows, HTTP_IDEMPOTENCY_KEY="settle-2026-11-25")
    again = upload_json(clients["pay"], rows, HTTP_IDEMPOTENCY_KEY="settle-2026-11-25")

    assert first.status_code == again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert SettlementReport.objects.count() == 1


# --- Retention ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_retention_task_deletes_old_files_and_keeps_the_reports(
    payments: DemoPayments, clients: dict[str, APIClient], settings: Any
) -> None:
    settings.FINANCE_SETTLEMENT_RETENTION_DAYS = 180
    old_id = upload_json(clients["pay"], [row("T1", "O1", "445.13")]).json()["id"]
    now = datetime.datetime.now(tz=datetime.UTC)

    with time_machine.travel(now + datetime.timedelta(days=100), tick=False):
        recent_id = upload_json(clients["pay"], [row("T2", "O2", "100")]).json()["id"]
    with time_machine.travel(now + datetime.timedelta(days=181), tick=False):
        assert purge_settlement_files() == 1
        assert purge_settlement_files() == 0

    assert list(SettlementFile.objects.values_list("report_id", flat=True)) == [recent_id]
    old = SettlementReport.objects.get(pk=old_id)
    assert old.file_deleted_at is not None
    assert old.mismatches.count() == 2
    shown = clients["pay"].get(f"{SETTLEMENTS}/{old_id}").json()
    assert shown["file"]["deleted_at"] is not None
    assert len(shown["mismatches"]) == 2


# --- The hub's lookup --------------------------------------------------------------------------


@pytest.mark.django_db
def test_payments_of_reads_the_companys_declared_payments_of_the_period_with_their_orders_seller(
    payments: DemoPayments, parties: dict[str, Persona], send: Any
) -> None:
    deleted = send("payment", pay_transaction_id="T3", order_no="O3", app_type="3", app_time="20261125160000")
    assert deleted.status_code in (200, 201), deleted.content
    start = datetime.datetime(2026, 11, 25, tzinfo=datetime.timezone(datetime.timedelta(hours=8)))

    facts = payments_of(pay_code=parties["pay"].code, start=start, end=start + datetime.timedelta(days=1))

    assert [(f.pay_transaction_id, f.order_no, f.ebp_code, f.ebc_code, f.amount_paid, f.status) for f in facts] == [
        ("T1", "O1", "3301960001", "3301960002", Decimal("445.13"), "declared"),
        ("T2", "O2", "3301960001", "3301960002", Decimal("100.00"), "declared"),
    ]
    assert payments_of(pay_code=parties["pay"].code, start=start, end=start + datetime.timedelta(hours=11)) == facts[:1]


@pytest.mark.django_db
def test_a_refusal_is_explained_in_chinese_when_asked_and_its_code_stays(
    payments: DemoPayments, clients: dict[str, APIClient]
) -> None:
    response = upload_json(clients["pay"], [row("T1", "O1", "62.50", currency="502")], HTTP_ACCEPT_LANGUAGE="zh-Hans")

    body = assert_problem(response, 400, errors.VALIDATION_FAILED)
    assert body["errors"][0]["code"] == codes.EXCHANGE_RATE_MISSING
    assert "无汇率记录" in body["errors"][0]["message"]
