"""Which of logistics' rows a regulator sees (``single_window.scope``).

- a stock account book goes with the park of its warehouse operator (``park_code``, taken from
  the registry when the book was opened); its items, receipts, reservations and ledger go with
  it;
- a stock shortfall goes with the list's park (the area enterprise's), and with its book.
"""

from __future__ import annotations

from django.db.models import Q

from logistics.models import (
    StockAccountBook,
    StockItem,
    StockMovement,
    StockReceipt,
    StockReceiptLine,
    StockReservation,
    StockShortfall,
)
from single_window.scope import Scope, register_scope_rule


def of_book(scope: Scope, path: str = "") -> Q:
    parks = scope.parks().values("code")
    return ~Q(**{f"{path}park_code": ""}) & Q(**{f"{path}park_code__in": parks})


def of_shortfall(scope: Scope) -> Q:
    parks = scope.parks().values("code")
    return (~Q(park_code="") & Q(park_code__in=parks)) | of_book(scope, "book__")


def register() -> None:
    """Called once, from ``LogisticsConfig.ready``."""
    register_scope_rule(StockAccountBook, of_book)
    register_scope_rule(StockItem, lambda scope: of_book(scope, "book__"))
    register_scope_rule(StockReceipt, lambda scope: of_book(scope, "book__"))
    register_scope_rule(StockReceiptLine, lambda scope: of_book(scope, "receipt__book__"))
    register_scope_rule(StockReservation, lambda scope: of_book(scope, "book__"))
    register_scope_rule(StockMovement, lambda scope: of_book(scope, "book__"))
    register_scope_rule(StockShortfall, of_shortfall)
