"""The trace of an export parcel: each document as far as the caller may see it, the list's
history, and sections other parts of the export side add."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from rest_framework.test import APIClient

from declarations.export import examples, trace
from declarations.models import ExportList
from declarations.tests.export.conftest import XSend, released

pytestmark = pytest.mark.django_db

TRACE = f"/api/v1/export/parcels/{examples.EBP_CODE}/{examples.ORDER_NO}/trace"


@pytest.fixture
def departed(xsend: XSend) -> None:
    for kind in ("export_order", "export_receipt", "export_waybill", "export_list", "export_arrival"):
        assert xsend(kind).status_code == 201, kind
    released(ExportList.objects.get())
    assert xsend("export_departure").status_code == 201


@pytest.mark.usefixtures("departed")
def test_the_declaring_agent_follows_its_list_from_waiting_to_release(export_clients: dict[str, APIClient]) -> None:
    body = export_clients["agent"].get(TRACE).json()

    assert body["export_list"]["cop_no"] == examples.LIST["cop_no"]
    moves = [change["to_status"] for change in body["export_list"]["history"]]
    assert moves == ["pending_documents", "matched", "declared"]
    assert body["order"] is None  # the agent is named in the list, not in the order


@pytest.mark.usefixtures("departed")
def test_the_carrier_sees_its_waybill_the_arrival_and_its_departure(export_clients: dict[str, APIClient]) -> None:
    body = export_clients["logistics"].get(TRACE).json()

    assert body["waybill"]["logistics_no"] == examples.LOGISTICS_NO
    assert body["arrival"]["cop_no"] == examples.ARRIVAL["cop_no"]
    assert body["departure"]["cop_no"] == examples.DEPARTURE["cop_no"]
    assert body["waybill"]["ebc_telephone"] == "13900139000"


@pytest.mark.usefixtures("departed")
def test_an_outsider_is_answered_as_if_the_parcel_did_not_exist(export_clients: dict[str, APIClient]) -> None:
    assert export_clients["outsider"].get(TRACE).status_code == 404


@pytest.fixture
def summary_section() -> Iterator[None]:
    trace.register_trace_section(
        "summary_probe", lambda export_list, _viewer: {"list_id": export_list.pk if export_list else None}
    )
    yield
    trace.unregister_trace_section("summary_probe")


@pytest.mark.usefixtures("departed", "summary_section")
def test_a_section_another_part_registers_appears_in_the_trace(export_clients: dict[str, APIClient]) -> None:
    body = export_clients["agent"].get(TRACE).json()

    assert body["summary_probe"] == {"list_id": ExportList.objects.get().pk}
