"""Summary declarations, the pure part: grouping by the spec's flags, goods lines that add up
exactly to the lists behind them, the split into messages, the CEB701 against the export
schema, and customs' CEB702/CEB792 read back."""

from __future__ import annotations

import datetime
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from declarations.customs import xml
from declarations.export import summaries_build as build
from declarations.export.summaries_xml import q, schema_problems, sub

NOW = datetime.datetime(2026, 11, 30, 10, 0, tzinfo=datetime.UTC)
TRANSFER = build.Transfer(cop_code="3301960001", cop_name="Demo Agent", dxp_id="DXPENT0000TEST01")


def item(
    gnum: int, gcode: str, qty: str, total: str, *, name: str = "", gname: str = "服装", unit: str = "007"
) -> build.ItemFacts:
    return build.ItemFacts(
        gnum=gnum,
        gcode=gcode,
        gname=gname,
        item_name=name,
        currency="502",
        unit=unit,
        qty=Decimal(qty),
        total_price=Decimal(total),
    )


def listing(
    list_id: int, *items: build.ItemFacts, owner: str = "3301960099", ebc: str = "3301960002"
) -> build.ListFacts:
    return build.ListFacts(
        list_id=list_id,
        invt_no=f"29012026E{list_id:09d}",
        customs_code="2901",
        ebc_code=ebc,
        ebc_name="Demo Seller",
        owner_code=owner,
        owner_name="Demo Maker",
        agent_code="3301960001",
        agent_name="Demo Agent",
        loct_no="",
        gross_weight=Decimal("1.25"),
        net_weight=Decimal("1.00"),
        items=items,
    )


def head(grouping: build.Grouping) -> build.ApplyHead:
    return build.ApplyHead(
        guid=xml.new_guid(),
        app_time=NOW,
        customs_code="2901",
        cop_no="SUM2026113000000001",
        agent_code="3301960001",
        agent_name="Demo Agent",
        ebc_code="3301960002",
        ebc_name="Demo Seller",
        decl_agent_code="3301960001",
        decl_agent_name="Demo Agent",
        loct_no="",
        grouping=grouping,
    )


def test_flag_1_gathers_a_consignors_lists_whatever_their_producer() -> None:
    lists = [listing(1, owner="A"), listing(2, owner="B"), listing(3, ebc="3301960003")]

    groups = build.group_lists(lists, build.SummaryFlag.CONSIGNOR)

    assert [[f.list_id for f in group] for group in groups.values()] == [[1, 2], [3]]
    assert all(key.owner_code == "" for key in groups)


def test_flag_2_keeps_producers_apart() -> None:
    lists = [listing(1, owner="A"), listing(2, owner="B"), listing(3, owner="A")]

    groups = build.group_lists(lists, build.SummaryFlag.CONSIGNOR_AND_PRODUCER)

    assert {key.owner_code: [f.list_id for f in group] for key, group in groups.items()} == {"A": [1, 3], "B": [2]}


def test_goods_add_up_by_code_and_goods_name_or_by_category() -> None:
    lists = [
        listing(1, item(1, "6109100010", "2", "19.90", name="棉T恤"), item(2, "6109909090", "1", "5.05", name="衬衫")),
        listing(2, item(1, "6109100010", "3.5", "30.01", name="棉T恤")),
    ]

    by_name = build.summary_lines(lists, by_item_name=True)
    by_category = build.summary_lines(lists, by_item_name=False)

    assert [(line.key.code, line.key.name, line.qty, line.total_price, len(line.list_ids)) for line in by_name] == [
        ("6109100010", "棉T恤", Decimal("5.5"), Decimal("49.91"), 2),
        ("6109909090", "衬衫", Decimal(1), Decimal("5.05"), 1),
    ]
    assert [(line.key.code, line.key.name, line.qty, line.total_price) for line in by_category] == [
        ("6109", "", Decimal("6.5"), Decimal("54.96"))
    ]


def test_the_goods_name_falls_back_to_gname_and_units_never_mix() -> None:
    lists = [
        listing(
            1, item(1, "6109100010", "1", "1", gname="T恤"), item(2, "6109100010", "1", "1", gname="T恤", unit="035")
        )
    ]

    lines = build.summary_lines(lists, by_item_name=True)

    assert [(line.key.name, line.key.unit) for line in lines] == [("T恤", "007"), ("T恤", "035")]


amounts = st.decimals(min_value=Decimal("0.00001"), max_value=Decimal(99999999), places=5)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.lists(
            st.tuples(st.sampled_from(["6109100010", "6204420090", "9503001000"]), amounts, amounts),
            min_size=1,
            max_size=5,
        ),
        min_size=1,
        max_size=12,
    ),
    st.booleans(),
)
def test_the_lines_add_up_exactly_to_the_lists(raw: list[list[tuple[str, Decimal, Decimal]]], by_name: bool) -> None:
    lists = [
        listing(n, *(item(g, gcode, str(qty), str(total)) for g, (gcode, qty, total) in enumerate(lines, start=1)))
        for n, lines in enumerate(raw, start=1)
    ]

    summary = build.summary_lines(lists, by_item_name=by_name)

    assert sum((line.qty for line in summary), Decimal(0)) == sum((i.qty for f in lists for i in f.items), Decimal(0))
    assert sum((line.total_price for line in summary), Decimal(0)) == sum(
        (i.total_price for f in lists for i in f.items), Decimal(0)
    )
    assert sum(line.item_count for line in summary) == sum(len(f.items) for f in lists)


def test_the_split_numbers_messages_from_1_without_gaps() -> None:
    invt_nos = [f"29012026E{n:09d}" for n in range(1, 8)]

    chunks = build.split(invt_nos, 3)

    assert chunks == [invt_nos[0:3], invt_nos[3:6], invt_nos[6:7]]
    assert build.split(invt_nos, 100) == [invt_nos]


def test_every_message_of_a_split_summary_is_valid_against_the_export_schema() -> None:
    grouping = build.Grouping(build.SummaryFlag.CONSIGNOR, by_item_name=True)
    apply_head = head(grouping)
    chunks = build.split([f"29012026E{n:09d}" for n in range(1, 6)], 2)

    roots = [
        build.apply_message(head=apply_head, invt_nos=chunk, msg_count=len(chunks), msg_seq_no=seq, transfer=TRANSFER)
        for seq, chunk in enumerate(chunks, start=1)
    ]

    for seq, root in enumerate(roots, start=1):
        assert schema_problems(root) == []
        head_element = root.find(f"{q('SummaryApply')}/{q('SummaryApplyHead')}")
        assert head_element is not None
        assert (head_element.findtext(q("msgCount")), head_element.findtext(q("msgSeqNo"))) == ("3", str(seq))
        assert head_element.findtext(q("summaryFlag")) == "1"
        assert head_element.findtext(q("itemNameFlag")) == "1"
        assert head_element.findtext(q("guid")) == build.message_guid(apply_head.guid, seq)
    assert [len(root.findall(f"{q('SummaryApply')}/{q('SummaryApplyList')}")) for root in roots] == [2, 2, 1]


def test_a_message_the_schema_refuses_is_told() -> None:
    root = build.apply_message(
        head=head(build.Grouping(build.SummaryFlag.CONSIGNOR, by_item_name=False)),
        invt_nos=["X" * 21],
        msg_count=1,
        msg_seq_no=1,
        transfer=TRANSFER,
    )

    assert schema_problems(root)


def _answer_702(root: etree._Element, *, status: str, seq: int, sum_no: str = "") -> None:
    element = etree.SubElement(root, q("SummaryReturn"))
    for name, value in (
        ("guid", xml.new_guid()),
        ("agentCode", "3301960001"),
        ("ebcCode", "3301960002"),
        ("copNo", "SUM2026113000000001"),
        ("preNo", "B20261130000000001"),
        ("sumNo", sum_no),
        ("msgSeqNo", str(seq)),
        ("returnStatus", status),
        ("returnTime", "20261130100000123"),
        ("returnInfo", "ok"),
    ):
        if value:
            sub(element, name, value)


def test_a_ceb702_is_read_message_by_message() -> None:
    root = etree.Element(q(build.CEB702), nsmap={"ceb": xml.CEB_NS}, guid=xml.new_guid(), version="1.0")
    _answer_702(root, status="2", seq=1)
    _answer_702(root, status="120", seq=2, sum_no="290120260000000001")
    assert schema_problems(root) == []

    answers = build.summary_returns(root)

    assert [(a.cop_no, a.msg_seq_no, a.return_status, a.sum_no) for a in answers] == [
        ("SUM2026113000000001", 1, "2", ""),
        ("SUM2026113000000001", 2, "120", "290120260000000001"),
    ]


def test_a_ceb792_is_read_with_its_lists() -> None:
    root = etree.Element(q(build.CEB792), nsmap={"ceb": xml.CEB_NS}, guid=xml.new_guid(), version="1.0")
    result = etree.SubElement(root, q("SummaryResult"))
    result_head = etree.SubElement(result, q("SummaryResultHead"))
    for name, value in (
        ("guid", xml.new_guid()),
        ("customsCode", "2901"),
        ("sumNo", "290120260000000001"),
        ("opDate", "20261201090000000"),
        ("declSeqNo", "290120261000000001"),
        ("entryId", "290120261000000099"),
        ("decState", "P"),
        ("agentCode", "3301960001"),
        ("agentName", "Demo Agent"),
        ("ebcCode", "3301960002"),
        ("ebcName", "Demo Seller"),
        ("declAgentCode", "3301960001"),
        ("declAgentName", "Demo Agent"),
        ("grossWeight", "2.5"),
        ("netWeight", "2"),
        ("msgCount", "1"),
        ("msgSeqNo", "1"),
    ):
        sub(result_head, name, value)
    line = etree.SubElement(result, q("SummaryResultList"))
    for name, value in (
        ("invtNo", "29012026E000000001"),
        ("logisticsNo", "LN1"),
        ("gseqno", "1"),
        ("gnum", "1"),
        ("gcode", "6109100010"),
    ):
        sub(line, name, value)
    assert schema_problems(root) == []

    (facts,) = build.summary_results(root)

    assert (facts.sum_no, facts.decl_seq_no, facts.entry_id, facts.dec_state) == (
        "290120260000000001",
        "290120261000000001",
        "290120261000000099",
        "P",
    )
    assert facts.gross_weight == Decimal("2.5")
    assert [(r.invt_no, r.gcode) for r in facts.lists] == [("29012026E000000001", "6109100010")]
