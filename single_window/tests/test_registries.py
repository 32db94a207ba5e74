"""The hub's registers: event types, inbox handlers, outbox senders, regulators' permissions
and declare-step participants. Each app registers its own in ``AppConfig.ready``; registering
one thing twice is refused at start-up, so no registration silently replaces another and
nothing depends on the order of ``INSTALLED_APPS``.

Tests that register something of their own do it on a copy of the register (``monkeypatch``),
so the process's registers are as the apps left them when each test ends.
"""

from __future__ import annotations

import pytest
from django.apps import apps
from django.contrib.auth.models import Group
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.db.models import Q
from rest_framework.test import APIClient

from core import errors
from single_window import customs, declare, event_types, inbox, outbox, roles, scope, webhooks
from single_window.events import event_publish
from single_window.models import (
    Enterprise,
    Event,
    InboxMessage,
    OutboxDestination,
    OutboxMessage,
    PartnerKind,
    WebhookEndpoint,
)
from tests.factories import Persona, assert_problem

ENDPOINTS = "/api/v1/webhooks/endpoints"
HOOK_URL = "https://erp.example.com/hooks"


@pytest.fixture
def own_event_types(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(event_types, "_TYPES", dict(event_types._TYPES))


@pytest.fixture
def own_handlers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(inbox, "HANDLERS", dict(inbox.HANDLERS))
    monkeypatch.setattr(inbox, "DEFAULT_TYPES", dict(inbox.DEFAULT_TYPES))


@pytest.fixture
def own_senders(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(outbox, "_SENDERS", dict(outbox._SENDERS))


def _apply(message: InboxMessage, body: bytes) -> str:
    return "applied"


def _apply_otherwise(message: InboxMessage, body: bytes) -> str:
    return "applied otherwise"


def _send(message: OutboxMessage, body: bytes) -> outbox.DeliveryResult:
    return outbox.DeliveryResult(ok=True, status_code=204)


# --- Start-up -------------------------------------------------------------------------------


@pytest.mark.parametrize("label", ["single_window", "declarations"])
def test_an_app_that_registers_again_is_refused_at_start_up(label: str) -> None:
    with pytest.raises(ImproperlyConfigured):
        apps.get_app_config(label).ready()


# --- Event types ----------------------------------------------------------------------------


def test_the_apps_registered_their_event_types_listed_in_name_order() -> None:
    names = event_types.event_type_names()

    assert {
        "document.accepted",
        "inventory.matching_result",
        "inventory.status_changed",
        "inventory.tax_bill",
        webhooks.OUTBOX_DEAD_LETTER,
    } <= set(names)
    assert list(names) == sorted(names)
    assert [name for name, _label in event_types.event_type_choices()] == list(event_types.event_type_names())


def test_an_event_type_registered_twice_is_refused() -> None:
    before = event_types.event_type_choices()

    with pytest.raises(ImproperlyConfigured, match="already registered"):
        event_types.register_event_type(webhooks.OUTBOX_DEAD_LETTER, "delivery gave up, again")

    assert event_types.event_type_choices() == before


@pytest.mark.parametrize("name", ["", "x" * (event_types.NAME_MAX_LENGTH + 1)])
def test_an_event_type_whose_name_could_not_be_stored_is_refused(own_event_types: None, name: str) -> None:
    with pytest.raises(ImproperlyConfigured):
        event_types.register_event_type(name, "label")

    assert not event_types.is_registered(name)


def test_a_registered_event_type_is_listed(own_event_types: None) -> None:
    event_types.register_event_type("aaa.test", "a test")

    assert event_types.is_registered("aaa.test")
    assert event_types.event_type_names()[0] == "aaa.test"
    assert ("aaa.test", "a test") in event_types.event_type_choices()


@pytest.mark.django_db
def test_publishing_an_unregistered_event_type_is_refused(owner: Persona) -> None:
    with transaction.atomic(), pytest.raises(ValueError, match="not registered"):
        event_publish(enterprise=owner.enterprise, type="inventory.staus_changed", payload={})

    assert not Event.objects.exists()


@pytest.mark.django_db
def test_an_endpoint_may_subscribe_to_a_type_registered_after_the_api_loaded(
    own_event_types: None, owner: Persona, owner_client: APIClient
) -> None:
    event_types.register_event_type("zzz.late", "registered late")

    response = owner_client.post(ENDPOINTS, {"url": HOOK_URL, "event_types": ["zzz.late"]}, format="json")

    assert response.status_code == 201, response.content
    assert response.json()["event_types"] == ["zzz.late"]
    assert WebhookEndpoint.objects.get(enterprise=owner.enterprise).event_types == ["zzz.late"]


@pytest.mark.django_db
def test_an_endpoint_may_not_subscribe_to_an_unregistered_type(owner: Persona, owner_client: APIClient) -> None:
    response = owner_client.post(ENDPOINTS, {"url": HOOK_URL, "event_types": ["zzz.never"]}, format="json")

    body = assert_problem(response, 400, errors.VALIDATION_FAILED)
    assert [(e["field"], e["code"]) for e in body["errors"]] == [("event_types[0]", "invalid_choice")]
    assert not WebhookEndpoint.objects.exists()


@pytest.mark.django_db
def test_an_endpoint_may_not_list_more_types_than_there_are(owner: Persona, owner_client: APIClient) -> None:
    chosen = [*event_types.event_type_names(), webhooks.OUTBOX_DEAD_LETTER]

    response = owner_client.post(ENDPOINTS, {"url": HOOK_URL, "event_types": chosen}, format="json")

    body = assert_problem(response, 400, errors.VALIDATION_FAILED)
    assert [(e["field"], e["code"]) for e in body["errors"]] == [("event_types", "max_length")]
    assert not WebhookEndpoint.objects.exists()


# --- Inbox handlers -------------------------------------------------------------------------


def test_a_handler_registered_twice_for_a_message_type_is_refused(own_handlers: None) -> None:
    inbox.register_handler("TestReceipt", _apply, partner_kinds=[PartnerKind.CUSTOMS])

    with pytest.raises(ImproperlyConfigured, match="already registered"):
        inbox.register_handler("TestReceipt", _apply_otherwise, partner_kinds=[PartnerKind.CUSTOMS])

    assert inbox.HANDLERS["TestReceipt"].apply is _apply


def test_a_second_default_type_for_a_partner_kind_is_refused(own_handlers: None) -> None:
    inbox.register_handler("TestAnswer", _apply, partner_kinds=["test-kind"], default_for_partner_kind="test-kind")

    with pytest.raises(ImproperlyConfigured, match="already defaults"):
        inbox.register_handler("OtherAnswer", _apply, partner_kinds=["test-kind"], default_for_partner_kind="test-kind")

    assert inbox.DEFAULT_TYPES["test-kind"] == "TestAnswer"
    assert "OtherAnswer" not in inbox.HANDLERS


def test_the_payment_kind_already_has_its_default_type(own_handlers: None) -> None:
    with pytest.raises(ImproperlyConfigured):
        inbox.register_handler(
            "TestAnswer", _apply, partner_kinds=[PartnerKind.PAYMENT], default_for_partner_kind=PartnerKind.PAYMENT
        )


def test_a_handler_no_partner_may_send_to_is_refused(own_handlers: None) -> None:
    with pytest.raises(ImproperlyConfigured, match="names no partner kind"):
        inbox.register_handler("TestReceipt", _apply, partner_kinds=[])

    assert "TestReceipt" not in inbox.HANDLERS


def test_a_default_type_its_kind_may_not_send_is_refused(own_handlers: None) -> None:
    with pytest.raises(ImproperlyConfigured, match="may not send"):
        inbox.register_handler(
            "TestAnswer", _apply, partner_kinds=[PartnerKind.CUSTOMS], default_for_partner_kind="test-kind"
        )

    assert "TestAnswer" not in inbox.HANDLERS
    assert "test-kind" not in inbox.DEFAULT_TYPES


def test_every_registered_message_type_names_the_partner_kinds_that_may_send_it() -> None:
    kinds = {message_type: registered.partner_kinds for message_type, registered in inbox.HANDLERS.items()}

    assert kinds["CEB622Message"] == {PartnerKind.CUSTOMS}
    assert kinds["CEB816Message"] == {PartnerKind.CUSTOMS}
    assert kinds["payment.identity_verification"] == {PartnerKind.PAYMENT}
    assert all(kinds.values())


# --- Regulators' scope ---------------------------------------------------------------------


def test_a_scope_rule_registered_twice_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(scope, "_RULES", dict(scope._RULES))
    monkeypatch.setattr(scope, "_NATIONWIDE", set(scope._NATIONWIDE))
    rule = scope._RULES[Enterprise]

    with pytest.raises(ImproperlyConfigured, match="already registered"):
        scope.register_scope_rule(Enterprise, lambda _scope: Q())
    with pytest.raises(ImproperlyConfigured, match="already registered"):
        scope.register_nationwide(Enterprise)

    assert scope._RULES[Enterprise] is rule
    assert Enterprise not in scope._NATIONWIDE


@pytest.mark.django_db
def test_a_model_nobody_registered_a_scope_for_is_shown_to_superusers_only() -> None:
    limited, unlimited = scope.Scope(user_id=1), scope.Scope(user_id=1, unlimited=True)

    assert not scope.is_registered(InboxMessage)
    assert scope.scoped(InboxMessage.objects.all(), limited).query.is_empty()
    assert not scope.scoped(InboxMessage.objects.all(), unlimited).query.is_empty()


# --- Outbox senders -------------------------------------------------------------------------


@pytest.mark.parametrize("kind", list(OutboxDestination))
def test_a_second_sender_for_a_kind_is_refused(own_senders: None, kind: str) -> None:
    registered = outbox._SENDERS[kind]

    with pytest.raises(ImproperlyConfigured, match="already registered"):
        outbox.register_sender(kind, _send)

    assert outbox._SENDERS[kind] is registered


def test_the_customs_kind_is_registered_once_with_what_to_do_when_customs_never_takes_a_message() -> None:
    registration = outbox._SENDERS[OutboxDestination.CUSTOMS]

    assert registration.sender is customs.deliver_customs
    assert registration.on_dead is not None
    assert registration.on_dead.__module__ != "single_window.customs"


def test_a_new_kind_may_be_registered_once(own_senders: None) -> None:
    outbox.register_sender("test-kind", _send)

    assert outbox._SENDERS["test-kind"].sender is _send


# --- Regulators' permissions ----------------------------------------------------------------


def test_an_app_label_registered_twice_for_the_regulators_is_refused() -> None:
    before = {group: roles.group_grants(group) for group in roles.GROUPS}

    with pytest.raises(ImproperlyConfigured, match="already registered"):
        roles.register_regulator_permissions("declarations", {roles.AUDITOR: {"view": ("order",)}})

    assert {group: roles.group_grants(group) for group in roles.GROUPS} == before


@pytest.mark.parametrize(
    ("app_label", "grants", "complaint"),
    [
        ("monitoring", {"regulator": {"view": ()}}, "not a regulators' group"),
        ("monitoring", {roles.AUDITOR: {"approve": ()}}, "not a model permission"),
        ("monitoring", {roles.AUDITOR: {"view": ("order",)}}, "not a model of it"),
        ("nowhere", {}, "not an installed app"),
    ],
)
def test_a_grant_that_could_not_be_given_is_refused_at_start_up(
    app_label: str, grants: roles.Grants, complaint: str
) -> None:
    with pytest.raises(ImproperlyConfigured, match=complaint):
        roles.register_regulator_permissions(app_label, grants)

    assert app_label not in roles.registered_app_labels()


def test_the_hub_and_declarations_registered_the_regulators_permissions_on_their_models() -> None:
    assert {"core", "single_window", "declarations"} <= set(roles.registered_app_labels())


@pytest.mark.django_db
def test_each_group_holds_the_union_of_what_the_apps_granted() -> None:
    for name in roles.GROUPS:
        group = Group.objects.get(name=name)
        held = {(p.content_type.app_label, p.codename) for p in group.permissions.select_related("content_type")}

        assert held == roles.group_grants(name)
        # The declare step's decisions are read by every regulator, like the other decisions.
        assert ("declarations", "view_declaredecision") in held
        assert ("core", "view_auditentry") in held
    bureau = Group.objects.get(name=roles.COMMERCE_BUREAU).permissions.select_related("content_type")
    declarations = {p.codename for p in bureau if p.content_type.app_label == "declarations"}
    # The commerce bureau reads the documents of its area and changes none of them.
    assert {"view_order", "view_inventory", "view_payment", "view_waybill"} <= declarations
    assert all(codename.startswith("view_") for codename in declarations)
    assert "delete_enterpriserole" in {p.codename for p in bureau}


# --- Declare-step participants --------------------------------------------------------------


class _Participant:
    name = "test-participant"

    def reserve(self, facts: declare.ListFacts) -> declare.Decision:
        return declare.Decision.passed()

    def consume(self, ref: declare.ListRef) -> None:
        pass

    def release(self, ref: declare.ListRef, *, outcome: str) -> None:
        pass


def test_a_participant_registered_twice_is_refused() -> None:
    first = _Participant()
    declare.register_participant(first)
    try:
        with pytest.raises(ImproperlyConfigured, match="already registered"):
            declare.register_participant(_Participant())

        assert declare.participant(first.name) is first
    finally:
        declare.unregister_participant(first.name)
