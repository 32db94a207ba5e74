"""The export parcel's parties (the demo registry's codes, ``declarations.export.examples``) and
helpers to send its documents.

- ``ebp``, ``ebc``, ``pay``, ``logistics``, ``agent`` (appointed by ``ebc``): from the
  declarations' conftest; ``operator`` 3301960006 runs the supervised site (role area);
- ``xsend(kind, ...)`` posts the example document of ``kind`` as its sender;
- ``keys`` signs customs XML for any of them, its certificate registered.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest
from rest_framework.test import APIClient

from declarations.export import examples
from declarations.models import ExportList, ExportListStatus
from single_window import services as hub
from single_window.models import Appointment, Park, Role
from tests.certificates import KeyPair, make_key_pair
from tests.factories import TEST_ACTOR, ApiKeyFactory, EnterpriseFactory, Persona

if TYPE_CHECKING:
    from rest_framework.response import _MonkeyPatchedResponse as ApiResponse

SENDER_OF = {
    "export_order": "ebp",
    "export_receipt": "pay",
    "export_waybill": "logistics",
    "export_arrival": "operator",
    "export_departure": "logistics",
    "export_list": "agent",
    "export_master_bill": "agent",
}
PLURAL = {
    "export_order": "orders",
    "export_receipt": "receipts",
    "export_waybill": "waybills",
    "export_arrival": "arrivals",
    "export_departure": "departures",
    "export_list": "lists",
    "export_master_bill": "master-bills",
}
XSend = Callable[..., "ApiResponse"]


def url(kind: str) -> str:
    return f"/api/v1/export/{PLURAL[kind]}"


@pytest.fixture
def operator(park: Park) -> Persona:
    enterprise = EnterpriseFactory.create(
        customs_code=examples.OPERATOR_CODE,
        roles=[Role.AREA],
        name="下沙示例保税仓储有限公司 Demo Bonded Warehouse",
        park=park,
    )
    api_key, raw_key = ApiKeyFactory.issue(enterprise=enterprise)
    return Persona(enterprise=enterprise, api_key=api_key, raw_key=raw_key)


@pytest.fixture
def export_parties(
    request: pytest.FixtureRequest, agent_appointment: Appointment, operator: Persona
) -> dict[str, Persona]:
    """Every party of the export parcel, by role name; the agent holds its appointment."""
    made = {name: request.getfixturevalue(name) for name in ("ebp", "ebc", "pay", "logistics", "agent")}
    made["operator"] = operator
    return made


@pytest.fixture
def export_clients(
    export_parties: dict[str, Persona], outsider: Persona, client_for: Callable[[Persona], APIClient]
) -> dict[str, APIClient]:
    made = {name: client_for(who) for name, who in export_parties.items()}
    made["outsider"] = client_for(outsider)
    return made


@pytest.fixture
def xsend(export_clients: dict[str, APIClient]) -> XSend:
    """``xsend(kind)`` posts the example document as its sender; ``data`` replaces the whole
    document, ``**changes`` change head fields, ``by`` names another caller, ``key`` sets
    ``Idempotency-Key``."""

    def post(
        kind: str, data: dict[str, Any] | None = None, *, by: str | None = None, key: str | None = None, **changes: Any
    ) -> ApiResponse:
        body = data if data is not None else examples.document(kind, **changes)
        headers: dict[str, Any] = {"HTTP_IDEMPOTENCY_KEY": key} if key is not None else {}
        return export_clients[by or SENDER_OF[kind]].post(url(kind), body, format="json", **headers)

    return post


@pytest.fixture(scope="session")
def key_pairs() -> dict[str, KeyPair]:
    return {name: make_key_pair(common_name=f"Export {name}") for name in (*SENDER_OF.values(), "ebc", "outsider")}


@pytest.fixture
def keys(export_parties: dict[str, Persona], outsider: Persona, key_pairs: dict[str, KeyPair]) -> dict[str, KeyPair]:
    """Each party's key pair, its certificate registered with the single window."""
    for name, who in {**export_parties, "outsider": outsider}.items():
        hub.certificate_register(
            enterprise=who.enterprise, certificate_pem=key_pairs[name].certificate_text, actor=TEST_ACTOR
        )
    return key_pairs


def released(export_list: ExportList) -> ExportList:
    """Put a list in ``released`` directly (a test shortcut for customs' receipts)."""
    ExportList.objects.filter(pk=export_list.pk).update(status=ExportListStatus.RELEASED)
    export_list.refresh_from_db()
    return export_list
