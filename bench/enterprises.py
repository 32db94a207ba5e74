"""The enterprises of the benchmark and what each sends.

One enterprise per role, as in a pilot area: the platform sends the orders, the payment
company the payments, the logistics company the waybills, and the customs broker, appointed by
the e-commerce enterprise, the declaration lists. Each sends its own documents with its own key,
one by one or in batches of its own (a batch holds only what its sender may send). The broker
and the e-commerce enterprise sign customs messages, as ``load_demo``'s do.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from bench.parcels import Parties


@dataclass(frozen=True)
class BenchEnterprise:
    key: str  # how the benchmark names it
    customs_code: str
    uscc_body: str  # the USCC's first 17 characters; the check character is computed
    name: str
    role: str
    signs: bool = False


ENTERPRISES = (
    BenchEnterprise("platform", "3301980001", "91330100MA2H9B801", "基准测试平台 Bench Platform", "ebp"),
    BenchEnterprise("seller", "3301980002", "91330100MA2H9B802", "基准测试跨境电商 Bench Seller", "ebc", signs=True),
    BenchEnterprise("pay", "3301980003", "91330100MA2H9B803", "基准测试支付 Bench Pay", "pay"),
    BenchEnterprise("logistics", "3301980004", "91330100MA2H9B804", "基准测试物流 Bench Logistics", "logistics"),
    BenchEnterprise(
        "broker", "3301980005", "91330100MA2H9B805", "基准测试报关 Bench Customs Broker", "agent", signs=True
    ),
)
BY_KEY = {enterprise.key: enterprise for enterprise in ENTERPRISES}
# Who sends each document.
SENDER = {"order": "platform", "payment": "pay", "waybill": "logistics", "inventory": "broker"}
# The partners the simulators play: code, kind, path of the simulator's endpoint.
CUSTOMS_PARTNER = "CUSTOMS-BENCH"
PAYMENT_PARTNER = "PAY-BENCH"


def parties() -> Parties:
    p, s, pay, lg, b = (BY_KEY[k] for k in ("platform", "seller", "pay", "logistics", "broker"))
    return Parties(
        ebp_code=p.customs_code,
        ebp_name=p.name,
        ebc_code=s.customs_code,
        ebc_name=s.name,
        pay_code=pay.customs_code,
        pay_name=pay.name,
        logistics_code=lg.customs_code,
        logistics_name=lg.name,
        agent_code=b.customs_code,
        agent_name=b.name,
    )


def parties_dict() -> dict[str, str]:
    return asdict(parties())
