"""What the registry's services write to the audit log: personal data masked, secrets absent."""

from __future__ import annotations

import json

from django.db.models import Model

from core.models import AuditEntry
from single_window import services
from single_window.models import Enterprise, Partner, PartnerKind, Role
from tests.factories import TEST_ACTOR, ApiKeyFactory, EnterpriseFactory


def _entries_for(instance: Model) -> list[AuditEntry]:
    return list(
        AuditEntry.objects.filter(object_type=instance._meta.label_lower, object_id=str(instance.pk)).order_by("id")
    )


def test_registering_masks_the_contacts_personal_data(db: None) -> None:
    enterprise = services.enterprise_register(
        name="Masked Ltd",
        roles=[Role.EBC],
        customs_code="3301960555",
        contact_name="王小明",
        contact_phone="13912345678",
        contact_email="wangxm@example.com",
        actor=TEST_ACTOR,
    )

    (entry,) = _entries_for(enterprise)
    assert entry.action == AuditEntry.Action.CREATE
    assert entry.before is None
    assert entry.after is not None
    assert entry.after["contact_name"] == "王**"
    assert entry.after["contact_phone"] == "139****5678"
    assert entry.after["contact_email"] == "w*****@example.com"
    assert entry.after["customs_code"] == "3301960555"
    dumped = json.dumps(entry.after, ensure_ascii=False)
    for personal in ("王小明", "13912345678", "wangxm@"):
        assert personal not in dumped


def test_a_status_change_records_only_what_changed(db: None) -> None:
    enterprise = EnterpriseFactory.create(status=Enterprise.Status.ACTIVE)

    services.enterprise_set_status(
        enterprise=enterprise, status=Enterprise.Status.SUSPENDED, actor=TEST_ACTOR, reason="customs notice 12"
    )

    (entry,) = _entries_for(enterprise)
    assert entry.action == AuditEntry.Action.UPDATE
    assert entry.before == {"status": "active"}
    assert entry.after == {"status": "suspended"}
    assert entry.reason == "customs notice 12"
    assert entry.actor == "system:tests"


def test_issuing_and_revoking_a_key_never_writes_its_digest_or_the_key(db: None) -> None:
    api_key, raw_key = ApiKeyFactory.issue()
    services.api_key_revoke(api_key=api_key, actor=TEST_ACTOR)

    issued, revoked = _entries_for(api_key)
    assert (issued.action, revoked.action) == (AuditEntry.Action.ISSUE, AuditEntry.Action.REVOKE)
    assert issued.after is not None
    assert issued.after["prefix"] == api_key.prefix
    for entry in (issued, revoked):
        dumped = json.dumps([entry.before, entry.after])
        assert "digest" not in dumped
        assert api_key.digest not in dumped
        assert raw_key not in dumped


def test_registering_a_partner_never_writes_its_signing_secret(db: None) -> None:
    partner, secret = services.partner_register(code="PAY-X", name="Pay X", kind=PartnerKind.PAYMENT, actor=TEST_ACTOR)
    rotated = services.partner_rotate_secret(partner=partner, actor=TEST_ACTOR)

    stored = Partner.objects.get(pk=partner.pk)
    assert secret not in stored.signing_secret_encrypted
    entries = _entries_for(partner)
    assert [e.action for e in entries] == [AuditEntry.Action.CREATE, AuditEntry.Action.UPDATE]
    dumped = json.dumps([[e.before, e.after, e.reason] for e in entries])
    for value in (secret, rotated, stored.signing_secret_encrypted, "signing_secret"):
        assert value not in dumped
