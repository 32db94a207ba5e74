"""Bonded warehouse stock (trade mode 1210): goods in, what declared lists reserve, what
customs' release takes out, and what is given back (``docs/logistics-stock.md``).

Every change to an item's figures is ONE conditional UPDATE of its row, so parallel
declarations never reserve more than is on hand, and nothing is read, changed and written
back. Each change is also a ledger row (``StockMovement``).

The declare step's table (``docs/declare-step.md``, column (c)):

- ``reserve``: a 1210 list's quantities are reserved on its account book (``ems_no``,
  ``item_record_no``), all items or none; else the list is held (``stock_insufficient``,
  ``stock_item_unknown``, ``stock_unit_mismatch``) and the operator and the agent are told;
- ``consume`` (customs released the list, 800): the goods leave, ``on_hand`` and ``reserved``
  both go down;
- ``release``: a reservation still reserved is given back; goods already out come back on hand
  when the list is ``cancelled`` or ``returned``.

A receipt (goods in) has the lists held for its book judged again once it committed.
"""

from __future__ import annotations

import csv
import datetime
import io
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.db import IntegrityError, transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from core import errors
from core.audit import Actor, audit_record
from core.errors import Conflict, FieldError, Forbidden, InvalidInput, NotFoundError
from logistics import codes, event_types
from logistics.models import (
    StockAccountBook,
    StockItem,
    StockMovement,
    StockReceipt,
    StockReceiptLine,
    StockReservation,
    StockShortfall,
)
from logistics.models.stock import MovementKind, ReservationState
from single_window import declare
from single_window import selectors as registry
from single_window.declare import Decision, ItemFacts, ListFacts, ListRef, Reason, Verdict
from single_window.events import event_publish
from single_window.models import Enterprise, Role

logger = logging.getLogger(__name__)

BONDED = "1210"
# A list that leaves "released" for one of these brings its goods back into the warehouse.
RESTOCK_OUTCOMES = frozenset({"cancelled", "returned"})


def qty_text(value: Decimal) -> str:
    """A quantity without trailing zeros: Decimal("10.00000") is "10", "2.50000" is "2.5"."""
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def codes_of(code: str) -> set[str]:
    """The codes an enterprise may be named by: the one given, and its other registered code."""
    return set(registry.codes_naming(code=code))


def _move(item: StockItem, kind: str, *, note: str = "", **changes: Decimal | int | str | None) -> None:
    StockMovement.objects.create(book_id=item.book_id, item=item, kind=kind, note=note[:500], **changes)


# --- Reads ---------------------------------------------------------------------------------------


def book_of_operator(*, enterprise: Enterprise, ems_no: str) -> StockAccountBook | None:
    """The account book ``ems_no`` when ``enterprise`` is its warehouse operator; else None
    (a book of someone else's reads as one nobody keeps)."""
    names = set(enterprise.codes)
    if not names:
        return None
    return StockAccountBook.objects.filter(ems_no=ems_no, area_code__in=names).first()


def book_items(*, book: StockAccountBook) -> QuerySet[StockItem]:
    return StockItem.objects.filter(book=book).order_by("item_record_no")


# --- Goods in ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReceiptLine:
    item_record_no: str
    gcode: str
    name: str
    unit: str
    qty: Decimal


def receipt_record(
    *,
    operator: Enterprise,
    ems_no: str,
    reference: str,
    received_at: datetime.datetime,
    lines: Sequence[ReceiptLine],
    actor: Actor,
) -> StockReceipt:
    """Goods arrived in the warehouse: the receipt is stored once per book and reference, each
    line adds to its item's ``on_hand`` (the item is opened on the book at its first receipt).

    1. Only a warehouse operator (role ``area``) records receipts. A book of another operator
       is answered as one nobody keeps (``not_found``). A book nobody keeps is opened for the
       operator, with the park it is registered in.
    2. A line in another unit than its item is kept in is refused (``stock_unit_mismatch``):
       quantities of one item are always in one unit.
    3. The same reference again is a conflict (``stock_receipt_duplicate``, with
       ``existing_id``): a receipt is recorded once.
    4. After commit, the lists held for this book's stock are judged again.
    """
    if not operator.has_role(Role.AREA):
        raise Forbidden(_("Only a bonded warehouse operator records goods in."), code=errors.ROLE_REQUIRED)
    names = set(operator.codes)
    with transaction.atomic():
        book = StockAccountBook.objects.filter(ems_no=ems_no).first()
        if book is None:
            book = _book_open(operator=operator, ems_no=ems_no, actor=actor)
        if book.area_code not in names:
            raise NotFoundError()
        existing = StockReceipt.objects.filter(book=book, reference=reference).values_list("pk", flat=True).first()
        if existing is not None:
            raise _duplicate(existing)
        items = _items_for(book=book, lines=lines)
        try:
            with transaction.atomic():
                receipt = StockReceipt.objects.create(
                    book=book, reference=reference, received_at=received_at, recorded_by=actor.label[:100]
                )
        except IntegrityError as exc:
            raced = StockReceipt.objects.filter(book=book, reference=reference).values_list("pk", flat=True).first()
            raise _duplicate(raced) from exc
        # A fixed order (by item record number), so two receipts never wait on each other.
        numbered = sorted(enumerate(lines, start=1), key=lambda pair: (pair[1].item_record_no, pair[0]))
        for line_no, line in numbered:
            item = items[line.item_record_no]
            StockItem.objects.filter(pk=item.pk).update(on_hand=F("on_hand") + line.qty, updated_at=timezone.now())
            StockReceiptLine.objects.create(receipt=receipt, line_no=line_no, item=item, qty=line.qty)
            _move(item, MovementKind.RECEIPT, on_hand_change=line.qty, reference=reference)
        audit_record(
            actor=actor,
            action="create",
            instance=receipt,
            after={"ems_no": book.ems_no, "reference": reference, "lines": len(lines)},
        )
        record_nos = sorted({line.item_record_no for line in lines})
        book_id = book.pk
        transaction.on_commit(lambda: shortfalls_reconsider(book_id=book_id, item_record_nos=record_nos))
    return receipt


def _duplicate(existing_id: int | None) -> Conflict:
    return Conflict(
        _("A receipt with this reference is already recorded on the account book."),
        code=codes.STOCK_RECEIPT_DUPLICATE,
        errors=[FieldError("reference", codes.STOCK_RECEIPT_DUPLICATE, _("This reference is already recorded."))],
        extra={"existing_id": existing_id},
    )


def _book_open(*, operator: Enterprise, ems_no: str, actor: Actor) -> StockAccountBook:
    """Open the book for the operator (under its customs code, else its USCC). A parallel
    receipt that opened it first wins; the caller then checks whose it is."""
    area_code = operator.customs_code or operator.uscc or ""
    registered = registry.enterprise_get_by_code(code=area_code)
    park_code = registered.park.code if registered is not None and registered.park is not None else ""
    book, created = StockAccountBook.objects.get_or_create(
        ems_no=ems_no, defaults={"area_code": area_code, "park_code": park_code, "name": operator.name[:200]}
    )
    if created:
        audit_record(
            actor=actor,
            action="create",
            instance=book,
            after={"ems_no": ems_no, "area_code": area_code, "park_code": park_code},
            reason="opened by its first receipt",
        )
    return book


def _items_for(*, book: StockAccountBook, lines: Sequence[ReceiptLine]) -> dict[str, StockItem]:
    """The book's item of each line, opened if new; every line in another unit than its item
    is refused together."""
    wanted = {line.item_record_no for line in lines}
    items = {i.item_record_no: i for i in StockItem.objects.filter(book=book, item_record_no__in=wanted)}
    units: dict[str, str] = {no: item.unit for no, item in items.items()}
    problems = []
    for index, line in enumerate(lines):
        unit = units.setdefault(line.item_record_no, line.unit)
        if unit != line.unit:
            problems.append(
                FieldError(
                    f"lines[{index}].unit",
                    codes.STOCK_UNIT_MISMATCH,
                    _("The item is kept in unit %(unit)s on this account book.") % {"unit": unit},
                )
            )
    if problems:
        raise InvalidInput(_("The request has invalid fields."), code=errors.VALIDATION_FAILED, errors=problems)
    for line in sorted(lines, key=lambda line: line.item_record_no):
        if line.item_record_no not in items:
            items[line.item_record_no], _created = StockItem.objects.get_or_create(
                book=book,
                item_record_no=line.item_record_no,
                defaults={"gcode": line.gcode, "name": line.name[:250], "unit": line.unit},
            )
    return items


def shortfalls_reconsider(*, book_id: int, item_record_nos: Iterable[str] = ()) -> int:
    """Have the lists held for this book's stock judged again (after the receipt committed):
    those short of one of the items received, and those held because the book or the item
    was not kept yet."""
    book = StockAccountBook.objects.filter(pk=book_id).first()
    if book is None:
        return 0
    wanted = list(item_record_nos)
    # Only import lists wait for stock (held); an export list short of stock failed its declare
    # step and is declared again by its agent.
    open_ = StockShortfall.objects.filter(ems_no=book.ems_no, resolved_at__isnull=True, list_kind="import")
    open_ = open_.filter(Q(item_record_no__in=wanted) | Q(item_record_no="") | Q(code=codes.STOCK_ITEM_UNKNOWN))
    inventory_ids = sorted(set(open_.values_list("inventory_id", flat=True)))
    for inventory_id in inventory_ids:
        try:
            declare.reconsider(inventory_id=inventory_id)
        except Exception:
            # The receipt stands; the held sweep judges the list again at its deadline.
            logger.exception("stock: reconsidering list %s after a receipt failed", inventory_id)
    return len(inventory_ids)


# --- The declare step -------------------------------------------------------------------------


class _Short(Exception):
    """An item could not be reserved: leaves the savepoint, undoing what this call took."""

    def __init__(self, item: StockItem, required: Decimal) -> None:
        super().__init__(item.item_record_no)
        self.item = item
        self.required = required


# The event subject of a list of each kind (``ListRef.kind``).
_SUBJECT = {"import": "inventory", "export": "export_list"}


def _ledger_id(ref: ListRef) -> int | None:
    """The ledger's list id: an import list's; an export list is named by its number (the note)."""
    return ref.inventory_id if ref.kind == "import" else None


def qty_in_unit(line: ItemFacts, unit: str) -> Decimal | None:
    """The line's quantity in the unit the book keeps the item in: the declared quantity
    (``qty``/``unit``), else the legal one (``qty1``/``unit1``); None when neither is in it."""
    if line.unit == unit:
        return line.qty
    if line.unit1 == unit:
        return line.qty1
    return None


def list_reserve(*, facts: ListFacts) -> Decision:
    """Reserve a 1210 list's quantities on its account book, all items or none, or hold it.
    Lists in any other trade mode pass at once."""
    if facts.trade_mode != BONDED:
        return Decision.passed()
    ref = facts.ref
    if StockReservation.objects.filter(
        inventory_id=ref.inventory_id, list_version=ref.version, list_kind=ref.kind
    ).exists():
        return Decision.passed()
    book = StockAccountBook.objects.filter(ems_no=facts.ems_no).first()
    if book is None or (facts.area_code and book.area_code not in codes_of(facts.area_code)):
        return _hold(
            facts,
            book=None,
            reason=Reason(
                codes.STOCK_ITEM_UNKNOWN,
                _("The warehouse %(area)s keeps no account book %(ems_no)s.")
                % {"area": facts.area_code, "ems_no": facts.ems_no},
                {"ems_no": facts.ems_no, "area_code": facts.area_code},
            ),
        )
    items = {
        i.item_record_no: i
        for i in StockItem.objects.filter(book=book, item_record_no__in={line.item_record_no for line in facts.items})
    }
    needs = _needs(facts, book=book, items=items)
    if isinstance(needs, Decision):
        return needs
    try:
        _take(facts, book=book, items=items, needs=needs)
    except _Short as short:
        item = short.item
        item.refresh_from_db(fields=["on_hand", "reserved"])
        return _hold(
            facts,
            book=book,
            item_record_no=item.item_record_no,
            required=short.required,
            available=item.available,
            reason=Reason(
                codes.STOCK_INSUFFICIENT,
                _("Item %(record)s of book %(ems_no)s has %(available)s available; the list needs %(required)s.")
                % {
                    "record": item.item_record_no,
                    "ems_no": book.ems_no,
                    "available": qty_text(item.available),
                    "required": qty_text(short.required),
                },
                {
                    "ems_no": book.ems_no,
                    "item_record_no": item.item_record_no,
                    "unit": item.unit,
                    "required": qty_text(short.required),
                    "available": qty_text(item.available),
                },
            ),
        )
    StockShortfall.objects.filter(
        inventory_id=ref.inventory_id, list_version=ref.version, list_kind=ref.kind, resolved_at__isnull=True
    ).update(resolved_at=timezone.now())
    return Decision.passed()


def _needs(
    facts: ListFacts, *, book: StockAccountBook, items: Mapping[str, StockItem]
) -> dict[str, Decimal] | Decision:
    """The quantity each item must have available, in the unit the book keeps it in; or the
    hold for a line whose item the book does not keep, or keeps in another unit."""
    needs: dict[str, Decimal] = {}
    for line in facts.items:
        item = items.get(line.item_record_no)
        if item is None:
            return _hold(
                facts,
                book=book,
                item_record_no=line.item_record_no,
                reason=Reason(
                    codes.STOCK_ITEM_UNKNOWN,
                    _("The account book %(ems_no)s has no item %(record)s.")
                    % {"ems_no": book.ems_no, "record": line.item_record_no},
                    {"ems_no": book.ems_no, "item_record_no": line.item_record_no, "gnum": str(line.gnum)},
                ),
            )
        qty = qty_in_unit(line, item.unit)
        if qty is None:
            return _hold(
                facts,
                book=book,
                item_record_no=item.item_record_no,
                reason=Reason(
                    codes.STOCK_UNIT_MISMATCH,
                    _("Item %(record)s is kept in unit %(unit)s; the list declares it in neither unit.")
                    % {"record": item.item_record_no, "unit": item.unit},
                    {
                        "ems_no": book.ems_no,
                        "item_record_no": item.item_record_no,
                        "gnum": str(line.gnum),
                        "book_unit": item.unit,
                        "unit": line.unit,
                        "unit1": line.unit1,
                    },
                ),
            )
        needs[item.item_record_no] = needs.get(item.item_record_no, Decimal(0)) + qty
    return needs


def _take(
    facts: ListFacts, *, book: StockAccountBook, items: Mapping[str, StockItem], needs: Mapping[str, Decimal]
) -> None:
    """One conditional UPDATE per item, in a fixed order (by record number) so parallel lists
    never wait on each other in a cycle; one short item undoes the others (the savepoint)."""
    ref = facts.ref
    with transaction.atomic():
        for record_no in sorted(needs):
            item, qty = items[record_no], needs[record_no]
            if qty <= 0:
                continue
            taken = StockItem.objects.filter(pk=item.pk, on_hand__gte=F("reserved") + qty).update(
                reserved=F("reserved") + qty, updated_at=timezone.now()
            )
            if not taken:
                raise _Short(item, qty)
            StockReservation.objects.create(
                list_kind=ref.kind,
                inventory_id=ref.inventory_id,
                list_version=ref.version,
                book=book,
                item=item,
                cop_no=facts.cop_no[:20],
                agent_code=facts.agent_code[:18],
                qty=qty,
                state=ReservationState.RESERVED,
            )
            _move(item, MovementKind.RESERVE, reserved_change=qty, inventory_id=_ledger_id(ref), note=facts.cop_no)


def _hold(
    facts: ListFacts,
    *,
    book: StockAccountBook | None,
    reason: Reason,
    item_record_no: str = "",
    required: Decimal = Decimal(0),
    available: Decimal = Decimal(0),
) -> Decision:
    """Record the shortfall (once per list version) and, the first time, tell the warehouse
    operator and the declaring agent."""
    ref = facts.ref
    _, created = StockShortfall.objects.update_or_create(
        list_kind=ref.kind,
        inventory_id=ref.inventory_id,
        list_version=ref.version,
        defaults={
            "book": book,
            "ems_no": facts.ems_no[:30],
            "area_code": facts.area_code[:18],
            "cop_no": facts.cop_no[:20],
            "agent_code": facts.agent_code[:18],
            "park_code": facts.park_code[:16],
            "code": reason.code,
            "item_record_no": item_record_no[:30],
            "required": required,
            "available": max(available, Decimal(0)),
            "resolved_at": None,
        },
    )
    if created:
        payload = {
            "inventory_id": ref.inventory_id,
            "list_kind": ref.kind,
            "version": ref.version,
            "cop_no": facts.cop_no,
            "agent_code": facts.agent_code,
            "area_code": facts.area_code,
            "ems_no": facts.ems_no,
            "code": reason.code,
            "item_record_no": item_record_no,
            "required": qty_text(required),
            "available": qty_text(available),
        }
        told: set[int] = set()
        for code in (facts.area_code, facts.agent_code):
            enterprise = registry.enterprise_get_by_code(code=code) if code else None
            if enterprise is not None and enterprise.pk not in told:
                told.add(enterprise.pk)
                event_publish(
                    enterprise=enterprise,
                    type=event_types.STOCK_INSUFFICIENT,
                    payload=payload,
                    subject=f"{_SUBJECT[ref.kind]}:{ref.inventory_id}",
                )
    return Decision(Verdict.HOLD, (reason,))


def _reservations(ref: ListRef) -> list[StockReservation]:
    return list(
        StockReservation.objects.select_for_update()
        .select_related("item")
        .filter(inventory_id=ref.inventory_id, list_version=ref.version, list_kind=ref.kind)
        .order_by("item__item_record_no", "pk")
    )


def list_consume(*, ref: ListRef) -> None:
    """Customs released the list (800): its goods leave the warehouse. ``on_hand`` and
    ``reserved`` go down together, in one UPDATE per item."""
    for reservation in _reservations(ref):
        if reservation.state != ReservationState.RESERVED:
            continue
        qty = reservation.qty
        StockItem.objects.filter(pk=reservation.item_id).update(
            on_hand=F("on_hand") - qty, reserved=F("reserved") - qty, updated_at=timezone.now()
        )
        _move(
            reservation.item,
            MovementKind.CONSUME,
            on_hand_change=-qty,
            reserved_change=-qty,
            inventory_id=_ledger_id(ref),
            note=reservation.cop_no,
        )
        reservation.state = ReservationState.CONSUMED
        reservation.save(update_fields=["state", "updated_at"])


def list_release(*, ref: ListRef, outcome: str) -> None:
    """The list will not be released under this version, or was cancelled or returned after
    release. A reservation still reserved is given back; goods that left come back on hand when
    the list is ``cancelled`` or ``returned`` (they re-enter the warehouse)."""
    StockShortfall.objects.filter(
        inventory_id=ref.inventory_id, list_version=ref.version, list_kind=ref.kind, resolved_at__isnull=True
    ).update(resolved_at=timezone.now())
    note = f"{outcome}"
    for reservation in _reservations(ref):
        qty = reservation.qty
        if reservation.state == ReservationState.RESERVED:
            StockItem.objects.filter(pk=reservation.item_id).update(
                reserved=F("reserved") - qty, updated_at=timezone.now()
            )
            _move(
                reservation.item,
                MovementKind.RELEASE,
                reserved_change=-qty,
                inventory_id=_ledger_id(ref),
                note=f"{reservation.cop_no}: {note}",
            )
            reservation.state = ReservationState.RELEASED
        elif reservation.state == ReservationState.CONSUMED and outcome in RESTOCK_OUTCOMES:
            StockItem.objects.filter(pk=reservation.item_id).update(
                on_hand=F("on_hand") + qty, updated_at=timezone.now()
            )
            _move(
                reservation.item,
                MovementKind.RETURN,
                on_hand_change=qty,
                inventory_id=_ledger_id(ref),
                note=f"{reservation.cop_no}: {note}",
            )
            reservation.state = ReservationState.RELEASED
        reservation.outcome = outcome[:20]
        reservation.save(update_fields=["state", "outcome", "updated_at"])


# --- Files: goods in, counts --------------------------------------------------------------------


class CsvRowError(Exception):
    """A row of a file is refused: the whole file is."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(f"line {line}: {message}")
        self.line = line
        self.message = message


def csv_rows(text: str, *, columns: Sequence[str]) -> list[tuple[int, dict[str, str]]]:
    """The rows of a CSV file with exactly ``columns`` as its header, each with its line
    number (the header is line 1). A wrong header or a row of another width is refused."""
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    header = next(reader, None)
    if header is None or [h.strip() for h in header] != list(columns):
        raise CsvRowError(1, _("the header must be %(columns)s") % {"columns": ",".join(columns)})
    rows = []
    for values in reader:
        line = reader.line_num
        if not any(v.strip() for v in values):
            continue
        if len(values) != len(columns):
            raise CsvRowError(line, _("%(n)d columns, expected %(m)d") % {"n": len(values), "m": len(columns)})
        rows.append((line, {c: v.strip() for c, v in zip(columns, values, strict=True)}))
    return rows


@dataclass(frozen=True)
class CountDifference:
    item_record_no: str
    on_hand: Decimal
    counted: Decimal

    @property
    def difference(self) -> Decimal:
        return self.counted - self.on_hand


COUNT_COLUMNS = ("item_record_no", "qty")


def count_read(text: str) -> dict[str, Decimal]:
    """A count file (``item_record_no,qty``): what was counted of each item."""
    counted: dict[str, Decimal] = {}
    for line, row in csv_rows(text, columns=COUNT_COLUMNS):
        record_no = row["item_record_no"]
        if not record_no:
            raise CsvRowError(line, _("item_record_no is empty"))
        try:
            qty = Decimal(row["qty"])
        except InvalidOperation as exc:
            raise CsvRowError(line, _("qty %(qty)r is not a number") % {"qty": row["qty"]}) from exc
        if not qty.is_finite() or qty < 0:
            raise CsvRowError(line, _("qty must be 0 or more"))
        counted[record_no] = counted.get(record_no, Decimal(0)) + qty
    return counted


def count_compare(*, book: StockAccountBook, counted: Mapping[str, Decimal]) -> list[CountDifference]:
    """Where a physical count differs from the book's ``on_hand``: items counted otherwise,
    items on the book not counted (counted 0) and items counted the book does not keep
    (on hand 0). Reports only; the book is not changed."""
    on_book = dict(StockItem.objects.filter(book=book).values_list("item_record_no", "on_hand"))
    differences = []
    for record_no in sorted(on_book.keys() | counted.keys()):
        on_hand, count = on_book.get(record_no, Decimal(0)), counted.get(record_no, Decimal(0))
        if on_hand != count:
            differences.append(CountDifference(item_record_no=record_no, on_hand=on_hand, counted=count))
    return differences
