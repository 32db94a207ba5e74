"""Declared export documents leave for customs as signed messages valid against the export
schema, each signed for the enterprise that sends it; without a key nothing leaves."""

from __future__ import annotations

from typing import Any

import pytest
from lxml import etree
from pytest_django.fixtures import Settings

from declarations import tasks
from declarations.customs import xml
from declarations.export import examples, gateway
from declarations.models import ExportList, ExportListStatus, ExportOrder, ExportWaybill
from declarations.tests.export.conftest import XSend, released
from single_window import services as hub
from single_window.models import OutboxMessage, PartnerKind
from single_window.outbox import message_body
from single_window.signatures import usable_certificates, verify_message_signature
from tests.certificates import KeyPair
from tests.factories import TEST_ACTOR, Persona

pytestmark = pytest.mark.django_db

CUSTOMS_CODE = "CUSTOMS-TEST"


@pytest.fixture
def customs(settings: Settings, db: None) -> None:
    settings.CUSTOMS_GATEWAY_ENABLED = True
    settings.CUSTOMS_PARTNER_CODE = CUSTOMS_CODE
    hub.partner_register(code=CUSTOMS_CODE, name="Test customs", kind=PartnerKind.CUSTOMS, actor=TEST_ACTOR)


@pytest.fixture
def signing_keys(export_parties: dict[str, Persona], key_pairs: dict[str, KeyPair]) -> None:
    for name in ("ebp", "pay", "logistics", "agent", "operator"):
        keys = key_pairs[name]
        hub.signing_key_register(
            enterprise=export_parties[name].enterprise,
            private_key_pem=keys.private_key_pem.decode(),
            certificate_pem=keys.certificate_text,
            actor=TEST_ACTOR,
        )


def sent(message_type: str) -> etree._Element:
    [message] = OutboxMessage.objects.filter(destination_kind="customs", message_type=message_type)
    return xml.read_message(message_body(message), expected_message=message_type)


def signer_of(root: etree._Element, who: Persona) -> bool:
    return verify_message_signature(root=root, candidates=usable_certificates(enterprise=who.enterprise)).verified


def test_a_parcels_documents_leave_signed_by_their_senders_and_valid_against_the_export_schema(
    xsend: XSend, customs: None, signing_keys: None, export_parties: dict[str, Persona]
) -> None:
    for kind in ("export_order", "export_receipt", "export_waybill", "export_list"):
        assert xsend(kind).status_code == 201

    order, receipt, waybill, inventory = (
        sent(m) for m in ("CEB303Message", "CEB403Message", "CEB505Message", "CEB603Message")
    )

    assert signer_of(order, export_parties["ebp"])
    assert signer_of(receipt, export_parties["pay"])
    assert signer_of(waybill, export_parties["logistics"])
    assert signer_of(inventory, export_parties["agent"])
    head = inventory.find(f"{{{xml.CEB_NS}}}Inventory/{{{xml.CEB_NS}}}InventoryHead")
    assert head is not None
    assert head.findtext(f"{{{xml.CEB_NS}}}copNo") == examples.LIST["cop_no"]
    assert head.findtext(f"{{{xml.CEB_NS}}}appType") == "1"
    export_list = ExportList.objects.get()
    assert export_list.status == ExportListStatus.DECLARED
    assert export_list.message is not None
    assert export_list.dispatch_requested_at is None


def test_a_change_of_a_document_customs_never_took_goes_out_as_new(
    xsend: XSend, customs: None, signing_keys: None
) -> None:
    xsend("export_order")
    OutboxMessage.objects.all().delete()

    xsend("export_order", app_type="2", app_time="20261203102000")

    head = sent("CEB303Message").find(f"{{{xml.CEB_NS}}}Order/{{{xml.CEB_NS}}}OrderHead")
    assert head is not None
    assert head.findtext(f"{{{xml.CEB_NS}}}appType") == "1"


def test_without_a_signing_key_a_list_goes_to_send_failed_and_nothing_leaves(xsend: XSend, customs: None) -> None:
    for kind in ("export_order", "export_receipt", "export_waybill", "export_list"):
        xsend(kind)

    export_list = ExportList.objects.get()
    assert export_list.status == ExportListStatus.SEND_FAILED
    assert "signing key" in export_list.customs_note
    assert "signing key" in ExportOrder.objects.get().customs_note
    assert not OutboxMessage.objects.filter(destination_kind="customs").exists()


def test_a_cancellation_leaves_as_a_signed_ceb605(
    xsend: XSend, customs: None, signing_keys: None, export_clients: dict, export_parties: dict[str, Persona]
) -> None:
    for kind in ("export_order", "export_receipt", "export_waybill", "export_list"):
        xsend(kind)
    export_list = released(ExportList.objects.get())
    ExportList.objects.filter(pk=export_list.pk).update(invt_no="29012026E000000001")

    response = export_clients["agent"].post(
        f"/api/v1/export/lists/{export_list.pk}/cancel", {"reason": "买家取消"}, format="json"
    )

    assert response.status_code == 201
    root = sent("CEB605Message")
    assert signer_of(root, export_parties["agent"])
    assert root.findtext(f"{{{xml.CEB_NS}}}InvtCancel/{{{xml.CEB_NS}}}invtNo") == "29012026E000000001"
    assert response.json()["status"] == "recorded"


def test_the_sweep_sends_what_a_lost_task_left_marked(xsend: XSend, customs: None, signing_keys: None) -> None:
    xsend("export_waybill")
    OutboxMessage.objects.all().delete()
    waybill = ExportWaybill.objects.get()
    ExportWaybill.objects.filter(pk=waybill.pk).update(dispatch_requested_at="2026-12-01T00:00:00+08:00")

    assert gateway.export_dispatch_sweep() == 1
    assert sent("CEB505Message") is not None


def test_with_a_batching_window_the_worker_task_signs_and_enqueues_the_document(
    xsend: XSend, customs: None, signing_keys: None, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.CUSTOMS_BATCH_WINDOW_MS = 200
    queued: list[dict[str, Any]] = []
    monkeypatch.setattr(
        gateway.current_app, "send_task", lambda name, kwargs, **_options: queued.append({"name": name, **kwargs})
    )

    xsend("export_waybill")
    assert not OutboxMessage.objects.filter(destination_kind="customs").exists()
    [task] = queued
    assert task["name"] == "declarations.export_dispatch"

    assert tasks.export_dispatch(kind=task["kind"], document_id=task["document_id"]) is True
    assert sent("CEB505Message") is not None
    assert ExportWaybill.objects.get().dispatch_requested_at is None
    assert tasks.export_dispatch(kind=task["kind"], document_id=task["document_id"]) is False  # done once
