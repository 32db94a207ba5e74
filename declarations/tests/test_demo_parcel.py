"""An integrator's first day: the demo keys written once, the XML examples in
``docs/examples/xml/``, ``sign_ceb``, and ``send_demo_parcel`` sending a fresh parcel over HTTP.

The demo is what ``load_demo`` makes; HTTP goes through httpx to the WSGI application, so the
command's client speaks to the service as it would to ``make run``.
"""

from __future__ import annotations

import stat
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from django.core import signals
from django.core.handlers.wsgi import WSGIHandler
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import close_old_connections
from lxml import etree
from pytest_django.fixtures import DjangoCaptureOnCommitCallbacks, Settings
from rest_framework.test import APIClient

from declarations.customs import xml
from declarations.customs.spec import SPECS
from declarations.intake import examples
from declarations.management.commands import send_demo_parcel
from declarations.management.commands.send_demo_parcel import DemoParcelSender, Parcel, fresh_parcel, read_keys
from declarations.models import Inventory, Order, Payment, Waybill
from declarations.tests.customs_xml import read_answer, returns
from declarations.tests.helpers import AGENT_CODE, SENDER_OF
from single_window import services as hub
from single_window.management.commands.load_demo import DEMO_KEYS_ENV_FILE, ENTERPRISES, EXAMPLE_CERTIFICATE
from single_window.models import ApiKey, EnterpriseCertificate
from single_window.signatures import DS_NS
from tests.certificates import KeyPair, make_key_pair
from tests.factories import TEST_ACTOR, Persona

XML_DIR = Path(send_demo_parcel.XML_DIR)
EXAMPLE_FILES = {
    "order": "CEB311Message.xml",
    "payment": "CEB411Message.xml",
    "waybill": "CEB511Message.xml",
    "inventory": "CEB621Message.xml",
}
# The committed XML parcel: the JSON example under keys of its own, so both can go to one demo.
XML_PARCEL_KEYS = {
    "order_no": "SW20261125000010",
    "pay_transaction_id": "PAY20261125000010",
    "logistics_no": "YT20261125000010",
    "cop_no": "COP20261125000010",
}

LoadDemo = Callable[[], Path]


@pytest.fixture
def load_demo(
    settings: Settings,
    tmp_path: Path,
    reference_data: None,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> LoadDemo:
    """Run ``load_demo`` with ``var/`` in a temporary directory, its after-commit writes done;
    returns that ``var/``."""
    settings.VAR_DIR = tmp_path

    def run() -> Path:
        with django_capture_on_commit_callbacks(execute=True):
            call_command("load_demo", admin_password="demo-password", stdout=_Sink(), stderr=_Sink())
        return tmp_path

    return run


class _Sink:
    def write(self, text: str) -> None:
        pass

    def flush(self) -> None:
        pass


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    """An HTTP client of the service, as ``send_demo_parcel`` uses one.

    The service runs in this thread, on the test's database connection: as Django's test client
    does, the connection is not closed at the end of each request (that would end the test's
    transaction).
    """
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        with httpx.Client(transport=httpx.WSGITransport(app=WSGIHandler()), base_url="http://testserver") as client:
            yield client
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


def post_example(client: httpx.Client, kind: str, key: str) -> etree._Element:
    response = client.post(
        f"/api/v1/{send_demo_parcel.PLURAL[kind]}",
        content=(XML_DIR / EXAMPLE_FILES[kind]).read_bytes(),
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/xml"},
    )
    assert response.status_code == 200, response.text
    root = etree.fromstring(response.content, etree.XMLParser(resolve_entities=False, no_network=True))
    assert xml.customs_schema().validate(root.getroottree()), xml.customs_schema().error_log
    return root


def answers(root: etree._Element) -> list[dict[str, str]]:
    return [{etree.QName(child).localname: child.text or "" for child in element} for element in root]


# --- Keys written once -----------------------------------------------------------------------


def test_load_demo_writes_each_demo_key_once_to_a_file_only_its_owner_reads(
    load_demo: LoadDemo, http: httpx.Client
) -> None:
    var = load_demo()

    path = var / DEMO_KEYS_ENV_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    text = path.read_text(encoding="utf-8")
    keys = read_keys(path)
    assert sorted(keys) == sorted(code for code, *_ in ENTERPRISES)
    for code, _body, name, _roles, _park in ENTERPRISES:
        assert f"# {name} (" in text
        me = http.get("/api/v1/enterprises/me", headers={"Authorization": f"Bearer {keys[code]}"})
        assert me.status_code == 200, me.text
        assert me.json()["customs_code"] == code


def test_a_second_load_demo_replaces_the_keys_in_the_file_and_revokes_the_old_ones(
    load_demo: LoadDemo, http: httpx.Client
) -> None:
    first = read_keys(load_demo() / DEMO_KEYS_ENV_FILE)

    second = read_keys(load_demo() / DEMO_KEYS_ENV_FILE)

    assert set(first.values()).isdisjoint(second.values())
    old = http.get("/api/v1/enterprises/me", headers={"Authorization": f"Bearer {first['3301960001']}"})
    assert old.status_code == 401
    assert ApiKey.objects.filter(name="demo", revoked_at__isnull=True).count() == len(ENTERPRISES)


# --- The committed XML examples --------------------------------------------------------------


@pytest.mark.parametrize("kind", sorted(EXAMPLE_FILES))
def test_each_committed_xml_example_passes_the_schema_and_is_the_json_example_under_its_own_keys(kind: str) -> None:
    body = (XML_DIR / EXAMPLE_FILES[kind]).read_bytes()

    parsed = xml.parse_message(body, expected_message=SPECS[kind].message)

    [document] = parsed.documents
    expected = examples.document(kind, **{k: v for k, v in XML_PARCEL_KEYS.items() if k in examples.DOCUMENTS[kind]})
    head = {name: value for name, value in document.items() if name not in ("items", "guid")}
    assert head == {name: str(value) for name, value in expected.items() if name not in ("items", "guid")}
    assert parsed.cop_code == send_demo_parcel.SENDER[kind]
    assert (parsed.signature is not None) is (kind == "inventory")


def test_the_committed_parcel_in_xml_is_accepted_by_a_fresh_demo(load_demo: LoadDemo, http: httpx.Client) -> None:
    keys = read_keys(load_demo() / DEMO_KEYS_ENV_FILE)
    # load_demo registered the certificate the committed list is signed with, for the demo agent.
    certificate = EnterpriseCertificate.objects.get(certificate_pem__contains=_base64_body(EXAMPLE_CERTIFICATE))
    assert certificate.enterprise.customs_code == AGENT_CODE

    results = {kind: answers(post_example(http, kind, keys[send_demo_parcel.SENDER[kind]])) for kind in EXAMPLE_FILES}

    assert {kind: [r["returnStatus"] for r in found] for kind, found in results.items()} == {
        "order": ["2"],
        "payment": ["2"],
        "waybill": ["2"],
        "inventory": ["2"],
    }, results
    inventory = Inventory.objects.get(cop_no=XML_PARCEL_KEYS["cop_no"])
    assert results["inventory"][0]["returnInfo"] == f"accepted id={inventory.pk}"
    assert inventory.order_no == XML_PARCEL_KEYS["order_no"]
    assert inventory.waiting_for == []
    # Sent again, as the README says: refused as a duplicate, nothing stored twice.
    [again] = answers(post_example(http, "order", keys[send_demo_parcel.SENDER["order"]]))
    assert (again["returnStatus"], again["returnInfo"].split(" ")[0]) == ("-301010", "[duplicate_document]"), again
    assert Order.objects.filter(order_no=XML_PARCEL_KEYS["order_no"]).count() == 1


def _base64_body(path: Path) -> str:
    """A line from the middle of a PEM file, to find the certificate stored from it."""
    return path.read_text().splitlines()[3]


def test_load_demo_gives_the_customs_simulator_the_example_certificate_next_to_the_machines_own(
    load_demo: LoadDemo,
) -> None:
    var = load_demo()
    load_demo()  # twice: added once

    registry = (var / "simulator-certificates" / f"{AGENT_CODE}.pem").read_text()
    own = (var / "demo-keys" / f"{AGENT_CODE}.crt.pem").read_text()
    assert own.strip() in registry
    assert registry.count(EXAMPLE_CERTIFICATE.read_text().strip()) == 1
    assert registry.count("BEGIN CERTIFICATE") == 2


# --- sign_ceb --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def signer_keys() -> KeyPair:
    return make_key_pair(common_name="Demo Customs Broker (sign_ceb)")


def _key_files(tmp_path: Path, keys: KeyPair) -> tuple[Path, Path]:
    key, cert = tmp_path / "agent.key.pem", tmp_path / "agent.crt.pem"
    key.write_bytes(keys.private_key_pem)
    cert.write_bytes(keys.certificate_pem)
    return key, cert


def test_a_list_signed_by_sign_ceb_is_accepted_by_the_xml_intake(
    tmp_path: Path, parties: dict[str, Persona], clients: dict[str, APIClient], signer_keys: KeyPair
) -> None:
    hub.certificate_register(
        enterprise=parties["agent"].enterprise, certificate_pem=signer_keys.certificate_text, actor=TEST_ACTOR
    )
    for kind in ("order", "payment", "waybill"):
        response = clients[SENDER_OF[kind]].post(
            f"/api/v1/{send_demo_parcel.PLURAL[kind]}",
            data=(XML_DIR / EXAMPLE_FILES[kind]).read_bytes(),
            content_type="application/xml",
        )
        assert [r["returnStatus"] for r in returns(read_answer(response))] == ["2"]
    key, cert = _key_files(tmp_path, signer_keys)
    signed = tmp_path / "CEB621Message.signed.xml"

    call_command(
        "sign_ceb", str(XML_DIR / "CEB621Message.unsigned.xml"), key=key, cert=cert, out=signed, stderr=_Sink()
    )

    root = etree.fromstring(signed.read_bytes())
    method = root.find(f"{{{DS_NS}}}Signature/{{{DS_NS}}}SignedInfo/{{{DS_NS}}}SignatureMethod")
    assert method is not None
    assert method.get("Algorithm") == "http://www.w3.org/2000/09/xmldsig#rsa-sha1"
    response = clients["agent"].post("/api/v1/inventories", data=signed.read_bytes(), content_type="application/xml")
    [result] = returns(read_answer(response))
    assert result["returnStatus"] == "2", result
    inventory = Inventory.objects.get(cop_no=XML_PARCEL_KEYS["cop_no"])
    assert inventory.waiting_for == []
    assert inventory.source_message is not None


def test_a_list_signed_by_sign_ceb_with_a_certificate_nobody_registered_is_refused(
    tmp_path: Path, parties: dict[str, Persona], clients: dict[str, APIClient], signer_keys: KeyPair
) -> None:
    key, cert = _key_files(tmp_path, signer_keys)
    signed = tmp_path / "signed.xml"
    call_command(
        "sign_ceb", str(XML_DIR / "CEB621Message.unsigned.xml"), key=key, cert=cert, out=signed, stderr=_Sink()
    )

    response = clients["agent"].post("/api/v1/inventories", data=signed.read_bytes(), content_type="application/xml")

    [result] = returns(read_answer(response))
    assert result["returnStatus"] == "-621015", result
    assert not Inventory.objects.exists()


def test_sign_ceb_refuses_a_message_with_a_doctype_and_writes_nothing(tmp_path: Path, signer_keys: KeyPair) -> None:
    key, cert = _key_files(tmp_path, signer_keys)
    source = tmp_path / "evil.xml"
    source.write_text('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e "e">]><x>&e;</x>')
    out = tmp_path / "out.xml"

    with pytest.raises(CommandError, match="DOCTYPE"):
        call_command("sign_ceb", str(source), key=key, cert=cert, out=out)

    assert not out.exists()


# --- send_demo_parcel ------------------------------------------------------------------------


def test_a_fresh_parcel_changes_every_key_consistently_across_the_four_documents() -> None:
    first, second = fresh_parcel(), fresh_parcel()

    documents = {kind: send_demo_parcel.json_document(first, kind) for kind in send_demo_parcel.KINDS}
    assert {d["order_no"] for d in documents.values()} == {first.order_no}
    assert documents["order"]["pay_transaction_id"] == documents["payment"]["pay_transaction_id"]
    assert documents["waybill"]["logistics_no"] == documents["inventory"]["logistics_no"]
    assert len(documents["inventory"]["cop_no"]) <= 20
    assert len({d["guid"] for d in documents.values()}) == 4
    assert documents["order"]["buyer_id_number"] == documents["payment"]["payer_id_number"]
    assert documents["order"]["buyer_id_number"] == documents["inventory"]["buyer_id_number"]
    assert first.order_no != second.order_no
    assert {d["guid"] for d in documents.values()}.isdisjoint(
        send_demo_parcel.json_document(second, kind)["guid"] for kind in send_demo_parcel.KINDS
    )


def _send(http: httpx.Client, var: Path, *, use_xml: bool) -> tuple[Parcel, list[str]]:
    printed: list[str] = []
    sender = DemoParcelSender(
        client=http,
        keys=read_keys(var / DEMO_KEYS_ENV_FILE),
        write=printed.append,
        use_xml=use_xml,
        keys_directory=var / "demo-keys",
    )
    parcel = fresh_parcel()
    sender.send(parcel)
    trace = sender.trace(parcel)
    assert trace["order_no"] == parcel.order_no
    assert all(trace[kind] is not None for kind in send_demo_parcel.KINDS)
    return parcel, printed


@pytest.mark.parametrize("use_xml", [False, True], ids=["json", "xml"])
def test_send_demo_parcel_sends_a_fresh_parcel_that_the_demo_takes_every_time(
    use_xml: bool, load_demo: LoadDemo, http: httpx.Client
) -> None:
    var = load_demo()

    sent = [_send(http, var, use_xml=use_xml) for _ in range(2)]

    for parcel, printed in sent:
        assert len(printed) == 4
        assert all(": HTTP 20" in line for line in printed), printed
        inventory = Inventory.objects.get(order_no=parcel.order_no)
        assert inventory.waiting_for == []
        assert inventory.agent_code == AGENT_CODE
        assert (inventory.source_message is not None) is use_xml
        for model in (Order, Payment, Waybill):
            assert model._default_manager.filter(order_no=parcel.order_no).count() == 1


def test_send_demo_parcel_without_the_keys_file_says_to_load_the_demo_first(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="load_demo"):
        call_command("send_demo_parcel", keys_file=tmp_path / "none.env", base_url="http://127.0.0.1:9")


def test_send_demo_parcel_stops_at_the_first_refusal(load_demo: LoadDemo, http: httpx.Client) -> None:
    var = load_demo()
    keys: dict[str, Any] = dict(read_keys(var / DEMO_KEYS_ENV_FILE))
    keys["3301960003"] = keys["3301960004"]  # the payment sent with the logistics company's key
    printed: list[str] = []
    sender = DemoParcelSender(client=http, keys=keys, write=printed.append)
    parcel = fresh_parcel()

    with pytest.raises(CommandError, match="payment was refused"):
        sender.send(parcel)

    assert len(printed) == 2
    assert Order.objects.filter(order_no=parcel.order_no).exists()
    assert not Payment.objects.filter(order_no=parcel.order_no).exists()
    assert not Inventory.objects.filter(order_no=parcel.order_no).exists()
