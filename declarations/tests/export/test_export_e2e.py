"""End to end, with customs and the Celery worker their own processes: one B2C (9610) export
parcel from its order to its departure. The web side stores and signs; the worker relays every
message to the customs simulator and applies the receipts it sends back; nothing here calls the
relay or the inbox."""

# The gateway tests' fixtures are imported by name, and pytest hands them in by name.
# ruff: noqa: F811

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from rest_framework.test import APIClient

from declarations.export import examples
from declarations.models import ExportArrival, ExportDeparture, ExportList, ExportListStatus, ExportOrder
from declarations.tests.export.conftest import XSend
from declarations.tests.test_gateway import (  # noqa: F401
    _free_port,
    _healthy,
    celery_worker_process,
    customs,
    customs_simulator,
    gateway_on,
)
from single_window import services as hub
from single_window.models import OutboxMessage, OutboxState, Partner
from tests.certificates import KeyPair
from tests.factories import TEST_ACTOR, Persona

SIGNERS = ("ebp", "pay", "logistics", "agent", "operator")


@pytest.fixture
def simulator_certificates(export_parties: dict[str, Persona], key_pairs: dict[str, KeyPair]) -> dict[str, bytes]:
    """What customs knows: the certificate of every enterprise that signs a document."""
    return {export_parties[name].code: key_pairs[name].certificate_pem for name in SIGNERS}


@pytest.fixture
def signing_keys(export_parties: dict[str, Persona], key_pairs: dict[str, KeyPair]) -> None:
    for name in SIGNERS:
        hub.signing_key_register(
            enterprise=export_parties[name].enterprise,
            private_key_pem=key_pairs[name].private_key_pem.decode(),
            certificate_pem=key_pairs[name].certificate_text,
            actor=TEST_ACTOR,
        )


def wait_for(condition: Callable[[], bool], *, timeout: float = 40.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return False


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.usefixtures("reseed_after_flush", "celery_worker_process", "signing_keys")
def test_a_b2c_export_parcel_goes_from_order_to_departure_through_a_worker_and_customs(
    xsend: XSend, customs: tuple[Partner, str], customs_simulator: str, export_clients: dict[str, APIClient]
) -> None:
    partner, _secret = customs
    Partner.objects.filter(pk=partner.pk).update(endpoint_url=f"{customs_simulator}/ceb")

    # 1. The order, the payment receipt, the waybill and the list: the list is declared.
    for kind in ("export_order", "export_receipt", "export_waybill", "export_list"):
        assert xsend(kind).status_code == 201, kind
    export_list = ExportList.objects.get()

    # 2. Customs releases it (CEB604 2, 120, 399, 800), the worker applying each receipt.
    def released() -> bool:
        export_list.refresh_from_db()
        return export_list.status == ExportListStatus.RELEASED

    assert wait_for(released), (
        export_list.status,
        list(export_list.status_changes.values_list("to_status", "receipt_code")),
    )
    receipts = list(
        export_list.status_changes.filter(source="customs_receipt", applied=True).values_list("receipt_code", flat=True)
    )
    assert receipts == ["2", "120", "399", "800"]
    assert export_list.invt_no.startswith("2901")
    assert wait_for(lambda: ExportOrder.objects.get().customs_status == "120")

    # 3. The parcel arrives at the supervised site; customs takes the arrival (CEB508 399).
    assert xsend("export_arrival").status_code == 201
    assert wait_for(lambda: ExportArrival.objects.get().customs_status == "399")

    # 4. It departs; customs takes the departure (CEB510 399).
    assert xsend("export_departure").status_code == 201
    assert wait_for(lambda: ExportDeparture.objects.get().customs_status == "399")

    sent = OutboxMessage.objects.filter(destination_kind="customs").values_list("message_type", "state")
    assert sorted(sent) == sorted(
        (message, OutboxState.SENT)
        for message in (
            "CEB303Message",
            "CEB403Message",
            "CEB505Message",
            "CEB603Message",
            "CEB507Message",
            "CEB509Message",
        )
    )
    trace = export_clients["ebc"].get(f"/api/v1/export/parcels/{examples.EBP_CODE}/{examples.ORDER_NO}/trace")
    assert trace.status_code == 200
    body = trace.json()
    assert body["export_list"]["status"] == "released"
    assert body["order"]["customs_status"] == "120"
    # The seller is named in the order, the receipt, the waybill and the list, not in the
    # operator's arrival nor the carrier's departure.
    assert body["arrival"] is None
    assert body["departure"] is None
    carrier = (
        export_clients["logistics"].get(f"/api/v1/export/parcels/{examples.EBP_CODE}/{examples.ORDER_NO}/trace").json()
    )
    assert carrier["departure"]["customs_status"] == "399"
    assert carrier["arrival"]["customs_status"] == "399"
