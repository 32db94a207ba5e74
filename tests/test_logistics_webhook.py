"""Carriers that are partners post their tracking events signed to ``/api/v1/webhooks/carriers``:
stored in the inbox, applied for the partner's own logistics code only; a bad signature is 401."""

from __future__ import annotations

import json

import pytest

from core.audit import Actor
from logistics.models import EventSource, TrackingEvent, WaybillTrack
from logistics.tests.fakes import CARRIER, OTHER_CARRIER, FakeHub, at, event, install
from single_window import inbox, services
from single_window.models import InboxMessage, PartnerKind, Role
from tests.factories import EnterpriseFactory
from tests.partner_webhooks import SigningPartner, post_webhook, signed_headers

pytestmark = pytest.mark.django_db

WEBHOOK = "/api/v1/webhooks/carriers"
JSON = "application/json"


@pytest.fixture
def hub(monkeypatch: pytest.MonkeyPatch) -> FakeHub:
    return install(monkeypatch)


@pytest.fixture
def carrier_partner(db: None) -> SigningPartner:
    enterprise = EnterpriseFactory.create(customs_code=CARRIER, roles=[Role.LOGISTICS])
    partner, secret = services.partner_register(
        code="CARRIER-SF",
        name="SF (test)",
        kind=PartnerKind.CARRIER,
        actor=Actor.system("tests"),
        enterprise=enterprise,
    )
    return SigningPartner(partner=partner, secret=secret)


def send(partner: SigningPartner, body: object) -> InboxMessage:
    raw = json.dumps(body).encode()
    response = post_webhook(raw, signed_headers(partner.secret, raw), url=WEBHOOK, content_type=JSON)
    assert response.status_code == 202, response.content
    stored = InboxMessage.objects.get(message_id=response.json()["message_id"])
    applied = inbox.inbox_apply(message_id=stored.pk)
    assert applied is not None
    return applied


def test_a_carriers_signed_events_are_stored_as_from_the_webhook(hub: FakeHub, carrier_partner: SigningPartner) -> None:
    hub.hold("WB1")

    applied = send(
        carrier_partner,
        {"events": [event("WB1", "departed", at(25, 10)), event("WB1", "picked_up", at(25, 8))]},
    )

    assert applied.state == InboxMessage.State.APPLIED
    assert applied.message_type == "logistics.tracking_events"
    assert applied.note == "stored 2, duplicate 0, refused 0"
    assert set(TrackingEvent.objects.values_list("source", flat=True)) == {EventSource.WEBHOOK}
    assert WaybillTrack.objects.get().current_status == "departed"


def test_a_carrier_partner_reports_for_its_own_code_only(hub: FakeHub, carrier_partner: SigningPartner) -> None:
    applied = send(carrier_partner, event("WB1", "departed", at(25, 10), logistics_code=OTHER_CARRIER))

    assert applied.note == "stored 0, duplicate 0, refused 1: [0] logistics_code_not_yours"
    assert not TrackingEvent.objects.exists()


def test_a_partner_without_an_enterprise_reports_for_its_own_code(hub: FakeHub, db: None) -> None:
    partner, secret = services.partner_register(
        code=CARRIER, name="carrier", kind=PartnerKind.CARRIER, actor=Actor.system("tests")
    )

    send(SigningPartner(partner, secret), event("WB1", "picked_up", at(25, 8)))

    assert TrackingEvent.objects.get().logistics_code == CARRIER


def test_a_bad_signature_is_refused_and_nothing_stored(hub: FakeHub, carrier_partner: SigningPartner) -> None:
    raw = json.dumps(event("WB1", "departed", at(25, 10))).encode()
    headers = signed_headers(carrier_partner.secret, raw)
    headers["HTTP_WEBHOOK_SIGNATURE"] = "v1,AAAA" + headers["HTTP_WEBHOOK_SIGNATURE"][7:]

    response = post_webhook(raw, headers, url=WEBHOOK, content_type=JSON)

    assert response.status_code == 401
    assert response.json()["code"] == "webhook_signature_invalid"
    assert not InboxMessage.objects.exists()
    assert not TrackingEvent.objects.exists()


def test_a_payment_company_may_not_send_tracking_events(hub: FakeHub, db: None) -> None:
    partner, secret = services.partner_register(
        code="PAY-1", name="pay", kind=PartnerKind.PAYMENT, actor=Actor.system("tests")
    )
    raw = json.dumps({"type": "logistics.tracking_events", **event("WB1", "departed", at(25, 10))}).encode()

    response = post_webhook(raw, signed_headers(secret, raw), url="/api/v1/webhooks/payments", content_type=JSON)

    assert response.status_code == 403
    assert not TrackingEvent.objects.exists()
    assert partner.pk
