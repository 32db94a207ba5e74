"""``/api/v1/export/``: the export documents, a list's cancellation, a parcel's trace."""

from __future__ import annotations

from django.urls import URLPattern, path

from declarations.export import kinds
from declarations.export.apis import ExportListCancelApi, ExportTraceApi, views_for


def _document_urls(kind: kinds.ExportKind) -> list[URLPattern]:
    collection, detail, by_key = views_for(kind)
    return [
        path(f"export/{kind.plural}", collection.as_view(), name=f"{kind.name}-submit"),
        path(f"export/{kind.plural}/<int:document_id>", detail.as_view(), name=f"{kind.name}-detail"),
        path(f"export/{kind.plural}/<str:first>/<str:second>", by_key.as_view(), name=f"{kind.name}-by-key"),
    ]


urlpatterns: list[URLPattern] = [
    path("export/lists/<int:list_id>/cancel", ExportListCancelApi.as_view(), name="export_list-cancel"),
    path("export/parcels/<str:ebp_code>/<str:order_no>/trace", ExportTraceApi.as_view(), name="export_parcel-trace"),
    *[pattern for kind in kinds.KINDS.values() for pattern in _document_urls(kind)],
]
