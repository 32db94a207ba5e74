"""What finance tells others: a list's tax bills (the parcel trace, the admin's list pages),
a guarantor's account, the statements of a period, the financing applications an
enterprise sees, and a seller's export proceeds by month and currency.

Other apps import this module only. Bills go out as frozen dataclasses.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.functions import TruncMonth

from finance import guarantees
from finance.models import (
    ExportProceeds,
    FinancingApplication,
    FinancingRecordRead,
    GuaranteeAccount,
    TaxBill,
    TaxBillStatusChange,
)
from single_window.models import Enterprise


@dataclass(frozen=True)
class BillStatusView:
    status: str
    ent_duty_no: str
    at: datetime.datetime


@dataclass(frozen=True)
class BillView:
    """A list's tax bill as the trace shows it: customs' figures, the estimate's, what differs."""

    tax_no: str
    invt_no: str
    status: str
    ent_duty_no: str
    customs_tax: Decimal
    value_added_tax: Decimal
    consumption_tax: Decimal
    tax_total: Decimal
    estimated_total: Decimal | None
    differences: dict[str, Any]
    issued_at: datetime.datetime
    received_at: datetime.datetime
    changes: tuple[BillStatusView, ...]

    @property
    def differs(self) -> bool:
        return bool(self.differences)


def tax_bills_of_list(*, inventory_id: int) -> list[BillView]:
    """The bills customs issued for a list, oldest first, each with its status changes."""
    found = list(TaxBill.objects.filter(inventory_id=inventory_id).order_by("issued_at", "id"))
    changes: dict[int, list[BillStatusView]] = {}
    for change in TaxBillStatusChange.objects.filter(bill__in=found, applied=True).order_by("occurred_at", "id"):
        assert change.bill_id is not None  # noqa: S101 - filtered on bill
        changes.setdefault(change.bill_id, []).append(
            BillStatusView(status=change.status, ent_duty_no=change.ent_duty_no, at=change.occurred_at)
        )
    return [
        BillView(
            tax_no=bill.tax_no,
            invt_no=bill.invt_no,
            status=bill.status,
            ent_duty_no=bill.ent_duty_no,
            customs_tax=bill.customs_tax,
            value_added_tax=bill.value_added_tax,
            consumption_tax=bill.consumption_tax,
            tax_total=bill.tax_total,
            estimated_total=bill.estimated_total,
            differences=bill.differences,
            issued_at=bill.issued_at,
            received_at=bill.received_at,
            changes=tuple(changes.get(bill.pk, ())),
        )
        for bill in found
    ]


def bill_flags_of_lists(*, inventory_ids: Iterable[int]) -> dict[int, bool]:
    """For the admin's list pages: list id -> whether a bill of it differs from the estimate
    (lists without a bill are absent). One query."""
    rows = (
        TaxBill.objects.filter(inventory_id__in=list(inventory_ids))
        .exclude(status="3")
        .values("inventory_id")
        .annotate(bills=Count("id"), differing=Count("id", filter=~Q(differences={})))
    )
    return {row["inventory_id"]: row["differing"] > 0 for row in rows if row["inventory_id"] is not None}


def tax_bills_in_force() -> QuerySet[TaxBill]:
    """Bills customs has not voided (for an ``Exists`` on a list: ``inventory_id=OuterRef("pk")``)."""
    return TaxBill.objects.exclude(status="3")


def account_of_enterprise(*, enterprise: Enterprise) -> GuaranteeAccount | None:
    codes = enterprise.codes
    return GuaranteeAccount.objects.filter(code__in=codes).first() if codes else None


def cover_of(code: str) -> guarantees.Cover:
    return guarantees.cover_of(code)


def bills_of_guarantor(*, enterprise: Enterprise) -> QuerySet[TaxBill]:
    codes = enterprise.codes
    return TaxBill.objects.filter(assure_code__in=codes)


def tax_paid(*, enterprise: Enterprise, since: datetime.datetime) -> Decimal:
    """Tax of the bills issued since ``since`` for lists of ``enterprise`` (as e-commerce
    enterprise or guarantor) that customs has not voided."""
    codes = enterprise.codes
    total = (
        TaxBill.objects.filter(Q(ebc_code__in=codes) | Q(assure_code__in=codes), issued_at__gte=since)
        .exclude(status="3")
        .aggregate(total=Sum("tax_total"))["total"]
    )
    return total or Decimal(0)


def applications_of(*, enterprise: Enterprise) -> QuerySet[FinancingApplication]:
    """The financing applications ``enterprise`` made, and those addressed to it as a financial
    institution, newest first."""
    return (
        FinancingApplication.objects.filter(Q(applicant=enterprise) | Q(institution=enterprise))
        .select_related("applicant", "institution")
        .order_by("-created_at", "-id")
    )


def application_of(*, enterprise: Enterprise, application_id: int) -> FinancingApplication | None:
    """The application if ``enterprise`` made it or is its institution; else None (the API
    answers 404, as for an id nobody used)."""
    return applications_of(enterprise=enterprise).filter(pk=application_id).first()


def record_reads_of(*, application: FinancingApplication, limit: int = 50) -> list[FinancingRecordRead]:
    """The institution's reads of the applicant's record with ``application``, newest first."""
    return list(FinancingRecordRead.objects.filter(application=application).order_by("-read_at", "-id")[:limit])


@dataclass(frozen=True)
class ProceedsTotal:
    """A seller's export proceeds of one month (China Standard Time) in one currency."""

    month: str  # "2026-11"
    currency: str
    lists: int
    amount: Decimal
    # The CNY of the rows converted; those awaiting a rate are counted apart and not in it.
    amount_cny: Decimal
    awaiting_rate: int


def export_proceeds(
    *, ebc_codes: Iterable[str], date_from: datetime.date, date_to: datetime.date
) -> list[ProceedsTotal]:
    """The proceeds of the lists released from ``date_from`` to ``date_to`` (both included)
    whose seller is one of ``ebc_codes``, summed by month of release and currency, oldest
    month first. One query."""
    codes = [code for code in ebc_codes if code]
    if not codes:
        return []
    rows = (
        ExportProceeds.objects.filter(ebc_code__in=codes, released_on__gte=date_from, released_on__lte=date_to)
        .annotate(month=TruncMonth("released_on"))
        .values("month", "currency")
        .annotate(
            lists=Count("export_list_id", distinct=True),
            total=Sum("amount"),
            total_cny=Sum("amount_cny"),
            waiting=Count("id", filter=Q(amount_cny__isnull=True)),
        )
        .order_by("month", "currency")
    )
    return [
        ProceedsTotal(
            month=f"{row['month']:%Y-%m}",
            currency=row["currency"],
            lists=row["lists"],
            amount=row["total"] or Decimal(0),
            amount_cny=row["total_cny"] or Decimal("0.00"),
            awaiting_rate=row["waiting"],
        )
        for row in rows
    ]
