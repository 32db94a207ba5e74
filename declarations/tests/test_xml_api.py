"""Customs XML through the API: the official samples, the same documents as in JSON, a full
message with one bad document, signatures on lists, unsafe and oversize messages,
idempotency, the encrypted record of each message, and an outsider.

Each test reads the XML answer (valid against the customs schema) and the database.
"""

from __future__ import annotations

import copy
import hashlib
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import pytest
from django.db import connection, models, transaction
from lxml import etree
from pytest_django.fixtures import Settings
from rest_framework.test import APIClient

from core.crypto import decrypt_bytes, decrypt_text
from core.idempotency import IDEMPOTENCY_KEY_REUSED
from declarations.customs import xml
from declarations.customs.spec import SPECS
from declarations.intake import codes, examples
from declarations.models import Inventory, InventoryStatusChange, Order, Payment, Waybill
from declarations.tests.customs_xml import (
    ANSWER_OF,
    ceb,
    message_root,
    message_xml,
    read_answer,
    returns,
    sample,
    to_bytes,
)
from declarations.tests.helpers import (
    AGENT_CODE,
    BUYER_ID,
    BUYER_NAME,
    EBC_CODE,
    EBP_CODE,
    LOGISTICS_CODE,
    PAY_CODE,
    SENDER_OF,
    Send,
    detail_url,
    stored_rows,
    url,
)
from single_window import error_codes
from single_window import services as hub
from single_window.models import EnterpriseCertificate, InboundMessage
from single_window.signatures import DS_NS
from tests.certificates import KeyPair, make_key_pair
from tests.factories import TEST_ACTOR, Persona, assert_problem

if TYPE_CHECKING:
    from rest_framework.response import _MonkeyPatchedResponse as ApiResponse

KINDS = ("order", "payment", "waybill", "inventory")
SENDER_CODE = {"order": EBP_CODE, "payment": PAY_CODE, "waybill": LOGISTICS_CODE, "inventory": AGENT_CODE}
MODELS: dict[str, type[models.Model]] = {"order": Order, "payment": Payment, "waybill": Waybill, "inventory": Inventory}
# The key element of each return, and the document field it repeats.
RETURN_KEY = {
    "order": ("orderNo", "order_no"),
    "payment": ("payTransactionId", "pay_transaction_id"),
    "waybill": ("logisticsNo", "logistics_no"),
    "inventory": ("copNo", "cop_no"),
}
REFUSAL_INFO = re.compile(r"\[[a-z_]+\] .+")
# source_message: the XML message a list came in, by its nature absent for JSON.
# Times of the run (when it was stored, when its dispatch was asked) differ between two runs.
NOT_SHOWN = {"id", "created_at", "updated_at", "source_message", "dispatch_requested_at"}


def post_xml(client: APIClient, kind: str, body: bytes, *, key: str | None = None) -> ApiResponse:
    headers: dict[str, Any] = {"HTTP_IDEMPOTENCY_KEY": key} if key is not None else {}
    return client.post(url(kind), data=body, content_type="application/xml", **headers)


def code_of(result: dict[str, str]) -> str:
    """The stable code of a refused document's returnInfo (``[code] message; field``)."""
    match = re.match(r"\[([a-z_]+)\] ", result["returnInfo"])
    assert match is not None, result
    return match.group(1)


def another(kind: str, n: int) -> dict[str, Any]:
    """The example document under another business key and guid (the same parcel otherwise)."""
    second = {"order": "order_no", "payment": "pay_transaction_id", "waybill": "logistics_no", "inventory": "cop_no"}
    document = examples.document(kind)
    document[second[kind]] = f"{document[second[kind]][:-4]}{n:04d}"
    document["guid"] = f"{document['guid'][:24]}{n:012d}"
    return document


@contextmanager
def rolled_back() -> Iterator[None]:
    """Run the block in a savepoint and undo it: what it stored can be looked at, then is gone."""

    class Undo(Exception):
        pass

    try:
        with transaction.atomic():
            yield
            raise Undo
    except Undo:
        pass


def _row(instance: models.Model, *, skip: frozenset[str] = frozenset()) -> dict[str, Any]:
    row: dict[str, Any] = {}
    for field in instance._meta.concrete_fields:
        if field.name in NOT_SHOWN or field.name in skip:
            continue
        value = getattr(instance, field.attname)
        if field.name.endswith("_id_number_encrypted"):
            value = decrypt_text(value)  # the ciphertext differs by its nonce, the number must not
        row[field.attname] = value
    return row


def stored_documents() -> dict[str, list[dict[str, Any]]]:
    """Every stored document with its lines and (for lists) its status history, without ids
    and timestamps: two submissions that give the same result leave the same state."""
    state: dict[str, list[dict[str, Any]]] = {}
    for kind, model in MODELS.items():
        rows = []
        for document in model._default_manager.order_by("pk"):
            row = _row(document)
            if SPECS[kind].lines:
                row["items"] = [_row(line, skip=frozenset({kind})) for line in document.items.order_by("gnum")]  # type: ignore[attr-defined]
            if kind == "inventory":
                row["status_changes"] = [
                    _row(change, skip=frozenset({"inventory"}))
                    for change in InventoryStatusChange.objects.filter(inventory_id=document.pk).order_by(
                        "created_at", "id"
                    )
                ]
            rows.append(row)
        state[kind] = rows
    return state


def shown(body: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in body.items() if name not in NOT_SHOWN}


# --- Fixtures --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def agent_keys() -> KeyPair:
    return make_key_pair(common_name="Demo Customs Broker")


@pytest.fixture(scope="module")
def ebc_keys() -> KeyPair:
    return make_key_pair(common_name="Demo Seller")


@pytest.fixture(scope="module")
def outsider_keys() -> KeyPair:
    return make_key_pair(common_name="Outsider Ltd")


def _register(who: Persona, keys: KeyPair) -> EnterpriseCertificate:
    return hub.certificate_register(enterprise=who.enterprise, certificate_pem=keys.certificate_text, actor=TEST_ACTOR)


@pytest.fixture
def agent_certificate(agent: Persona, agent_keys: KeyPair) -> EnterpriseCertificate:
    """The declaring agent's registered signing certificate."""
    return _register(agent, agent_keys)


@pytest.fixture
def ebc_certificate(ebc: Persona, ebc_keys: KeyPair) -> EnterpriseCertificate:
    return _register(ebc, ebc_keys)


@pytest.fixture
def outsider_certificate(outsider: Persona, outsider_keys: KeyPair) -> EnterpriseCertificate:
    return _register(outsider, outsider_keys)


def list_message(keys: KeyPair, *documents: dict[str, Any], cop_code: str = AGENT_CODE) -> bytes:
    return message_xml("inventory", documents or [examples.document("inventory")], cop_code=cop_code, keys=keys)


# --- 1. The official samples -----------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_every_official_sample_passes_the_schema_and_each_document_is_answered(
    kind: str, clients: dict[str, APIClient], agent_certificate: EnterpriseCertificate
) -> None:
    body = sample(kind)
    documents = xml.parse_message(body, expected_message=SPECS[kind].message).documents
    before = stored_rows()

    response = post_xml(clients[SENDER_OF[kind]], kind, body)

    root = read_answer(response)
    answer, element = ANSWER_OF[kind]
    assert root.tag == ceb(answer)
    assert [etree.QName(child).localname for child in root] == [element] * len(documents)
    results = returns(root)
    key_element, key_field = RETURN_KEY[kind]
    for document, result in zip(documents, results, strict=True):
        assert result["guid"] == document["guid"]
        assert result[key_element] == (document.get(key_field) or xml.NO_PRE_NO)
        # The samples name enterprises our registry does not hold: every document is refused.
        assert re.fullmatch(r"-[0-9]+", result["returnStatus"]), result
        assert REFUSAL_INFO.fullmatch(result["returnInfo"]), result
    if kind == "inventory":  # the samples are signed with SM2-SM3, checked before anything else
        assert {(r["returnStatus"], code_of(r)) for r in results} == {
            ("-621029", error_codes.SIGNATURE_ALGORITHM_UNSUPPORTED)
        }
    else:
        assert {code_of(r) for r in results} <= {
            codes.UNKNOWN_ENTERPRISE,
            codes.NOT_YOUR_DOCUMENT,
            codes.ID_NUMBER_INVALID,
            codes.TOTAL_PRICE_MISMATCH,
            codes.GOODS_VALUE_MISMATCH,
            codes.ACTUAL_PAID_MISMATCH,
        }, results
    assert stored_rows() == before
    message = InboundMessage.objects.get()
    assert message.message_type == SPECS[kind].message
    assert message.outcome == [{"status": r["returnStatus"], "info": r["returnInfo"]} for r in results]


# --- 2. The same documents in XML and in JSON ------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_a_document_sent_in_xml_is_stored_as_the_same_document_sent_in_json(
    kind: str,
    clients: dict[str, APIClient],
    send: Send,
    agent_certificate: EnterpriseCertificate,
    agent_keys: KeyPair,
) -> None:
    # The rest of the parcel first, so the document meets the others as it would in real life.
    for other in KINDS:
        if other != kind:
            assert send(other).status_code == 201
    sender = clients[SENDER_OF[kind]]
    document = examples.document(kind)
    with rolled_back():
        by_json = sender.post(url(kind), document, format="json")
        assert by_json.status_code == 201, by_json.content
        after_json = stored_documents()
    before = stored_documents()
    assert before != after_json

    body = message_xml(kind, [document], cop_code=SENDER_CODE[kind], keys=agent_keys if kind == "inventory" else None)
    response = post_xml(sender, kind, body)

    [result] = returns(read_answer(response))
    stored = MODELS[kind]._default_manager.get(guid=document["guid"])
    assert result["returnStatus"] == "2"
    assert result["returnInfo"] == f"accepted id={stored.pk}"
    assert result["guid"] == document["guid"]
    if kind == "inventory":
        assert result["preNo"] == xml.pre_no_for(stored.pk)
    assert stored_documents() == after_json
    read = sender.get(detail_url(kind, stored.pk))
    assert read.status_code == 200
    assert shown(read.json()) == shown(by_json.json())


# --- 3. A full message with one bad document -------------------------------------------------


def test_a_hundred_orders_with_one_bad_one_store_the_ninety_nine_and_answer_each_in_order(
    clients: dict[str, APIClient], parties: dict[str, Persona]
) -> None:
    orders = [another("order", n) for n in range(1, 101)]
    orders[56]["items"][0]["total_price"] = "199.00"  # document 57: not price x qty
    before = stored_rows()

    response = post_xml(clients["ebp"], "order", message_xml("order", orders, cop_code=EBP_CODE))

    results = returns(read_answer(response))
    assert [r["orderNo"] for r in results] == [o["order_no"] for o in orders]
    assert [r["guid"] for r in results] == [o["guid"] for o in orders]
    bad = results.pop(56)
    assert bad["returnStatus"] == "-1"
    assert code_of(bad) == codes.TOTAL_PRICE_MISMATCH
    assert "; items[0].total_price" in bad["returnInfo"]  # first of the rules it breaks
    stored = dict(Order.objects.values_list("order_no", "pk"))
    good = [o["order_no"] for i, o in enumerate(orders) if i != 56]
    assert sorted(stored) == sorted(good)
    assert [(r["returnStatus"], r["returnInfo"]) for r in results] == [("2", f"accepted id={stored[n]}") for n in good]
    assert stored_rows() == {**before, "Order": 99, "OrderItem": 198}
    [message] = InboundMessage.objects.all()
    assert len(message.outcome) == 100
    assert message.outcome[56]["status"] == "-1"
    assert {o["status"] for i, o in enumerate(message.outcome) if i != 56} == {"2"}


# --- 4. Signatures on lists ------------------------------------------------------------------


def assert_list_refused(response: ApiResponse, *, code: str, status: str, before: dict[str, int]) -> str:
    """Every list of the message refused with ``code`` and ``status``, nothing stored, the
    message recorded; returns the first returnInfo."""
    results = returns(read_answer(response))
    assert {(r["returnStatus"], code_of(r)) for r in results} == {(status, code)}, results
    assert all(r["returnInfo"].endswith("; Signature") for r in results)
    assert stored_rows() == before
    assert InboundMessage.objects.get().outcome[0]["status"] == status
    return results[0]["returnInfo"]


def test_a_list_signed_by_the_declaring_agent_is_accepted(
    clients: dict[str, APIClient], agent_certificate: EnterpriseCertificate, agent_keys: KeyPair
) -> None:
    [result] = returns(read_answer(post_xml(clients["agent"], "inventory", list_message(agent_keys))))

    assert result["returnStatus"] == "2", result
    inventory = Inventory.objects.get()
    assert result["returnInfo"] == f"accepted id={inventory.pk}"
    assert inventory.agent_code == AGENT_CODE
    assert inventory.items.count() == 2


def test_a_list_without_a_signature_fails_the_schema_and_stores_nothing(
    clients: dict[str, APIClient], agent_certificate: EnterpriseCertificate
) -> None:
    before = stored_rows()
    body = to_bytes(message_root("inventory", [examples.document("inventory")], cop_code=AGENT_CODE))

    root = read_answer(post_xml(clients["agent"], "inventory", body), status=400)

    assert root.tag == ceb("CEB900Message")
    [answer] = returns(root)
    assert answer["returnStatus"] == xml.STATUS_SCHEMA
    assert "ds:Signature" in answer["returnInfo"]
    assert answer["oriMessageType"] == "CEB621Message"
    assert stored_rows() == before
    assert not InboundMessage.objects.exists()


def test_a_list_signed_with_another_enterprises_certificate_is_refused(
    clients: dict[str, APIClient],
    agent_certificate: EnterpriseCertificate,
    ebc_certificate: EnterpriseCertificate,
    ebc_keys: KeyPair,
) -> None:
    before = stored_rows()

    info = assert_list_refused(
        post_xml(clients["agent"], "inventory", list_message(ebc_keys)),
        code=error_codes.SIGNATURE_CERTIFICATE_NOT_REGISTERED,
        status="-621015",
        before=before,
    )

    assert "another enterprise" in info
    assert "Demo Seller" not in info  # the other enterprise stays unnamed


def test_a_list_signed_with_a_certificate_nobody_registered_is_refused(
    clients: dict[str, APIClient], agent_certificate: EnterpriseCertificate
) -> None:
    before = stored_rows()

    info = assert_list_refused(
        post_xml(clients["agent"], "inventory", list_message(make_key_pair(common_name="Nobody Ltd"))),
        code=error_codes.SIGNATURE_CERTIFICATE_NOT_REGISTERED,
        status="-621015",
        before=before,
    )

    assert "not registered" in info


def test_a_list_altered_after_signing_is_refused(
    clients: dict[str, APIClient], agent_certificate: EnterpriseCertificate, agent_keys: KeyPair
) -> None:
    body = list_message(agent_keys)
    tampered = body.replace(b"<ceb:grossWeight>1.2<", b"<ceb:grossWeight>0.9<", 1)
    assert tampered != body
    before = stored_rows()

    assert_list_refused(
        post_xml(clients["agent"], "inventory", tampered),
        code=error_codes.SIGNATURE_INVALID,
        status="-621029",
        before=before,
    )


def test_a_list_carrying_the_official_sm2_signature_is_refused_as_unsupported(
    clients: dict[str, APIClient], agent_certificate: EnterpriseCertificate
) -> None:
    root = message_root("inventory", [examples.document("inventory")], cop_code=AGENT_CODE)
    official = etree.fromstring(sample("inventory")).find(f"{{{DS_NS}}}Signature")
    assert official is not None
    root.append(copy.deepcopy(official))
    before = stored_rows()

    info = assert_list_refused(
        post_xml(clients["agent"], "inventory", to_bytes(root)),
        code=error_codes.SIGNATURE_ALGORITHM_UNSUPPORTED,
        status="-621029",
        before=before,
    )

    assert "SM2-SM3" in info


def test_a_list_signed_by_someone_other_than_its_declarant_is_refused(
    clients: dict[str, APIClient],
    agent_certificate: EnterpriseCertificate,
    ebc_certificate: EnterpriseCertificate,
    ebc_keys: KeyPair,
) -> None:
    # The e-commerce enterprise sends, with its own certificate, a list its agent declares.
    before = stored_rows()

    assert_list_refused(
        post_xml(clients["ebc"], "inventory", list_message(ebc_keys, cop_code=EBC_CODE)),
        code="signature_not_by_declarant",
        status="-621015",
        before=before,
    )


# --- 5. Unsafe and oversize messages ---------------------------------------------------------

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<ceb:CEB311Message xmlns:ceb="http://www.chinaport.gov.cn/ceb" guid="4CDE1CFD-EDED-46B1-946C-B8022E42FC94"
 version="1.0"><ceb:Order><ceb:OrderHead><ceb:note>&lol9;</ceb:note></ceb:OrderHead></ceb:Order>
</ceb:CEB311Message>"""

XXE = b"""<?xml version="1.0"?>
<!DOCTYPE ceb:CEB311Message [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<ceb:CEB311Message xmlns:ceb="http://www.chinaport.gov.cn/ceb" guid="4CDE1CFD-EDED-46B1-946C-B8022E42FC94"
 version="1.0"><ceb:Order><ceb:OrderHead><ceb:note>&xxe;</ceb:note></ceb:OrderHead></ceb:Order>
</ceb:CEB311Message>"""


@pytest.mark.parametrize("body", [BILLION_LAUGHS, XXE], ids=["billion-laughs", "xxe"])
def test_a_message_with_entity_declarations_is_refused_whole(
    body: bytes, clients: dict[str, APIClient], parties: dict[str, Persona]
) -> None:
    before = stored_rows()

    response = post_xml(clients["ebp"], "order", body)

    root = read_answer(response, status=400)
    assert root.tag == ceb("CEB900Message")
    [answer] = returns(root)
    assert answer["returnStatus"] == xml.STATUS_OTHER_FORMAT
    assert "DOCTYPE" in answer["returnInfo"]
    assert b"lollol" not in response.content
    assert b"root:" not in response.content
    assert stored_rows() == before
    assert not InboundMessage.objects.exists()


def test_a_message_over_the_size_limit_is_refused_whole(
    clients: dict[str, APIClient], parties: dict[str, Persona], settings: Settings
) -> None:
    body = message_xml("order", [examples.document("order")], cop_code=EBP_CODE)
    settings.CEB_XML_MAX_BYTES = 1024
    assert len(body) > 1024
    before = stored_rows()

    root = read_answer(post_xml(clients["ebp"], "order", body), status=413)

    [answer] = returns(root)
    assert answer["returnStatus"] == xml.STATUS_OTHER_FORMAT
    assert f"limit is {1024} bytes" in answer["returnInfo"]
    assert answer["oriMessageType"] == "CEB311Message"
    assert stored_rows() == before
    assert not InboundMessage.objects.exists()


# --- 6. Idempotency --------------------------------------------------------------------------


def test_the_same_key_and_message_replay_the_same_receipt_and_store_nothing_twice(
    clients: dict[str, APIClient], parties: dict[str, Persona]
) -> None:
    client = clients["ebp"]
    body = message_xml("order", [examples.document("order")], cop_code=EBP_CODE)

    first = post_xml(client, "order", body, key="xml-order-1")
    second = post_xml(client, "order", body, key="xml-order-1")

    [result] = returns(read_answer(first))
    assert result["returnStatus"] == "2"
    read_answer(second)
    assert second.content == first.content
    assert second["Idempotent-Replayed"] == "true"
    assert Order.objects.count() == 1
    assert InboundMessage.objects.count() == 1

    # Another message under the same key is refused, and stores nothing.
    other = message_xml("order", [another("order", 2)], cop_code=EBP_CODE)
    assert_problem(post_xml(client, "order", other, key="xml-order-1"), 422, IDEMPOTENCY_KEY_REUSED)
    assert Order.objects.count() == 1
    assert InboundMessage.objects.count() == 1

    # Without the key the same message is a second submission: the duplicate is refused.
    [again] = returns(read_answer(post_xml(client, "order", body)))
    assert (again["returnStatus"], code_of(again)) == ("-301010", codes.DUPLICATE)
    assert Order.objects.count() == 1


# --- 7. The record of each message -----------------------------------------------------------


def test_every_message_taken_is_kept_encrypted_with_the_outcome_of_each_document(
    clients: dict[str, APIClient], ebp: Persona, parties: dict[str, Persona]
) -> None:
    bad = another("order", 2)
    bad["goods_value"] = "1.00"
    body = message_xml("order", [examples.document("order"), bad], cop_code=EBP_CODE)
    assert BUYER_ID.encode() in body

    results = returns(read_answer(post_xml(clients["ebp"], "order", body)))

    message = InboundMessage.objects.get()
    order = Order.objects.get()
    assert message.sender == ebp.enterprise
    assert message.channel == InboundMessage.Channel.API_XML
    assert message.message_type == "CEB311Message"
    assert message.message_guid == etree.fromstring(body).get("guid")
    assert message.body_sha256 == hashlib.sha256(body).hexdigest()
    assert decrypt_bytes(message.body_encrypted) == body
    assert message.outcome == [
        {"status": "2", "info": f"accepted id={order.pk}"},
        {"status": "-1", "info": results[1]["returnInfo"]},
    ]
    assert code_of(results[1]) == codes.GOODS_VALUE_MISMATCH
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT row_to_json(m)::text FROM {InboundMessage._meta.db_table} m")  # noqa: S608 - our table name
        [(row,)] = cursor.fetchall()
    assert BUYER_ID not in row
    assert BUYER_NAME not in row
    assert examples.ORDER["consignee_address"] not in row


# --- 8. An outsider --------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["order", "payment", "waybill"])
def test_an_outsiders_message_naming_other_enterprises_is_refused_document_by_document(
    kind: str, clients: dict[str, APIClient], outsider: Persona
) -> None:
    documents = [examples.document(kind), another(kind, 2), another(kind, 3)]
    before = stored_rows()

    response = post_xml(clients["outsider"], kind, message_xml(kind, documents, cop_code=outsider.code))

    results = returns(read_answer(response))
    assert [(r["returnStatus"], code_of(r)) for r in results] == [("-1", codes.NOT_YOUR_DOCUMENT)] * 3
    assert stored_rows() == before
    # The answer carries keys and codes, none of the personal data the outsider sent.
    for personal in (BUYER_ID, BUYER_NAME, examples.ORDER["consignee_telephone"]):
        assert personal.encode() not in response.content
    assert InboundMessage.objects.get().sender == outsider.enterprise


def test_an_outsiders_list_for_another_declarant_is_refused(
    clients: dict[str, APIClient],
    outsider: Persona,
    outsider_certificate: EnterpriseCertificate,
    outsider_keys: KeyPair,
) -> None:
    # Signed with the outsider's own registered certificate, but the lists' declarant is the
    # demo agent: the signature check refuses them before the sender rules are reached.
    documents = [examples.document("inventory"), another("inventory", 2)]
    before = stored_rows()

    response = post_xml(
        clients["outsider"], "inventory", list_message(outsider_keys, *documents, cop_code=outsider.code)
    )

    results = returns(read_answer(response))
    assert [(r["returnStatus"], code_of(r)) for r in results] == [("-621015", "signature_not_by_declarant")] * 2
    assert stored_rows() == before
    assert BUYER_NAME.encode() not in response.content


def test_a_draft_list_is_answered_stored_not_declaring(
    clients: dict[str, APIClient], agent_certificate: EnterpriseCertificate, agent_keys: KeyPair
) -> None:
    """CEB622 says 1 (stored) for a list kept as a draft (appStatus 1), 2 (declaring) otherwise:
    the single window declares nothing of a draft."""
    draft = examples.document("inventory", app_status="1")
    declared = {**another("inventory", 2), "order_no": "SW20261125000002"}

    results = returns(read_answer(post_xml(clients["agent"], "inventory", list_message(agent_keys, draft, declared))))

    assert [(r["copNo"], r["returnStatus"]) for r in results] == [(draft["cop_no"], "1"), (declared["cop_no"], "2")]
    statuses = dict(Inventory.objects.values_list("cop_no", "status"))
    assert statuses == {draft["cop_no"]: "draft", declared["cop_no"]: "pending_documents"}
    assert all(r["returnInfo"].startswith("accepted id=") for r in results)
