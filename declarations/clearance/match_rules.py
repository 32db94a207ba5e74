"""The three-document matching rules (DOMAIN.md section 3), as plain functions.

Each rule looks at the list and the three documents it names and says what disagreed.
Personal values are masked before they leave this module, so a rule result can be stored
and shown to the parties.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Max

from core.masking import mask_value
from declarations.intake.identity import RESIDENT_ID_CARD
from declarations.models import DocumentStatus, IdentityVerification, Inventory, Order, Payment, RuleResult, Waybill
from single_window import selectors as registry

# Stable rule codes; a failure carries the code of the rule it broke.
DOCUMENTS_LINKED = "documents_linked"
PAYMENT_AMOUNT = "payment_amount_equals_order"
ORDER_SUMS = "order_sums"
PAYER_IS_BUYER = "payer_is_buyer"
CONSIGNEE_MATCHES = "waybill_consignee_matches_order"
ITEMS_MATCH = "list_items_match_order"
ITEMS_SEQUENCE = "items_numbered_in_sequence"
FREIGHT_MATCHES = "list_freight_matches_waybill"
ONE_PACKAGE = "one_package"
CUSTOMS_ACCEPTED = "documents_not_refused_by_customs"
BUYER_MATCHES = "list_buyer_matches_order"
ID_TYPES = "id_type_resident_card"
QUOTA_SINGLE = "quota_single_transaction"
QUOTA_ANNUAL = "quota_annual"
POSITIVE_LIST = "positive_list"
AGENT_APPOINTED = "agent_appointed"
# Customs' code for a declarant the e-commerce enterprise did not authorise (as on intake).
AGENT_NOT_AUTHORISED = "-621016"


@dataclass(frozen=True)
class Outcome:
    rule: str
    passed: bool
    field: str = ""
    list_value: str = ""
    other_value: str = ""
    documents: list[str] = dataclasses.field(default_factory=list)
    customs_code: str = ""
    # Why, when the documents alone don't say (the payment company's identity verification).
    note: str = ""


@dataclass(frozen=True)
class Parcel:
    inventory: Inventory
    order: Order
    payment: Payment
    waybill: Waybill

    def ref(self, name: str) -> str:
        document = {"inventory": self.inventory, "order": self.order, "payment": self.payment, "waybill": self.waybill}[
            name
        ]
        return f"{name}:{document.pk}"


# ID numbers are compared by their hashes and never shown, not even masked: a failure shows
# these placeholders, which masking would garble.
ID_NUMBER_HIDDEN = "***"
ID_NUMBER_OTHER = "*** (another number)"


def _shown(name: str, value: object, personal: bool) -> str:
    text = "" if value is None else str(value)
    if text in (ID_NUMBER_HIDDEN, ID_NUMBER_OTHER):
        return text
    return str(mask_value(name, text)) if personal and text else text


def _compare(
    rule: str, parcel: Parcel, pairs: list[tuple[str, object, object]], documents: list[str], *, personal: bool = False
) -> Iterator[Outcome]:
    failed = False
    for name, ours, theirs in pairs:
        if ours != theirs:
            failed = True
            yield Outcome(
                rule,
                False,
                name,
                _shown(name, ours, personal),
                _shown(name, theirs, personal),
                [parcel.ref(d) for d in documents],
            )
    if not failed:
        yield Outcome(rule, True, documents=[parcel.ref(d) for d in documents])


def documents_linked(p: Parcel) -> Iterator[Outcome]:
    """Rule 1: the list names the order, the waybill names the order, all are declared."""
    pairs: list[tuple[str, object, object]] = [
        ("ebc_code", p.inventory.ebc_code, p.order.ebc_code),
        ("order_no", p.waybill.order_no, p.order.order_no),
        ("order.status", DocumentStatus.DECLARED, p.order.status),
        ("payment.status", DocumentStatus.DECLARED, p.payment.status),
        ("waybill.status", DocumentStatus.DECLARED, p.waybill.status),
    ]
    yield from _compare(DOCUMENTS_LINKED, p, pairs, ["inventory", "order", "payment", "waybill"])


def payment_amount(p: Parcel) -> Iterator[Outcome]:
    """Rule 2: the order's actual_paid is what the payment says was paid."""
    yield from _compare(
        PAYMENT_AMOUNT, p, [("amount_paid", p.payment.amount_paid, p.order.actual_paid)], ["payment", "order"]
    )


def order_sums(p: Parcel) -> Iterator[Outcome]:
    """Rule 2: actual_paid = goods + freight + tax - discount; goods = sum of item totals."""
    o = p.order
    items = list(o.items.all())
    pairs: list[tuple[str, object, object]] = [
        ("actual_paid", o.actual_paid, o.goods_value + o.freight + o.tax_total - o.discount),
        ("goods_value", o.goods_value, sum((i.total_price for i in items), Decimal(0))),
    ]
    pairs += [(f"items[{i.gnum}].total_price", i.total_price, i.price * i.qty) for i in items]
    yield from _compare(ORDER_SUMS, p, pairs, ["order"])


# Rule 3's notes, by the state of the payment company's identity verification.
PAYER_VERIFICATION_NOTES: dict[str, str] = {
    IdentityVerification.REQUESTED: "identity verification requested from the payment company",
    IdentityVerification.VERIFIED: "verified by the payment company",
    IdentityVerification.REFUSED: "the payment company did not verify the payer for the buyer",
}


def payer_matches_buyer(payment: Payment, order: Order) -> bool:
    """Rule 3 on the documents alone: same name and same ID number."""
    return (payment.payer_name, payment.payer_id_hash) == (order.buyer_name, order.buyer_id_hash)


def payer_is_buyer(p: Parcel) -> Iterator[Outcome]:
    """Rule 3: the payer is the buyer (name and ID number), unless the payment company
    verified the payer for the buyer (``payments_verification``)."""
    verification = p.payment.identity_verification
    note = PAYER_VERIFICATION_NOTES.get(verification, "")
    if verification == IdentityVerification.VERIFIED:
        yield Outcome(PAYER_IS_BUYER, True, documents=[p.ref("payment"), p.ref("order")], note=note)
        return
    pairs: list[tuple[str, object, object]] = [
        ("payer_name", p.payment.payer_name, p.order.buyer_name),
        ("payer_id_number", p.payment.payer_id_hash, p.order.buyer_id_hash),
    ]
    if pairs[1][1] != pairs[1][2]:
        # Never show hashes: say only that the numbers differ.
        pairs[1] = ("payer_id_number", ID_NUMBER_HIDDEN, ID_NUMBER_OTHER)
    for outcome in _compare(PAYER_IS_BUYER, p, pairs, ["payment", "order"], personal=True):
        yield outcome if outcome.passed else dataclasses.replace(outcome, note=note)


def consignee_matches(p: Parcel) -> Iterator[Outcome]:
    """Rule 4: the waybill's consignee is the order's (name, phone, address)."""
    pairs: list[tuple[str, object, object]] = [
        ("consignee", p.waybill.consignee, p.order.consignee),
        ("consignee_telephone", p.waybill.consignee_telephone, p.order.consignee_telephone),
        ("consignee_address", p.waybill.consignee_address, p.order.consignee_address),
    ]
    yield from _compare(CONSIGNEE_MATCHES, p, pairs, ["waybill", "order"], personal=True)


def items_match(p: Parcel) -> Iterator[Outcome]:
    """Rule 5: the list declares what was sold, item by item: for each gnum the goods name,
    quantity, price, total and currency of the list's item are the order's. An under-declared
    list would otherwise set a lower base for the tax and the buyer's quota."""
    ours = {i.gnum: i for i in p.inventory.items.all()}
    theirs = {i.gnum: i for i in p.order.items.all()}
    pairs: list[tuple[str, object, object]] = [("items.gnum", sorted(ours), sorted(theirs))]
    for g in sorted(ours.keys() & theirs.keys()):
        mine, sold = ours[g], theirs[g]
        pairs += [
            (f"items[{g}].item_name", mine.item_name or mine.gname, sold.item_name),
            (f"items[{g}].qty", mine.qty, sold.qty),
            (f"items[{g}].price", mine.price, sold.price),
            (f"items[{g}].total_price", mine.total_price, sold.total_price),
            (f"items[{g}].currency", mine.currency, sold.currency),
        ]
    yield from _compare(ITEMS_MATCH, p, pairs, ["inventory", "order"])


def items_in_sequence(p: Parcel) -> Iterator[Outcome]:
    """Rule 5: the items of the list and of the order are numbered 1, 2, 3 ... without gaps."""
    pairs: list[tuple[str, object, object]] = []
    for name, items in (("items.gnum", p.inventory.items.all()), ("order.items.gnum", p.order.items.all())):
        numbers = sorted(i.gnum for i in items)
        pairs.append((name, numbers, list(range(1, len(numbers) + 1))))
    yield from _compare(ITEMS_SEQUENCE, p, pairs, ["inventory", "order"])


def freight_matches(p: Parcel) -> Iterator[Outcome]:
    """Rule 5: the list's freight and insurance are the carrier's (the waybill's, where it
    states them; else the freight the order charged). They are part of the dutiable value."""
    freight = p.waybill.freight if p.waybill.freight is not None else p.order.freight
    pairs: list[tuple[str, object, object]] = [("freight", p.inventory.freight, freight)]
    if p.waybill.insured_fee is not None:
        pairs.append(("insured_fee", p.inventory.insured_fee, p.waybill.insured_fee))
    yield from _compare(FREIGHT_MATCHES, p, pairs, ["inventory", "waybill"])


def one_package(p: Parcel) -> Iterator[Outcome]:
    """Rule 5: a retail parcel is one package: pack_no is 1 on the list and on the waybill."""
    pairs: list[tuple[str, object, object]] = [
        ("pack_no", p.inventory.pack_no, 1),
        ("waybill.pack_no", p.waybill.pack_no, 1),
    ]
    yield from _compare(ONE_PACKAGE, p, pairs, ["inventory", "waybill"])


# Customs' answers to a forwarded order, payment or waybill that mean it will not stand:
# returned (100) or refused (a negative code).
def _refused_by_customs(status: str) -> bool:
    return status == "100" or status.startswith("-")


def customs_accepted(p: Parcel) -> Iterator[Outcome]:
    """Rule 1: none of the order, payment and waybill was refused or returned by customs (their
    CEB312/412/512): a list on a document customs turned down would be refused in its turn."""
    pairs: list[tuple[str, object, object]] = [
        (f"{name}.customs_status", "", document.customs_status)
        for name, document in (("order", p.order), ("payment", p.payment), ("waybill", p.waybill))
        if _refused_by_customs(document.customs_status)
    ]
    yield from _compare(CUSTOMS_ACCEPTED, p, pairs, ["order", "payment", "waybill"])


def buyer_matches(p: Parcel) -> Iterator[Outcome]:
    """Rule 5: the list's buyer is the order's buyer."""
    inventory, order = p.inventory, p.order
    pairs: list[tuple[str, object, object]] = [
        ("buyer_name", inventory.buyer_name, order.buyer_name),
        ("buyer_telephone", inventory.buyer_telephone, order.buyer_telephone),
        ("buyer_id_number", inventory.buyer_id_hash, order.buyer_id_hash),
    ]
    if pairs[2][1] != pairs[2][2]:
        pairs[2] = ("buyer_id_number", ID_NUMBER_HIDDEN, ID_NUMBER_OTHER)
    yield from _compare(BUYER_MATCHES, p, pairs, ["inventory", "order"], personal=True)


def id_types(p: Parcel) -> Iterator[Outcome]:
    """Rule 6: buyer and payer are identified by resident identity card (type 1)."""
    pairs: list[tuple[str, object, object]] = [
        ("buyer_id_type", p.inventory.buyer_id_type, RESIDENT_ID_CARD),
        ("order.buyer_id_type", p.order.buyer_id_type, RESIDENT_ID_CARD),
        ("payer_id_type", p.payment.payer_id_type, RESIDENT_ID_CARD),
    ]
    yield from _compare(ID_TYPES, p, pairs, ["inventory", "order", "payment"])


def agent_appointed(inventory: Inventory) -> Outcome | None:
    """The declaring agent still holds an appointment in force from the list's e-commerce
    enterprise; None when it does, or when the e-commerce enterprise declares its own list.

    Intake checked it when the list came in, but a list may wait days for its documents or be
    held by the declare step, and an appointment may be revoked or expire meanwhile: matching
    and the declare step's second look check it again, so a list never goes to customs in the
    name of an agent nobody appoints any more. Reads the registry; recorded only when it fails.
    """
    if inventory.agent_code == inventory.ebc_code:
        return None
    agent = registry.enterprise_get_by_code(code=inventory.agent_code)
    principal = registry.enterprise_get_by_code(code=inventory.ebc_code)
    if agent is not None and principal is not None and registry.appointment_valid(principal=principal, agent=agent):
        return None
    return Outcome(
        AGENT_APPOINTED,
        False,
        "agent_code",
        inventory.agent_code,
        inventory.ebc_code,
        [f"inventory:{inventory.pk}"],
        AGENT_NOT_AUTHORISED,
        "the e-commerce enterprise's appointment of the agent is revoked or not in force",
    )


DOCUMENT_RULES: tuple[Callable[[Parcel], Iterator[Outcome]], ...] = (
    documents_linked,
    customs_accepted,
    payment_amount,
    order_sums,
    payer_is_buyer,
    consignee_matches,
    items_match,
    items_in_sequence,
    freight_matches,
    one_package,
    buyer_matches,
    id_types,
)


def evaluate(parcel: Parcel) -> list[Outcome]:
    """Every document rule's outcome (rule 7, quotas and the positive list, comes after)."""
    return [outcome for rule in DOCUMENT_RULES for outcome in rule(parcel)]


# The list's last run of rules, on an instance read with it (``LAST_RULE_RUN`` annotated, kept in
# step by ``next_rule_run``): the list's rows are locked, so no one else records a run meanwhile.
LAST_RULE_RUN = "last_rule_run"


def next_rule_run(inventory: Inventory) -> int:
    """The number of the run the caller records now for the locked list: one after its last.
    Read from the instance when it carries ``LAST_RULE_RUN``, else from the database."""
    last = getattr(inventory, LAST_RULE_RUN, None)
    if last is None:
        last = RuleResult.objects.filter(inventory=inventory).aggregate(run=Max("run"))["run"] or 0
    run = int(last) + 1
    setattr(inventory, LAST_RULE_RUN, run)
    return run
