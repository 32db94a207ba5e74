"""Finance in the regulators' admin: a customs officer keeps the guarantee accounts of its
district (a change needs a reason and is audited; a top-up judges held lists again), sees the
bills in its scope, and nothing outside it; a commerce-bureau analyst reads and changes nothing."""

from __future__ import annotations

import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client

from core.audit import Actor
from core.models import AuditEntry
from finance import bills, guarantees
from finance.models import GuaranteeAccount, GuaranteeMovement
from single_window.models import RegulatorScope, Role
from single_window.roles import COMMERCE_BUREAU, CUSTOMS_OFFICER
from tests.factories import EnterpriseFactory, ParkFactory

CST = ZoneInfo("Asia/Shanghai")
ACCOUNTS = "/admin/finance/guaranteeaccount/"
BILLS = "/admin/finance/taxbill/"

pytestmark = pytest.mark.django_db


def regulator(username: str, group: str, district: str) -> Client:
    user = User.objects.create_user(username=username, is_staff=True)
    user.groups.add(Group.objects.get(name=group))
    RegulatorScope.objects.create(user=user, customs_district=district)
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def accounts(db: None) -> dict[str, GuaranteeAccount]:
    """One guarantor in a park of district 2901, one in a park of 2902, each with an account and a bill."""
    found = {}
    for district, code in (("2901", "3301961001"), ("2902", "3301962001")):
        EnterpriseFactory.create(
            customs_code=code, roles=[Role.AGENT], park=ParkFactory.create(customs_district=district)
        )
        found[district] = guarantees.account_create(
            code=code, name=f"担保 {district}", amount=Decimal("100.00"), actor=Actor.system("t"), reason="BG"
        )
        bills.bill_receive(
            facts=bills.BillFacts(
                message_guid=f"G{district}",
                tax_no=f"TAX-{district}",
                invt_no=f"{district}2026I000000001",
                status="1",
                ent_duty_no="",
                customs_tax=Decimal(0),
                value_added_tax=Decimal("12.34"),
                consumption_tax=Decimal(0),
                issued_at=datetime.datetime(2026, 11, 3, tzinfo=CST),
                note="",
                assure_code=code,
                ebc_code="",
                logistics_code="",
                agent_code=code,
                customs_code=district,
                order_no="",
                logistics_no="",
                items=(),
            )
        )
    return found


def test_an_officer_sees_the_accounts_and_bills_of_its_district_only(accounts: dict[str, GuaranteeAccount]) -> None:
    officer = regulator("officer", CUSTOMS_OFFICER, "2901")

    page = officer.get(ACCOUNTS).content.decode()
    bill_page = officer.get(BILLS).content.decode()

    assert "3301961001" in page
    assert "3301962001" not in page
    assert "TAX-2901" in bill_page
    assert "TAX-2902" not in bill_page
    assert officer.get(f"{ACCOUNTS}{accounts['2902'].pk}/change/").status_code in {302, 404}


def test_an_officer_changes_an_amount_with_a_reason_and_it_is_audited(accounts: dict[str, GuaranteeAccount]) -> None:
    officer = regulator("officer", CUSTOMS_OFFICER, "2901")
    account = accounts["2901"]
    form = {"name": account.name, "amount": "250.00", "instrument": "BG-2", "expires_on": ""}

    refused = officer.post(f"{ACCOUNTS}{account.pk}/change/", form)
    saved = officer.post(f"{ACCOUNTS}{account.pk}/change/", {**form, "reason": "new bank guarantee BG-2"})

    assert refused.status_code == 200  # the form again, asking for the reason
    assert saved.status_code == 302
    account.refresh_from_db()
    assert (account.amount, account.instrument) == (Decimal("250.00"), "BG-2")
    entry = AuditEntry.objects.get(object_type="finance.guaranteeaccount", object_id=str(account.pk), action="update")
    assert (entry.actor, entry.reason) == ("admin:officer", "new bank guarantee BG-2")
    changes = GuaranteeMovement.objects.filter(account=account, kind="adjust").order_by("id")
    assert list(changes.values_list("amount_change", flat=True)) == [Decimal("100.00"), Decimal("150.00")]


def test_an_analyst_reads_but_changes_nothing(accounts: dict[str, GuaranteeAccount]) -> None:
    analyst = regulator("analyst", COMMERCE_BUREAU, "2901")
    account = accounts["2901"]

    assert analyst.get(ACCOUNTS).status_code == 200
    answer = analyst.post(
        f"{ACCOUNTS}{account.pk}/change/", {"name": "x", "amount": "0", "instrument": "", "reason": "cut"}
    )

    assert answer.status_code == 403
    account.refresh_from_db()
    assert account.amount == Decimal("100.00")


def test_the_bill_page_shows_what_differs(accounts: dict[str, GuaranteeAccount]) -> None:
    officer = regulator("officer", CUSTOMS_OFFICER, "2901")
    bill_id = bills.TaxBill.objects.get(tax_no="TAX-2901").pk

    page = officer.get(f"{BILLS}{bill_id}/change/")

    assert page.status_code == 200
    assert "12.34" in page.content.decode()
