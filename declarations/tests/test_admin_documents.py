"""The regulators' console for declaration lists: search (a buyer by the hash of the full ID
number, posted so that the number never appears in a URL or an access log), scope, the four
documents side by side with failed fields marked, the tax estimate, the history, and personal
data masked unless the regulator may see it (and then audited).

Personas: the superuser; a customs officer of district 2901 (the demo parcel's) without the
unmask permission; the same officer with it; an officer of district 3104 who must see nothing.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.contrib.auth.models import Group, Permission, User
from django.test import Client

from core.models import AuditEntry
from declarations.intake import examples
from declarations.intake.identity import id_number_hash
from declarations.models import BuyerYearQuota, Inventory, InventoryStatus, RuleResult, TaxEstimate
from declarations.tests.helpers import BUYER_ID, BUYER_ID_ENDING_X, Send
from single_window.models import RegulatorScope
from single_window.roles import CUSTOMS_OFFICER

pytestmark = pytest.mark.usefixtures("parties")

LISTS = "/admin/declarations/inventory/"
ORDERS = "/admin/declarations/order/"
PAYMENTS = "/admin/declarations/payment/"
ESTIMATES = "/admin/declarations/taxestimate/"
QUOTAS = "/admin/declarations/buyeryearquota/"

BUYER_NAME = examples.ORDER["buyer_name"]
PHONE = examples.ORDER["buyer_telephone"]
ADDRESS = examples.ORDER["consignee_address"]
MASKED_ID = "330*************36"
# A cell marked as failed: its rules' names in the title, the marker, the value shown.
MARKED_CELL = re.compile(r'<td class="sw-mismatch" title="([^"]*)"><span class="sw-marker"[^>]*>≠</span>([^<]*)</td>')
AMOUNT_RULE = "The amount paid equals the order&#x27;s"


def _officer(username: str, district: str, *, unmasking: bool = False) -> User:
    user = User.objects.create_user(username=username, is_staff=True)
    user.groups.add(Group.objects.get(name=CUSTOMS_OFFICER))
    RegulatorScope.objects.create(user=user, customs_district=district)
    if unmasking:
        user.user_permissions.add(Permission.objects.get(codename="view_personal_data"))
    return user


@pytest.fixture
def superuser_client(client: Client) -> Client:
    client.force_login(User.objects.create_superuser(username="root", email="root@example.com"))
    return client


@pytest.fixture
def officer_client(client: Client) -> Client:
    client.force_login(_officer("officer", "2901"))
    return client


@pytest.fixture
def unmasking_client(client: Client) -> Client:
    client.force_login(_officer("privacy-officer", "2901", unmasking=True))
    return client


@pytest.fixture
def other_district_client(client: Client) -> Client:
    client.force_login(_officer("officer-3104", "3104"))
    return client


def _parcel(send: Send, *, payment: dict[str, Any] | None = None) -> Inventory:
    """The demo parcel's four documents, the list last; ``payment`` changes the payment."""
    for kind, changes in (("order", {}), ("payment", payment or {}), ("waybill", {}), ("inventory", {})):
        response = send(kind, **changes)
        assert response.status_code == 201, response.content
    return Inventory.objects.get()


@pytest.fixture
def declared_list(send: Send) -> Inventory:
    """The demo parcel, matched and declared, with its tax estimate."""
    inventory = _parcel(send)
    assert inventory.status == InventoryStatus.DECLARED
    return inventory


@pytest.fixture
def failed_list(send: Send) -> Inventory:
    """The demo parcel with a payment of another amount than the order's: matching failed."""
    inventory = _parcel(send, payment={"amount_paid": "400.00"})
    assert inventory.status == InventoryStatus.MATCH_FAILED
    return inventory


def _results(client: Client, url: str, **query: str) -> list[Any]:
    response = client.get(url, query, follow=True)
    assert response.status_code == 200
    assert BUYER_ID not in response.content.decode()
    return list(response.context["cl"].result_list)


def _buyer(client: Client, url: str, id_number: str) -> Any:
    """Search ``url``'s page for a buyer by ID number, as the page's buyer form does: posted."""
    response = client.post(f"{url}buyer/", {"id_number": id_number}, follow=True)
    assert response.status_code == 200
    for location, _status in response.redirect_chain:
        assert normalised(id_number) not in normalised(location), location
    assert normalised(id_number) not in normalised(response.content.decode())
    return response


def _buyer_results(client: Client, url: str, id_number: str) -> list[Any]:
    return list(_buyer(client, url, id_number).context["cl"].result_list)


def normalised(text: str) -> str:
    return text.replace(" ", "").replace("%20", "").upper()


def _page(client: Client, inventory: Inventory) -> str:
    response = client.get(f"{LISTS}{inventory.pk}/change/")
    assert response.status_code == 200
    html = response.content.decode()
    assert BUYER_ID not in html
    return html


# -- Search ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "term",
    [examples.ORDER["order_no"], examples.WAYBILL["logistics_no"], examples.INVENTORY["cop_no"]],
    ids=["order no", "logistics no", "cop no"],
)
def test_an_officer_finds_a_list_of_the_district_by_number(
    officer_client: Client, declared_list: Inventory, term: str
) -> None:
    assert _results(officer_client, LISTS, q=term) == [declared_list]


def test_an_officer_finds_a_list_by_the_buyers_id_number_posted(
    officer_client: Client, declared_list: Inventory
) -> None:
    response = _buyer(officer_client, LISTS, f" {BUYER_ID[:6]} {BUYER_ID[6:]} ")

    # Posted, then shown as a filter on the number's keyed hash: the number is in no URL.
    [(url, status)] = response.redirect_chain
    assert status == 302
    assert url == f"{LISTS}?buyer_id_hash={id_number_hash(BUYER_ID)}"
    assert f"Showing the buyer with ID number {MASKED_ID}." in response.content.decode()
    assert list(response.context["cl"].result_list) == [declared_list]


def test_the_list_page_offers_the_posted_buyer_search(officer_client: Client, declared_list: Inventory) -> None:
    html = officer_client.get(LISTS).content.decode()

    assert re.search(rf'<form [^>]*method="post" [^>]*action="{LISTS}buyer/"', html), html
    assert 'name="id_number"' in html


@pytest.mark.parametrize("term", [BUYER_ID, f"{BUYER_ID[:6]} {BUYER_ID[6:]}", BUYER_ID_ENDING_X.lower()])
def test_an_id_number_in_the_query_string_is_not_looked_up(
    officer_client: Client, declared_list: Inventory, term: str
) -> None:
    """A number in a URL is in every access log on the way: the query string is refused, not searched."""
    response = officer_client.get(LISTS, {"q": term, "status": "declared"}, follow=True)

    [(url, status)] = response.redirect_chain
    assert status == 302
    assert url == f"{LISTS}?status=declared"  # the search is dropped, nothing in its place
    html = response.content.decode()
    assert "buyer_id_hash" not in html
    assert normalised(term) not in normalised(html)
    assert "Search a buyer by ID number with the buyer search form" in html
    # No lookup: the page lists what it would without the term (nothing was filtered by the buyer).
    assert list(response.context["cl"].result_list) == [declared_list]
    assert response.context["cl"].query == ""


def test_the_buyer_search_is_posted_only(officer_client: Client, declared_list: Inventory) -> None:
    response = officer_client.get(f"{LISTS}buyer/", {"id_number": BUYER_ID})

    assert response.status_code == 405


def test_an_id_number_with_a_lowercase_x_finds_the_buyer(send: Send, officer_client: Client) -> None:
    assert send("inventory", buyer_id_number=BUYER_ID_ENDING_X).status_code == 201
    inventory = Inventory.objects.get()

    response = _buyer(officer_client, LISTS, BUYER_ID_ENDING_X.lower())

    assert list(response.context["cl"].result_list) == [inventory]


def test_an_id_number_of_another_buyer_finds_nothing(officer_client: Client, declared_list: Inventory) -> None:
    assert _buyer_results(officer_client, LISTS, BUYER_ID_ENDING_X) == []


def test_a_number_with_a_wrong_check_character_finds_nothing_and_is_not_repeated(
    officer_client: Client, declared_list: Inventory
) -> None:
    wrong = BUYER_ID[:17] + ("5" if BUYER_ID[17] != "5" else "7")

    response = _buyer(officer_client, LISTS, wrong)

    [(url, _status)] = response.redirect_chain
    assert url == LISTS
    assert "not a full resident ID number" in response.content.decode()
    # Back to the page as it was: nothing was looked up.
    assert list(response.context["cl"].result_list) == [declared_list]


def test_a_number_with_a_wrong_check_character_in_the_query_string_is_searched_as_text(
    officer_client: Client, declared_list: Inventory
) -> None:
    wrong = BUYER_ID[:17] + ("5" if BUYER_ID[17] != "5" else "7")

    response = officer_client.get(LISTS, {"q": wrong})

    assert response.status_code == 200  # not an ID number: an ordinary search, which finds nothing
    assert list(response.context["cl"].result_list) == []


def test_orders_and_payments_are_found_by_the_buyers_id_number(
    officer_client: Client, declared_list: Inventory
) -> None:
    [order] = _buyer_results(officer_client, ORDERS, BUYER_ID)
    [payment] = _buyer_results(officer_client, PAYMENTS, BUYER_ID)

    assert order.order_no == payment.order_no == declared_list.order_no


def test_the_superuser_finds_the_list_too(superuser_client: Client, declared_list: Inventory) -> None:
    assert _buyer_results(superuser_client, LISTS, BUYER_ID) == [declared_list]
    assert _results(superuser_client, LISTS) == [declared_list]


def test_an_officer_of_another_district_sees_nothing(other_district_client: Client, declared_list: Inventory) -> None:
    for term in (examples.ORDER["order_no"], examples.WAYBILL["logistics_no"], examples.INVENTORY["cop_no"]):
        assert _results(other_district_client, LISTS, q=term) == []
    assert _buyer_results(other_district_client, LISTS, BUYER_ID) == []
    assert _results(other_district_client, LISTS) == []
    assert _buyer_results(other_district_client, ORDERS, BUYER_ID) == []
    assert _results(other_district_client, ESTIMATES) == []
    assert _results(other_district_client, QUOTAS) == []
    # "Does not exist": back to the index, nothing shown and nothing audited.
    assert other_district_client.get(f"{LISTS}{declared_list.pk}/change/").status_code == 302
    assert not AuditEntry.objects.filter(action=AuditEntry.Action.UNMASK).exists()


# -- The list's page -----------------------------------------------------------------------------


def test_the_page_marks_the_fields_that_failed_matching(officer_client: Client, failed_list: Inventory) -> None:
    html = _page(officer_client, failed_list)

    assert "The four documents side by side" in html
    # Rule 2 compared the payment's amount with the order's: both cells are marked, nothing else.
    assert sorted(MARKED_CELL.findall(html)) == [(AMOUNT_RULE, "400.00"), (AMOUNT_RULE, "445.13")]
    [failure] = [r for r in RuleResult.objects.filter(inventory=failed_list) if r.outcome == "failed"]
    assert (failure.rule, failure.field) == ("payment_amount_equals_order", "amount_paid")


def test_the_page_shows_the_latest_rule_results(officer_client: Client, failed_list: Inventory) -> None:
    response = officer_client.get(f"{LISTS}{failed_list.pk}/change/")

    results = response.context["rule_results"]
    assert {r.run for r in results} == {1}
    assert [(r.rule, r.list_value, r.other_value) for r in results if r.outcome == "failed"] == [
        ("payment_amount_equals_order", "400.00000", "445.13000")
    ]
    assert "Rule results of matching run 1" in response.content.decode()


def test_only_the_latest_run_marks_fields(send: Send, officer_client: Client, failed_list: Inventory) -> None:
    # The payment is corrected: matching runs again and passes.
    payment = examples.document("payment", app_type="2", app_time="20261125120000")
    assert send("payment", payment).status_code == 200
    failed_list.refresh_from_db()
    assert failed_list.status == InventoryStatus.DECLARED

    html = _page(officer_client, failed_list)

    assert MARKED_CELL.findall(html) == []
    assert "Rule results of matching run 2" in html


def test_the_page_shows_the_tax_estimate_and_the_history(officer_client: Client, declared_list: Inventory) -> None:
    estimate = TaxEstimate.objects.get(inventory=declared_list)

    response = officer_client.get(f"{LISTS}{declared_list.pk}/change/")

    html = response.content.decode()
    assert response.context["tax_estimate"] == estimate
    assert estimate.get_mode_display() in html
    for item in estimate.items.all():
        assert f"<td>{item.gcode}</td>" in html
    assert f"tax {estimate.tax_total}" in html
    history = [(c.from_status, c.to_status) for c in response.context["history"]]
    assert history == [("", "pending_documents"), ("pending_documents", "matched"), ("matched", "declared")]
    assert "declared to customs automatically" in html


def test_a_list_not_matched_yet_shows_what_it_has(send: Send, officer_client: Client) -> None:
    assert send("inventory").status_code == 201
    inventory = Inventory.objects.get()

    response = officer_client.get(f"{LISTS}{inventory.pk}/change/")

    html = response.content.decode()
    assert "The list has not been matched yet." in html
    assert "No estimate: the list has not passed matching." in html
    assert [c.document for c in response.context["comparison"].columns] == [inventory, None, None, None]


def test_names_and_phones_are_masked_without_the_permission(officer_client: Client, declared_list: Inventory) -> None:
    html = _page(officer_client, declared_list)

    assert BUYER_NAME not in html
    assert PHONE not in html
    assert ADDRESS not in html
    assert "张*" in html
    assert "138****8000" in html
    assert MASKED_ID in html
    assert not AuditEntry.objects.filter(action=AuditEntry.Action.UNMASK).exists()


def test_an_officer_with_the_permission_sees_them_and_it_is_audited(
    unmasking_client: Client, declared_list: Inventory
) -> None:
    html = _page(unmasking_client, declared_list)

    assert BUYER_NAME in html
    assert PHONE in html
    assert ADDRESS in html
    assert MASKED_ID in html  # ID numbers are never shown in full
    entries = AuditEntry.objects.filter(action=AuditEntry.Action.UNMASK)
    assert {(e.object_type, e.actor) for e in entries} == {
        ("declarations.inventory", "admin:privacy-officer"),
        ("declarations.order", "admin:privacy-officer"),
        ("declarations.payment", "admin:privacy-officer"),
        ("declarations.waybill", "admin:privacy-officer"),
    }


def test_the_superuser_sees_personal_data_and_it_is_audited(superuser_client: Client, declared_list: Inventory) -> None:
    html = _page(superuser_client, declared_list)

    assert BUYER_NAME in html
    assert AuditEntry.objects.filter(
        action=AuditEntry.Action.UNMASK, object_type="declarations.inventory", object_id=str(declared_list.pk)
    ).exists()


def test_the_page_changes_nothing(officer_client: Client, declared_list: Inventory) -> None:
    response = officer_client.post(f"{LISTS}{declared_list.pk}/change/", {"status": "released"})

    assert response.status_code == 403
    declared_list.refresh_from_db()
    assert declared_list.status == InventoryStatus.DECLARED


# -- Tax estimates and quotas ------------------------------------------------------------------


def test_tax_estimates_are_listed_read_only(officer_client: Client, declared_list: Inventory) -> None:
    estimate = TaxEstimate.objects.get(inventory=declared_list)

    assert _buyer_results(officer_client, ESTIMATES, BUYER_ID) == [estimate]
    assert _results(officer_client, ESTIMATES, q=examples.INVENTORY["cop_no"]) == [estimate]
    assert officer_client.get(f"{ESTIMATES}{estimate.pk}/change/").status_code == 200
    assert officer_client.get(f"{ESTIMATES}add/").status_code == 403
    assert officer_client.post(f"{ESTIMATES}{estimate.pk}/delete/", {"post": "yes"}).status_code == 403
    assert TaxEstimate.objects.filter(pk=estimate.pk).exists()


def test_quotas_are_listed_by_shortened_hash(officer_client: Client, declared_list: Inventory) -> None:
    quota = BuyerYearQuota.objects.get()
    digest = id_number_hash(BUYER_ID)
    assert quota.buyer_id_hash == digest

    response = officer_client.get(QUOTAS)

    html = response.content.decode()
    assert list(response.context["cl"].result_list) == [quota]
    assert f"{digest[:12]}…" in html
    assert digest not in html
    assert _buyer_results(officer_client, QUOTAS, BUYER_ID) == [quota]
    assert _buyer_results(officer_client, QUOTAS, BUYER_ID_ENDING_X) == []
    assert officer_client.get(f"{QUOTAS}add/").status_code == 403
