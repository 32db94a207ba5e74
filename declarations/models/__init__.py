from __future__ import annotations

from declarations.models.decisions import (
    BuyerYearQuota,
    DeclareDecision,
    QuotaReservation,
    RuleResult,
    TaxEstimate,
    TaxEstimateItem,
)
from declarations.models.delivery import (
    ArrivalManifest,
    ArrivalManifestLine,
    CustomsAnswerStatus,
    WaybillDeliveryNotice,
)
from declarations.models.dispatch import CustomsMessageDocument
from declarations.models.documents import (
    INVENTORY_DECLARED_STATES,
    Declaration,
    DocumentStatus,
    IdentityVerification,
    Inventory,
    InventoryCancellation,
    InventoryInReview,
    InventoryItem,
    InventoryReturn,
    InventoryReturnItem,
    InventoryStatus,
    Order,
    OrderItem,
    Payment,
    Waybill,
)
from declarations.models.lifecycle import InventoryStatusChange, StatusChangeSource
from declarations.models.reference import CountryCode, PositiveListEntry, ReferenceSource, TaxRate, UnitCode

__all__ = [
    "INVENTORY_DECLARED_STATES",
    "ArrivalManifest",
    "ArrivalManifestLine",
    "BuyerYearQuota",
    "CountryCode",
    "CustomsAnswerStatus",
    "CustomsMessageDocument",
    "Declaration",
    "DeclareDecision",
    "DocumentStatus",
    "IdentityVerification",
    "Inventory",
    "InventoryCancellation",
    "InventoryInReview",
    "InventoryItem",
    "InventoryReturn",
    "InventoryReturnItem",
    "InventoryStatus",
    "InventoryStatusChange",
    "Order",
    "OrderItem",
    "Payment",
    "PositiveListEntry",
    "QuotaReservation",
    "ReferenceSource",
    "RuleResult",
    "StatusChangeSource",
    "TaxEstimate",
    "TaxEstimateItem",
    "TaxRate",
    "UnitCode",
    "Waybill",
    "WaybillDeliveryNotice",
]
