"""The customs simulator's export desk (``simulators/customs_export.py``): each export document is
answered with its receipt, valid against the export schema; lists are numbered and released,
refused when their sender did not sign, declared twice, or asked to be returned."""

from __future__ import annotations

from lxml import etree

from declarations.customs import xml
from declarations.export import examples
from declarations.tests.export.test_export_xml import message
from simulators import ceb
from simulators import customs_export as desk

AGENT = ceb.SignatureCheck(signers=frozenset({examples.AGENT_CODE}))
NOBODY = ceb.SignatureCheck(problem="missing", info="no signature")


def answers(
    message_type: str, body: bytes, signature: ceb.SignatureCheck, the_desk: desk.ExportDesk
) -> list[dict[str, str]]:
    incoming = desk.read_message(body)
    assert incoming is not None
    _entry, steps = the_desk.take(message_type, incoming.root, signature)
    found = []
    for step in steps:
        outgoing = step()
        assert outgoing is not None
        root = xml.read_message(outgoing.body, expected_message=outgoing.message_type)  # schema-valid
        [element] = list(root)
        found.append({etree.QName(child).localname: child.text or "" for child in element})
    return found


def list_body(**changes: str) -> bytes:
    return message("export_list", examples.document("export_list", **changes), cop_code=examples.AGENT_CODE, keys=None)


def test_a_list_signed_by_its_agent_is_numbered_and_released() -> None:
    found = answers("CEB603Message", list_body(), AGENT, desk.ExportDesk())

    assert [a["returnStatus"] for a in found] == ["2", "120", "399", "800"]
    assert found[0]["invtNo"] == ""
    assert found[-1]["invtNo"].startswith("2901")
    assert len(found[-1]["invtNo"]) == 18
    assert found[-1]["copNo"] == examples.LIST["cop_no"]


def test_an_unsigned_list_is_refused() -> None:
    found = answers("CEB603Message", list_body(), NOBODY, desk.ExportDesk())

    assert [a["returnStatus"] for a in found] == ["-621029"]


def test_a_list_declared_twice_is_refused_the_second_time() -> None:
    the_desk = desk.ExportDesk()
    answers("CEB603Message", list_body(), AGENT, the_desk)

    found = answers("CEB603Message", list_body(), AGENT, the_desk)

    assert [a["returnStatus"] for a in found] == ["-621004"]


def test_an_order_number_ending_reject_is_returned() -> None:
    found = answers("CEB603Message", list_body(order_no="EX20261203000009-REJECT"), AGENT, desk.ExportDesk())

    assert [a["returnStatus"] for a in found] == ["2", "100"]


def test_orders_waybills_arrivals_and_departures_are_taken() -> None:
    cases = {
        "export_order": ("CEB303Message", examples.EBP_CODE, ["2", "120"]),
        "export_waybill": ("CEB505Message", examples.LOGISTICS_CODE, ["2", "399"]),
        "export_arrival": ("CEB507Message", examples.OPERATOR_CODE, ["2", "399"]),
        "export_departure": ("CEB509Message", examples.LOGISTICS_CODE, ["2", "399"]),
    }
    for kind, (message_type, signer, statuses) in cases.items():
        body = message(kind, examples.document(kind), cop_code=signer, keys=None)
        signature = ceb.SignatureCheck(signers=frozenset({signer}))
        found = answers(message_type, body, signature, desk.ExportDesk())
        assert [a["returnStatus"] for a in found] == statuses, kind
