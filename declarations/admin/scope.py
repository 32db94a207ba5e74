"""Which import documents a regulator sees: the declarations part of the scope rule, registered
with the hub's register (``single_window.scope``) and so applied by every admin page, the audit
log among them.

1. A list is in scope when its ``customs_code`` or ``port_code`` is one of the regulator's
   districts, or when the park the regulator is named to holds the list's area enterprise
   (``area_code``, the bonded warehouse) or, for a list without one, its declaring agent
   (``agent_code``).
2. An order, payment or waybill is seen through a list in scope that matching pairs it with
   (``clearance.matching.parcel_documents``): the order of the list's ``ebp_code + order_no``
   and its own e-commerce enterprise (``ebc_code``), the payment of ``ebp_code + order_no``,
   the waybill of ``logistics_code + logistics_no``. Where the order's platform or the payment
   company sits does not matter: a district's officer sees the documents of the lists declared
   or entering there, and no others. A carrier's delivery notice (CEB513) goes with its
   waybill: by the same keys.
3. What the single window decided about a list (its items, rule results, decisions, tax
   estimate and bill, history, cancellation, return requests, quota reservation) goes with the list; a buyer's
   yearly quota is seen through a reservation of a list in scope.

4. A site operator's arrival manifest (CEB711) is in scope when its ``customs_code`` is one of
   the regulator's districts, or the park the regulator is named to holds its operator; its
   lines go with it.

5. An export list (CEB603) is in scope as an import list is: when its ``customs_code`` or
   ``port_code`` is one of the regulator's districts, or the park the regulator is named to
   holds its declaring agent (``agent_code``), its e-commerce enterprise (``ebc_code``) or, for a
   special-zone export (1210), its zone enterprise (``iac_code``).
6. The export documents are seen through a list in scope that names them: the order and the
   payment receipt by ``ebp_code + order_no``, the waybill by ``logistics_code + logistics_no``.
   An arrival, departure or master bill carries its own district (``customs_code``) and party
   (the site operator, the carrier, the declaring agent): in scope by those, or when one of its
   parcels is a list in scope. A list's lines, history and cancellations go with it; so do the
   summary declarations and returns that name a list in scope (besides their own rules, in
   ``declarations.export``).

Reference data (the positive list, tax rates, code tables) is nationwide: customs publishes
one table for the whole country, so every regulator sees all of it.
"""

from __future__ import annotations

from collections.abc import Callable

from django.db.models import Exists, Model, OuterRef, Q, QuerySet

from declarations.models import (
    ArrivalManifest,
    ArrivalManifestLine,
    BuyerYearQuota,
    CountryCode,
    DeclareDecision,
    ExportArrival,
    ExportArrivalItem,
    ExportDeparture,
    ExportDepartureItem,
    ExportList,
    ExportListCancellation,
    ExportListItem,
    ExportListStatusChange,
    ExportMasterBill,
    ExportMasterBillItem,
    ExportOrder,
    ExportOrderItem,
    ExportPaymentReceipt,
    ExportWaybill,
    Inventory,
    InventoryCancellation,
    InventoryInReview,
    InventoryItem,
    InventoryReturn,
    InventoryReturnItem,
    InventoryStatusChange,
    Order,
    OrderItem,
    Payment,
    PositiveListEntry,
    QuotaReservation,
    RuleResult,
    TaxEstimate,
    TaxEstimateItem,
    TaxRate,
    UnitCode,
    Waybill,
    WaybillDeliveryNotice,
)
from single_window.scope import Scope, ScopeRule, register_nationwide, register_scope_rule


def inventory_rule(scope: Scope) -> Q:
    """Step 1: the lists ``scope`` covers."""
    districts = Q(customs_code__in=scope.districts) | Q(port_code__in=scope.districts)
    area = ~Q(area_code="") & scope.enterprise_named("area_code")
    agent = Q(area_code="") & scope.enterprise_named("agent_code")
    return districts | area | agent


def arrival_rule(scope: Scope) -> Q:
    """Step 4: the arrival manifests ``scope`` covers."""
    return Q(customs_code__in=scope.districts) | Q(scope.enterprise_named("operator_code"))


def lists_in(scope: Scope) -> QuerySet[Inventory]:
    return Inventory.objects.filter(inventory_rule(scope))


def export_list_rule(scope: Scope) -> Q:
    """Step 5: the export lists ``scope`` covers."""
    districts = Q(customs_code__in=scope.districts) | Q(port_code__in=scope.districts)
    parties = Q(scope.enterprise_named("agent_code")) | Q(scope.enterprise_named("ebc_code"))
    zone = ~Q(iac_code="") & Q(scope.enterprise_named("iac_code"))
    return districts | parties | zone


def export_lists_in(scope: Scope) -> QuerySet[ExportList]:
    return ExportList.objects.filter(export_list_rule(scope))


def _named_by_an_export_list(*keys: str) -> ScopeRule:
    """Step 6: an export document some export list in scope names by ``keys``."""
    return lambda scope: Q(Exists(export_lists_in(scope).filter(**{key: OuterRef(key) for key in keys})))


def _carrying_a_parcel(
    item_model: type[ExportArrivalItem | ExportDepartureItem | ExportMasterBillItem],
    document: str,
    own: Callable[[Scope], Q],
) -> ScopeRule:
    """Step 6: an arrival, departure or master bill in scope by its own fields (``own``), or
    carrying a parcel (its carrier's waybill) that an export list in scope declares."""

    def rule(scope: Scope) -> Q:
        parcels = item_model.objects.filter(
            Exists(
                export_lists_in(scope).filter(
                    logistics_code=OuterRef(f"{document}__logistics_code"), logistics_no=OuterRef("logistics_no")
                )
            )
        )
        return own(scope) | Q(pk__in=parcels.values(f"{document}_id"))

    return rule


EXPORT_ARRIVAL_RULE = _carrying_a_parcel(
    ExportArrivalItem,
    "arrival",
    lambda scope: Q(customs_code__in=scope.districts) | Q(scope.enterprise_named("operator_code")),
)
EXPORT_DEPARTURE_RULE = _carrying_a_parcel(
    ExportDepartureItem,
    "departure",
    lambda scope: Q(customs_code__in=scope.districts) | Q(scope.enterprise_named("logistics_code")),
)
EXPORT_MASTER_BILL_RULE = _carrying_a_parcel(
    ExportMasterBillItem,
    "master_bill",
    lambda scope: Q(customs_code__in=scope.districts) | Q(scope.enterprise_named("agent_code")),
)
EXPORT_ORDER_RULE = _named_by_an_export_list("ebp_code", "order_no", "ebc_code")


def _of_export_list(path: str) -> ScopeRule:
    """Step 6: a row that goes with the export list at ``path``."""
    return lambda scope: Q(**{f"{path}__in": export_lists_in(scope)})


def _of(path: str, model: type[Model], rule: ScopeRule) -> ScopeRule:
    """A line that goes with its document at ``path`` (of ``model``, seen by ``rule``)."""
    return lambda scope: Q(**{f"{path}__in": model._default_manager.filter(rule(scope))})


def _named_by_a_list(*keys: str) -> ScopeRule:
    """Step 2: a document some list in scope names by ``keys``."""
    return lambda scope: Q(Exists(lists_in(scope).filter(**{key: OuterRef(key) for key in keys})))


def _of_list(path: str) -> ScopeRule:
    """Step 3: a row that goes with the list at ``path``."""
    return lambda scope: Q(**{f"{path}__in": lists_in(scope)})


def register() -> None:
    """Called once, from ``DeclarationsConfig.ready``."""
    register_scope_rule(Inventory, inventory_rule)
    # The risk review queue: the same lists, seen the same way.
    register_scope_rule(InventoryInReview, inventory_rule)
    register_scope_rule(Order, _named_by_a_list("ebp_code", "order_no", "ebc_code"))
    register_scope_rule(Payment, _named_by_a_list("ebp_code", "order_no"))
    register_scope_rule(Waybill, _named_by_a_list("logistics_code", "logistics_no"))
    register_scope_rule(WaybillDeliveryNotice, _named_by_a_list("logistics_code", "logistics_no"))
    register_scope_rule(ArrivalManifest, arrival_rule)
    register_scope_rule(
        ArrivalManifestLine, lambda scope: Q(manifest__in=ArrivalManifest.objects.filter(arrival_rule(scope)))
    )
    register_scope_rule(
        OrderItem,
        lambda scope: Q(
            Exists(
                lists_in(scope).filter(
                    ebp_code=OuterRef("order__ebp_code"),
                    order_no=OuterRef("order__order_no"),
                    ebc_code=OuterRef("order__ebc_code"),
                )
            )
        ),
    )
    for model in (
        InventoryItem,
        InventoryCancellation,
        InventoryReturn,
        RuleResult,
        DeclareDecision,
        QuotaReservation,
        TaxEstimate,
        InventoryStatusChange,
    ):
        register_scope_rule(model, _of_list("inventory"))
    register_scope_rule(TaxEstimateItem, _of_list("estimate__inventory"))
    register_scope_rule(InventoryReturnItem, _of_list("inventory_return__inventory"))
    register_scope_rule(
        BuyerYearQuota,
        lambda scope: Q(Exists(QuotaReservation.objects.filter(quota=OuterRef("pk"), inventory__in=lists_in(scope)))),
    )
    register_nationwide(PositiveListEntry, TaxRate, CountryCode, UnitCode)
    register_export()


def register_export() -> None:
    """The export documents' rules (steps 5 and 6)."""
    register_scope_rule(ExportList, export_list_rule)
    for model in (ExportListItem, ExportListStatusChange, ExportListCancellation):
        register_scope_rule(model, _of_export_list("export_list"))
    register_scope_rule(ExportOrder, EXPORT_ORDER_RULE)
    register_scope_rule(ExportOrderItem, _of("order", ExportOrder, EXPORT_ORDER_RULE))
    register_scope_rule(ExportPaymentReceipt, _named_by_an_export_list("ebp_code", "order_no"))
    register_scope_rule(ExportWaybill, _named_by_an_export_list("logistics_code", "logistics_no"))
    register_scope_rule(ExportArrival, EXPORT_ARRIVAL_RULE)
    register_scope_rule(ExportArrivalItem, _of("arrival", ExportArrival, EXPORT_ARRIVAL_RULE))
    register_scope_rule(ExportDeparture, EXPORT_DEPARTURE_RULE)
    register_scope_rule(ExportDepartureItem, _of("departure", ExportDeparture, EXPORT_DEPARTURE_RULE))
    register_scope_rule(ExportMasterBill, EXPORT_MASTER_BILL_RULE)
    register_scope_rule(ExportMasterBillItem, _of("master_bill", ExportMasterBill, EXPORT_MASTER_BILL_RULE))
