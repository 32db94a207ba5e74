"""Three-document matching: what a declared list waits for, and what is decided when the
last of its documents arrives.

Every document of a parcel that is stored calls ``documents_changed`` in the same
transaction, after ``parcels.parcel_lock`` took the parcel's locks, so documents arriving
at the same instant are matched one after another and a list never waits for a document
it already has.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from decimal import Decimal
from functools import reduce
from operator import or_

from django.db import OperationalError, transaction
from django.db.models import OuterRef, Q, Subquery
from django.db.models.functions import Coalesce

from declarations import events
from declarations.clearance import declare, identity_verification, lifecycle, match_rules, notes
from declarations.clearance.match_rules import Outcome, Parcel
from declarations.models import (
    Declaration,
    DocumentStatus,
    IdentityVerification,
    Inventory,
    InventoryStatus,
    Order,
    Payment,
    RuleResult,
    StatusChangeSource,
    TaxEstimate,
    TaxEstimateItem,
    Waybill,
)
from declarations.reference import tables
from declarations.reference.tables import tax_rates_for
from declarations.tax import calculation as tax
from declarations.tax import quotas
from single_window.events import atomic_with_events

logger = logging.getLogger(__name__)

SYSTEM = StatusChangeSource.SINGLE_WINDOW
# The lists a new or changed document of their parcel is matched again for.
REMATCHED = (
    InventoryStatus.PENDING_DOCUMENTS,
    InventoryStatus.MATCH_FAILED,
    InventoryStatus.HELD,
    InventoryStatus.RISK_REVIEW,
)
# The lists a withdrawn or new document sends back to waiting before matching again.
RESTARTED = (InventoryStatus.MATCH_FAILED, InventoryStatus.HELD, InventoryStatus.RISK_REVIEW)
TAX_RATE_AVAILABLE = "tax_rate_available"
LEGAL_UNIT1 = "unit1_is_legal_first_unit"


def parcel_documents(inventory: Inventory) -> tuple[Order | None, Payment | None, Waybill | None]:
    """The declared order, payment and waybill a list names (None for each one not there).

    The order is the one of the list's own e-commerce enterprise: ``ebp_code`` + ``order_no``
    and ``ebc_code``. Any enterprise may declare a list in its own name (or as the appointed
    agent of the e-commerce enterprise it names), and whether it may is decided from the list
    alone, whether or not the order exists. So a list must not take the order by its number
    only: one naming another enterprise's order would match it, show its figures in the rule
    results, and make it, its payment and its waybill visible to the list's parties
    (``selectors.parcel_trace``). Scoping the match here, rather than refusing such lists,
    tells nobody which orders exist; the one live list per order is scoped the same way
    (``inventory_one_per_order`` on ``ebp_code`` + ``order_no`` + ``ebc_code``), so such a list
    takes no number from the order's own enterprise either. A list whose order names another
    e-commerce enterprise (or is changed to name one) waits for its order.
    """
    declared = Q(status=DocumentStatus.DECLARED)
    order = (
        Order.objects.filter(
            declared, ebp_code=inventory.ebp_code, order_no=inventory.order_no, ebc_code=inventory.ebc_code
        )
        .prefetch_related("items")
        .first()
    )
    payment = Payment.objects.filter(declared, ebp_code=inventory.ebp_code, order_no=inventory.order_no).first()
    waybill = (
        Waybill.objects.filter(declared, logistics_code=inventory.logistics_code, logistics_no=inventory.logistics_no)
        .order_by("-generation")
        .first()
    )
    return order, payment, waybill


def parcel_documents_of(lists: list[Inventory]) -> dict[int, tuple[Order | None, Payment | None, Waybill | None]]:
    """``parcel_documents`` of many lists in three queries (one per kind of document)."""
    if not lists:
        return {}
    declared = Q(status=DocumentStatus.DECLARED)
    orders = {
        (o.ebp_code, o.order_no, o.ebc_code): o
        for o in Order.objects.filter(
            declared, reduce(or_, (Q(ebp_code=i.ebp_code, order_no=i.order_no, ebc_code=i.ebc_code) for i in lists))
        ).prefetch_related("items")
    }
    payments = {
        (p.ebp_code, p.order_no): p
        for p in Payment.objects.filter(
            declared, reduce(or_, (Q(ebp_code=i.ebp_code, order_no=i.order_no) for i in lists))
        ).order_by("pk")
    }
    waybills: dict[tuple[str, str], Waybill] = {}
    for w in Waybill.objects.filter(
        declared, reduce(or_, (Q(logistics_code=i.logistics_code, logistics_no=i.logistics_no) for i in lists))
    ).order_by("generation"):
        waybills[(w.logistics_code, w.logistics_no)] = w  # the latest generation wins
    return {
        i.pk: (
            orders.get((i.ebp_code, i.order_no, i.ebc_code)),
            payments.get((i.ebp_code, i.order_no)),
            waybills.get((i.logistics_code, i.logistics_no)),
        )
        for i in lists
    }


def missing_documents(inventory: Inventory) -> list[str]:
    """The documents of the list's parcel not yet declared: order, payment, waybill."""
    found = dict(zip(("order", "payment", "waybill"), parcel_documents(inventory), strict=True))
    return [name for name, document in found.items() if document is None]


def _lists_of(document: Declaration) -> Q | None:
    """Which open lists a new or changed document concerns (None: none)."""
    if isinstance(document, Inventory):
        return Q(pk=document.pk, status=InventoryStatus.PENDING_DOCUMENTS)
    if isinstance(document, Waybill):
        return Q(logistics_code=document.logistics_code, logistics_no=document.logistics_no)
    if isinstance(document, Order | Payment):
        return Q(ebp_code=document.ebp_code, order_no=document.order_no)
    return None


def documents_changed(*, kind: str, document: Declaration) -> None:
    """Re-match the lists a new or changed document belongs to: now, or once for all the
    documents of a ``matching_deferred`` block when it ends."""
    if isinstance(document, Inventory) and document.status != InventoryStatus.PENDING_DOCUMENTS:
        Inventory.objects.filter(pk=document.pk).exclude(waiting_for=[]).update(waiting_for=[])
    which = _lists_of(document)
    if which is None:
        return
    queue = _deferred.get()
    if queue is not None:
        queue.pending.append(which)
        return
    _match(which)


def _open_lists(which: Q) -> tuple[list[Inventory], dict[int, tuple[Order | None, Payment | None, Waybill | None]]]:
    """The open lists ``which`` names, locked, with their parcels' documents (four queries).
    A held list is matched again too: the systems judged documents that have since changed.
    Each list comes with its sender, its estimate (if any) and its last run of rules."""
    last_run = RuleResult.objects.filter(inventory=OuterRef("pk")).order_by("-run").values("run")[:1]
    lists = list(
        Inventory.objects.filter(which, status__in=REMATCHED)
        .select_related("sender", "tax_estimate")
        .annotate(**{match_rules.LAST_RULE_RUN: Coalesce(Subquery(last_run), 0)})
        .select_for_update(of=("self",))
        .prefetch_related("items")
        .order_by("pk")
    )
    return lists, parcel_documents_of(lists)


def _match(which: Q) -> None:
    lists, found = _open_lists(which)
    for inventory in lists:
        inventory_match(inventory=inventory, documents=found[inventory.pk])


@dataclass
class MatchQueue:
    """The lists whose documents changed inside ``matching_deferred()``, matched at its end."""

    pending: list[Q] = field(default_factory=list)
    # Lists whose matching met a parallel request's lock; ``retry`` matches them again.
    busy: list[int] = field(default_factory=list)

    # False: no savepoint per list (a database error then reaches the block's caller, whose
    # transaction is lost with it: ``batches`` tries the chunk again with savepoints).
    savepoints: bool = True

    def run(self) -> None:
        """Match each list concerned once, each in a savepoint of its own: one that meets a
        lock conflict is rolled back alone and kept in ``busy``."""
        pending, self.pending = self.pending, []
        if not pending:
            return
        lists, found = _open_lists(reduce(or_, pending))
        for inventory in lists:
            if not self.savepoints:
                inventory_match(inventory=inventory, documents=found[inventory.pk])
                continue
            try:
                with atomic_with_events():
                    inventory_match(inventory=inventory, documents=found[inventory.pk])
            except OperationalError:
                self.busy.append(inventory.pk)

    def retry(self) -> None:
        """Match the ``busy`` lists again, each in a transaction of its own (after the block's
        transaction committed). A list that still can't be matched is logged: it stays
        waiting, and its next document or ``manage.py`` rematching takes it up."""
        busy, self.busy = self.busy, []
        for pk in busy:
            try:
                with transaction.atomic():
                    _match(Q(pk=pk))
            except OperationalError:
                logger.warning("matching: list %s met a lock conflict twice; it waits for its next document", pk)


_deferred: ContextVar[MatchQueue | None] = ContextVar("matching_deferred", default=None)


@contextlib.contextmanager
def matching_deferred(*, savepoints: bool = True) -> Iterator[MatchQueue]:
    """Match the lists concerned by the documents stored inside the block once, when it ends
    (in the caller's transaction, which must hold the documents' parcel locks to its commit):
    a parcel whose four documents come in one batch is matched once, not four times."""
    if _deferred.get() is not None:
        msg = "matching_deferred blocks do not nest"
        raise RuntimeError(msg)
    queue = MatchQueue(savepoints=savepoints)
    token = _deferred.set(queue)
    try:
        yield queue
    finally:
        _deferred.reset(token)
    queue.run()


def _positive_list(inventory: Inventory) -> list[Outcome]:
    """Rule 7: every item is still on the positive list (the list may have changed since)."""
    items = list(inventory.items.all())
    on_list = tables.positive_list_entries(i.gcode for i in items)
    missing = [i for i in items if i.gcode[:8] not in on_list]
    if not missing:
        return [Outcome(match_rules.POSITIVE_LIST, True, documents=[f"inventory:{inventory.pk}"])]
    return [
        Outcome(match_rules.POSITIVE_LIST, False, f"items[{i.gnum}].gcode", i.gcode, "", [f"inventory:{inventory.pk}"])
        for i in missing
    ]


def _tax_items(inventory: Inventory) -> list[tax.TaxItem]:
    return [
        tax.TaxItem(
            gnum=i.gnum,
            gcode=i.gcode,
            qty=i.qty,
            unit=i.unit,
            total_price=i.total_price,
            qty1=i.qty1,
            unit1=i.unit1,
            qty2=i.qty2,
            unit2=i.unit2 or None,
        )
        for i in inventory.items.all()
    ]


def _piece_count(items: list[tax.TaxItem]) -> int:
    """Pieces for the one-piece exception to the single limit: 1 only for a list of exactly one
    line with a quantity of exactly 1 (an indivisible item); any other list counts as several."""
    if len(items) == 1 and items[0].qty == 1:
        return 1
    return max(2, len(items))


def _record(inventory: Inventory, outcomes: list[Outcome]) -> None:
    run = match_rules.next_rule_run(inventory)
    RuleResult.objects.bulk_create(
        [
            RuleResult(
                inventory=inventory,
                run=run,
                rule=o.rule,
                outcome=RuleResult.Outcome.PASSED if o.passed else RuleResult.Outcome.FAILED,
                field=o.field[:100],
                list_value=o.list_value[:300],
                other_value=o.other_value[:300],
                documents=o.documents,
                customs_code=o.customs_code,
                note=o.note[:200],
            )
            for o in outcomes
        ]
    )


def _store_estimate(inventory: Inventory, estimate: tax.TaxEstimate) -> None:
    try:
        # Read with the list (``_open_lists``), or now.
        previous: TaxEstimate | None = inventory.tax_estimate
    except TaxEstimate.DoesNotExist:
        previous = None
    if previous is not None:
        previous.delete()
    stored = TaxEstimate.objects.create(
        inventory=inventory,
        mode=estimate.mode.value,
        dutiable_total=estimate.dutiable_total,
        customs_tax=estimate.customs_tax,
        value_added_tax=estimate.value_added_tax,
        consumption_tax=estimate.consumption_tax,
        tax_total=estimate.customs_tax + estimate.value_added_tax + estimate.consumption_tax,
    )
    TaxEstimateItem.objects.bulk_create(
        [
            TaxEstimateItem(
                estimate=stored,
                gnum=i.gnum,
                gcode=i.gcode,
                dutiable_value=i.dutiable_value,
                customs_tax=i.customs_tax,
                value_added_tax=i.value_added_tax,
                consumption_tax=i.consumption_tax,
            )
            for i in estimate.items
        ]
    )


def _decide_quota_and_tax(inventory: Inventory) -> tuple[list[Outcome], tax.TaxEstimate | None]:
    """Rule 7 (quotas) and the tax estimate; reserves the buyer's quota when both hold."""
    ref = [f"inventory:{inventory.pk}"]
    items = _tax_items(inventory)
    rates = tax_rates_for([i.gcode for i in items])
    missing = [i for i in items if i.gcode not in rates]
    if missing:
        return [Outcome(TAX_RATE_AVAILABLE, False, f"items[{i.gnum}].gcode", i.gcode, "", ref) for i in missing], None
    # The thresholds and per-unit taxes are in the line's legal units: a cream declared in grams
    # (036) instead of kilograms (035) would be judged a thousand times cheaper.
    wrong_units = [
        Outcome(LEGAL_UNIT1, False, f"items[{i.gnum}].unit1", i.unit1, rates[i.gcode].legal_unit1, ref)
        for i in items
        if rates[i.gcode].legal_unit1 and i.unit1 != rates[i.gcode].legal_unit1
    ]
    if wrong_units:
        return wrong_units, None
    dutiable_total = sum((i.total_price for i in items), Decimal(0)) + inventory.freight + inventory.insured_fee
    decision = quotas.quota_reserve(inventory=inventory, dutiable_total=dutiable_total, piece_count=_piece_count(items))
    if isinstance(decision, tax.Refusal):
        rule = (
            match_rules.QUOTA_SINGLE if decision.customs_code == tax.SINGLE_LIMIT_EXCEEDED else match_rules.QUOTA_ANNUAL
        )
        return [
            Outcome(
                rule, False, "dutiable_value", str(decision.amount), str(decision.limit), ref, decision.customs_code
            )
        ], None
    try:
        estimate = tax.tax_estimate(
            items=items, rates=rates, freight=inventory.freight, insured_fee=inventory.insured_fee, mode=decision
        )
    except tax.TaxError as exc:
        return [Outcome(TAX_RATE_AVAILABLE, False, "items", str(exc)[:300], "", ref)], None
    return [
        Outcome(match_rules.QUOTA_SINGLE, True, documents=ref),
        Outcome(match_rules.QUOTA_ANNUAL, True, documents=ref),
    ], estimate


def inventory_match(
    *, inventory: Inventory, documents: tuple[Order | None, Payment | None, Waybill | None] | None = None
) -> None:
    """Run every rule of DOMAIN.md section 3 on a list whose documents may all be there.

    1. A document is missing: the list waits (``waiting_for`` names what for).
    2. Otherwise every document rule and the positive list are checked and recorded, and the
       declaring agent's appointment again (``agent_appointed``); a payer who is not the buyer
       is put to the payment company (``identity_verification``) once.
    3. If they hold, the buyer's quota is decided and reserved and the tax estimated.
    4. Any failure: ``match_failed``. Else ``matched``, then the declare step
       (``clearance.declare``): ``declared``, ``held`` or ``match_failed``.

    ``inventory`` was read under its row lock in the caller's transaction (``select_for_update``),
    so its moves do not read it again. ``documents``: the list's ``parcel_documents``, when the
    caller read them already.
    """
    order, payment, waybill = documents if documents is not None else parcel_documents(inventory)
    waiting_for = [n for n, d in (("order", order), ("payment", payment), ("waybill", waybill)) if d is None]
    if order is None or payment is None or waybill is None:
        if inventory.status in RESTARTED:
            lifecycle.inventory_transition(
                inventory=inventory,
                to=InventoryStatus.PENDING_DOCUMENTS,
                source=SYSTEM,
                locked=True,
                note="a document was withdrawn",
                note_code=notes.DOCUMENT_WITHDRAWN,
            )
        if waiting_for != inventory.waiting_for:
            inventory.waiting_for = waiting_for
            inventory.save(update_fields=["waiting_for", "updated_at"])
        return
    if inventory.waiting_for:
        inventory.waiting_for = []
        inventory.save(update_fields=["waiting_for", "updated_at"])
    if inventory.status in RESTARTED:
        lifecycle.inventory_transition(
            inventory=inventory,
            to=InventoryStatus.PENDING_DOCUMENTS,
            source=SYSTEM,
            locked=True,
            note="matching again",
            note_code=notes.MATCHING_AGAIN,
        )
    if payment.identity_verification == IdentityVerification.NOT_REQUESTED and not match_rules.payer_matches_buyer(
        payment, order
    ):
        # Rule 3 fails unless the payment company verifies the payer; its answer matches again.
        identity_verification.payment_identity_verification_request(payment=payment, order=order)
    outcomes = match_rules.evaluate(Parcel(inventory, order, payment, waybill)) + _positive_list(inventory)
    lapsed = match_rules.agent_appointed(inventory)
    if lapsed is not None:
        outcomes.append(lapsed)
    estimate = None
    if all(o.passed for o in outcomes):
        quota_outcomes, estimate = _decide_quota_and_tax(inventory)
        outcomes += quota_outcomes
    _record(inventory, outcomes)
    failed = [o.rule for o in outcomes if not o.passed]
    events.inventory_matching_result(inventory=inventory, failed_rules=failed)
    if failed or estimate is None:
        lifecycle.inventory_transition(
            inventory=inventory,
            to=InventoryStatus.MATCH_FAILED,
            source=SYSTEM,
            locked=True,
            note=", ".join(sorted(set(failed)))[:500],
            note_code=notes.RULES_FAILED,
            note_params={"rules": sorted(set(failed))},
        )
        return
    _store_estimate(inventory, estimate)
    lifecycle.inventory_transition(
        inventory=inventory,
        to=InventoryStatus.MATCHED,
        source=SYSTEM,
        locked=True,
        note="every rule holds",
        note_code=notes.EVERY_RULE_HOLDS,
    )
    # The systems have their say; signing and sending follow after this transaction.
    declare.inventory_declare(inventory=inventory)
