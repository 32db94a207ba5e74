"""The regulators' pages of the export documents: an export list and what hangs on it are seen by
the officers of its district and the commerce bureau of its park, read-only, personal data masked,
codes shown with their names.

Personas: a customs officer of district 2901 (the parcel's), one of district 3104, and a
commerce-bureau analyst named to the parcel's park.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client

from core.models import AuditEntry
from declarations.models import ExportList, ExportListStatus, ExportOrder, ExportWaybill
from declarations.roles import PERSONAL_DATA_REVIEWERS
from declarations.tests.export.rows import SELLER_TELEPHONE, ExportParcel, export_parcel
from single_window.models import Park, RegulatorScope
from single_window.roles import COMMERCE_BUREAU, CUSTOMS_OFFICER
from tests.factories import Persona

LISTS = "/admin/declarations/exportlist/"
ORDERS = "/admin/declarations/exportorder/"
WAYBILLS = "/admin/declarations/exportwaybill/"
EN = {"accept-language": "en"}
ZH = {"accept-language": "zh-hans"}


def _regulator(username: str, group: str, *, reviewer: bool = False, **scope: Any) -> User:
    user = User.objects.create_user(username=username, is_staff=True)
    user.groups.add(Group.objects.get(name=group))
    if reviewer:
        user.groups.add(Group.objects.get(name=PERSONAL_DATA_REVIEWERS))
    RegulatorScope.objects.create(user=user, **scope)
    return user


@pytest.fixture
def parcel(parties: dict[str, Persona]) -> ExportParcel:
    """An export parcel declared in district 2901, every party in the park ``park``."""
    enterprises = {role: who.enterprise for role, who in parties.items()}
    return export_parcel(**enterprises, operator=enterprises["agent"], customs_code="2901", suffix="A0001")


@pytest.fixture
def officer(db: None) -> User:
    return _regulator("officer-2901", CUSTOMS_OFFICER, customs_district="2901")


@pytest.fixture
def other_officer(db: None) -> User:
    return _regulator("officer-3104", CUSTOMS_OFFICER, customs_district="3104")


@pytest.fixture
def analyst(park: Park) -> User:
    return _regulator("analyst", COMMERCE_BUREAU, park=park)


def _listed(client: Client, url: str) -> set[int]:
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return {row.pk for row in response.context["cl"].result_list}


def test_an_officer_of_the_lists_district_sees_the_list_and_its_order(
    client: Client, officer: User, parcel: ExportParcel
) -> None:
    client.force_login(officer)

    assert _listed(client, LISTS) == {parcel.export_list.pk}
    assert _listed(client, ORDERS) == {parcel.order.pk}
    for url in (f"{LISTS}{parcel.export_list.pk}/change/", f"{ORDERS}{parcel.order.pk}/change/"):
        assert client.get(url).status_code == 200, url


def test_an_officer_of_another_district_sees_neither(client: Client, other_officer: User, parcel: ExportParcel) -> None:
    client.force_login(other_officer)

    assert _listed(client, LISTS) == set()
    assert _listed(client, ORDERS) == set()
    for url in (f"{LISTS}{parcel.export_list.pk}/change/", f"{ORDERS}{parcel.order.pk}/change/"):
        # A row out of scope "does not exist": back to the admin's index.
        assert client.get(url).status_code == 302, url


def test_the_commerce_bureau_sees_the_parcel_masked(client: Client, analyst: User, parcel: ExportParcel) -> None:
    client.force_login(analyst)

    assert _listed(client, LISTS) == {parcel.export_list.pk}
    assert _listed(client, ORDERS) == {parcel.order.pk}
    page = client.get(f"{WAYBILLS}{parcel.waybill.pk}/change/")

    assert page.status_code == 200
    html = page.content.decode()
    assert SELLER_TELEPHONE not in html
    assert "139****5678" in html
    assert "(masked)" in html
    assert not AuditEntry.objects.filter(action=AuditEntry.Action.UNMASK).exists()


def test_the_commerce_bureau_changes_and_deletes_nothing(client: Client, analyst: User, parcel: ExportParcel) -> None:
    client.force_login(analyst)

    change = client.post(f"{LISTS}{parcel.export_list.pk}/change/", {"status": ExportListStatus.RELEASED})
    delete = client.post(f"{ORDERS}{parcel.order.pk}/delete/", {"post": "yes"})
    add = client.get(f"{ORDERS}add/")

    assert [change.status_code, delete.status_code, add.status_code] == [403, 403, 403]
    parcel.export_list.refresh_from_db()
    assert parcel.export_list.status == ExportListStatus.ACCEPTED
    assert ExportOrder.objects.filter(pk=parcel.order.pk).exists()


def test_a_personal_data_reviewer_sees_the_telephone_and_the_showing_is_audited(
    client: Client, parcel: ExportParcel
) -> None:
    reviewer = _regulator("reviewer", CUSTOMS_OFFICER, reviewer=True, customs_district="2901")
    client.force_login(reviewer)

    html = client.get(f"{WAYBILLS}{parcel.waybill.pk}/change/").content.decode()

    assert SELLER_TELEPHONE in html
    [entry] = AuditEntry.objects.filter(action=AuditEntry.Action.UNMASK)
    assert entry.object_type == ExportWaybill._meta.label_lower
    assert entry.object_id == str(parcel.waybill.pk)


def test_the_list_page_names_its_codes(client: Client, officer: User, parcel: ExportParcel) -> None:
    client.force_login(officer)

    english = client.get(LISTS, headers=EN)
    chinese = client.get(LISTS, headers=ZH)

    assert english.status_code == 200
    assert chinese.status_code == 200
    assert "9610 cross-border e-commerce (direct mail)" in english.content.decode()
    assert "9610 跨境贸易电子商务" in chinese.content.decode()
    assert "Customs district of declaration" in english.content.decode()
    orders = client.get(ORDERS, headers=EN).content.decode()
    assert "E B2C export order" in orders
    assert "Ebc code" not in orders


def test_the_list_page_is_filtered_by_status_trade_mode_and_district(
    client: Client, officer: User, parcel: ExportParcel
) -> None:
    client.force_login(officer)

    accepted = _listed(client, f"{LISTS}?status={ExportListStatus.ACCEPTED}&trade_mode=9610&customs_code=2901")
    released = _listed(client, f"{LISTS}?status={ExportListStatus.RELEASED}")

    assert accepted == {parcel.export_list.pk}
    assert released == set()
    assert ExportList.objects.count() == 1
