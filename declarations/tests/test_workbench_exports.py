"""Exports of the regulators' list pages: exactly the rows of the page's filter and scope, as CSV
(streamed) or Excel, personal fields masked unless the regulator may see them unmasked,
formulas neutralised, each export audited with its filter and row count, and refused over the
row cap."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from django.contrib import admin
from django.contrib.admin.utils import label_for_field
from django.contrib.auth.models import User
from django.db.models import Model
from django.test import Client
from openpyxl import load_workbook
from pytest_django.fixtures import Settings

from declarations.models import Inventory, ListExport, Order, Waybill
from declarations.tests.helpers import BUYER_ID, BUYER_NAME, Send
from declarations.tests.parcels import list_of, parcel, submit
from declarations.tests.workbench import LISTS, S, client_of, regulator
from single_window.models import Park
from single_window.roles import CUSTOMS_OFFICER

pytestmark = pytest.mark.usefixtures("parties")

ORDERS = "/admin/declarations/order/"
PAYMENTS = "/admin/declarations/payment/"
WAYBILLS = "/admin/declarations/waybill/"
FAILURES = "/admin/declarations/listmatchfailure/"
FORMULA = '=HYPERLINK("http://evil.example/","click")'


@pytest.fixture
def officer(db: None) -> User:
    return regulator("officer-2901", CUSTOMS_OFFICER, customs_district="2901")


@pytest.fixture
def unmasking_officer(db: None) -> User:
    return regulator("officer-unmask", CUSTOMS_OFFICER, unmask=True, customs_district="2901")


@pytest.fixture
def lists(send: Send) -> list[Inventory]:
    """Three lists: two declared, one waiting for its waybill; the first names a formula."""
    made = []
    for n, arrival in ((1, None), (2, None), (3, ("order", "payment", "inventory"))):
        docs = parcel(n)
        submit(send, docs, **({"arrival": arrival} if arrival else {}))
        made.append(list_of(docs))
    Inventory.objects.filter(pk=made[0].pk).update(ebc_name=FORMULA)
    return made


def label(model: type[Model], name: str) -> str:
    """A column's header: as the page labels the field (the admin's label of it)."""
    return str(label_for_field(name, model, model_admin=admin.site._registry[model]))


COP_NO = label(Inventory, "cop_no")
EBC_NAME = label(Inventory, "ebc_name")
BUYER = label(Inventory, "display_buyer_name")
BUYER_ID_COLUMN = label(Inventory, "display_buyer_id_number")
ORDER_BUYER = label(Order, "display_buyer_name")
ORDER_BUYER_ID = label(Order, "display_buyer_id_number")
ORDER_NO = label(Order, "order_no")
CONSIGNEE = label(Waybill, "display_consignee")
MASKED_BUYER = BUYER_NAME[0] + "*" * (len(BUYER_NAME) - 1)


def exported_csv(client: Client, page: str, query: str = "") -> list[dict[str, str]]:
    response = client.get(f"{page}export/csv/{query}")
    assert response.status_code == 200, response
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response.streaming
    text = b"".join(response.streaming_content).decode("utf-8")  # type: ignore[attr-defined]
    assert text.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(text[1:])))


def exported_xlsx(client: Client, page: str, query: str = "") -> list[dict[str, Any]]:
    response = client.get(f"{page}export/xlsx/{query}")
    assert response.status_code == 200, response
    assert response["Content-Disposition"].endswith('.xlsx"')
    sheet = load_workbook(io.BytesIO(response.content), read_only=True).worksheets[0]
    header, *rows = [list(row) for row in sheet.iter_rows(values_only=True)]
    return [dict(zip([str(h) for h in header], row, strict=True)) for row in rows]


def test_a_csv_export_holds_the_rows_of_the_filter_masked_and_is_audited(officer: User, lists: list[Inventory]) -> None:
    rows = exported_csv(client_of(officer), LISTS, "?status__exact=declared&o=1")

    assert sorted(row[COP_NO] for row in rows) == sorted(i.cop_no for i in lists[:2])
    assert {row[BUYER] for row in rows} == {MASKED_BUYER}
    assert all("*" in row[BUYER_ID_COLUMN] for row in rows)
    [export] = ListExport.objects.all()
    assert (export.page, export.querystring, export.row_count, export.format, export.unmasked) == (
        "declarations.inventory",
        "status__exact=declared&o=1",
        2,
        "csv",
        False,
    )
    assert (export.user_id, export.actor) == (officer.pk, "admin:officer-2901")


def test_an_excel_export_holds_the_same_rows_masked_and_formulas_neutralised(
    officer: User, lists: list[Inventory]
) -> None:
    rows = exported_xlsx(client_of(officer), LISTS)
    by_cop = {row[COP_NO]: row for row in rows}

    assert set(by_cop) == {i.cop_no for i in lists}
    assert by_cop[lists[0].cop_no][EBC_NAME] == "'" + FORMULA
    assert {row[BUYER] for row in rows} == {MASKED_BUYER}
    assert ListExport.objects.get().format == "xlsx"
    assert ListExport.objects.get().row_count == 3


def test_a_csv_cell_that_a_spreadsheet_would_run_is_neutralised(officer: User, lists: list[Inventory]) -> None:
    rows = exported_csv(client_of(officer), LISTS)

    [row] = [row for row in rows if row[COP_NO] == lists[0].cop_no]
    assert row[EBC_NAME] == "'" + FORMULA


def test_only_a_regulator_who_may_see_personal_data_exports_it_unmasked(
    officer: User, unmasking_officer: User, lists: list[Inventory]
) -> None:
    masked = exported_csv(client_of(officer), ORDERS)
    unmasked = exported_csv(client_of(unmasking_officer), ORDERS)

    assert {row[ORDER_BUYER] for row in unmasked} == {BUYER_NAME}
    assert {row[ORDER_BUYER] for row in masked} == {MASKED_BUYER}
    # ID numbers are never shown in full, even to them.
    assert all("*" in row[ORDER_BUYER_ID] for row in unmasked)
    assert list(ListExport.objects.order_by("id").values_list("unmasked", flat=True)) == [False, True]


def test_orders_payments_waybills_and_queues_export_the_rows_in_scope(
    officer: User, lists: list[Inventory], send: Send, park: Park
) -> None:
    far = regulator("officer-3104", CUSTOMS_OFFICER, customs_district="3104")
    client = client_of(officer)

    orders = exported_csv(client, ORDERS)
    payments = exported_xlsx(client, PAYMENTS)
    waybills = exported_csv(client, WAYBILLS)
    failures = exported_csv(client, FAILURES)
    nothing = exported_csv(client_of(far), ORDERS)

    assert {row[ORDER_NO] for row in orders} == set(Order.objects.values_list("order_no", flat=True))
    assert len(payments) == 3
    assert len(waybills) == 2  # the third list waits for its waybill
    assert all("*" in row[CONSIGNEE] for row in waybills)
    assert failures == []
    assert nothing == []
    assert list(ListExport.objects.order_by("id").values_list("page", "row_count")) == [
        ("declarations.order", 3),
        ("declarations.payment", 3),
        ("declarations.waybill", 2),
        ("declarations.listmatchfailure", 0),
        ("declarations.order", 0),
    ]


def test_an_export_over_the_row_cap_is_refused_and_nothing_is_exported(
    settings: Settings, officer: User, lists: list[Inventory]
) -> None:
    settings.WORKBENCH_EXPORT_MAX_ROWS = 2
    client = client_of(officer)

    refused = client.get(f"{LISTS}export/csv/")
    narrowed = exported_csv(client, LISTS, f"?status__exact={S.DECLARED}")

    assert refused.status_code == 302
    assert refused["Location"] == LISTS
    messages = [str(m) for m in refused.wsgi_request._messages]  # type: ignore[attr-defined]
    assert any("3 rows" in m and "at most 2" in m for m in messages), messages
    assert len(narrowed) == 2
    assert list(ListExport.objects.values_list("row_count", flat=True)) == [2]


def test_a_user_who_may_not_see_the_page_may_not_export_it(lists: list[Inventory]) -> None:
    clerk = User.objects.create_user("clerk", is_staff=True)

    response = client_of(clerk).get(f"{LISTS}export/csv/")

    assert response.status_code == 403
    assert not ListExport.objects.exists()


def test_the_list_page_links_its_exports_with_its_filter(officer: User, lists: list[Inventory]) -> None:
    page = client_of(officer).get(LISTS, {"status__exact": "declared"})

    content = page.content.decode()
    assert f"{LISTS}export/csv/?status__exact=declared" in content
    assert f"{LISTS}export/xlsx/?status__exact=declared" in content


def test_an_export_searching_a_full_id_number_is_refused_and_keeps_no_trace_of_it(
    officer: User, lists: list[Inventory]
) -> None:
    response = client_of(officer).get(f"{LISTS}export/csv/", {"q": BUYER_ID.lower()})

    assert response.status_code == 302
    assert not ListExport.objects.exists()
