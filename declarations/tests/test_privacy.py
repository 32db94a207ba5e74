"""Personal data: ID numbers only encrypted at rest and masked in every answer; names, phones and
addresses in full to the sender only; an outsider sees nothing at all."""

from __future__ import annotations

import logging

import pytest
from django.db import connection
from rest_framework.test import APIClient

from core import errors
from core.crypto import decrypt_text
from core.masking import mask_value
from declarations.customs.spec import SPECS
from declarations.intake import codes, examples
from declarations.intake.identity import id_number_hash
from declarations.intake.services import BUSINESS_KEYS, MODELS
from declarations.tests.helpers import (
    BUYER_ID,
    BUYER_ID_BAD_CHECK,
    SENDER_OF,
    Send,
    assert_rejected,
    detail_url,
    key_url,
    url,
)
from tests.factories import assert_problem

pytestmark = pytest.mark.usefixtures("parties")

ID_KINDS = {"order": "buyer_id_number", "payment": "payer_id_number", "inventory": "buyer_id_number"}
MASKED_ID = "330*************36"


def whole_database_text() -> str:
    """Every row of every table, as PostgreSQL prints it."""
    chunks = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f"SELECT t::text FROM {connection.ops.quote_name(table)} AS t")  # noqa: S608 - catalogue names
            chunks += [text for (text,) in cursor.fetchall()]
    return "\n".join(chunks)


@pytest.mark.parametrize(("kind", "field"), ID_KINDS.items())
def test_the_id_number_is_stored_only_encrypted_with_a_lookup_hash(send: Send, kind: str, field: str) -> None:
    document_id = send(kind).json()["id"]
    model, _lines = MODELS[kind]

    with connection.cursor() as cursor:
        cursor.execute(f"SELECT t::text FROM {model._meta.db_table} AS t WHERE id = %s", [document_id])  # noqa: S608
        (text,) = cursor.fetchone() or ("",)

    assert text
    assert BUYER_ID not in text
    stored = model._default_manager.get(pk=document_id)
    assert decrypt_text(getattr(stored, f"{field}_encrypted")) == BUYER_ID
    assert getattr(stored, field.replace("_number", "_hash")) == id_number_hash(BUYER_ID)


def test_no_table_holds_the_plaintext_id_number(send: Send, clients: dict[str, APIClient]) -> None:
    for kind in ("order", "payment", "waybill", "inventory"):
        assert send(kind, key=f"{kind}-1").status_code == 201
    clients["ebp"].get(url("inventory"))

    assert BUYER_ID not in whole_database_text()


@pytest.mark.parametrize(("kind", "field"), ID_KINDS.items())
def test_no_answer_carries_the_full_id_number(send: Send, clients: dict[str, APIClient], kind: str, field: str) -> None:
    created = send(kind)
    document_id = created.json()["id"]
    first, second = BUSINESS_KEYS[kind]
    sender = clients[SENDER_OF[kind]]
    answers = [
        created,
        sender.get(detail_url(kind, document_id)),
        sender.get(key_url(kind, examples.DOCUMENTS[kind][first], examples.DOCUMENTS[kind][second])),
        sender.get(url(kind)),
    ]

    for answer in answers:
        assert answer.status_code in (200, 201)
        assert BUYER_ID.encode() not in answer.content
    assert created.json()[field] == MASKED_ID


# Who, besides the sender, is a party of each document and may read it.
OTHER_READERS = [
    ("order", "ebc"),
    ("order", "pay"),
    ("payment", "ebp"),
    ("inventory", "ebp"),
    ("inventory", "ebc"),
    ("inventory", "logistics"),
]


@pytest.mark.parametrize(("kind", "reader"), OTHER_READERS)
def test_other_parties_see_names_phones_and_addresses_masked(
    send: Send, clients: dict[str, APIClient], kind: str, reader: str
) -> None:
    document_id = send(kind).json()["id"]
    personal = sorted(f for f in SPECS[kind].personal_fields if not f.endswith("_id_number"))
    sent = examples.DOCUMENTS[kind]

    shown = clients[reader].get(detail_url(kind, document_id))
    listed = clients[reader].get(url(kind))

    assert shown.status_code == listed.status_code == 200
    assert listed.json()["results"] == [shown.json()]
    body = shown.json()
    for field in personal:
        assert body[field] == mask_value(field, sent[field]), field
        assert body[field] != sent[field], field
        assert "*" in body[field], field
    assert BUYER_ID.encode() not in shown.content


@pytest.mark.parametrize("kind", ["order", "payment", "waybill", "inventory"])
def test_the_sender_sees_names_phones_and_addresses_in_full(
    send: Send, clients: dict[str, APIClient], kind: str
) -> None:
    document_id = send(kind).json()["id"]
    sent = examples.DOCUMENTS[kind]

    body = clients[SENDER_OF[kind]].get(detail_url(kind, document_id)).json()

    for field in SPECS[kind].personal_fields:
        if field.endswith("_id_number"):
            assert body[field] == MASKED_ID
        else:
            assert body[field] == sent[field], field


def test_the_platform_reading_the_agents_list_sees_the_buyer_masked(send: Send, clients: dict[str, APIClient]) -> None:
    list_id = send("inventory").json()["id"]

    platform = clients["ebp"].get(detail_url("inventory", list_id)).json()
    agent = clients["agent"].get(detail_url("inventory", list_id)).json()

    assert (platform["buyer_name"], platform["buyer_telephone"]) == ("张*", "138****8000")
    assert platform["consignee_address"].startswith("浙江省杭州")
    assert platform["consignee_address"] != examples.INVENTORY["consignee_address"]
    assert (agent["buyer_name"], agent["buyer_telephone"], agent["consignee_address"]) == (
        examples.INVENTORY["buyer_name"],
        examples.INVENTORY["buyer_telephone"],
        examples.INVENTORY["consignee_address"],
    )
    assert platform["buyer_id_number"] == agent["buyer_id_number"] == MASKED_ID


@pytest.mark.parametrize("kind", ["order", "payment", "waybill", "inventory"])
def test_an_outsider_sees_nothing(send: Send, clients: dict[str, APIClient], kind: str) -> None:
    document_id = send(kind).json()["id"]
    first, second = BUSINESS_KEYS[kind]
    outsider = clients["outsider"]

    by_id = assert_problem(outsider.get(detail_url(kind, document_id)), 404, errors.NOT_FOUND)
    unknown = assert_problem(outsider.get(detail_url(kind, document_id + 1000)), 404, errors.NOT_FOUND)
    assert_problem(
        outsider.get(key_url(kind, examples.DOCUMENTS[kind][first], examples.DOCUMENTS[kind][second])),
        404,
        errors.NOT_FOUND,
    )
    listed = outsider.get(url(kind))

    # A document that exists is indistinguishable from one that does not.
    assert {k: v for k, v in by_id.items() if k != "instance"} == {k: v for k, v in unknown.items() if k != "instance"}
    assert listed.status_code == 200
    assert listed.json() == {"next": None, "previous": None, "results": []}


@pytest.mark.parametrize(("kind", "field"), ID_KINDS.items())
def test_a_bad_id_number_is_named_by_its_field_never_repeated(
    send: Send, kind: str, field: str, caplog: pytest.LogCaptureFixture
) -> None:
    before = MODELS[kind][0]._default_manager.count()

    with caplog.at_level(logging.DEBUG):
        response = send(kind, examples.document(kind, **{field: BUYER_ID_BAD_CHECK}))

    body = assert_rejected(response, field, codes.ID_NUMBER_INVALID)
    assert BUYER_ID_BAD_CHECK.encode() not in response.content
    assert BUYER_ID_BAD_CHECK[:17] not in str(body)
    assert BUYER_ID_BAD_CHECK not in caplog.text
    assert MODELS[kind][0]._default_manager.count() == before


def test_a_stored_id_number_never_reaches_the_logs(send: Send, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG):
        for kind in ("order", "payment", "inventory"):
            send(kind)
        send("order")  # a duplicate: 409

    assert BUYER_ID not in caplog.text
