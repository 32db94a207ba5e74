"""The customs simulator over real HTTP: POST /ceb, then the receipts it calls back with."""

from __future__ import annotations

import time
from collections.abc import Callable
from decimal import Decimal

import httpx
from lxml import etree

from simulators import ceb
from simulators.customs import CustomsSimulator
from simulators.tests.support import (
    SECRET,
    Callback,
    Identity,
    Receiver,
    cancel_message,
    dxp_envelope,
    expected_signature,
    inventory_message,
    lists_message,
    order_message,
    q,
    refund_message,
    sign,
    to_bytes,
)

Start = Callable[..., CustomsSimulator]


def post(simulator: CustomsSimulator, body: bytes) -> httpx.Response:
    return httpx.post(
        f"http://127.0.0.1:{simulator.port}/ceb", content=body, headers={"Content-Type": "application/xml"}
    )


def statuses(callbacks: list[Callback]) -> list[str]:
    return [c.first("returnStatus") for c in callbacks if c.message_type == "CEB622Message"]


def assert_signed(callback: Callback) -> None:
    headers = callback.headers
    assert headers["content-type"] == "application/xml"
    assert headers["webhook-id"].startswith("msg_")
    assert abs(int(headers["webhook-timestamp"]) - time.time()) < 60
    assert headers["webhook-signature"] == expected_signature(
        SECRET, headers["webhook-id"], headers["webhook-timestamp"], callback.body
    )


def assert_valid(callback: Callback) -> None:
    assert ceb.schema_errors(callback.root) == []


def test_default_script_releases_a_signed_list_then_bills_tax(
    customs: Start, receiver: Receiver, agent: Identity
) -> None:
    simulator = customs(script="default")
    message = sign(inventory_message(cop_no="COPDEFAULT01"), agent)

    response = post(simulator, to_bytes(message))

    assert response.status_code == 200
    ack = etree.fromstring(response.content)
    assert ack.tag == "CustomsAck"
    assert ack.get("guid") == message.get("guid")
    callbacks = receiver.wait_for(lambda cs: any(c.message_type == "CEB816Message" for c in cs))
    assert statuses(callbacks) == ["2", "120", "800"]
    assert callbacks[-1].message_type == "CEB816Message"  # the tax bill comes after the release
    for callback in callbacks:
        assert_signed(callback)
        assert_valid(callback)
    assert len({c.headers["webhook-id"] for c in callbacks}) == 4
    declaring, accepted, released, bill = callbacks
    assert declaring.first("copNo") == "COPDEFAULT01"
    assert declaring.first("invtNo") == ""  # customs numbers the list when it accepts it
    invt_no = accepted.first("invtNo")
    assert len(invt_no) == 18
    assert released.first("invtNo") == invt_no
    assert len(released.first("returnTime")) == 17
    assert declaring.first("preNo") == released.first("preNo")
    # The simulator's own rates: cosmetics 3304.99 at 15% CT; 1,000.00 -> CT 123.53, VAT 107.06;
    # the other item, 100.00 at 9.1% -> VAT 9.10.
    assert bill.first("invtNo") == invt_no
    head = bill.root.find(f".//{q('TaxHeadRd')}")
    assert head is not None
    assert Decimal(head.findtext(q("consumptionTax")) or "") == Decimal("123.53")
    assert Decimal(head.findtext(q("valueAddedTax")) or "") == Decimal("116.16")
    assert Decimal(head.findtext(q("customsTax")) or "") == Decimal(0)
    assert len(bill.root.findall(f".//{q('TaxListRd')}")) == 2


def test_the_list_may_come_in_a_dxp_envelope(customs: Start, receiver: Receiver, agent: Identity) -> None:
    simulator = customs(script="reject")

    response = post(simulator, dxp_envelope(to_bytes(sign(inventory_message(), agent))))

    assert response.status_code == 200
    callbacks = receiver.wait_for(lambda cs: len(cs) >= 2)
    assert statuses(callbacks) == ["2", "100"]


def test_a_list_signed_by_another_enterprise_is_refused_621015(
    customs: Start, receiver: Receiver, ebc: Identity, stranger: Identity
) -> None:
    simulator = customs()

    assert post(simulator, to_bytes(sign(inventory_message(), ebc))).status_code == 200  # registered, not declarant
    assert post(simulator, to_bytes(sign(inventory_message(), stranger))).status_code == 200  # not registered

    callbacks = receiver.wait_for(lambda cs: len(cs) >= 2)
    time.sleep(0.3)
    assert statuses(receiver.received()) == ["-621015", "-621015"]
    for callback in callbacks:
        assert_signed(callback)
        assert_valid(callback)
        assert "-621015" in callback.first("returnInfo")


def _by_list(callbacks: list[Callback]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for callback in callbacks:
        if callback.message_type == "CEB622Message":
            found.setdefault(callback.first("copNo"), []).append(callback.first("returnStatus"))
    return found


def test_each_list_of_a_message_of_several_is_answered_on_its_own(
    customs: Start, receiver: Receiver, agent: Identity
) -> None:
    simulator = customs(script="default")
    over_limit = inventory_message(cop_no="COPMULTI3", items=[("3304990010", "6000"), ("8541401000", "100")])
    message = lists_message(inventory_message(cop_no="COPMULTI1"), inventory_message(cop_no="COPMULTI2"), over_limit)

    assert ceb.schema_errors(sign(message, agent)) == []
    assert post(simulator, to_bytes(sign(message, agent))).status_code == 200

    callbacks = receiver.wait_for(lambda cs: sum(c.message_type == "CEB816Message" for c in cs) == 2)
    time.sleep(0.2)
    assert _by_list(receiver.received()) == {
        "COPMULTI1": ["2", "120", "800"],
        "COPMULTI2": ["2", "120", "800"],
        "COPMULTI3": ["-621005"],
    }
    for callback in callbacks:
        assert_valid(callback)
        assert len(callback.root) == 1  # one return per receipt, naming its list
    received = httpx.get(f"http://127.0.0.1:{simulator.port}/messages").json()["received"]
    assert [entry["copNo"] for entry in received[0]["lists"]] == ["COPMULTI1", "COPMULTI2", "COPMULTI3"]


def test_a_message_of_more_lists_than_customs_takes_is_refused_621030_for_each(
    customs: Start, receiver: Receiver, agent: Identity
) -> None:
    simulator = customs(max_lists=2)
    message = lists_message(*(inventory_message(cop_no=f"COPOVER{n}") for n in range(3)))

    assert post(simulator, to_bytes(sign(message, agent))).status_code == 200

    receiver.wait_for(lambda cs: len(cs) >= 3)
    time.sleep(0.2)
    assert _by_list(receiver.received()) == {f"COPOVER{n}": ["-621030"] for n in range(3)}


def test_a_list_altered_after_signing_is_refused_621029(customs: Start, receiver: Receiver, agent: Identity) -> None:
    simulator = customs()
    message = sign(inventory_message(), agent)
    head = message.find(f".//{q('InventoryHead')}")
    assert head is not None
    buyer = head.find(q("buyerName"))
    assert buyer is not None
    buyer.text = "张三"

    assert post(simulator, to_bytes(message)).status_code == 200

    receiver.wait_for(lambda cs: len(cs) >= 1)
    time.sleep(0.3)
    assert statuses(receiver.received()) == ["-621029"]


def test_a_message_that_does_not_validate_is_answered_ceb900_without_receipts(
    customs: Start, receiver: Receiver, agent: Identity
) -> None:
    simulator = customs()
    message = inventory_message()
    head = message.find(f".//{q('InventoryHead')}")
    assert head is not None
    order_no = head.find(q("orderNo"))
    assert order_no is not None
    head.remove(order_no)

    response = post(simulator, to_bytes(sign(message, agent)))

    assert response.status_code == 400
    answer = etree.fromstring(response.content)
    assert etree.QName(answer).localname == "CEB900Message"
    assert ceb.schema_errors(answer) == []
    assert answer.findtext(f".//{q('returnStatus')}") == ceb.STATUS_SCHEMA
    assert answer.findtext(f".//{q('oriMessageType')}") == "CEB621Message"
    assert post(simulator, b"<not xml").status_code == 400
    time.sleep(0.3)
    assert receiver.received() == []


def test_reject_script_answers_100_with_a_negative_code(customs: Start, receiver: Receiver, agent: Identity) -> None:
    simulator = customs(script="reject")

    post(simulator, to_bytes(sign(inventory_message(), agent)))

    callbacks = receiver.wait_for(lambda cs: len(cs) >= 2)
    time.sleep(0.2)
    assert statuses(receiver.received()) == ["2", "100"]
    assert callbacks[1].first("returnInfo").startswith("[-621")
    assert_valid(callbacks[1])


def test_review_and_inspection_scripts(customs: Start, receiver: Receiver, agent: Identity) -> None:
    review = customs(script="review")
    inspection = customs(script="inspection", inspection_rate=1.0)

    post(review, to_bytes(sign(inventory_message(cop_no="COPREVIEW"), agent)))
    post(inspection, to_bytes(sign(inventory_message(cop_no="COPINSPECT"), agent)))

    callbacks = receiver.wait_for(lambda cs: sum(c.message_type == "CEB816Message" for c in cs) == 2)
    by_list = {
        cop_no: [c.first("returnStatus") for c in callbacks if c.first("copNo") == cop_no]
        for cop_no in ("COPREVIEW", "COPINSPECT")
    }
    assert by_list == {"COPREVIEW": ["2", "120", "300", "800"], "COPINSPECT": ["2", "120", "500", "800"]}


def test_chaos_sends_a_duplicate_with_the_same_webhook_id_and_a_late_120(
    customs: Start, receiver: Receiver, agent: Identity
) -> None:
    simulator = customs(script="chaos")

    post(simulator, to_bytes(sign(inventory_message(), agent)))

    callbacks = receiver.wait_for(lambda cs: sum(c.message_type == "CEB622Message" for c in cs) >= 5)
    receipts = [c for c in callbacks if c.message_type == "CEB622Message"]
    assert statuses(callbacks) == ["2", "120", "120", "800", "120"]
    first, duplicate, late = receipts[1], receipts[2], receipts[4]
    assert duplicate.headers["webhook-id"] == first.headers["webhook-id"]
    assert duplicate.body == first.body
    assert late.headers["webhook-id"] != first.headers["webhook-id"]
    assert late.first("returnTime") > receipts[3].first("returnTime")  # a 120 after the 800
    for callback in callbacks:
        assert_signed(callback)


def test_the_same_message_twice_is_taken_once_and_a_second_declaration_is_621004(
    customs: Start, receiver: Receiver, agent: Identity
) -> None:
    simulator = customs(script="reject", step_delay=0.01)
    simulator.config.script = "default"
    message = to_bytes(sign(inventory_message(cop_no="COPTWICE"), agent))

    assert post(simulator, message).status_code == 200
    again = post(simulator, message)
    assert etree.fromstring(again.content).get("duplicate") == "true"
    post(simulator, to_bytes(sign(inventory_message(cop_no="COPTWICE"), agent)))  # a new guid

    receiver.wait_for(lambda cs: "-621004" in statuses(cs))
    time.sleep(0.3)
    assert sorted(statuses(receiver.received())) == sorted(["2", "120", "800", "-621004"])


def test_failing_answers_and_callback_retries(customs: Start, receiver: Receiver, agent: Identity) -> None:
    receiver.statuses.extend([500, 503])  # the single window fails twice, then takes it
    simulator = customs(script="reject")
    failing = customs(fail_rate=1.0, step_delay=5.0)  # half its failures take the message anyway

    assert post(failing, to_bytes(sign(inventory_message(), agent))).status_code in {500, 503}
    post(simulator, to_bytes(sign(inventory_message(cop_no="COPRETRY"), agent)))

    callbacks = receiver.wait_for(lambda cs: len(cs) >= 4)
    assert [c.first("returnStatus") for c in callbacks] == ["2", "2", "2", "100"]
    assert len({c.headers["webhook-id"] for c in callbacks[:3]}) == 1  # one message, three attempts
    sent = httpx.get(f"http://127.0.0.1:{simulator.port}/messages").json()["sent"]
    assert sent[0]["attempts"] == 3
    assert sent[0]["delivered"] is True


def test_orders_are_answered_ceb312(customs: Start, receiver: Receiver, agent: Identity, ebc: Identity) -> None:
    simulator = customs()

    post(simulator, to_bytes(sign(order_message(), agent)))  # 1105910159 is the orders' platform
    post(simulator, to_bytes(sign(order_message(), ebc)))  # another enterprise signed

    callbacks = receiver.wait_for(lambda cs: len(cs) >= 2)
    for callback in callbacks:
        assert callback.message_type == "CEB312Message"
        assert_valid(callback)
        assert_signed(callback)
    answers = sorted({c.first("returnStatus") for c in callbacks})
    assert answers == ["-301008", "120"]


def test_health_and_messages(customs: Start, agent: Identity) -> None:
    simulator = customs()

    health = httpx.get(f"http://127.0.0.1:{simulator.port}/health")
    post(simulator, to_bytes(sign(inventory_message(), agent)))
    messages = httpx.get(f"http://127.0.0.1:{simulator.port}/messages").json()

    assert health.status_code == 200
    assert health.json()["status"] == "ok"
    assert messages["received"][0]["message_type"] == "CEB621Message"
    assert messages["received"][0]["signers"] == [agent.code]


def test_a_released_list_s_bill_is_summarised_then_paid_ceb818(
    customs: Start, receiver: Receiver, agent: Identity
) -> None:
    simulator = customs(step_delay=0.01)

    post(simulator, to_bytes(sign(inventory_message(cop_no="COPSETTLE"), agent)))

    callbacks = receiver.wait_for(lambda cs: sum(c.message_type == "CEB818Message" for c in cs) >= 2)
    after_release = [c.message_type for c in callbacks if c.message_type != "CEB622Message"]
    assert after_release == ["CEB816Message", "CEB818Message", "CEB818Message"]
    bill, summarised, paid = (c for c in callbacks if c.message_type != "CEB622Message")
    tax_no = bill.first("taxNo")
    assert [(c.first("taxNo"), c.first("status"), c.first("entDutyNo")) for c in (summarised, paid)] == [
        (tax_no, "2", ""),
        (tax_no, "2", f"DUTY{bill.first('invtNo')}"),
    ]
    for callback in (summarised, paid):
        assert_valid(callback)
        assert_signed(callback)


def test_without_settlement_the_bill_is_the_last_message(customs: Start, receiver: Receiver, agent: Identity) -> None:
    simulator = customs(step_delay=0.01, settle_tax=False)

    post(simulator, to_bytes(sign(inventory_message(cop_no="COPNOSETTLE"), agent)))
    receiver.wait_for(lambda cs: any(c.message_type == "CEB816Message" for c in cs))
    time.sleep(0.3)

    assert not [c for c in receiver.callbacks if c.message_type == "CEB818Message"]


def test_a_released_list_is_cancelled_ceb624(customs: Start, receiver: Receiver, agent: Identity) -> None:
    simulator = customs()
    post(simulator, to_bytes(sign(inventory_message(cop_no="COPCANCEL"), agent)))
    released = receiver.wait_for(lambda cs: "800" in statuses(cs))
    invt_no = released[-1].first("invtNo")

    response = post(simulator, to_bytes(sign(cancel_message(invt_no=invt_no, cop_no="COPCANCEL"), agent)))
    unknown = post(simulator, to_bytes(sign(cancel_message(invt_no="370020269999999999", cop_no="X"), agent)))

    assert response.status_code == unknown.status_code == 200
    callbacks = receiver.wait_for(lambda cs: sum(c.message_type == "CEB624Message" for c in cs) >= 3)
    answers = [c for c in callbacks if c.message_type == "CEB624Message"]
    for answer in answers:
        assert_valid(answer)
        assert_signed(answer)
    by_invt_no = {
        number: [a.first("returnStatus") for a in answers if a.first("invtNo") == number]
        for number in (invt_no, "370020269999999999")
    }
    assert by_invt_no == {invt_no: ["120", "399"], "370020269999999999": ["-623003"]}
    voided = receiver.wait_for(
        lambda cs: any(c.first("status") == "3" for c in cs if c.message_type == "CEB818Message")
    )
    assert [c.first("invtNo") for c in voided if c.message_type == "CEB818Message" and c.first("status") == "3"] == [
        invt_no
    ]


def _released_list(simulator: CustomsSimulator, receiver: Receiver, agent: Identity, cop_no: str) -> str:
    """A list of two lines (one piece each) released by the simulator; its invtNo."""
    post(simulator, to_bytes(sign(inventory_message(cop_no=cop_no), agent)))
    released = receiver.wait_for(lambda cs: any(c.message_type == "CEB816Message" for c in cs))
    return next(c.first("invtNo") for c in released if c.message_type == "CEB622Message" and c.first("invtNo"))


def _of(callbacks: list[Callback], message_type: str) -> list[Callback]:
    return [c for c in callbacks if c.message_type == message_type]


def test_a_whole_return_is_entered_concluded_and_its_bill_voided(
    customs: Start, receiver: Receiver, agent: Identity
) -> None:
    simulator = customs(settle_tax=False)
    invt_no = _released_list(simulator, receiver, agent, "COPREFUND1")

    response = post(
        simulator,
        to_bytes(sign(refund_message(invt_no=invt_no, cop_no="COPREFUND1", lines=[(1, "1"), (2, "1")]), agent)),
    )

    assert response.status_code == 200
    callbacks = receiver.wait_for(lambda cs: bool(_of(cs, "CEB818Message")))
    time.sleep(0.8)  # a bill issued again would follow the CEB818 within a step
    callbacks = receiver.received()
    answers = _of(callbacks, "CEB626Message")
    for callback in (*answers, *_of(callbacks, "CEB818Message")):
        assert_valid(callback)
        assert_signed(callback)
    assert [a.first("returnStatus") for a in answers] == ["120", "399"]
    assert answers[0].first("copNo") == "COPREFUND1"
    [void] = _of(callbacks, "CEB818Message")
    assert (void.first("invtNo"), void.first("taxNo"), void.first("status")) == (invt_no, f"TAX{invt_no}", "3")
    assert [b.first("taxNo") for b in _of(callbacks, "CEB816Message")] == [f"TAX{invt_no}"]


def test_a_partial_return_voids_the_bill_and_issues_one_for_the_goods_left(
    customs: Start, receiver: Receiver, agent: Identity
) -> None:
    simulator = customs(settle_tax=False)
    invt_no = _released_list(simulator, receiver, agent, "COPREFUND2")

    post(simulator, to_bytes(sign(refund_message(invt_no=invt_no, cop_no="COPREFUND2", lines=[(1, "1")]), agent)))
    callbacks = receiver.wait_for(lambda cs: len(_of(cs, "CEB816Message")) >= 2)

    [void] = _of(callbacks, "CEB818Message")
    assert (void.first("taxNo"), void.first("status")) == (f"TAX{invt_no}", "3")
    reissued = _of(callbacks, "CEB816Message")[-1]
    assert_valid(reissued)
    assert reissued.first("taxNo") == f"TAX{invt_no}R1"
    assert [e.text for e in reissued.root.iter(q("gnum"))] == ["2"]

    # The rest goes back too: the bill issued again is voided, and nothing is left to bill.
    post(simulator, to_bytes(sign(refund_message(invt_no=invt_no, cop_no="COPREFUND2", lines=[(2, "1")]), agent)))
    callbacks = receiver.wait_for(lambda cs: len(_of(cs, "CEB818Message")) >= 2)
    time.sleep(0.8)
    callbacks = receiver.received()
    assert [v.first("taxNo") for v in _of(callbacks, "CEB818Message")] == [f"TAX{invt_no}", f"TAX{invt_no}R1"]
    assert len(_of(callbacks, "CEB816Message")) == 2
    assert [a.first("returnStatus") for a in _of(callbacks, "CEB626Message")] == ["120", "399", "120", "399"]


def test_a_return_of_an_unknown_or_cancelled_list_or_beyond_its_quantity_is_refused(
    customs: Start, receiver: Receiver, agent: Identity
) -> None:
    simulator = customs(settle_tax=False)
    invt_no = _released_list(simulator, receiver, agent, "COPREFUND3")

    post(simulator, to_bytes(sign(refund_message(invt_no="370020269999999999", cop_no="X", lines=[(1, "1")]), agent)))
    post(simulator, to_bytes(sign(refund_message(invt_no=invt_no, cop_no="COPREFUND3", lines=[(1, "2")]), agent)))
    post(simulator, to_bytes(sign(refund_message(invt_no=invt_no, cop_no="COPREFUND3", lines=[(9, "1")]), agent)))
    refused = receiver.wait_for(lambda cs: len(_of(cs, "CEB626Message")) >= 3)
    post(simulator, to_bytes(sign(cancel_message(invt_no=invt_no, cop_no="COPREFUND3"), agent)))
    receiver.wait_for(lambda cs: "399" in [c.first("returnStatus") for c in _of(cs, "CEB624Message")])
    receiver.wait_for(lambda cs: bool(_of(cs, "CEB818Message")))  # the cancelled list's bill voided
    post(simulator, to_bytes(sign(refund_message(invt_no=invt_no, cop_no="COPREFUND3", lines=[(1, "1")]), agent)))
    refused = receiver.wait_for(lambda cs: len(_of(cs, "CEB626Message")) >= 4)

    for answer in _of(refused, "CEB626Message"):
        assert_valid(answer)
    assert sorted(a.first("returnStatus") for a in _of(refused, "CEB626Message")) == sorted(
        ["-625016", "-625001", "-625209", "-625022"]
    )
    # The only status change is the cancellation's void: no refused return touched the bill.
    assert [c.first("status") for c in _of(refused, "CEB818Message")] == ["3"]
