"""The rule kinds: their parameters (with defaults) and how each judges a list's facts.

A rule is data (``RiskRule``): a kind, parameters, an outcome and a scope. ``evaluate`` runs
one rule on the facts with a ``History`` that reads risk's own tables once per list, through
indexed queries bounded by a time window or a row limit, and returns the evidence (the figures
that made it fire) or None.
"""

from __future__ import annotations

import datetime
import statistics
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils.translation import gettext as _

from risk import credit_classes, rulebook, selection
from risk.models import (
    GoodsRestriction,
    ListObservation,
    PriceObservation,
    Restriction,
    RiskRule,
    RuleKind,
    RuleScope,
    WatchKind,
    WatchListEntry,
    WeightBasis,
    WeightNorm,
)
from single_window.declare import ItemFacts, ListFacts

K = RuleKind
BONDED = "1210"

# Kind -> parameter -> default. The type of the default is the parameter's type.
DEFAULTS: Mapping[str, Mapping[str, Any]] = {
    K.RESTRICTED_GOODS: {},
    # Fires when |price - median| > k * MAD over the latest `window` prices of the code, once
    # there are `min_samples` of them. A MAD below 1 % of the median counts as 1 % of it.
    K.PRICE_ANOMALY: {"k": 5.0, "min_samples": 30, "window": 500},
    # Fires when the buyer's lists from one seller within the window, this one included, are
    # `min_lists` or more and sum above `limit` (CNY) while each stays under it.
    K.ORDER_SPLITTING: {"window_hours": 24, "limit": 5000.0, "min_lists": 2},
    # Fires when one consignee phone (`by` phone) or address (`by` address) receives for
    # `min_buyers` distinct buyers or more within the window, this list's buyer included.
    K.IDENTITY_FARMING: {"by": "phone", "window_hours": 24, "min_buyers": 10},
    # Fires when one buyer sends to `min_addresses` distinct addresses or more within the window.
    K.BUYER_ADDRESSES: {"window_hours": 24, "min_addresses": 5},
    # Fires when the buyer has more than `max_lists` lists within the window, this one included.
    K.BUYER_VELOCITY: {"window_hours": 24, "max_lists": 10},
    # Fires when the gross weight is outside the norms' range (WeightNorm) widened by `tolerance`.
    K.WEIGHT: {"tolerance": 0.2},
    # Which watch lists the rule reads.
    K.WATCH_LIST: {"kinds": ["enterprise", "buyer", "phone", "address"]},
    # Fires when an enterprise the list names is of one of these customs classes.
    K.CREDIT_CLASS: {"classes": ["dishonest", "seriously_dishonest"], "parties": ["ebc", "ebp", "agent"]},
    # Selects at the e-commerce enterprise's class rate (credit), or this rate without one.
    K.RANDOM_SELECTION: {"fallback_rate": 0.0244},
}
_CHOICES: Mapping[tuple[str, str], frozenset[str]] = {
    (K.IDENTITY_FARMING, "by"): frozenset({"phone", "address"}),
    (K.WATCH_LIST, "kinds"): frozenset(WatchKind.values),
    (K.CREDIT_CLASS, "parties"): frozenset({"ebc", "ebp", "agent", "logistics", "assure", "area"}),
}


def clean_parameters(kind: str, parameters: Any) -> dict[str, Any]:
    """The rule's parameters checked against its kind, defaults filled in. Raises
    ``ValidationError`` naming the parameter."""
    if kind not in DEFAULTS:
        raise ValidationError(_("Unknown rule kind %(kind)s.") % {"kind": kind})
    if not isinstance(parameters, dict):
        raise ValidationError(_("The parameters are a JSON object."))
    defaults = DEFAULTS[kind]
    unknown = sorted(set(parameters) - set(defaults))
    if unknown:
        raise ValidationError(_("Unknown parameters for %(kind)s: %(names)s.") % {"kind": kind, "names": unknown})
    cleaned = dict(defaults)
    for name, value in parameters.items():
        default = defaults[name]
        cleaned[name] = _typed(kind, name, value, default)
    return cleaned


def _typed(kind: str, name: str, value: Any, default: Any) -> Any:
    bad = ValidationError(_("Parameter %(name)s: %(value)r is not valid.") % {"name": name, "value": value})
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise bad
        return value
    if isinstance(default, int):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise bad
        return value
    if isinstance(default, float):
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise bad
        if name.endswith("rate") and value > 1:
            raise bad
        return float(value)
    allowed = _CHOICES.get((kind, name))
    if isinstance(default, str):
        if not isinstance(value, str) or (allowed is not None and value not in allowed):
            raise bad
        return value
    if isinstance(default, list):
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise bad
        if allowed is not None and not set(value) <= allowed:
            raise bad
        return value
    raise bad


def in_scope(rule: RiskRule, facts: ListFacts) -> bool:
    """Does the rule apply to this list (its district, park or trade mode)?"""
    if rule.scope == RuleScope.ALL:
        return True
    value = {
        RuleScope.DISTRICT: facts.customs_code,
        RuleScope.PARK: facts.park_code,
        RuleScope.TRADE_MODE: facts.trade_mode,
    }[RuleScope(rule.scope)]
    return value == rule.scope_value


# --- What the rules read -------------------------------------------------------------------------


@dataclass(frozen=True)
class Seen:
    """A list of the buyer's (or of a phone's, an address's) recent history."""

    inventory_id: int
    buyer_hash: str
    ebc_code: str
    address_hash: str
    goods_value: Decimal
    released: bool


def goods_value(facts: ListFacts) -> Decimal:
    return sum((item.total_price for item in facts.items), Decimal(0))


@dataclass
class History:
    """Risk's own history around one list, each part read once and only when a rule needs it.
    The list's own earlier versions are left out (a changed list is the same parcel)."""

    facts: ListFacts
    window_hours: int = 24
    _cache: dict[str, Any] = field(default_factory=dict)

    def since(self, hours: int) -> datetime.datetime:
        return self.facts.declared_at - datetime.timedelta(hours=hours)

    @cached_property
    def _around(self) -> list[tuple[str, Seen, datetime.datetime]]:
        """Every observation of the buyer, the phone or the address within the longest window
        any rule reads (``window_hours``), in one query (three indexes, OR-ed)."""
        facts = self.facts
        keys = Q(pk__in=[])
        for column, value in (
            ("buyer_hash", facts.buyer_hash),
            ("phone_hash", facts.consignee_phone_hash),
            ("address_hash", facts.consignee_address_hash),
        ):
            if value:
                keys |= Q(**{column: value})
        rows = (
            ListObservation.objects.filter(keys, observed_at__gte=self.since(self.window_hours))
            .exclude(inventory_id=facts.ref.inventory_id)
            .values_list(
                "inventory_id",
                "buyer_hash",
                "ebc_code",
                "phone_hash",
                "address_hash",
                "goods_value",
                "released_at",
                "observed_at",
            )
        )
        return [
            (phone, Seen(i, buyer, ebc, address, value, released is not None), at)
            for i, buyer, ebc, phone, address, value, released, at in rows
        ]

    def _recent(self, column: str, value: str, hours: int) -> list[Seen]:
        if not value:
            return []
        if hours > self.window_hours:
            msg = f"a rule reads {hours} h of history, more than the {self.window_hours} h read"
            raise ValueError(msg)
        since = self.since(hours)
        found = []
        for phone, seen, at in self._around:
            key = {"buyer_hash": seen.buyer_hash, "phone_hash": phone, "address_hash": seen.address_hash}[column]
            if at >= since and key == value:
                found.append(seen)
        return found

    def of_buyer(self, hours: int) -> list[Seen]:
        return self._recent("buyer_hash", self.facts.buyer_hash, hours)

    def of_phone(self, hours: int) -> list[Seen]:
        return self._recent("phone_hash", self.facts.consignee_phone_hash, hours)

    def of_address(self, hours: int) -> list[Seen]:
        return self._recent("address_hash", self.facts.consignee_address_hash, hours)

    def prices(self, gcode: str, window: int) -> list[Decimal]:
        key = f"price:{gcode}:{window}"
        if key not in self._cache:
            self._cache[key] = list(
                PriceObservation.objects.filter(gcode=gcode)
                .order_by("-observed_at")
                .values_list("unit_price", flat=True)[:window]
            )
        prices: list[Decimal] = self._cache[key]
        return prices

    @cached_property
    def watched(self) -> set[tuple[str, str]]:
        facts = self.facts
        wanted = [
            *((WatchKind.ENTERPRISE, code) for code in _party_codes(facts, ("ebc", "ebp", "agent", "logistics"))),
            (WatchKind.BUYER, facts.buyer_hash),
            (WatchKind.PHONE, facts.consignee_phone_hash),
            (WatchKind.ADDRESS, facts.consignee_address_hash),
        ]
        query = Q(pk__in=[])
        for kind, value in wanted:
            if value:
                query |= Q(kind=kind, value=value)
        return set(WatchListEntry.objects.filter(query, active=True).values_list("kind", "value"))

    @cached_property
    def restrictions(self) -> list[GoodsRestriction]:
        return rulebook.restrictions_of(item.gcode for item in self.facts.items)

    @cached_property
    def weight_norms(self) -> dict[str, WeightNorm]:
        return rulebook.weight_norms_of(item.gcode[:2] for item in self.facts.items)


def _party_codes(facts: ListFacts, parties: tuple[str, ...] | list[str]) -> list[str]:
    codes = [str(getattr(facts, f"{party}_code")) for party in parties]
    return [code for code in dict.fromkeys(codes) if code]


# --- The kinds -----------------------------------------------------------------------------------

Evidence = dict[str, str]
Evaluator = Callable[[ListFacts, dict[str, Any], History], Evidence | None]


def _restricted_goods(facts: ListFacts, params: dict[str, Any], history: History) -> Evidence | None:
    for restriction in sorted(history.restrictions, key=lambda r: (r.gcode_prefix, r.restriction)):
        items = [i for i in facts.items if i.gcode.startswith(restriction.gcode_prefix)]
        if not items:
            continue
        if restriction.restriction == Restriction.BONDED_ONLY and facts.trade_mode != BONDED:
            return {
                "gcode": items[0].gcode,
                "restriction": restriction.restriction,
                "prefix": restriction.gcode_prefix,
                "trade_mode": facts.trade_mode,
            }
        if restriction.restriction == Restriction.MAX_QTY and restriction.max_qty is not None:
            qty = sum((i.qty for i in items), Decimal(0))
            if qty > restriction.max_qty:
                return {
                    "gcode": items[0].gcode,
                    "restriction": restriction.restriction,
                    "prefix": restriction.gcode_prefix,
                    "qty": str(qty),
                    "max_qty": str(restriction.max_qty),
                }
    return None


def unit_price(item: ItemFacts) -> Decimal:
    return item.total_price / item.qty if item.qty else item.price


def _price_anomaly(facts: ListFacts, params: dict[str, Any], history: History) -> Evidence | None:
    for item in facts.items:
        prices = history.prices(item.gcode, int(params["window"]))
        if len(prices) < int(params["min_samples"]):
            continue
        values = [float(p) for p in prices]
        median = statistics.median(values)
        mad = statistics.median(abs(v - median) for v in values)
        mad = max(mad, abs(median) * 0.01)
        price = float(unit_price(item))
        if mad > 0 and abs(price - median) > float(params["k"]) * mad:
            return {
                "gcode": item.gcode,
                "unit_price": f"{price:.2f}",
                "median": f"{median:.2f}",
                "mad": f"{mad:.4f}",
                "deviation_in_mad": f"{abs(price - median) / mad:.1f}",
                "samples": str(len(values)),
            }
    return None


def _order_splitting(facts: ListFacts, params: dict[str, Any], history: History) -> Evidence | None:
    if not facts.buyer_hash:
        return None
    own = goods_value(facts)
    others = [
        s for s in history.of_buyer(int(params["window_hours"])) if s.ebc_code == facts.ebc_code and not s.released
    ]
    total = own + sum((s.goods_value for s in others), Decimal(0))
    lists = len(others) + 1
    limit = Decimal(str(params["limit"]))
    if lists >= int(params["min_lists"]) and total > limit:
        return {"lists": str(lists), "total": f"{total:.2f}", "limit": f"{limit:.2f}", "ebc_code": facts.ebc_code}
    return None


def _identity_farming(facts: ListFacts, params: dict[str, Any], history: History) -> Evidence | None:
    by = params["by"]
    hours = int(params["window_hours"])
    seen = history.of_phone(hours) if by == "phone" else history.of_address(hours)
    if not (facts.consignee_phone_hash if by == "phone" else facts.consignee_address_hash):
        return None
    buyers = {s.buyer_hash for s in seen} | {facts.buyer_hash}
    if len(buyers) >= int(params["min_buyers"]):
        return {"by": by, "buyers": str(len(buyers)), "window_hours": str(hours)}
    return None


def _buyer_addresses(facts: ListFacts, params: dict[str, Any], history: History) -> Evidence | None:
    hours = int(params["window_hours"])
    addresses = {s.address_hash for s in history.of_buyer(hours) if s.address_hash}
    if facts.consignee_address_hash:
        addresses.add(facts.consignee_address_hash)
    if facts.buyer_hash and len(addresses) >= int(params["min_addresses"]):
        return {"addresses": str(len(addresses)), "window_hours": str(hours)}
    return None


def _buyer_velocity(facts: ListFacts, params: dict[str, Any], history: History) -> Evidence | None:
    hours = int(params["window_hours"])
    lists = len(history.of_buyer(hours)) + 1
    if facts.buyer_hash and lists > int(params["max_lists"]):
        return {"lists": str(lists), "max_lists": str(params["max_lists"]), "window_hours": str(hours)}
    return None


def _weight(facts: ListFacts, params: dict[str, Any], history: History) -> Evidence | None:
    norms = history.weight_norms
    low = high = Decimal(0)
    judged = 0
    for item in facts.items:
        norm = norms.get(item.gcode[:2])
        if norm is None:
            continue
        units = item.qty1 if norm.basis == WeightBasis.LEGAL_QTY else item.total_price
        low += norm.min_kg * units
        high += norm.max_kg * units
        judged += 1
    if not judged:
        return None
    tolerance = Decimal(str(params["tolerance"]))
    expected_low, expected_high = low * (1 - tolerance), high * (1 + tolerance)
    if facts.gross_weight < expected_low or facts.gross_weight > expected_high:
        return {
            "gross_weight": str(facts.gross_weight),
            "expected_min": f"{expected_low:.3f}",
            "expected_max": f"{expected_high:.3f}",
        }
    return None


def _watch_list(facts: ListFacts, params: dict[str, Any], history: History) -> Evidence | None:
    kinds = set(params["kinds"])
    candidates = [
        *((WatchKind.ENTERPRISE, code, code) for code in _party_codes(facts, ("ebc", "ebp", "agent", "logistics"))),
        (WatchKind.BUYER, facts.buyer_hash, "buyer"),
        (WatchKind.PHONE, facts.consignee_phone_hash, "consignee phone"),
        (WatchKind.ADDRESS, facts.consignee_address_hash, "consignee address"),
    ]
    for kind, value, shown in candidates:
        if kind in kinds and value and (kind, value) in history.watched:
            return {"watch_list": str(kind), "matched": shown}
    return None


def _credit_class(facts: ListFacts, params: dict[str, Any], history: History) -> Evidence | None:
    classes = set(params["classes"])
    for code in _party_codes(facts, params["parties"]):
        found = credit_classes.customs_class_of(code)
        if found is not None and found.code in classes:
            return {"enterprise": code, "class": found.code}
    return None


def _random_selection(facts: ListFacts, params: dict[str, Any], history: History) -> Evidence | None:
    found = credit_classes.customs_class_of(facts.ebc_code)
    rate = found.inspection_rate if found is not None else Decimal(str(params["fallback_rate"]))
    if selection.is_selected(facts.ref, rate=rate, key=selection.selection_key()):
        customs_class = found.code if found is not None else credit_classes.REGULAR
        return {"ebc_code": facts.ebc_code, "class": customs_class, "rate": str(rate)}
    return None


EVALUATORS: Mapping[str, Evaluator] = {
    K.RESTRICTED_GOODS: _restricted_goods,
    K.PRICE_ANOMALY: _price_anomaly,
    K.ORDER_SPLITTING: _order_splitting,
    K.IDENTITY_FARMING: _identity_farming,
    K.BUYER_ADDRESSES: _buyer_addresses,
    K.BUYER_VELOCITY: _buyer_velocity,
    K.WEIGHT: _weight,
    K.WATCH_LIST: _watch_list,
    K.CREDIT_CLASS: _credit_class,
    K.RANDOM_SELECTION: _random_selection,
}


def longest_window(rules: list[RiskRule]) -> int:
    """The most hours of history any of ``rules`` reads (24 when none reads any)."""
    hours = [int(clean_parameters(r.kind, r.parameters).get("window_hours", 0)) for r in rules]
    return max([24, *hours])


def evaluate(rule: RiskRule, facts: ListFacts, history: History) -> Evidence | None:
    """The evidence if ``rule`` fires on the list, else None."""
    params = clean_parameters(rule.kind, rule.parameters)
    return EVALUATORS[rule.kind](facts, params, history)
