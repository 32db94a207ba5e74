"""The regulators' pages of finance: customs officers keep the rates; the settlement reports
are read only, each regulator seeing the payment companies it covers."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client
from django.urls import reverse

from core.models import AuditEntry
from finance.models import ExchangeRate, SettlementReport
from single_window.models import Enterprise, Park, RegulatorScope, Role
from single_window.roles import AUDITOR, COMMERCE_BUREAU, CUSTOMS_OFFICER
from tests.factories import EnterpriseFactory, ParkFactory

pytestmark = pytest.mark.django_db

RATES = reverse("admin:finance_exchangerate_changelist")
RATE_ADD = reverse("admin:finance_exchangerate_add")
REPORTS = reverse("admin:finance_settlementreport_changelist")


def _regulator(username: str, group: str, **scope: object) -> User:
    user = User.objects.create_user(username=username, is_staff=True)
    user.groups.add(Group.objects.get(name=group))
    RegulatorScope.objects.create(user=user, **scope)
    return user


def _report(uploader: Enterprise) -> SettlementReport:
    return SettlementReport.objects.create(
        uploader=uploader,
        period_start=datetime.date(2026, 11, 25),
        period_end=datetime.date(2026, 11, 25),
        file_format="csv",
        file_sha256="0" * 64,
        file_size=10,
        row_count=0,
        payment_count=0,
        matched_count=0,
        mismatch_count=0,
    )


def test_a_customs_officer_adds_a_rate_and_the_change_is_audited(client: Client, park: Park) -> None:
    client.force_login(_regulator("officer", CUSTOMS_OFFICER, customs_district=park.customs_district))

    response = client.post(RATE_ADD, {"currency": "502", "rate_date": "2026-11-25", "rate": "7.1234", "source": "PBOC"})

    assert response.status_code == 302, response.content[:2000]
    rate = ExchangeRate.objects.get()
    assert (rate.currency, rate.rate) == ("502", Decimal("7.1234"))
    assert AuditEntry.objects.filter(object_type="finance.exchangerate", object_id=str(rate.pk)).exists()


def test_the_admin_refuses_a_rate_of_zero_and_a_second_rate_of_a_day(client: Client, park: Park) -> None:
    client.force_login(_regulator("officer", CUSTOMS_OFFICER, customs_district=park.customs_district))
    ExchangeRate.objects.create(currency="502", rate_date=datetime.date(2026, 11, 25), rate=Decimal("7.1"))

    for values in ({"rate_date": "2026-11-26", "rate": "0"}, {"rate_date": "2026-11-25", "rate": "7.2"}):
        response = client.post(RATE_ADD, {"currency": "502", "source": "", **values})
        assert response.status_code == 200  # the form again, with its error

    assert ExchangeRate.objects.count() == 1


def test_the_commerce_bureau_reads_the_rates_but_does_not_edit_them(client: Client, park: Park) -> None:
    client.force_login(_regulator("analyst", COMMERCE_BUREAU, park=park))

    assert client.get(RATES).status_code == 200
    assert client.get(RATE_ADD).status_code == 403


def test_a_regulator_sees_the_reports_of_the_payment_companies_it_covers_only(client: Client, park: Park) -> None:
    near = _report(EnterpriseFactory.create(roles=[Role.PAY], park=park))
    far = _report(EnterpriseFactory.create(roles=[Role.PAY], park=ParkFactory.create(customs_district="3104")))

    for user in (_regulator("analyst", COMMERCE_BUREAU, park=park), _regulator("auditor", AUDITOR, park=park)):
        client.force_login(user)
        listed = client.get(REPORTS)
        assert listed.status_code == 200
        assert set(listed.context["cl"].queryset.values_list("pk", flat=True)) == {near.pk}
        assert client.get(reverse("admin:finance_settlementreport_change", args=[near.pk])).status_code == 200
        change = reverse("admin:finance_settlementreport_change", args=[far.pk])
        assert client.get(change).status_code in {302, 403, 404}


def test_a_customs_officer_does_not_open_the_settlement_reports(client: Client, park: Park) -> None:
    client.force_login(_regulator("officer", CUSTOMS_OFFICER, customs_district=park.customs_district))

    assert client.get(REPORTS).status_code == 403
