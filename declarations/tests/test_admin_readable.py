"""The regulators' admin reads as words, in English and Chinese, and shows what a regulator needs
without showing what it must not.

Personas: a commerce-bureau analyst named to the demo parcel's park (reads every document of its
area, masked, and changes nothing); a customs officer of district 2901 without the unmask
permission; the same officer in the "personal data reviewers" group.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.contrib import admin
from django.contrib.auth.models import Group, User
from django.db import connection
from django.db.models import Model
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from core import problems
from core.models import AuditEntry
from declarations.admin import display
from declarations.admin.documents import RegulatorAdmin
from declarations.clearance import history_notes, notes
from declarations.clearance.rule_names import MATCHING_RULE_NAMES, rule_name
from declarations.intake import examples
from declarations.models import (
    Inventory,
    InventoryStatus,
    InventoryStatusChange,
    Order,
    Payment,
    RuleResult,
    Waybill,
    WaybillDeliveryNotice,
)
from declarations.reference import code_names
from declarations.roles import PERSONAL_DATA_REVIEWERS
from declarations.tests.helpers import BUYER_ID, BUYER_ID_ENDING_X, Send
from risk.rule_names import RULE_NAMES as RISK_RULE_NAMES
from single_window.models import Park, RegulatorScope
from single_window.roles import COMMERCE_BUREAU, CUSTOMS_OFFICER

pytestmark = pytest.mark.usefixtures("parties")

LISTS = "/admin/declarations/inventory/"
ORDERS = "/admin/declarations/order/"
PAYMENTS = "/admin/declarations/payment/"
WAYBILLS = "/admin/declarations/waybill/"
ADDRESS = examples.ORDER["consignee_address"]
# The same address with its 13th character changed ("100号" -> "200号").
OTHER_ADDRESS = ADDRESS.replace("100号", "200号")
ZH = {"accept-language": "zh-hans"}
EN = {"accept-language": "en"}


def _regulator(username: str, group: str, *, reviewer: bool = False, **scope: Any) -> User:
    user = User.objects.create_user(username=username, is_staff=True)
    user.groups.add(Group.objects.get(name=group))
    if reviewer:
        user.groups.add(Group.objects.get(name=PERSONAL_DATA_REVIEWERS))
    RegulatorScope.objects.create(user=user, **scope)
    return user


@pytest.fixture
def analyst(park: Park) -> User:
    return _regulator("analyst", COMMERCE_BUREAU, park=park)


@pytest.fixture
def officer(db: None) -> User:
    return _regulator("officer", CUSTOMS_OFFICER, customs_district="2901")


@pytest.fixture
def reviewer(db: None) -> User:
    return _regulator("reviewer", CUSTOMS_OFFICER, reviewer=True, customs_district="2901")


def _parcel(send: Send, **waybill: Any) -> Inventory:
    for kind, changes in (("order", {}), ("payment", {}), ("waybill", waybill), ("inventory", {})):
        response = send(kind, **changes)
        assert response.status_code == 201, response.content
    return Inventory.objects.get()


@pytest.fixture
def declared_list(send: Send) -> Inventory:
    inventory = _parcel(send)
    assert inventory.status == InventoryStatus.DECLARED
    return inventory


@pytest.fixture
def address_failed_list(send: Send) -> Inventory:
    """The waybill's consignee address differs from the order's: rule 4 fails on it."""
    inventory = _parcel(send, consignee_address=OTHER_ADDRESS)
    assert inventory.status == InventoryStatus.MATCH_FAILED
    return inventory


def _html(client: Client, url: str, **headers: str) -> str:
    response = client.get(url, headers=headers)
    assert response.status_code == 200, (url, response.status_code)
    return response.content.decode()


# -- The commerce bureau reads every document of its area, masked, and changes nothing --------


def test_an_analyst_sees_the_documents_of_its_park_masked(
    client: Client, analyst: User, declared_list: Inventory
) -> None:
    client.force_login(analyst)
    order = Order.objects.get()

    for url in (LISTS, ORDERS, PAYMENTS, WAYBILLS):
        response = client.get(url)
        assert response.status_code == 200, url
        assert len(response.context["cl"].result_list) == 1, url
    html = _html(client, f"{ORDERS}{order.pk}/change/")

    assert examples.ORDER["buyer_name"] not in html
    assert ADDRESS not in html
    assert "(masked)" in html
    assert not AuditEntry.objects.filter(action=AuditEntry.Action.UNMASK).exists()


def test_an_analyst_changes_nothing_and_is_refused_with_an_html_page(
    client: Client, analyst: User, declared_list: Inventory
) -> None:
    client.force_login(analyst)
    audit_count = AuditEntry.objects.count()

    change = client.post(f"{LISTS}{declared_list.pk}/change/", {"status": "released"})
    delete = client.post(f"{ORDERS}{Order.objects.get().pk}/delete/", {"post": "yes"})

    for response in (change, delete):
        assert response.status_code == 403
        assert response["Content-Type"].startswith("text/html")
        assert "problem" not in response.content.decode()
    declared_list.refresh_from_db()
    assert declared_list.status == InventoryStatus.DECLARED
    assert Order.objects.count() == 1
    assert AuditEntry.objects.count() == audit_count


# -- Masked, and saying so; where masked values differ ------------------------------------------


def test_a_masked_value_says_it_is_masked(client: Client, officer: User, declared_list: Inventory) -> None:
    client.force_login(officer)

    html = _html(client, f"{LISTS}{declared_list.pk}/change/")

    masked = re.findall(r'<span class="sw-masked" title="[^"]+">([^<]*) <small class="sw-masked-note">\(masked\)', html)
    assert "张*" in masked
    assert "138****8000" in masked
    assert "330*************36" in masked


def test_a_failed_address_shows_from_which_character_it_differs_never_the_characters(
    client: Client, officer: User, address_failed_list: Inventory
) -> None:
    client.force_login(officer)
    [failure] = RuleResult.objects.filter(inventory=address_failed_list, outcome="failed")
    assert failure.field == "consignee_address"

    html = _html(client, f"{LISTS}{address_failed_list.pk}/change/")

    # Both documents' cells are marked and say where they part: the 13th character.
    assert html.count("differs from character 13") >= 2
    assert ADDRESS not in html
    assert OTHER_ADDRESS not in html
    # Not even the characters around the difference.
    assert "文三路" not in html
    assert "100号" not in html
    assert "200号" not in html


def test_id_numbers_say_only_whether_they_are_equal(client: Client, officer: User, send: Send) -> None:
    assert send("order").status_code == 201
    assert send("payment", payer_id_number=BUYER_ID_ENDING_X).status_code == 201
    assert send("waybill").status_code == 201
    assert send("inventory").status_code == 201
    inventory = Inventory.objects.get()
    client.force_login(officer)

    response = client.get(f"{LISTS}{inventory.pk}/change/")

    [row] = [r for r in response.context["comparison"].rows if r.label == "buyer's ID number"]
    said = [cell.difference for cell in row.cells[:3]]
    assert said == ["differs", "differs", "differs"]
    html = response.content.decode()
    assert BUYER_ID not in html
    assert BUYER_ID_ENDING_X not in html
    assert "differs from character" not in html


def test_equal_id_numbers_say_equal(client: Client, officer: User, declared_list: Inventory) -> None:
    client.force_login(officer)

    response = client.get(f"{LISTS}{declared_list.pk}/change/")

    [row] = [r for r in response.context["comparison"].rows if r.label == "buyer's ID number"]
    assert [cell.difference for cell in row.cells[:3]] == ["equal", "equal", "equal"]


def test_the_first_difference_is_a_position() -> None:
    assert display.first_difference("abc", "abc") is None
    assert display.first_difference("abc", "abd") == 3
    assert display.first_difference("ab", "abc") == 3
    assert display.first_difference("广东省深圳市南山区", "广东省深圳市福田区") == 7


# -- The unmask permission: a named group, and every showing audited ---------------------------


def test_the_personal_data_reviewers_group_holds_the_unmask_permission(db: None) -> None:
    group = Group.objects.get(name=PERSONAL_DATA_REVIEWERS)

    assert list(group.permissions.values_list("content_type__app_label", "codename")) == [
        ("declarations", "view_personal_data")
    ]


def test_unmasking_is_for_the_reviewers_and_each_showing_is_audited(
    client: Client, officer: User, reviewer: User, declared_list: Inventory
) -> None:
    order = Order.objects.get()
    client.force_login(officer)
    masked = _html(client, f"{ORDERS}{order.pk}/change/")
    assert examples.ORDER["buyer_name"] not in masked
    assert not AuditEntry.objects.filter(action=AuditEntry.Action.UNMASK).exists()

    client.force_login(reviewer)
    shown = _html(client, f"{ORDERS}{order.pk}/change/")

    assert examples.ORDER["buyer_name"] in shown
    assert ADDRESS in shown
    assert BUYER_ID not in shown  # never in full
    [entry] = AuditEntry.objects.filter(action=AuditEntry.Action.UNMASK)
    assert (entry.actor_user, entry.object_type, entry.object_id) == (reviewer, "declarations.order", str(order.pk))
    assert entry.at is not None
    assert entry.after == {"fields": list(Order.personal_fields)}


def test_the_list_page_audits_each_document_it_shows_unmasked(
    client: Client, reviewer: User, declared_list: Inventory
) -> None:
    client.force_login(reviewer)

    _html(client, f"{LISTS}{declared_list.pk}/change/")

    entries = AuditEntry.objects.filter(action=AuditEntry.Action.UNMASK, actor_user=reviewer)
    assert {(e.object_type, tuple((e.after or {})["fields"])) for e in entries} == {
        ("declarations.inventory", Inventory.personal_fields),
        ("declarations.order", Order.personal_fields),
        ("declarations.payment", Payment.personal_fields),
        ("declarations.waybill", Waybill.personal_fields),
    }


def test_a_delivery_place_is_masked_and_shown_only_to_reviewers_audited(
    client: Client, officer: User, reviewer: User, declared_list: Inventory
) -> None:
    waybill = Waybill.objects.get()
    notice = WaybillDeliveryNotice.objects.create(
        waybill=waybill,
        logistics_code=waybill.logistics_code,
        logistics_no=waybill.logistics_no,
        delivered_at=declared_list.created_at,
        place=ADDRESS,
        guid="0D7E1A2B-0000-4000-8000-000000000001",
    )
    url = f"/admin/declarations/waybilldeliverynotice/{notice.pk}/change/"
    client.force_login(officer)
    masked = _html(client, url)
    client.force_login(reviewer)
    shown = _html(client, url)

    assert ADDRESS not in masked
    assert "(masked)" in masked
    assert ADDRESS in shown
    [entry] = AuditEntry.objects.filter(action=AuditEntry.Action.UNMASK)
    assert (entry.actor_user, entry.object_id, entry.after) == (reviewer, str(notice.pk), {"fields": ["place"]})


def test_the_changelist_unmasks_nothing_and_audits_nothing(
    client: Client, reviewer: User, declared_list: Inventory
) -> None:
    client.force_login(reviewer)

    client.get(LISTS)
    client.get(f"{LISTS}{declared_list.pk}/history/")

    assert not AuditEntry.objects.filter(action=AuditEntry.Action.UNMASK).exists()


# -- Codes with their names, in the page's language ---------------------------------------------


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        (EN, ["601 Australia", "116 Japan", "007 piece", "035 kilogram", "5 air", "142 Chinese yuan"]),
        (ZH, ["601 澳大利亚", "116 日本", "007 个", "035 千克", "5 航空运输", "142 人民币"]),
    ],
    ids=["en", "zh"],
)
def test_codes_are_shown_with_their_names(
    client: Client, officer: User, declared_list: Inventory, headers: dict[str, str], expected: list[str]
) -> None:
    client.force_login(officer)

    html = _html(client, f"{LISTS}{declared_list.pk}/change/", **headers)

    for label in expected:
        assert label in html, label


def test_trade_modes_and_districts_are_named_on_the_list_page(
    client: Client, officer: User, park: Park, declared_list: Inventory
) -> None:
    client.force_login(officer)

    english = _html(client, LISTS, **EN)
    chinese = _html(client, LISTS, **ZH)

    assert "9610 cross-border e-commerce (direct mail)" in english
    assert "9610 跨境贸易电子商务" in chinese
    assert f"2901 ({park.code})" in english


def test_the_list_page_reads_code_names_without_a_query_per_row(
    client: Client, officer: User, declared_list: Inventory, parties: dict[str, Any]
) -> None:
    from declarations.tests.test_admin_scope import make_list  # noqa: PLC0415 - a helper of another test module

    # As once the parks' creation is committed: the test's transaction never commits, and a
    # process cache is bypassed by the transaction that changed what it holds.
    connection.run_on_commit = [
        entry for entry in connection.run_on_commit if entry[1] != code_names.DISTRICT_CACHE._after_commit
    ]
    client.force_login(officer)
    client.get(LISTS)  # the caches warm up

    with CaptureQueriesContext(connection) as one:
        client.get(LISTS)
    for n in range(3):
        make_list(
            parties["agent"].enterprise,
            cop_no=f"COP-READ-{n}",
            order_no=f"SW-READ-{n}",
            guid=f"7C3D4E5F-0000-4000-8000-{n + 900:012d}",
        )
    with CaptureQueriesContext(connection) as four:
        response = client.get(LISTS)

    assert len(response.context["cl"].result_list) == 4
    assert len(four.captured_queries) == len(one.captured_queries)


# -- Labels are words; rule names and history notes are translated ---------------------------------

# Field names of the customs message, which are not words a reader knows.
ABBREVIATIONS = frozenset(
    {"ebc", "ebp", "no", "qty", "qty1", "qty2", "gnum", "gcode", "gname", "gmodel", "invt", "cop", "ems", "ie", "traf"}
    | {"loct", "rkd", "decl", "app", "id", "reg", "unit1", "unit2", "describe", "guid"}
)


def _document_models() -> list[type[Model]]:
    from django.apps import apps  # noqa: PLC0415 - read at test time, after the registry

    return [model for model in apps.get_app_config("declarations").get_models() if not model._meta.proxy]


def test_every_document_field_has_a_label_in_words() -> None:
    for model in _document_models():
        for field in model._meta.get_fields():
            if not field.concrete or getattr(field, "auto_created", False):
                continue
            # Given, not derived from the field's name by Django (which keeps what it was given).
            given = getattr(field, "_verbose_name", None)
            assert given is not None, f"{model._meta.label}.{field.name}"
            words = re.split(r"[\s()/,-]+", str(given))
            assert not ABBREVIATIONS & set(words), f"{model._meta.label}.{field.name}: {given}"


def test_every_admin_column_is_labelled_in_words(rf: Any, db: None) -> None:
    for model, model_admin in admin.site._registry.items():
        if model._meta.app_label != "declarations":
            continue
        for column in model_admin.list_display:
            assert isinstance(column, str), (model, column)
            if hasattr(model_admin, column):
                label = str(getattr(getattr(model_admin, column), "short_description", column))
            else:
                label = str(getattr(model._meta.get_field(column), "verbose_name", column))
            assert "_" not in label, (model, column)
            assert not ABBREVIATIONS & set(re.split(r"[\s()/,-]+", label)), (model, column, label)


def test_english_labels_on_the_page(client: Client, officer: User, declared_list: Inventory) -> None:
    client.force_login(officer)

    html = _html(client, f"{LISTS}{declared_list.pk}/change/", **EN)

    for label in ("E-commerce enterprise code", "Port customs code", "Customs district of declaration"):
        assert label in html, label
    assert "Ebc code" not in html
    assert "Traf mode" not in html


def test_rule_result_fields_are_named_in_words() -> None:
    with translation.override("en"):
        assert display.field_label("consignee_address") == "consignee's address"
        assert display.field_label("items[2].total_price") == "item 2: total price"
        assert display.field_label("order.status") == "order: status"
        assert display.field_label("payer_id_number") == "payer's ID number"
        assert display.field_label("no_such_field") == "no_such_field"


def test_rule_names_are_words_not_codes() -> None:
    for code in (*MATCHING_RULE_NAMES, *RISK_RULE_NAMES):
        with translation.override("en"):
            name = rule_name(code)
        assert name != code
        assert "_" not in name
    assert rule_name("declare:risk") == "Declare step: risk control"
    assert rule_name("no_such_rule") == "no_such_rule"


def test_rule_names_are_read_in_the_active_language() -> None:
    for code, name in MATCHING_RULE_NAMES.items():
        with translation.override("zh-hans"):
            assert rule_name(code) == str(name)


def test_history_notes_are_stored_as_codes_and_read_in_the_readers_language(
    client: Client, officer: User, address_failed_list: Inventory
) -> None:
    failed = InventoryStatusChange.objects.get(inventory=address_failed_list, to_status="match_failed")
    assert failed.note_code == notes.RULES_FAILED
    assert failed.note_params == {"rules": ["waybill_consignee_matches_order"]}
    # The stored text stays as it was written, for the API and the rows before codes.
    assert failed.note == "waybill_consignee_matches_order"
    client.force_login(officer)

    english = _html(client, f"{LISTS}{address_failed_list.pk}/change/", **EN)

    assert "rules failed: The waybill&#x27;s consignee matches the order&#x27;s" in english
    with translation.override("zh-hans"):
        shown = history_notes.note_display(failed)
        expected = translation.gettext("rules failed: %(rules)s") % {
            "rules": translation.gettext("The waybill's consignee matches the order's")
        }
    assert shown == expected


def test_a_row_without_a_code_shows_its_stored_text(declared_list: Inventory) -> None:
    change = InventoryStatusChange.objects.filter(inventory=declared_list).first()
    assert change is not None
    change.note_code = ""

    assert history_notes.note_display(change) == change.note


# -- Numbers with their own decimals ----------------------------------------------------------------


def test_amounts_have_their_own_decimals() -> None:
    assert display.amount("actual_paid", Decimal("15.00000")) == "15.00"
    assert display.amount("price", Decimal("0.12500")) == "0.125"
    assert display.amount("qty", Decimal("2.00000")) == "2"
    assert display.amount("gross_weight", Decimal("1.20000")) == "1.2"
    # As the enterprise sent it, where that was kept.
    assert display.amount("qty1", Decimal("0.10000"), {"qty1": 3}) == "0.100"


def test_the_pages_show_no_trailing_zero_noise(client: Client, officer: User, declared_list: Inventory) -> None:
    client.force_login(officer)
    order = Order.objects.get()

    pages = [_html(client, f"{LISTS}{declared_list.pk}/change/"), _html(client, f"{ORDERS}{order.pk}/change/")]
    pages.append(_html(client, ORDERS))

    for html in pages:
        assert not re.search(r"\d\.\d*0000\b", html)
    assert "445.13" in pages[2]


# -- Wide tables ---------------------------------------------------------------------------------


def test_list_pages_keep_few_columns() -> None:
    """At most seven columns: a list page fits 1,440 pixels; the rest is on the record's page."""
    for model, model_admin in admin.site._registry.items():
        if isinstance(model_admin, RegulatorAdmin) or model._meta.app_label == "declarations":
            assert len(model_admin.list_display) <= 7, model


# -- The site: no debug page, "View site" leads to the API documentation -------------------------


def test_view_site_leads_to_the_api_documentation(client: Client, officer: User) -> None:
    client.force_login(officer)

    response = client.get("/admin/")

    assert response.context["site_url"] == "/api/docs/"
    root = client.get("/")
    assert root.status_code == 302
    assert root["Location"] == "/api/docs/"


def test_an_unknown_address_is_an_html_page_that_lists_no_url_pattern(client: Client) -> None:
    response = client.get("/admin-console/no-such-page")

    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")
    html = response.content.decode()
    assert "Using the URLconf" not in html
    assert "admin/" not in html.replace('href="/admin/"', "")


@pytest.mark.parametrize("handler", [problems.handler400, problems.handler403, problems.handler404])
def test_every_error_of_a_page_is_html_and_of_the_api_problem_json(rf: RequestFactory, handler: Any) -> None:
    page = handler(rf.get("/admin/declarations/order/"))
    api = handler(rf.get("/api/v1/orders"))

    assert page["Content-Type"].startswith("text/html")
    assert api["Content-Type"] == "application/problem+json"


def test_a_server_error_of_a_page_is_html(rf: RequestFactory) -> None:
    page = problems.handler500(rf.get("/admin/"))

    assert page.status_code == 500
    assert page["Content-Type"].startswith("text/html")
    assert problems.handler500(rf.get("/api/v1/orders"))["Content-Type"] == "application/problem+json"


def test_make_run_settings_have_debug_off_and_still_serve_static_files() -> None:
    """``make run`` (config.settings.local) shows no debug page unless DJANGO_DEBUG asks for it,
    and the admin's and the API documentation's static files are served all the same."""
    environment = {key: value for key, value in os.environ.items() if key != "DJANGO_DEBUG"}
    environment["DJANGO_SETTINGS_MODULE"] = "config.settings.local"
    code = (
        "import django; django.setup(); from django.conf import settings; from django.test import Client; "
        "print(settings.DEBUG, Client().get('/static/admin/css/base.css').status_code)"
    )

    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=Path(settings.BASE_DIR),
        env=environment,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )

    assert result.stdout.strip().splitlines()[-1] == "False 200"


# -- One history -----------------------------------------------------------------------------------


def test_the_history_button_shows_the_lists_real_history(
    client: Client, officer: User, declared_list: Inventory
) -> None:
    client.force_login(officer)

    history = client.get(f"{LISTS}{declared_list.pk}/history/", headers=EN)
    page = client.get(f"{LISTS}{declared_list.pk}/change/", headers=EN)

    assert history.status_code == 200
    html = history.content.decode()
    assert "declared to customs automatically" in html
    assert "matched → declared to customs" in html
    # The page's history section is the same history.
    assert [e.what for e in history.context["history_entries"]] == [e.what for e in page.context["history_entries"]]


def test_an_orders_history_shows_what_happened_to_it(client: Client, reviewer: User, declared_list: Inventory) -> None:
    order = Order.objects.get()
    client.force_login(reviewer)
    client.get(f"{ORDERS}{order.pk}/change/")

    html = _html(client, f"{ORDERS}{order.pk}/history/", **EN)

    assert "received from the enterprise" in html
    assert "personal data shown" in html
    assert "admin:reviewer" in html
