"""Scripted onboarding: ``register_enterprise`` and ``issue_api_key``."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from pytest_django.fixtures import Settings
from rest_framework.test import APIClient

from core.models import AuditEntry
from single_window import services
from single_window.authentication import KEY_PATTERN
from single_window.models import ApiKey, Enterprise, Park, Role
from tests.factories import EnterpriseFactory, uscc_for

GOOD_USCC = "91350100M000100Y43"


def test_register_enterprise_registers_codes_roles_park_and_status(park: Park) -> None:
    out = StringIO()

    call_command(
        "register_enterprise",
        "--customs-code=3301960099",
        f"--uscc={GOOD_USCC}",
        "--name=Scripted Seller Ltd",
        "--role=ebc",
        "--role=ebp",
        f"--park={park.code}",
        "--status=suspended",
        stdout=out,
    )

    enterprise = Enterprise.objects.get(customs_code="3301960099")
    assert enterprise.uscc == GOOD_USCC
    assert enterprise.name == "Scripted Seller Ltd"
    assert enterprise.roles == {Role.EBC, Role.EBP}
    assert enterprise.park == park
    assert enterprise.status == Enterprise.Status.SUSPENDED
    assert f"id {enterprise.pk}" in out.getvalue()
    entry = AuditEntry.objects.get(object_type="single_window.enterprise", object_id=str(enterprise.pk))
    assert entry.actor == "system:register_enterprise"


def test_register_enterprise_defaults_to_active(db: None) -> None:
    call_command(
        "register_enterprise", f"--uscc={GOOD_USCC}", "--name=Only USCC Ltd", "--role=agent", stdout=StringIO()
    )

    enterprise = Enterprise.objects.get(uscc=GOOD_USCC)
    assert enterprise.customs_code is None
    assert enterprise.status == Enterprise.Status.ACTIVE


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param([f"--uscc={GOOD_USCC[:17]}4"], r"uscc \(uscc_check_character\)", id="bad-check-character"),
        pytest.param(["--customs-code=12345"], r"customs_code \(customs_code_format\)", id="bad-customs-code"),
        pytest.param([], r"enterprise \(enterprise_code_required\)", id="no-code"),
        pytest.param(["--customs-code=3301960099", "--park=NOWHERE"], "NOWHERE", id="unknown-park"),
    ],
)
def test_register_enterprise_refuses_bad_input_and_stores_nothing(db: None, args: list[str], message: str) -> None:
    count = Enterprise.objects.count()

    with pytest.raises(CommandError, match=message):
        call_command("register_enterprise", *args, "--name=Bad Ltd", "--role=ebc", stdout=StringIO())

    assert Enterprise.objects.count() == count


@pytest.mark.parametrize("by", ["customs_code", "uscc"])
def test_issue_api_key_prints_the_key_alone_on_the_last_line_and_the_key_works(db: None, by: str) -> None:
    enterprise = EnterpriseFactory.create(uscc=uscc_for(424242))
    out, err = StringIO(), StringIO()

    call_command("issue_api_key", getattr(enterprise, by), "--name=ci", stdout=out, stderr=err)

    raw_key = out.getvalue().rstrip("\n").splitlines()[-1]
    assert KEY_PATTERN.fullmatch(raw_key)
    api_key = ApiKey.objects.get(enterprise=enterprise)
    assert api_key.name == "ci"
    assert api_key.digest == services.api_key_digest(raw_key)
    assert api_key.prefix in err.getvalue()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key}")
    response = client.get("/api/v1/enterprises/me")
    assert response.status_code == 200
    assert response.json()["id"] == enterprise.pk


def test_issue_api_key_ignores_the_limit_of_self_service_keys(db: None, settings: Settings) -> None:
    settings.API_KEY_MAX_ACTIVE_PER_ENTERPRISE = 1
    enterprise = EnterpriseFactory.create()
    for _ in range(2):
        call_command("issue_api_key", enterprise.code, stdout=StringIO(), stderr=StringIO())

    assert ApiKey.objects.filter(enterprise=enterprise, revoked_at__isnull=True).count() == 2


def test_issue_api_key_refuses_an_unknown_code(db: None) -> None:
    with pytest.raises(CommandError, match="9999999999"):
        call_command("issue_api_key", "9999999999", stdout=StringIO(), stderr=StringIO())

    assert not ApiKey.objects.exists()
