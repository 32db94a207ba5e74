"""The customs simulator's side of logistics: a waybill signed for (CEB513 -> CEB514) and a site
operator's arrival manifest (CEB711 -> CEB712), over real HTTP."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from lxml import etree

from simulators import ceb
from simulators.customs import CustomsSimulator
from simulators.tests.support import (
    CEB_NS,
    Callback,
    Identity,
    Receiver,
    inventory_message,
    make_identity,
    new_guid,
    q,
    sign,
    to_bytes,
)

Start = Callable[..., CustomsSimulator]
LOGISTICS = "1101180326"  # the sample list's logistics enterprise
OPERATOR = "3301960006"


@pytest.fixture(scope="module")
def carrier() -> Identity:
    return make_identity(LOGISTICS)


@pytest.fixture(scope="module")
def operator() -> Identity:
    return make_identity(OPERATOR)


@pytest.fixture
def known(certificates: Path, carrier: Identity, operator: Identity) -> Path:
    """Customs holds the carrier's and the operator's certificates too."""
    for identity in (carrier, operator):
        (certificates / f"{identity.code}.pem").write_bytes(identity.cert_pem)
    return certificates


def post(simulator: CustomsSimulator, body: bytes) -> httpx.Response:
    return httpx.post(
        f"http://127.0.0.1:{simulator.port}/ceb", content=body, headers={"Content-Type": "application/xml"}
    )


def _transfer(root: etree._Element, code: str) -> None:
    transfer = etree.SubElement(root, q("BaseTransfer"))
    for name, value in (("copCode", code), ("copName", "测试企业"), ("dxpMode", "DXP"), ("dxpId", "DXPENT0001")):
        etree.SubElement(transfer, q(name)).text = value


def status_message(logistics_no: str, *, logistics_code: str = LOGISTICS) -> etree._Element:
    """A CEB513: the waybill signed for (logisticsStatus S), unsigned."""
    root = etree.Element(q("CEB513Message"), {"guid": new_guid(), "version": "1.0"}, nsmap={"ceb": CEB_NS})
    status = etree.SubElement(root, q("LogisticsStatus"))
    for name, value in (
        ("guid", new_guid()),
        ("appType", "1"),
        ("appTime", "20261126100000"),
        ("appStatus", "2"),
        ("logisticsCode", logistics_code),
        ("logisticsName", "测试物流企业"),
        ("logisticsNo", logistics_no),
        ("logisticsStatus", "S"),
        ("logisticsTime", "20261126093000"),
    ):
        etree.SubElement(status, q(name)).text = value
    _transfer(root, logistics_code)
    return root


def arrival_message(cop_no: str, *, operator_code: str = OPERATOR) -> etree._Element:
    """A CEB711 of one parcel, unsigned."""
    root = etree.Element(q("CEB711Message"), {"guid": new_guid(), "version": "1.0"}, nsmap={"ceb": CEB_NS})
    delivery = etree.SubElement(root, q("Delivery"))
    head = etree.SubElement(delivery, q("DeliveryHead"))
    for name, value in (
        ("guid", new_guid()),
        ("appType", "1"),
        ("appTime", "20261126100000"),
        ("appStatus", "2"),
        ("customsCode", "2901"),
        ("copNo", cop_no),
        ("operatorCode", operator_code),
        ("operatorName", "测试监管场所"),
        ("ieFlag", "I"),
        ("trafMode", "5"),
        ("trafNo", "CA1234"),
        ("voyageNo", "20261125"),
        ("billNo", "784-12345675"),
        ("logisticsCode", LOGISTICS),
        ("logisticsName", "测试物流企业"),
    ):
        etree.SubElement(head, q(name)).text = value
    line = etree.SubElement(delivery, q("DeliveryList"))
    etree.SubElement(line, q("gnum")).text = "1"
    etree.SubElement(line, q("logisticsNo")).text = "L201603081138007"
    _transfer(root, operator_code)
    return root


def of_type(callbacks: list[Callback], message_type: str) -> list[Callback]:
    return [c for c in callbacks if c.message_type == message_type]


def test_a_known_waybill_signed_for_is_answered_120(
    customs: Start, receiver: Receiver, agent: Identity, carrier: Identity, known: Path
) -> None:
    simulator = customs(script="default", settle_tax=False)
    listed = inventory_message(cop_no="COPDELIVERED1")
    logistics_no = listed.findtext(f".//{q('logisticsNo')}") or ""
    assert post(simulator, to_bytes(sign(listed, agent))).status_code == 200

    response = post(simulator, to_bytes(sign(status_message(logistics_no), carrier)))

    assert response.status_code == 200, response.content
    callbacks = receiver.wait_for(lambda cs: bool(of_type(cs, "CEB514Message")))
    [answer] = of_type(callbacks, "CEB514Message")
    assert ceb.schema_errors(answer.root) == []
    assert (answer.first("logisticsNo"), answer.first("logisticsStatus"), answer.first("returnStatus")) == (
        logistics_no,
        "S",
        "120",
    )


def test_an_unknown_waybill_is_answered_505014(
    customs: Start, receiver: Receiver, carrier: Identity, known: Path
) -> None:
    simulator = customs()

    assert post(simulator, to_bytes(sign(status_message("NO-SUCH-WAYBILL"), carrier))).status_code == 200

    [answer] = of_type(receiver.wait_for(lambda cs: bool(of_type(cs, "CEB514Message"))), "CEB514Message")
    assert answer.first("returnStatus") == "-505014"


def test_a_status_signed_by_another_enterprise_is_answered_505011(
    customs: Start, receiver: Receiver, agent: Identity, known: Path
) -> None:
    simulator = customs()

    assert post(simulator, to_bytes(sign(status_message("L201603081138007"), agent))).status_code == 200

    [answer] = of_type(receiver.wait_for(lambda cs: bool(of_type(cs, "CEB514Message"))), "CEB514Message")
    assert answer.first("returnStatus") == "-505011"


def test_a_ceb513_that_fails_the_schema_is_answered_ceb900(customs: Start, carrier: Identity, known: Path) -> None:
    simulator = customs()
    message = status_message("L1")
    status = message.find(q("LogisticsStatus"))
    assert status is not None
    element = status.find(q("logisticsStatus"))
    assert element is not None
    element.text = "SS"  # the schema allows one character

    response = post(simulator, to_bytes(sign(message, carrier)))

    assert response.status_code == 400
    assert etree.QName(etree.fromstring(response.content)).localname == "CEB900Message"


def test_an_arrival_manifest_is_answered_ceb712_with_an_rkd_no_then_refused_as_a_duplicate(
    customs: Start, receiver: Receiver, operator: Identity, known: Path
) -> None:
    simulator = customs()

    assert post(simulator, to_bytes(sign(arrival_message("RKD0001"), operator))).status_code == 200
    callbacks = receiver.wait_for(lambda cs: len(of_type(cs, "CEB712Message")) == 2)
    declaring, stored = of_type(callbacks, "CEB712Message")
    for callback in (declaring, stored):
        assert ceb.schema_errors(callback.root) == []
        assert (callback.first("copNo"), callback.first("operatorCode")) == ("RKD0001", OPERATOR)
    assert (declaring.first("returnStatus"), declaring.first("rkdNo")) == ("2", "")
    assert stored.first("returnStatus") == "120"
    assert len(stored.first("rkdNo")) == 18
    assert stored.first("rkdNo").startswith("2901")

    assert post(simulator, to_bytes(sign(arrival_message("RKD0001"), operator))).status_code == 200
    callbacks = receiver.wait_for(lambda cs: len(of_type(cs, "CEB712Message")) == 3)
    assert of_type(callbacks, "CEB712Message")[-1].first("returnStatus") == "-800003"


def test_an_arrival_manifest_signed_by_another_enterprise_is_refused_800001(
    customs: Start, receiver: Receiver, carrier: Identity, known: Path
) -> None:
    simulator = customs()

    assert post(simulator, to_bytes(sign(arrival_message("RKD0002"), carrier))).status_code == 200

    [answer] = of_type(receiver.wait_for(lambda cs: bool(of_type(cs, "CEB712Message"))), "CEB712Message")
    assert answer.first("returnStatus") == "-800001"


def test_an_unsigned_arrival_manifest_fails_the_schema(customs: Start) -> None:
    simulator = customs()

    response = post(simulator, to_bytes(arrival_message("RKD0003")))

    assert response.status_code == 400  # the schema makes the signature mandatory on CEB711
