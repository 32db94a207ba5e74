"""Which of logistics' rows a regulator sees (``single_window.scope``).

- a track goes with its carrier's park and, once its waybill is known, with its list's customs
  district; its events go with it;
- a delay norm goes with its carrier's park;
- a stock account book goes with the park of its warehouse operator (``park_code``, taken from
  the registry when the book was opened); its items, receipts, reservations and ledger go with
  it;
- a stock shortfall goes with the list's park (the area enterprise's), and with its book.
"""

from __future__ import annotations

from django.db.models import Q

from logistics.models import (
    DelayNorm,
    StockAccountBook,
    StockItem,
    StockMovement,
    StockReceipt,
    StockReceiptLine,
    StockReservation,
    StockShortfall,
    TrackingEvent,
    WaybillTrack,
)
from single_window.scope import Scope, register_scope_rule


def _carrier(scope: Scope, field: str) -> Q:
    enterprises = scope.enterprises()
    return Q(**{f"{field}__in": enterprises.values("customs_code")}) | Q(**{f"{field}__in": enterprises.values("uscc")})


def of_track(scope: Scope, path: str = "") -> Q:
    parks = scope.parks().values("code")
    return (
        (~Q(**{f"{path}customs_code": ""}) & Q(**{f"{path}customs_code__in": scope.districts}))
        | (~Q(**{f"{path}park_code": ""}) & Q(**{f"{path}park_code__in": parks}))
        | _carrier(scope, f"{path}logistics_code")
    )


def of_book(scope: Scope, path: str = "") -> Q:
    parks = scope.parks().values("code")
    return ~Q(**{f"{path}park_code": ""}) & Q(**{f"{path}park_code__in": parks})


def of_shortfall(scope: Scope) -> Q:
    parks = scope.parks().values("code")
    return (~Q(park_code="") & Q(park_code__in=parks)) | of_book(scope, "book__")


def register() -> None:
    """Called once, from ``LogisticsConfig.ready``."""
    register_scope_rule(WaybillTrack, of_track)
    register_scope_rule(TrackingEvent, lambda scope: of_track(scope, "track__"))
    register_scope_rule(DelayNorm, lambda scope: _carrier(scope, "logistics_code"))
    register_scope_rule(StockAccountBook, of_book)
    register_scope_rule(StockItem, lambda scope: of_book(scope, "book__"))
    register_scope_rule(StockReceipt, lambda scope: of_book(scope, "book__"))
    register_scope_rule(StockReceiptLine, lambda scope: of_book(scope, "receipt__book__"))
    register_scope_rule(StockReservation, lambda scope: of_book(scope, "book__"))
    register_scope_rule(StockMovement, lambda scope: of_book(scope, "book__"))
    register_scope_rule(StockShortfall, of_shortfall)
