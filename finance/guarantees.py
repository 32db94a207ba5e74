"""The guarantors' accounts: what the declare step reserves, what bills use, what is given back.

Every change to an account's figures is ONE conditional UPDATE of its row, so parallel
declarations never reserve more than is available, and nothing is read, changed and written
back. Each change is also a ledger row (``GuaranteeMovement``).

The step's table (``docs/declare-step.md``, column (b)):

- ``reserve``: the list's estimated tax times the guarantor's cover ratio (by its customs
  class, read through credit's selectors) is reserved when available; else the list is held
  (``guarantee_insufficient``) and the guarantor is told;
- ``consume`` (customs released the list): the reservation stands for the bill to come;
- the bill (CEB816): the reservation is given back and the bill's tax, at the same ratio, is
  used (``finance.bills``);
- ``release``: a reservation not yet billed is given back. A billed list's tax stands until
  customs voids the bill or the summarised bill is paid (CEB818), which frees what it used.
"""

from __future__ import annotations

import datetime
import enum
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import F, Value
from django.db.models.functions import Greatest
from django.db.models.signals import post_delete, post_save
from django.utils import timezone
from django.utils.translation import gettext as _

from core.audit import Actor, audit_record
from core.errors import InvalidInput
from core.process_cache import ProcessCache
from credit import selectors as credit
from finance import codes, event_types
from finance.models import (
    GuaranteeAccount,
    GuaranteeCoverage,
    GuaranteeMovement,
    GuaranteeReservation,
    GuaranteeShortfall,
)
from finance.models.guarantees import MovementKind, ReservationState
from single_window import declare
from single_window import selectors as registry
from single_window.declare import Decision, ListFacts, ListRef, Reason, Verdict
from single_window.events import event_publish

FEN = Decimal("0.01")


class Unset(enum.Enum):
    """A keyword not given (``None`` is a value: no expiry)."""

    UNSET = enum.auto()


UNSET = Unset.UNSET
FULL_COVER = Decimal("1.00")


def money(value: Decimal) -> Decimal:
    return value.quantize(FEN, rounding=ROUND_HALF_UP)


def codes_of(code: str) -> list[str]:
    """The codes an enterprise may be named by: the one given, and its other registered code."""
    return registry.codes_naming(code=code)


def account_of(code: str) -> GuaranteeAccount | None:
    """The guarantee account of the guarantor ``code`` names (customs code or USCC)."""
    names = codes_of(code)
    return GuaranteeAccount.objects.filter(code__in=names).first() if names else None


@dataclass(frozen=True)
class Cover:
    customs_class: str
    ratio: Decimal


# A guarantor's class changes by a customs decision effective from a date, and the ratios by a
# customs officer's edit: each process keeps an answer COVER_CACHE_SECONDS (``core.process_cache``),
# and an edit of the ratios through the ORM empties every process's cache at once.
COVER_CACHE_SECONDS = 60.0
COVER_CACHE = ProcessCache(
    name="finance-cover", seconds=lambda: COVER_CACHE_SECONDS, check_seconds=lambda: COVER_CACHE_SECONDS
)


def _read_cover(code: str) -> Cover:
    customs_class = credit.customs_class_of(code).code
    ratio = GuaranteeCoverage.objects.filter(customs_class=customs_class).values_list("ratio", flat=True).first()
    return Cover(customs_class=customs_class, ratio=FULL_COVER if ratio is None else ratio)


def cover_of(code: str) -> Cover:
    """The share of a list's tax the guarantor's account must cover, by its customs class."""
    cover: Cover = COVER_CACHE.fetch(("cover", code), lambda: _read_cover(code))
    return cover


def register() -> None:
    """Called once, from ``FinanceConfig.ready``: an edit of the ratios empties the cache."""
    post_save.connect(COVER_CACHE.changed, sender=GuaranteeCoverage, dispatch_uid="finance-cover-save")
    post_delete.connect(COVER_CACHE.changed, sender=GuaranteeCoverage, dispatch_uid="finance-cover-delete")


def _move(account_id: int, kind: str, *, note: str = "", **changes: Decimal | int | str | None) -> None:
    GuaranteeMovement.objects.create(account_id=account_id, kind=kind, note=note[:500], **changes)


# --- The declare step -------------------------------------------------------------------------------


def list_reserve(*, facts: ListFacts) -> Decision:
    """Reserve the list's estimated tax on its guarantor's account, or hold the list."""
    ref = facts.ref
    if GuaranteeReservation.objects.filter(inventory_id=ref.inventory_id, list_version=ref.version).exists():
        return Decision.passed()
    tax = facts.tax.tax_total if facts.tax is not None else Decimal(0)
    account = account_of(facts.assure_code)
    if account is None:
        if tax == 0 or not settings.FINANCE_GUARANTEE_REQUIRED:
            return Decision.passed()
        return _hold(
            facts,
            account=None,
            required=tax,
            available=Decimal(0),
            reason=Reason(
                codes.GUARANTEE_ACCOUNT_MISSING,
                _("The guarantor %(code)s has no guarantee account.") % {"code": facts.assure_code},
                {"assure_code": facts.assure_code, "estimated_tax": str(tax)},
            ),
        )
    cover = cover_of(account.code)
    required = money(tax * cover.ratio)
    if required == 0:
        return Decision.passed()
    taken = GuaranteeAccount.objects.filter(pk=account.pk, amount__gte=F("reserved") + F("used") + required).update(
        reserved=F("reserved") + required, updated_at=timezone.now()
    )
    if not taken:
        account.refresh_from_db(fields=["amount", "reserved", "used"])
        return _hold(
            facts,
            account=account,
            required=required,
            available=account.available,
            reason=Reason(
                codes.GUARANTEE_INSUFFICIENT,
                _("The guarantee account of %(code)s does not cover the list's tax.") % {"code": account.code},
                {
                    "assure_code": account.code,
                    "required": str(required),
                    "available": str(account.available),
                    "estimated_tax": str(tax),
                    "cover_ratio": str(cover.ratio),
                },
            ),
        )
    GuaranteeReservation.objects.create(
        inventory_id=ref.inventory_id,
        list_version=ref.version,
        account=account,
        cop_no=facts.cop_no,
        agent_code=facts.agent_code,
        ebc_code=facts.ebc_code,
        customs_code=facts.customs_code,
        park_code=facts.park_code,
        estimated_tax=tax,
        customs_class=cover.customs_class,
        ratio=cover.ratio,
        amount=required,
        state=ReservationState.RESERVED,
    )
    _move(account.pk, MovementKind.RESERVE, reserved_change=required, inventory_id=ref.inventory_id, note=facts.cop_no)
    GuaranteeShortfall.objects.filter(
        inventory_id=ref.inventory_id, list_version=ref.version, resolved_at__isnull=True
    ).update(resolved_at=timezone.now())
    return Decision.passed()


def _hold(
    facts: ListFacts, *, account: GuaranteeAccount | None, required: Decimal, available: Decimal, reason: Reason
) -> Decision:
    """Record the shortfall (once per list version) and tell the guarantor."""
    ref = facts.ref
    _, created = GuaranteeShortfall.objects.update_or_create(
        inventory_id=ref.inventory_id,
        list_version=ref.version,
        defaults={
            "account": account,
            "assure_code": facts.assure_code,
            "cop_no": facts.cop_no,
            "customs_code": facts.customs_code,
            "park_code": facts.park_code,
            "required": required,
            "available": available,
            "resolved_at": None,
        },
    )
    guarantor = registry.enterprise_get_by_code(code=facts.assure_code) if facts.assure_code else None
    if created and guarantor is not None:
        event_publish(
            enterprise=guarantor,
            type=event_types.GUARANTEE_INSUFFICIENT,
            payload={
                "inventory_id": ref.inventory_id,
                "version": ref.version,
                "cop_no": facts.cop_no,
                "agent_code": facts.agent_code,
                "ebc_code": facts.ebc_code,
                "assure_code": facts.assure_code,
                "code": reason.code,
                "required": str(required),
                "available": str(available),
            },
            subject=f"inventory:{ref.inventory_id}",
        )
    return Decision(Verdict.HOLD, (reason,))


def _reservation(ref: ListRef) -> GuaranteeReservation | None:
    return (
        GuaranteeReservation.objects.select_for_update()
        .filter(inventory_id=ref.inventory_id, list_version=ref.version)
        .first()
    )


def list_consume(*, ref: ListRef) -> None:
    """Customs released the list: its reservation now stands for the bill to come."""
    GuaranteeReservation.objects.filter(
        inventory_id=ref.inventory_id, list_version=ref.version, state=ReservationState.RESERVED
    ).update(state=ReservationState.CONSUMED, updated_at=timezone.now())


def list_release(*, ref: ListRef, outcome: str) -> None:
    """The list will not be released under this version, or was cancelled or returned after
    release: what it reserved and was not billed is given back. A bill's tax stays used until
    customs voids or the paid summary frees it."""
    GuaranteeShortfall.objects.filter(
        inventory_id=ref.inventory_id, list_version=ref.version, resolved_at__isnull=True
    ).update(resolved_at=timezone.now())
    reservation = _reservation(ref)
    if reservation is None:
        return
    if reservation.state in {ReservationState.RESERVED, ReservationState.CONSUMED}:
        _give_back(reservation, note=f"{reservation.cop_no}: {outcome}")
        reservation.state = ReservationState.RELEASED
    reservation.outcome = outcome[:20]
    reservation.save(update_fields=["state", "outcome", "updated_at"])


def _give_back(reservation: GuaranteeReservation, *, note: str, tax_no: str = "") -> None:
    GuaranteeAccount.objects.filter(pk=reservation.account_id).update(
        reserved=Greatest(F("reserved") - reservation.amount, Value(Decimal(0))), updated_at=timezone.now()
    )
    _move(
        reservation.account_id,
        MovementKind.RELEASE,
        reserved_change=-reservation.amount,
        inventory_id=reservation.inventory_id,
        tax_no=tax_no,
        note=note,
    )


# --- Bills --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Charge:
    account_code: str
    amount: Decimal


def bill_charge(
    *, tax_no: str, tax_total: Decimal, assure_code: str, inventory_id: int | None, version: int | None
) -> Charge | None:
    """A bill arrived: the list's reservation (if any) is given back and the bill's tax, at the
    reservation's cover ratio (else the guarantor's), is used. None: no account to charge."""
    reservation = None
    if inventory_id is not None:
        reservation = (
            GuaranteeReservation.objects.select_for_update()
            .filter(inventory_id=inventory_id, state__in=[ReservationState.RESERVED, ReservationState.CONSUMED])
            .order_by("-list_version")
            .first()
        )
    account = (
        GuaranteeAccount.objects.filter(pk=reservation.account_id).first()
        if reservation is not None
        else account_of(assure_code)
    )
    if account is None:
        return None
    ratio = reservation.ratio if reservation is not None else cover_of(account.code).ratio
    used = money(tax_total * ratio)
    if reservation is not None:
        _give_back(reservation, note=f"{reservation.cop_no}: billed", tax_no=tax_no)
        reservation.state = ReservationState.BILLED
        reservation.save(update_fields=["state", "updated_at"])
    GuaranteeAccount.objects.filter(pk=account.pk).update(used=F("used") + used, updated_at=timezone.now())
    _move(account.pk, MovementKind.BILL, used_change=used, inventory_id=inventory_id, tax_no=tax_no)
    return Charge(account_code=account.code, amount=used)


def bill_settle_reservation(*, tax_no: str, inventory_id: int) -> None:
    """A bill charged before its list was known is now linked: the list's reservation, still
    held, is given back (the bill already used the guarantee)."""
    reservation = (
        GuaranteeReservation.objects.select_for_update()
        .filter(inventory_id=inventory_id, state__in=[ReservationState.RESERVED, ReservationState.CONSUMED])
        .order_by("-list_version")
        .first()
    )
    if reservation is not None:
        _give_back(reservation, note=f"{reservation.cop_no}: billed", tax_no=tax_no)
        reservation.state = ReservationState.BILLED
        reservation.save(update_fields=["state", "updated_at"])


def bill_free(*, account_code: str, amount: Decimal, tax_no: str, inventory_id: int | None, note: str) -> None:
    """Customs voided the bill, or its summary was paid: what it used is available again."""
    account = GuaranteeAccount.objects.filter(code=account_code).first()
    if account is None or amount == 0:
        return
    GuaranteeAccount.objects.filter(pk=account.pk).update(
        used=Greatest(F("used") - amount, Value(Decimal(0))), updated_at=timezone.now()
    )
    _move(account.pk, MovementKind.FREE, used_change=-amount, inventory_id=inventory_id, tax_no=tax_no, note=note)


# --- Regulators ---------------------------------------------------------------------------------------


def account_update(
    *,
    account: GuaranteeAccount,
    actor: Actor,
    reason: str,
    amount: Decimal | None = None,
    name: str | None = None,
    instrument: str | None = None,
    expires_on: datetime.date | Unset | None = UNSET,
) -> GuaranteeAccount:
    """A regulator changed the account (a new bank guarantee, a top-up, a cut): one audited
    change with its reason; the amount by one UPDATE, written to the ledger. After a top-up
    the lists held for this account's shortfall are judged again."""
    if amount is not None and amount < 0:
        raise InvalidInput.for_field("amount", codes.GUARANTEE_AMOUNT_INVALID, _("The amount may not be negative."))
    if not reason.strip():
        raise InvalidInput.for_field("reason", codes.REASON_REQUIRED, _("Say why the account changes."))
    with transaction.atomic():
        locked = GuaranteeAccount.objects.select_for_update().get(pk=account.pk)
        before = {
            "amount": str(locked.amount),
            "name": locked.name,
            "instrument": locked.instrument,
            "expires_on": str(locked.expires_on),
        }
        changes: dict[str, object] = {}
        if name is not None:
            changes["name"] = name
        if instrument is not None:
            changes["instrument"] = instrument
        if not isinstance(expires_on, Unset):
            changes["expires_on"] = expires_on
        if amount is not None and amount != locked.amount:
            changes["amount"] = amount
            _move(account.pk, MovementKind.ADJUST, amount_change=amount - locked.amount, note=reason)
        GuaranteeAccount.objects.filter(pk=account.pk).update(**changes, updated_at=timezone.now())
        locked.refresh_from_db()
        after = {
            "amount": str(locked.amount),
            "name": locked.name,
            "instrument": locked.instrument,
            "expires_on": str(locked.expires_on),
        }
        audit_record(actor=actor, action="update", instance=locked, before=before, after=after, reason=reason)
        if amount is not None and Decimal(before["amount"]) < amount:
            transaction.on_commit(lambda: shortfalls_reconsider(account_id=account.pk))
    return locked


def account_create(
    *,
    code: str,
    name: str,
    amount: Decimal,
    actor: Actor,
    reason: str,
    instrument: str = "",
    expires_on: datetime.date | None = None,
) -> GuaranteeAccount:
    """A regulator opened an account; lists held because the guarantor had none (or too
    little) are judged again after it committed."""
    if amount < 0:
        raise InvalidInput.for_field("amount", codes.GUARANTEE_AMOUNT_INVALID, _("The amount may not be negative."))
    with transaction.atomic():
        account = GuaranteeAccount.objects.create(
            code=code, name=name, amount=amount, instrument=instrument, expires_on=expires_on
        )
        _move(account.pk, MovementKind.ADJUST, amount_change=amount, note=reason or "account opened")
        audit_record(actor=actor, action="create", instance=account, after={"amount": str(amount)}, reason=reason)
        transaction.on_commit(lambda: shortfalls_reconsider(account_id=account.pk, code=code))
    return account


def shortfalls_reconsider(*, account_id: int, code: str = "") -> int:
    """Have each list held for this account's shortfall judged again (after the change
    committed). A shortfall recorded before the account existed is found by its code."""
    open_ = GuaranteeShortfall.objects.filter(resolved_at__isnull=True)
    mine = open_.filter(account_id=account_id)
    if code:
        mine = mine | open_.filter(account__isnull=True, assure_code__in=codes_of(code))
    inventory_ids = sorted(set(mine.values_list("inventory_id", flat=True)))
    for inventory_id in inventory_ids:
        declare.reconsider(inventory_id=inventory_id)
    return len(inventory_ids)
