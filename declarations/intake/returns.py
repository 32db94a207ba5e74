"""Return requests (退货申请, CEB625): the declaring agent of a released list asks customs to
take back the whole list or some of its lines, within 30 days of the release.

``inventory_return_request`` is the one entry for JSON and XML alike. In one transaction, under
the list's row lock (two requests of one list never both take the same quantity):

1. the list must be ``released`` and released no more than ``RETURN_WINDOW`` ago (the returnTime
   of customs' 800 receipt, ``quotas.inventory_released_at``);
2. each line asked for must be a line of the list, with a quantity above 0 and not above what
   remains of it (declared, less what earlier returns customs has not refused took); no lines
   means everything that remains;
3. the return and its lines are stored with the dutiable value they carry (the estimate's item
   values pro rata to the quantity, two decimals), and handed to the gateway, which signs it
   and puts it in the outbox (``gateway.return_send``); one that can't leave is refused.

Every refusal stores nothing. Customs' answer (CEB626) is applied by
``declarations.customs.receipts.apply_return_receipts``; the list's lifecycle never moves.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.audit import Actor, audit_record, snapshot
from core.errors import Conflict, FieldError, InvalidInput
from core.models import AuditEntry
from declarations.customs import gateway
from declarations.intake import codes
from declarations.models import (
    Inventory,
    InventoryItem,
    InventoryReturn,
    InventoryReturnItem,
    InventoryStatus,
    TaxEstimateItem,
)
from declarations.tax import quotas
from single_window.models import Enterprise

RETURN_WINDOW = quotas.RETURN_WINDOW
# What customs has not refused still takes its quantity from the list.
TAKING_STATES = (
    InventoryReturn.Status.RECORDED,
    InventoryReturn.Status.SENT,
    InventoryReturn.Status.ENTERED,
    InventoryReturn.Status.CONCLUDED,
)
FEN = Decimal("0.01")


@dataclass(frozen=True)
class ReturnLine:
    """One line asked for: the list's ``gnum`` and the quantity (unchecked)."""

    gnum: int
    qty: Decimal


class ReturnConflict(Conflict):
    """A 409 of a return request, with customs' code for the same refusal where there is one."""

    def __init__(self, code: str, detail: str, *, inventory: Inventory, **extra: object) -> None:
        more: dict[str, object] = {"existing_id": inventory.pk, **extra}
        if code in codes.RETURN_CUSTOMS_CODES:
            more["customs_code"] = codes.RETURN_CUSTOMS_CODES[code]
        super().__init__(detail, code=code, errors=[FieldError(None, code, detail)], extra=more)


def new_return_guid() -> str:
    return str(uuid.uuid4()).upper()


def returned_quantities(*, inventory: Inventory) -> dict[int, Decimal]:
    """What earlier returns customs has not refused took of each line, by gnum."""
    taken: dict[int, Decimal] = {}
    rows = InventoryReturnItem.objects.filter(
        inventory_return__inventory=inventory, inventory_return__status__in=TAKING_STATES
    ).values_list("gnum", "qty")
    for gnum, qty in rows:
        taken[gnum] = taken.get(gnum, Decimal(0)) + qty
    return taken


def _check_window(inventory: Inventory) -> None:
    if inventory.status != InventoryStatus.RELEASED:
        raise ReturnConflict(
            codes.RETURN_NOT_ALLOWED,
            str(_("Only a list customs has released can be returned.")),
            inventory=inventory,
            list_status=inventory.status,
        )
    released_at = quotas.inventory_released_at(inventory=inventory)
    if released_at is not None and timezone.now() - released_at > RETURN_WINDOW:
        raise ReturnConflict(
            codes.RETURN_WINDOW_CLOSED,
            str(_("A return may be asked for within 30 days of the release only.")),
            inventory=inventory,
            released_at=timezone.localtime(released_at).isoformat(),
        )


def _lines(inventory: Inventory, asked: Sequence[ReturnLine] | None) -> list[tuple[InventoryItem, Decimal]]:
    """The list's lines and the quantity returned of each; every broken line in one refusal."""
    items = {item.gnum: item for item in inventory.items.all()}
    taken = returned_quantities(inventory=inventory)
    remaining = {gnum: item.qty - taken.get(gnum, Decimal(0)) for gnum, item in items.items()}
    if not asked:
        whole = [(items[gnum], qty) for gnum, qty in sorted(remaining.items()) if qty > 0]
        if not whole:
            raise ReturnConflict(
                codes.RETURN_NOTHING_LEFT, str(_("Every line of the list has been returned.")), inventory=inventory
            )
        return whole
    problems: list[FieldError] = []
    seen: set[int] = set()
    chosen: list[tuple[InventoryItem, Decimal]] = []
    for index, line in enumerate(asked):
        where = f"items[{index}]"
        if line.gnum not in items:
            problems.append(
                FieldError(f"{where}.gnum", codes.RETURN_UNKNOWN_GNUM, _("The list has no line with this gnum."))
            )
            continue
        if line.gnum in seen:
            problems.append(FieldError(f"{where}.gnum", codes.DUPLICATE_GNUM, _("Each gnum may be returned once.")))
            continue
        seen.add(line.gnum)
        if line.qty <= 0:
            problems.append(
                FieldError(f"{where}.qty", codes.RETURN_QTY_NOT_POSITIVE, _("The quantity must be above 0."))
            )
        elif line.qty > remaining[line.gnum]:
            problems.append(
                FieldError(
                    f"{where}.qty",
                    codes.RETURN_QTY_EXCEEDS_REMAINING,
                    _("The quantity is more than remains of the line: %(remaining)s.")
                    % {"remaining": format(remaining[line.gnum].normalize(), "f")},
                )
            )
        else:
            chosen.append((items[line.gnum], line.qty))
    if problems:
        raise InvalidInput(_("The return has invalid lines."), errors=problems)
    return chosen


def _value_of(line: InventoryItem, qty: Decimal, estimate: dict[int, Decimal]) -> Decimal:
    """The line's dutiable value (the estimate's) pro rata to the quantity returned, to the fen."""
    value = estimate.get(line.gnum, Decimal(0))
    if qty == line.qty or line.qty <= 0:
        return value.quantize(FEN, rounding=ROUND_HALF_UP)
    return (value * qty / line.qty).quantize(FEN, rounding=ROUND_HALF_UP)


@transaction.atomic
def inventory_return_request(
    *,
    inventory: Inventory,
    reason: str,
    lines: Sequence[ReturnLine] | None,
    requested_by: Enterprise,
    actor: Actor | None = None,
    guid: str | None = None,
    signed_body: bytes | None = None,
) -> InventoryReturn:
    """Record a return request (CEB625) of a released list and hand it to the gateway.

    ``lines``: the lines and quantities returned; None or empty, everything that remains.
    ``guid``/``signed_body``: the InvtRefundHead guid and the declarant's own signed CEB625
    when it came as XML holding this return alone (forwarded as it came). ``actor``: who
    asked, for the audit log (None: the requesting enterprise itself).
    """
    inventory = Inventory.objects.select_for_update().get(pk=inventory.pk)
    _check_window(inventory)
    if not reason.strip():
        raise InvalidInput.for_field("reason", "required", _("A return needs a reason."))
    chosen = _lines(inventory, lines)
    estimate = dict(TaxEstimateItem.objects.filter(estimate__inventory=inventory).values_list("gnum", "dutiable_value"))
    values = [(line, qty, _value_of(line, qty, estimate)) for line, qty in chosen]
    inventory_return = InventoryReturn.objects.create(
        inventory=inventory,
        requested_by=requested_by,
        guid=guid or new_return_guid(),
        reason=reason.strip()[:1000],
        whole_list=not lines,
        dutiable_value=sum((value for _line, _qty, value in values), Decimal("0.00")),
    )
    InventoryReturnItem.objects.bulk_create(
        InventoryReturnItem(
            inventory_return=inventory_return,
            gnum=line.gnum,
            gcode=line.gcode,
            gname=line.gname,
            qty=qty,
            unit=line.unit,
            dutiable_value=value,
        )
        for line, qty, value in values
    )
    try:
        gateway.return_send(inventory_return=inventory_return, signed_body=signed_body)
    except gateway.GatewayRefusal as refusal:
        # Nothing is recorded that can't leave: the enterprise fixes the cause and asks again.
        raise ReturnConflict(codes.RETURN_NOT_SENDABLE, refusal.note, inventory=inventory) from None
    audit_record(
        actor=actor or Actor(label=f"enterprise:{requested_by.code}", enterprise_id=requested_by.pk),
        action=AuditEntry.Action.CREATE,
        instance=inventory_return,
        after=snapshot(inventory_return),
        reason=f"return request of list {inventory.pk} ({inventory})",
    )
    return inventory_return
