"""The sandbox triggers: the end of a list's orderNo makes the customs simulator answer as asked
(``docs/sandbox.md``), each list of a CEB621 on its own."""

from __future__ import annotations

import time
from collections.abc import Callable
from decimal import Decimal

import httpx
import pytest

from simulators import ceb, sandbox
from simulators.customs import CustomsSimulator
from simulators.tests.support import Callback, Identity, Receiver, inventory_message, lists_message, q, sign, to_bytes

Start = Callable[..., CustomsSimulator]


def post(simulator: CustomsSimulator, body: bytes) -> httpx.Response:
    return httpx.post(
        f"http://127.0.0.1:{simulator.port}/ceb", content=body, headers={"Content-Type": "application/xml"}
    )


def by_list(callbacks: list[Callback]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for callback in callbacks:
        if callback.message_type == "CEB622Message":
            found.setdefault(callback.first("copNo"), []).append(callback.first("returnStatus"))
    return found


def bills(callbacks: list[Callback]) -> dict[str, Decimal]:
    """The VAT of each CEB816 by invtNo."""
    return {
        c.first("invtNo"): Decimal(c.first("valueAddedTax")) for c in callbacks if c.message_type == "CEB816Message"
    }


def settle(receiver: Receiver, lists: int, seconds: float = 0.3) -> list[Callback]:
    """Wait until ``lists`` lists have a final receipt, then a little for stray ones."""
    final = {"100", "800"}

    def done(callbacks: list[Callback]) -> bool:
        ends = [s[-1] for s in by_list(callbacks).values()]
        return len(ends) >= lists and all(end in final or end.startswith("-") for end in ends)

    receiver.wait_for(done)
    time.sleep(seconds)
    return receiver.received()


# --- Reading the triggers -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("order_no", "expected"),
    [
        ("ORDER1", sandbox.Triggers()),
        ("ORDER1-REJECT", sandbox.Triggers(outcome="REJECT", reject_code="100")),
        ("ORDER1-REJECT-100", sandbox.Triggers(outcome="REJECT", reject_code="100")),
        ("ORDER1-reject-621003", sandbox.Triggers(outcome="REJECT", reject_code="-621003")),
        ("ORDER1-REVIEW", sandbox.Triggers(outcome="REVIEW")),
        ("ORDER1-INSPECT", sandbox.Triggers(outcome="INSPECT")),
        ("ORDER1-DETAIN", sandbox.Triggers(outcome="DETAIN", detention="501")),
        ("ORDER1-DETAIN-599", sandbox.Triggers(outcome="DETAIN", detention="599")),
        ("ORDER1-SURCHARGE", sandbox.Triggers(surcharge=Decimal("10.00"))),
        ("ORDER1-SURCHARGE-25.50", sandbox.Triggers(surcharge=Decimal("25.50"))),
        ("ORDER1-SLOW", sandbox.Triggers(step_delay=5.0)),
        ("ORDER1-SLOW-2.5", sandbox.Triggers(step_delay=2.5)),
        ("ORDER1-FAIL", sandbox.Triggers(failures=3)),
        ("ORDER1-FAIL-2", sandbox.Triggers(failures=2)),
        ("ORDER1-SLOW-2-REVIEW-SURCHARGE-3", sandbox.Triggers(outcome="REVIEW", surcharge=Decimal(3), step_delay=2.0)),
        # Only the end counts: a word inside the order number is not a trigger.
        ("REVIEW-ORDER1", sandbox.Triggers()),
        ("ORDER-REVIEW-2026-1", sandbox.Triggers()),
        ("ORDER1-REVIEWED", sandbox.Triggers()),
    ],
)
def test_it_reads_the_triggers_at_the_end_of_the_order_number(order_no: str, expected: sandbox.Triggers) -> None:
    assert sandbox.parse(order_no) == expected


@pytest.mark.parametrize("order_no", ["ORDER1-DETAIN-800", "ORDER1-REJECT-1.5", "ORDER1-FAIL-1.5"])
def test_it_refuses_a_trigger_argument_it_does_not_take(order_no: str) -> None:
    with pytest.raises(sandbox.TriggerError):
        sandbox.parse(order_no)


# --- Receipts -----------------------------------------------------------------------------------


def test_each_list_of_a_message_gets_the_outcome_its_order_number_asks_for(
    customs: Start, receiver: Receiver, agent: Identity
) -> None:
    simulator = customs(script="default")
    message = lists_message(
        inventory_message(cop_no="COPPLAIN", order_no="ORDER-PLAIN"),
        inventory_message(cop_no="COPREJECT", order_no="ORDER-R1-REJECT"),
        inventory_message(cop_no="COPREFUSED", order_no="ORDER-R2-REJECT-621003"),
        inventory_message(cop_no="COPREVIEW", order_no="ORDER-M-REVIEW"),
        inventory_message(cop_no="COPINSPECT", order_no="ORDER-I-INSPECT"),
        inventory_message(cop_no="COPDETAIN", order_no="ORDER-D-DETAIN-502"),
    )

    assert post(simulator, to_bytes(sign(message, agent))).status_code == 200

    callbacks = settle(receiver, lists=6)
    assert by_list(callbacks) == {
        "COPPLAIN": ["2", "120", "800"],
        "COPREJECT": ["2", "100"],
        "COPREFUSED": ["-621003"],
        "COPREVIEW": ["2", "120", "300", "800"],
        "COPINSPECT": ["2", "120", "500", "800"],
        "COPDETAIN": ["2", "120", "502", "800"],
    }
    for callback in callbacks:
        assert ceb.schema_errors(callback.root) == []
    receipts = {(c.first("copNo"), c.first("returnStatus")): c for c in callbacks if c.message_type == "CEB622Message"}
    assert "[-621003]" in receipts["COPREJECT", "100"].first("returnInfo")
    assert receipts["COPREFUSED", "-621003"].first("returnInfo").startswith("-621003 ")
    assert receipts["COPDETAIN", "502"].first("invtNo") == receipts["COPDETAIN", "120"].first("invtNo")
    assert "缉私" in receipts["COPDETAIN", "502"].first("returnInfo")
    # The released lists are billed; the refused ones are not.
    assert sum(c.message_type == "CEB816Message" for c in callbacks) == 4


def test_a_trigger_wins_over_the_script_for_its_list_only(customs: Start, receiver: Receiver, agent: Identity) -> None:
    simulator = customs(script="reject")
    message = lists_message(
        inventory_message(cop_no="COPSCRIPT", order_no="ORDER-S"),
        inventory_message(cop_no="COPFORCED", order_no="ORDER-F-REVIEW"),
    )

    assert post(simulator, to_bytes(sign(message, agent))).status_code == 200

    assert by_list(settle(receiver, lists=2)) == {
        "COPSCRIPT": ["2", "100"],
        "COPFORCED": ["2", "120", "300", "800"],
    }


def test_a_trigger_does_not_make_a_list_pass_customs_own_checks(
    customs: Start, receiver: Receiver, agent: Identity, ebc: Identity
) -> None:
    simulator = customs()
    over_limit = inventory_message(
        cop_no="COPOVER", order_no="ORDER-O-REVIEW", items=[("3304990010", "6000"), ("8541401000", "100")]
    )
    assert post(simulator, to_bytes(sign(over_limit, agent))).status_code == 200
    unsigned_by_declarant = inventory_message(cop_no="COPSIGNER", order_no="ORDER-S-REJECT-621003")
    assert post(simulator, to_bytes(sign(unsigned_by_declarant, ebc))).status_code == 200
    bad_argument = inventory_message(cop_no="COPBADARG", order_no="ORDER-B-DETAIN-800")
    assert post(simulator, to_bytes(sign(bad_argument, agent))).status_code == 200

    assert by_list(settle(receiver, lists=3)) == {
        "COPOVER": ["-621005"],
        "COPSIGNER": ["-621015"],
        "COPBADARG": ["-621001"],
    }


def test_a_surcharge_puts_more_vat_on_the_bill_than_the_rates_give(
    customs: Start, receiver: Receiver, agent: Identity
) -> None:
    simulator = customs()
    message = lists_message(
        inventory_message(cop_no="COPRATES", order_no="ORDER-A"),
        inventory_message(cop_no="COPSURCHARGE", order_no="ORDER-B-SURCHARGE-25.50"),
    )

    assert post(simulator, to_bytes(sign(message, agent))).status_code == 200

    callbacks = receiver.wait_for(lambda cs: sum(c.message_type == "CEB816Message" for c in cs) == 2)
    invt_no = {c.first("copNo"): c.first("invtNo") for c in callbacks if c.first("returnStatus") == "800"}
    vat = bills(callbacks)
    # The same goods: 116.16 at the simulator's rates (see test_customs), 25.50 more when asked.
    assert vat[invt_no["COPRATES"]] == Decimal("116.16")
    assert vat[invt_no["COPSURCHARGE"]] == Decimal("141.66")
    bill = next(
        c for c in callbacks if c.message_type == "CEB816Message" and c.first("invtNo") == invt_no["COPSURCHARGE"]
    )
    lines = bill.root.findall(f".//{q('TaxListRd')}")
    assert sum(Decimal(line.findtext(q("valueAddedTax")) or "") for line in lines) == Decimal("141.66")
    assert "surcharge 25.50" in bill.first("note")
    assert ceb.schema_errors(bill.root) == []


def test_a_slow_list_is_answered_its_own_delay_apart(customs: Start, receiver: Receiver, agent: Identity) -> None:
    simulator = customs(step_delay=0.05)
    message = lists_message(
        inventory_message(cop_no="COPQUICK", order_no="ORDER-Q"),
        inventory_message(cop_no="COPSLOW", order_no="ORDER-S-SLOW-0.6"),
    )
    started = time.monotonic()

    assert post(simulator, to_bytes(sign(message, agent))).status_code == 200

    receiver.wait_for(lambda cs: by_list(cs).get("COPQUICK", [])[-1:] == ["800"])
    quick_done = time.monotonic() - started
    assert by_list(receiver.received()).get("COPSLOW", []) in ([], ["2"])  # still at its first step
    receiver.wait_for(lambda cs: by_list(cs).get("COPSLOW", [])[-1:] == ["800"], timeout=10)
    slow_done = time.monotonic() - started
    assert quick_done < 0.6
    assert slow_done >= 3 * 0.6  # three receipts, 0.6 s apart


def test_a_failing_list_makes_its_message_answered_503_then_taken_once(
    customs: Start, receiver: Receiver, agent: Identity
) -> None:
    simulator = customs()
    body = to_bytes(
        sign(
            lists_message(
                inventory_message(cop_no="COPFAIL", order_no="ORDER-F-FAIL-2"),
                inventory_message(cop_no="COPFELLOW", order_no="ORDER-G"),
            ),
            agent,
        )
    )

    answers = [post(simulator, body).status_code for _attempt in range(4)]

    assert answers == [503, 503, 200, 200]  # the fourth is the same guid again: a duplicate
    assert by_list(settle(receiver, lists=2)) == {"COPFAIL": ["2", "120", "800"], "COPFELLOW": ["2", "120", "800"]}


def test_a_failing_list_fails_three_times_by_default_and_only_its_own_message(
    customs: Start, receiver: Receiver, agent: Identity
) -> None:
    simulator = customs()
    failing = to_bytes(sign(inventory_message(cop_no="COPFAIL3", order_no="ORDER-F-FAIL"), agent))
    plain = to_bytes(sign(inventory_message(cop_no="COPPLAIN3", order_no="ORDER-P"), agent))

    assert post(simulator, plain).status_code == 200
    assert [post(simulator, failing).status_code for _attempt in range(4)] == [503, 503, 503, 200]

    assert by_list(settle(receiver, lists=2)) == {"COPPLAIN3": ["2", "120", "800"], "COPFAIL3": ["2", "120", "800"]}
