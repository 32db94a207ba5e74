"""The rules and weight norms risk control starts with (seeded by migration 0002; regulators
change them in the admin). Plain data, so the migration and the tests read the same."""

from __future__ import annotations

from typing import Any

# code, name, kind, outcome, parameters (the kind's defaults unless given here).
RULES: tuple[tuple[str, str, str, str, dict[str, Any]], ...] = (
    ("watch_list", "Watch lists: enterprise, buyer, phone, address", "watch_list", "block", {}),
    ("restricted_goods", "Goods restricted by the positive list's remark", "restricted_goods", "review", {}),
    ("order_splitting", "Orders split to stay under the 5,000 CNY limit", "order_splitting", "review", {}),
    ("identity_farming_phone", "One consignee phone, many buyers", "identity_farming", "review", {"by": "phone"}),
    (
        "identity_farming_address",
        "One consignee address, many buyers",
        "identity_farming",
        "review",
        {"by": "address"},
    ),
    ("buyer_addresses", "One buyer, many addresses", "buyer_addresses", "review", {}),
    ("buyer_velocity", "Too many parcels for one buyer in a day", "buyer_velocity", "review", {}),
    ("credit_class", "An enterprise of a dishonest credit class", "credit_class", "review", {}),
    ("random_selection", "Random selection for a documentary check", "random_selection", "review", {}),
    ("price_anomaly", "Unit price far from the code's history", "price_anomaly", "flag", {}),
    ("weight", "Gross weight inconsistent with the goods", "weight", "flag", {}),
)

# HS chapter, basis, min kg, max kg (per unit of the legal first quantity, or per CNY), note.
WEIGHT_NORMS: tuple[tuple[str, str, str, str, str], ...] = (
    ("04", "legal_qty", "1.0", "2.5", "dairy (milk powder): gross kg per kg net, with packaging"),
    ("19", "legal_qty", "1.0", "2.5", "infant formula, cereal preparations: gross kg per kg net"),
    ("21", "legal_qty", "1.0", "3.0", "food preparations, supplements: gross kg per kg net"),
    ("33", "value", "0.0002", "0.05", "cosmetics, perfumes: kg per CNY"),
    ("30", "value", "0.0001", "0.05", "medicaments: kg per CNY"),
    ("85", "value", "0.0002", "0.02", "electrical appliances: kg per CNY"),
)
