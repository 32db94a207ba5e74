"""The customs simulator's summary declarations (CEB701 -> CEB702, CEB792) and export returns
(CEB213 -> CEB214, CEB215 -> CEB216), over real HTTP."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from lxml import etree

from simulators import customs_export_summary as desk
from simulators.customs import CustomsSimulator
from simulators.tests.support import (
    AGENT,
    CEB_NS,
    EBC,
    Callback,
    Identity,
    Receiver,
    make_identity,
    new_guid,
    q,
    sign,
    to_bytes,
)

Start = Callable[..., CustomsSimulator]
OPERATOR = "3301960006"


@pytest.fixture(scope="module")
def operator() -> Identity:
    return make_identity(OPERATOR)


@pytest.fixture
def known(certificates: Path, operator: Identity) -> Path:
    (certificates / f"{operator.code}.pem").write_bytes(operator.cert_pem)
    return certificates


def post(simulator: CustomsSimulator, body: bytes) -> httpx.Response:
    return httpx.post(
        f"http://127.0.0.1:{simulator.port}/ceb", content=body, headers={"Content-Type": "application/xml"}
    )


def _fill(parent: etree._Element, values: tuple[tuple[str, str], ...]) -> None:
    for name, value in values:
        etree.SubElement(parent, q(name)).text = value


def _transfer(root: etree._Element, code: str) -> None:
    _fill(
        etree.SubElement(root, q("BaseTransfer")),
        (("copCode", code), ("copName", "测试"), ("dxpMode", "DXP"), ("dxpId", "DXPENT0001")),
    )


def summary_message(*, cop_no: str, seq: int, count: int, invt_nos: list[str], agent: str = AGENT) -> etree._Element:
    root = etree.Element(q("CEB701Message"), {"guid": new_guid(), "version": "1.0"}, nsmap={"ceb": CEB_NS})
    apply = etree.SubElement(root, q("SummaryApply"))
    _fill(
        etree.SubElement(apply, q("SummaryApplyHead")),
        (
            ("guid", new_guid()),
            ("appType", "1"),
            ("appTime", "20261201011000"),
            ("appStatus", "2"),
            ("customsCode", "2901"),
            ("copNo", cop_no),
            ("agentCode", agent),
            ("agentName", "测试报关企业"),
            ("ebcCode", EBC),
            ("ebcName", "测试电商企业"),
            ("declAgentCode", agent),
            ("declAgentName", "测试报关企业"),
            ("summaryFlag", "1"),
            ("itemNameFlag", "1"),
            ("msgCount", str(count)),
            ("msgSeqNo", str(seq)),
        ),
    )
    for invt_no in invt_nos:
        _fill(etree.SubElement(apply, q("SummaryApplyList")), (("invtNo", invt_no),))
    _transfer(root, agent)
    return root


def refund_message(*, cop_no: str, qty: str = "1", agent: str = AGENT) -> etree._Element:
    root = etree.Element(q("CEB213Message"), {"guid": new_guid(), "version": "1.0"}, nsmap={"ceb": CEB_NS})
    refund = etree.SubElement(root, q("InvtRefund"))
    _fill(
        etree.SubElement(refund, q("InvtRefundHead")),
        (
            ("guid", new_guid()),
            ("appType", "1"),
            ("appTime", "20261205093000"),
            ("appStatus", "2"),
            ("customsCode", "2901"),
            ("ebpCode", "3301960001"),
            ("ebpName", "测试平台"),
            ("ebcCode", EBC),
            ("ebcName", "测试电商企业"),
            ("logisticsNo", "YT0001"),
            ("logisticsCode", "3301960004"),
            ("logisticsName", "测试物流"),
            ("coElNo", cop_no),
            ("invtNo", "29012026E000000001"),
            ("tradeMode", "9661"),
            ("agentCode", agent),
            ("agentName", "测试报关企业"),
            ("billNo", "YT0001"),
            ("ieFlag", "I"),
            ("trafMode", "5"),
            ("trafName", "CA1234"),
            ("portCode", "2901"),
            ("reason", "买家拒收"),
            ("country", "502"),
            ("voyageNo", "CA1234"),
        ),
    )
    _fill(
        etree.SubElement(refund, q("InvtRefundList")),
        (
            ("gnum", "1"),
            ("gcode", "6109100010"),
            ("gname", "棉T恤"),
            ("gmodel", "M"),
            ("qty", qty),
            ("qty1", "0.1"),
            ("unit", "007"),
            ("unit1", "035"),
        ),
    )
    _transfer(root, agent)
    return root


def tally_message(*, cop_no: str, operator_code: str = OPERATOR) -> etree._Element:
    root = etree.Element(q("CEB215Message"), {"guid": new_guid(), "version": "1.0"}, nsmap={"ceb": CEB_NS})
    _fill(
        etree.SubElement(root, q("InvtRefundDetail")),
        (
            ("guid", new_guid()),
            ("appType", "1"),
            ("appTime", "20261206080000"),
            ("appStatus", "2"),
            ("customsCode", "2901"),
            ("operatorCode", operator_code),
            ("operatorName", "测试监管场所"),
            ("logisticsCode", "3301960004"),
            ("logisticsName", "测试物流"),
            ("logisticsNo", "YT0001"),
            ("coElNo", cop_no),
            ("billNo", "YT0001"),
            ("ieFlag", "I"),
            ("trafMode", "5"),
            ("trafName", "CA1234"),
            ("voyageNo", "CA1234"),
        ),
    )
    _transfer(root, operator_code)
    return root


def of_type(callbacks: list[Callback], message_type: str) -> list[Callback]:
    return [c for c in callbacks if c.message_type == message_type]


def test_a_summary_in_two_messages_gets_one_number_and_one_result(
    customs: Start, receiver: Receiver, agent: Identity
) -> None:
    simulator = customs()
    for seq, invt_nos in ((1, ["29012026E000000001", "29012026E000000002"]), (2, ["29012026E000000003"])):
        response = post(
            simulator, to_bytes(sign(summary_message(cop_no="SUM1", seq=seq, count=2, invt_nos=invt_nos), agent))
        )
        assert response.status_code == 200, response.content

    callbacks = receiver.wait_for(
        lambda cs: bool(of_type(cs, "CEB792Message")) and len(of_type(cs, "CEB702Message")) == 4
    )

    answers = of_type(callbacks, "CEB702Message")
    assert all(desk.schema_errors(a.root) == [] for a in answers)
    assert sorted((a.first("msgSeqNo"), a.first("returnStatus")) for a in answers) == [
        ("1", "120"),
        ("1", "2"),
        ("2", "120"),
        ("2", "2"),
    ]
    numbers = {a.first("sumNo") for a in answers if a.first("returnStatus") == "120"}
    [result] = of_type(callbacks, "CEB792Message")
    assert desk.schema_errors(result.root) == []
    assert numbers == {result.first("sumNo")}
    assert result.first("decState") == "P"
    assert result.first("declSeqNo")


def test_a_summary_not_signed_by_its_agent_gets_no_number(customs: Start, receiver: Receiver, ebc: Identity) -> None:
    simulator = customs()

    post(
        simulator, to_bytes(sign(summary_message(cop_no="SUM2", seq=1, count=1, invt_nos=["29012026E000000009"]), ebc))
    )

    [answer] = of_type(receiver.wait_for(lambda cs: bool(of_type(cs, "CEB702Message"))), "CEB702Message")
    assert answer.first("returnStatus") == "-1"
    assert answer.first("sumNo") == ""


def test_a_return_is_entered_and_released_and_bad_lines_refused(
    customs: Start, receiver: Receiver, agent: Identity
) -> None:
    simulator = customs()

    post(simulator, to_bytes(sign(refund_message(cop_no="TH1"), agent)))
    post(simulator, to_bytes(sign(refund_message(cop_no="TH2", qty="0"), agent)))

    callbacks = receiver.wait_for(lambda cs: len(of_type(cs, "CEB214Message")) == 4)
    by_cop: dict[str, list[str]] = {}
    for answer in of_type(callbacks, "CEB214Message"):
        assert desk.schema_errors(answer.root) == []
        by_cop.setdefault(answer.first("coElNo"), []).append(answer.first("returnStatus"))
    assert by_cop == {"TH1": ["2", "120", "800"], "TH2": ["-625001"]}


def test_a_tally_by_its_operator_is_concluded(
    customs: Start, receiver: Receiver, operator: Identity, known: Path
) -> None:
    simulator = customs()

    post(simulator, to_bytes(sign(tally_message(cop_no="LH1"), operator)))

    callbacks = receiver.wait_for(lambda cs: len(of_type(cs, "CEB216Message")) == 2)
    assert [c.first("returnStatus") for c in of_type(callbacks, "CEB216Message")] == ["2", "399"]


def test_a_message_the_export_schema_refuses_is_answered_ceb900(customs: Start, agent: Identity) -> None:
    simulator = customs()
    root = summary_message(cop_no="SUM3", seq=1, count=1, invt_nos=["X" * 25])

    response = post(simulator, to_bytes(sign(root, agent)))

    assert response.status_code == 400
    assert etree.QName(etree.fromstring(response.content)).localname == "CEB900Message"
