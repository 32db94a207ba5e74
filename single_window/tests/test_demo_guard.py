"""Demo material only where it belongs: with DEBUG off and ALLOW_DEMO_DATA false, load_demo
refuses to run and the system check single_window.E001 fails migrate and ``check --deploy``
while the database holds demo API keys or partners pointing at a local simulator."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

import pytest
from django.core import checks
from django.core.management import CommandError, call_command
from django.core.management.base import SystemCheckError
from pytest_django.fixtures import Settings

from core.audit import Actor
from single_window import services
from single_window.demo_guard import DEMO_DATA_ERROR, DEMO_KEY_NAME
from single_window.models import ApiKey, Enterprise, Partner, PartnerKind
from tests.factories import EnterpriseFactory

ACTOR = Actor.system("test")


@pytest.fixture
def production(db: None, settings: Settings, tmp_path: Path) -> Settings:
    settings.DEBUG = False
    settings.ALLOW_DEMO_DATA = False
    settings.VAR_DIR = tmp_path
    return settings


def demo_errors(*, deploy: bool = False) -> list[checks.CheckMessage]:
    """What ``migrate`` (the default database's checks) or ``check --deploy`` reports."""
    found = checks.run_checks(include_deployment_checks=deploy, databases=None if deploy else ["default"])
    return [message for message in found if message.id == DEMO_DATA_ERROR]


def test_load_demo_refuses_to_run_under_production_settings_and_loads_nothing(production: Settings) -> None:
    with pytest.raises(CommandError, match="ALLOW_DEMO_DATA"):
        call_command("load_demo", stdout=StringIO())

    assert not Enterprise.objects.exists()
    assert not Partner.objects.exists()
    assert not (production.VAR_DIR / "simulators.env").exists()


def test_load_demo_runs_when_demo_data_is_allowed_and_the_check_then_refuses_production(
    production: Settings,
) -> None:
    production.ALLOW_DEMO_DATA = True
    call_command("load_demo", "--admin-password=demo-password", stdout=StringIO())
    assert ApiKey.objects.filter(name=DEMO_KEY_NAME, revoked_at__isnull=True).count() == 8
    assert demo_errors() == []  # allowed: nothing to report

    production.ALLOW_DEMO_DATA = False
    errors = demo_errors()

    assert len(errors) == 1
    assert "8 active API key(s) named 'demo'" in errors[0].msg
    assert "partner CUSTOMS-HZ sends to http://127.0.0.1:8201/ceb" in errors[0].msg
    assert [e.id for e in demo_errors(deploy=True)] == [DEMO_DATA_ERROR]
    with pytest.raises(SystemCheckError, match=DEMO_DATA_ERROR):
        call_command("check", "--deploy", stdout=StringIO(), stderr=StringIO())


def test_a_workstation_with_debug_on_may_hold_demo_data(production: Settings) -> None:
    services.api_key_issue(enterprise=EnterpriseFactory.create(), name=DEMO_KEY_NAME, actor=ACTOR)
    production.DEBUG = True

    assert demo_errors() == []
    assert demo_errors(deploy=True) == []


def test_an_active_demo_key_alone_is_refused_and_a_revoked_one_is_not(production: Settings) -> None:
    key, _raw = services.api_key_issue(enterprise=EnterpriseFactory.create(), name=DEMO_KEY_NAME, actor=ACTOR)
    services.api_key_issue(enterprise=EnterpriseFactory.create(), name="production", actor=ACTOR)

    assert "1 active API key(s) named 'demo'" in demo_errors()[0].msg

    services.api_key_revoke(api_key=key, actor=ACTOR)

    assert demo_errors() == []


@pytest.mark.parametrize(
    "endpoint_url",
    ["http://127.0.0.1:8201/ceb", "http://localhost:8202/verify", "http://[::1]:8203/waybills", "http://127.0.0.2/x"],
)
def test_a_partner_pointing_at_a_local_simulator_is_refused(production: Settings, endpoint_url: str) -> None:
    services.partner_register(
        code="CUSTOMS-X", name="Customs", kind=PartnerKind.CUSTOMS, endpoint_url=endpoint_url, actor=ACTOR
    )

    errors = demo_errors()

    assert len(errors) == 1
    assert f"partner CUSTOMS-X sends to {endpoint_url}" in errors[0].msg


def test_real_partners_and_inactive_ones_pass(production: Settings) -> None:
    services.partner_register(
        code="CUSTOMS-REAL",
        name="Customs",
        kind=PartnerKind.CUSTOMS,
        endpoint_url="https://ceb.customs.example.gov.cn/ceb",
        actor=ACTOR,
    )
    old, _secret = services.partner_register(
        code="CUSTOMS-OLD", name="Old", kind=PartnerKind.CUSTOMS, endpoint_url="http://127.0.0.1:8201/ceb", actor=ACTOR
    )
    Partner.objects.filter(pk=old.pk).update(active=False)

    assert demo_errors() == []
    assert demo_errors(deploy=True) == []


def test_allow_demo_data_lets_a_demonstration_server_hold_it(production: Settings) -> None:
    services.api_key_issue(enterprise=EnterpriseFactory.create(), name=DEMO_KEY_NAME, actor=ACTOR)
    production.ALLOW_DEMO_DATA = True

    assert demo_errors() == []
    assert demo_errors(deploy=True) == []


def test_checks_without_a_database_do_not_look(production: Settings) -> None:
    """Other commands (makemigrations, runserver's own checks) do not query the database."""
    services.api_key_issue(enterprise=EnterpriseFactory.create(), name=DEMO_KEY_NAME, actor=ACTOR)

    assert [m for m in checks.run_checks() if m.id == DEMO_DATA_ERROR] == []
