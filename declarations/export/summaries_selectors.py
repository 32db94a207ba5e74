"""What an enterprise may read of summary declarations: its own as consignor (the summary's
enterprise) or as the declaring agent that signed it (``agent_code``); nothing else."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from declarations.models.export_summary import ExportSummary
from single_window.models import Enterprise


def summaries_visible_to(*, enterprise: Enterprise) -> QuerySet[ExportSummary]:
    return ExportSummary.objects.filter(Q(enterprise=enterprise) | Q(agent_code__in=enterprise.codes))


def summary_for(*, enterprise: Enterprise, summary_id: int) -> ExportSummary | None:
    """One summary with its lines and lists, or None (not there, or not the caller's)."""
    return (
        summaries_visible_to(enterprise=enterprise)
        .filter(pk=summary_id)
        .prefetch_related("lines", "lists", "messages")
        .first()
    )
