from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured
from django.urls import URLPattern, path

from declarations.export.returns_apis import ReturnCollectionApi, ReturnDetailApi, TallyApi
from declarations.export.summaries_apis import SummaryCollectionApi, SummaryDetailApi
from declarations.export.urls import urlpatterns as export_urlpatterns
from declarations.intake.apis import (
    BatchApi,
    DocumentByKeyApi,
    DocumentCollectionApi,
    DocumentDetailApi,
    InventoryByKeyApi,
    InventoryCancelApi,
    InventoryCollectionApi,
    InventoryDetailApi,
    InventoryReturnsApi,
    OrderByKeyApi,
    OrderCollectionApi,
    OrderDetailApi,
    OrderTraceApi,
    PaymentByKeyApi,
    PaymentCollectionApi,
    PaymentDetailApi,
    WaybillByKeyApi,
    WaybillCollectionApi,
    WaybillDetailApi,
)
from declarations.intake.arrival_apis import ArrivalDetailApi, ArrivalSubmitApi

app_name = "declarations"


def _document_urls(
    collection: type[DocumentCollectionApi], detail: type[DocumentDetailApi], by_key: type[DocumentByKeyApi]
) -> list[URLPattern]:
    """Submit and list, one by id, one by business key: under the plural of the views' type."""
    kind = collection.document_type
    if detail.document_type is not kind or by_key.document_type is not kind:
        msg = f"{detail.__name__} and {by_key.__name__} must serve {kind.name}s, as {collection.__name__} does"
        raise ImproperlyConfigured(msg)
    return [
        path(kind.plural, collection.as_view(), name=f"{kind.name}-submit"),
        path(f"{kind.plural}/<int:document_id>", detail.as_view(), name=f"{kind.name}-detail"),
        path(f"{kind.plural}/<str:first>/<str:second>", by_key.as_view(), name=f"{kind.name}-by-key"),
    ]


urlpatterns: list[URLPattern] = [
    path("batches", BatchApi.as_view(), name="batch-submit"),
    path("arrivals", ArrivalSubmitApi.as_view(), name="arrival-submit"),
    path("arrivals/<int:arrival_id>", ArrivalDetailApi.as_view(), name="arrival-detail"),
    path("inventories/<int:inventory_id>/cancel", InventoryCancelApi.as_view(), name="inventory-cancel"),
    path("inventories/<int:inventory_id>/returns", InventoryReturnsApi.as_view(), name="inventory-returns"),
    path("orders/<str:first>/<str:second>/trace", OrderTraceApi.as_view(), name="order-trace"),
    *_document_urls(OrderCollectionApi, OrderDetailApi, OrderByKeyApi),
    *_document_urls(PaymentCollectionApi, PaymentDetailApi, PaymentByKeyApi),
    *_document_urls(WaybillCollectionApi, WaybillDetailApi, WaybillByKeyApi),
    *_document_urls(InventoryCollectionApi, InventoryDetailApi, InventoryByKeyApi),
    # The export documents, under /api/v1/export/.
    *export_urlpatterns,
]

# --- Export summary declarations (CEB701/702/792) and export returns (CEB213-216) ---------------
urlpatterns += [
    path("export/summaries", SummaryCollectionApi.as_view(), name="export-summaries"),
    path("export/summaries/<int:summary_id>", SummaryDetailApi.as_view(), name="export-summary-detail"),
    path("export/returns", ReturnCollectionApi.as_view(), name="export-returns"),
    path("export/returns/tallies", TallyApi.as_view(), name="export-return-tallies"),
    path("export/returns/<int:return_id>", ReturnDetailApi.as_view(), name="export-return-detail"),
]
