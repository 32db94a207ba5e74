"""What an enterprise may read of export returns: a return it filed, or one of a list whose
consignor it is; a tally it filed. Everything else is answered as not found."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from declarations.models import ExportList, ExportListStatus
from declarations.models.export_returns import ExportReturn
from single_window.models import Enterprise


def returns_visible_to(*, enterprise: Enterprise) -> QuerySet[ExportReturn]:
    return ExportReturn.objects.filter(Q(requested_by=enterprise) | Q(ebc_code__in=enterprise.codes))


def return_for(*, enterprise: Enterprise, return_id: int) -> ExportReturn | None:
    return returns_visible_to(enterprise=enterprise).filter(pk=return_id).prefetch_related("items", "tallies").first()


def list_for_return(*, enterprise: Enterprise, invt_no: str) -> ExportList | None:
    """The list customs numbered ``invt_no`` when the caller is its consignor or its declaring
    agent; None otherwise (as for a number nobody holds)."""
    codes = enterprise.codes
    return (
        ExportList.objects.filter(invt_no=invt_no)
        .filter(Q(ebc_code__in=codes) | Q(agent_code__in=codes))
        .exclude(status=ExportListStatus.DELETED)
        .order_by("-id")
        .first()
    )
