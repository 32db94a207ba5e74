"""Where an export parcel stands beyond its documents: has it left the country, was its list
summarised into a customs declaration. Read by the checks at intake and by the declare step."""

from __future__ import annotations

from collections.abc import Callable

from django.db.models import Q

from declarations.models import DocumentStatus, ExportDepartureItem, ExportList, ExportListStatus

# (ebp_code, order_no, logistics_code, logistics_no) -> was the parcel summarised?
SummarisedCheck = Callable[[str, str, str, str], bool]
_SUMMARISED_CHECKS: list[SummarisedCheck] = []


def register_summarised_check(check: SummarisedCheck) -> None:
    """The summary declarations' answer to "was this parcel summarised?" (called at start-up)."""
    _SUMMARISED_CHECKS.append(check)


def parcel_departed(*, logistics_code: str, logistics_no: str) -> bool:
    return ExportDepartureItem.objects.filter(
        logistics_no=logistics_no,
        departure__logistics_code=logistics_code,
        departure__status=DocumentStatus.DECLARED,
    ).exists()


def parcel_summarised(*, ebp_code: str, order_no: str, logistics_code: str, logistics_no: str) -> bool:
    summarised = ExportList.objects.filter(
        Q(ebp_code=ebp_code, order_no=order_no) | Q(logistics_code=logistics_code, logistics_no=logistics_no),
        status=ExportListStatus.SUMMARISED,
    ).exists()
    return summarised or any(check(ebp_code, order_no, logistics_code, logistics_no) for check in _SUMMARISED_CHECKS)
