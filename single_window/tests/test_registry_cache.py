"""The registry's process cache: what a request costs, and how long a change may go unseen.

Most tests here commit (``transaction=True``): a transaction that changed the registry reads
the database until it commits, so in a test that never commits (the factories wrote the
registry) the cache stays out of the way. The second process of some tests is
``registry_reader``, a separate Python process on the same test database.
"""

from __future__ import annotations

import datetime
import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import time_machine
from django.conf import settings as django_settings
from django.core.cache import cache
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from pytest_django.fixtures import Settings
from rest_framework.test import APIClient

from config.settings.base import redis_cache
from core import errors
from core.process_cache import ProcessCache
from single_window import registry_cache, selectors, services, throttling
from single_window.models import ApiKey, Appointment, Enterprise, EnterpriseRole, Role
from tests.factories import TEST_ACTOR, ApiKeyFactory, EnterpriseFactory, Persona, assert_problem
from tests.ports import free_port

ME = "/api/v1/enterprises/me"
ROOT = Path(__file__).resolve().parents[2]
SHANGHAI = datetime.timezone(datetime.timedelta(hours=8))

committed = pytest.mark.django_db(transaction=True)


class Clock:
    """The cache's clock, moved by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr(registry_cache.CACHE, "clock", clock)
    return clock


@pytest.fixture
def redis_gone(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> str:
    """The cache (Redis) on a port where nothing listens, for this test only."""
    monkeypatch.setattr(throttling, "LOCAL_WINDOWS", throttling.LocalFixedWindow())
    monkeypatch.setattr(throttling, "OUTAGE_LOG", throttling.CacheOutageLog())
    url = f"redis://127.0.0.1:{free_port()}/0"
    settings.CACHES = {"default": redis_cache(url)}
    return url


def _queries(call: Callable[[], Any]) -> tuple[Any, list[str]]:
    with CaptureQueriesContext(connection) as captured:
        result = call()
    return result, [query["sql"] for query in captured.captured_queries]


# --- What a request costs ------------------------------------------------------------------


@committed
def test_an_authenticated_get_on_a_warm_cache_queries_nothing(
    owner: Persona, owner_client: APIClient, clock: Clock
) -> None:
    # Cold: the key with its enterprise, park and roles in one query, and last_used_at.
    first, cold = _queries(lambda: owner_client.get(ME))
    warm, hot = _queries(lambda: owner_client.get(ME))

    assert first.status_code == warm.status_code == 200
    assert len(cold) == 2
    assert cold[1].startswith("UPDATE")
    assert hot == []
    assert warm.json() == first.json()
    assert warm.json()["roles"] == [Role.EBC]
    assert owner.enterprise.park is not None
    assert warm.json()["park"]["code"] == owner.enterprise.park.code


@committed
def test_a_warm_process_queries_once_per_key_when_its_entry_expires(
    owner: Persona, owner_client: APIClient, clock: Clock, settings: Settings
) -> None:
    assert owner_client.get(ME).status_code == 200
    clock.advance(settings.REGISTRY_CACHE_SECONDS + 0.1)

    response, queries = _queries(lambda: owner_client.get(ME))

    assert response.status_code == 200
    assert len(queries) == 1
    assert "single_window_apikey" in queries[0]
    assert "single_window_enterpriserole" in queries[0]


@committed
def test_an_agent_reading_its_principal_on_a_warm_cache_queries_nothing(
    owner: Persona, partner: Persona, partner_client: APIClient, clock: Clock
) -> None:
    path = f"/api/v1/enterprises/{owner.code}"
    assert partner_client.get(path).status_code == 200

    response, queries = _queries(lambda: partner_client.get(path))

    assert response.status_code == 200
    assert response.json()["id"] == owner.enterprise.pk
    assert queries == []


@committed
def test_last_used_at_is_written_at_most_once_a_minute_from_the_cache(
    owner: Persona, owner_client: APIClient, clock: Clock, settings: Settings
) -> None:
    settings.REGISTRY_CACHE_SECONDS = 3600  # one entry for the whole test
    start = datetime.datetime(2026, 11, 25, 10, 0, 0, tzinfo=SHANGHAI)
    with time_machine.travel(start, tick=False):
        assert owner_client.get(ME).status_code == 200
    with time_machine.travel(start + datetime.timedelta(seconds=59), tick=False):
        _, within_the_minute = _queries(lambda: owner_client.get(ME))
    later = start + datetime.timedelta(minutes=1, seconds=1)
    with time_machine.travel(later, tick=False):
        _, past_the_minute = _queries(lambda: owner_client.get(ME))
        _, after_the_write = _queries(lambda: owner_client.get(ME))

    assert within_the_minute == []
    assert len(past_the_minute) == 1
    assert past_the_minute[0].startswith("UPDATE")
    assert after_the_write == []
    assert ApiKey.objects.get(pk=owner.api_key.pk).last_used_at == later


@committed
def test_last_used_at_is_not_written_back_by_a_process_whose_entry_lags(owner: Persona, clock: Clock) -> None:
    """Another process wrote it after this one read the key: the write is conditional on the
    stored value, so the newer time stays."""
    start = datetime.datetime(2026, 11, 25, 10, 0, 0, tzinfo=SHANGHAI)
    with time_machine.travel(start, tick=False):
        services.api_key_authenticate(raw_key=owner.raw_key)
    newer = start + datetime.timedelta(seconds=50)
    ApiKey.objects.filter(pk=owner.api_key.pk).update(last_used_at=newer)

    with time_machine.travel(start + datetime.timedelta(seconds=70), tick=False):
        services.api_key_authenticate(raw_key=owner.raw_key)

    assert ApiKey.objects.get(pk=owner.api_key.pk).last_used_at == newer


# --- What callers get --------------------------------------------------------------------


@committed
def test_enterprises_by_codes_resolves_both_codes_to_one_enterprise_with_its_roles(clock: Clock) -> None:
    enterprise = EnterpriseFactory.create(roles=[Role.EBC, Role.EBP])
    other = EnterpriseFactory.create(roles=[Role.LOGISTICS])
    codes = [enterprise.customs_code, enterprise.uscc, other.uscc, "9999999999", ""]

    found, cold = _queries(lambda: selectors.enterprises_by_codes(codes))
    again, warm = _queries(lambda: selectors.enterprises_by_codes(codes))
    roles, reading = _queries(lambda: (again[enterprise.uscc].roles, again[other.uscc].has_role(Role.EBC)))

    assert set(found) == {enterprise.customs_code, enterprise.uscc, other.uscc}
    assert found[enterprise.customs_code] is found[enterprise.uscc]
    assert found[enterprise.customs_code] == enterprise
    assert found[enterprise.uscc].park == enterprise.park
    assert found[other.uscc].roles == {Role.LOGISTICS}
    assert len(cold) == 1
    assert warm == []
    assert set(again) == {enterprise.customs_code, enterprise.uscc, other.uscc}
    assert roles == ({Role.EBC, Role.EBP}, False)
    assert reading == []


@committed
def test_a_code_registered_after_a_miss_is_found_at_once(clock: Clock) -> None:
    assert selectors.enterprise_get_by_code(code="3301999999") is None

    services.enterprise_register(name="Late Ltd", roles=[Role.EBC], customs_code="3301999999", actor=TEST_ACTOR)

    found = selectors.enterprise_get_by_code(code="3301999999")
    assert found is not None
    assert (found.name, found.roles) == ("Late Ltd", {Role.EBC})


@committed
def test_each_caller_gets_its_own_instance_and_may_save_it(clock: Clock) -> None:
    enterprise = EnterpriseFactory.create(name="Before Ltd")
    code = enterprise.code
    first = selectors.enterprise_get_by_code(code=code)
    second = selectors.enterprise_get_by_code(code=code)
    assert first is not None
    assert second is not None
    assert first is not second

    first.name = "Changed by a caller"
    assert second.name == "Before Ltd"
    services.enterprise_set_status(enterprise=first, status=Enterprise.Status.SUSPENDED, actor=TEST_ACTOR)

    stored = Enterprise.objects.get(pk=enterprise.pk)
    assert stored.status == Enterprise.Status.SUSPENDED
    after = selectors.enterprise_get_by_code(code=code)
    assert after is not None
    assert after.status == Enterprise.Status.SUSPENDED


@committed
def test_a_regulators_key_carries_its_regulator(django_user_model: Any, clock: Clock) -> None:
    regulator = django_user_model.objects.create_user(username="officer", is_staff=True)
    api_key, raw_key = ApiKeyFactory.issue(enterprise=None, user=regulator)
    services.api_key_authenticate(raw_key=raw_key)

    cached, queries = _queries(lambda: services.api_key_authenticate(raw_key=raw_key))

    assert queries == []
    assert cached.pk == api_key.pk
    assert cached.enterprise is None
    assert cached.user == regulator
    assert cached.user is not None
    assert cached.user.username == "officer"


# --- Changes in this process ---------------------------------------------------------------


@committed
def test_a_revoked_key_is_refused_at_once_in_the_process_that_revoked_it(
    owner: Persona, owner_client: APIClient, clock: Clock
) -> None:
    assert owner_client.get(ME).status_code == 200

    services.api_key_revoke(api_key=ApiKey.objects.get(pk=owner.api_key.pk), actor=TEST_ACTOR)

    assert_problem(owner_client.get(ME), 401, errors.API_KEY_REVOKED)
    assert ApiKey.objects.get(pk=owner.api_key.pk).revoked_at is not None


@committed
def test_a_suspended_enterprise_is_refused_at_once_in_the_process_that_suspended_it(
    owner: Persona, owner_client: APIClient, clock: Clock
) -> None:
    assert owner_client.get(ME).status_code == 200

    services.enterprise_set_status(enterprise=owner.enterprise, status=Enterprise.Status.SUSPENDED, actor=TEST_ACTOR)

    assert_problem(owner_client.get(ME), 403, errors.ENTERPRISE_SUSPENDED)


@committed
def test_a_revoked_appointment_stops_the_agent_at_once(
    owner: Persona, partner: Persona, partner_client: APIClient, appointment: Appointment, clock: Clock
) -> None:
    path = f"/api/v1/enterprises/{owner.code}"
    assert partner_client.get(path).status_code == 200

    services.appointment_revoke(appointment=appointment, actor=TEST_ACTOR)

    assert_problem(partner_client.get(path), 404, errors.NOT_FOUND)
    assert not selectors.appointment_valid(principal=owner.enterprise, agent=partner.enterprise)


@committed
def test_a_role_taken_away_is_seen_at_once(owner: Persona, owner_client: APIClient, clock: Clock) -> None:
    EnterpriseRole.objects.create(enterprise=owner.enterprise, role=Role.EBP)
    assert owner_client.get(ME).json()["roles"] == [Role.EBC, Role.EBP]

    EnterpriseRole.objects.filter(enterprise=owner.enterprise, role=Role.EBP).delete()

    assert owner_client.get(ME).json()["roles"] == [Role.EBC]
    found = selectors.enterprise_get_by_code(code=owner.code)
    assert found is not None
    assert not found.has_role(Role.EBP)


@committed
def test_a_change_that_sends_no_signal_is_seen_within_the_bound(
    owner: Persona, owner_client: APIClient, clock: Clock, settings: Settings
) -> None:
    bound = settings.REGISTRY_CACHE_SECONDS
    assert owner_client.get(ME).status_code == 200
    Enterprise.objects.filter(pk=owner.enterprise.pk).update(status=Enterprise.Status.SUSPENDED)

    clock.advance(bound - 0.1)
    assert owner_client.get(ME).status_code == 200  # still within the bound
    clock.advance(0.2)
    assert_problem(owner_client.get(ME), 403, errors.ENTERPRISE_SUSPENDED)


@committed
def test_a_transaction_reads_its_own_registry_changes_and_caches_none_it_rolls_back(clock: Clock) -> None:
    enterprise = EnterpriseFactory.create()
    code = enterprise.code
    assert selectors.enterprise_get_by_code(code=code) is not None  # cached, active

    seen_inside: list[str] = []

    def suspend_then_roll_back() -> None:
        with transaction.atomic():
            services.enterprise_set_status(enterprise=enterprise, status=Enterprise.Status.SUSPENDED, actor=TEST_ACTOR)
            inside = selectors.enterprise_get_by_code(code=code)
            seen_inside.append(inside.status if inside else "")
            raise RuntimeError

    with pytest.raises(RuntimeError):
        suspend_then_roll_back()

    assert seen_inside == [Enterprise.Status.SUSPENDED]
    after = selectors.enterprise_get_by_code(code=code)
    assert after is not None
    assert after.status == Enterprise.Status.ACTIVE


# --- Changes in another process -------------------------------------------------------------


@committed
def test_a_change_announced_by_another_process_is_seen_at_the_next_check(
    owner: Persona, owner_client: APIClient, clock: Clock, settings: Settings
) -> None:
    settings.REGISTRY_CACHE_SECONDS = 3600
    assert owner_client.get(ME).status_code == 200
    # Another process revoked the key and announced it; this one's row is the old one.
    ApiKey.objects.filter(pk=owner.api_key.pk).update(revoked_at=datetime.datetime.now(tz=SHANGHAI))
    registry_cache.CACHE.publish_generation()

    assert owner_client.get(ME).status_code == 200  # not looked yet
    clock.advance(settings.REGISTRY_CACHE_CHECK_SECONDS)

    assert_problem(owner_client.get(ME), 401, errors.API_KEY_REVOKED)


def _test_database_url() -> str:
    db = connection.settings_dict
    credentials = quote(db["USER"] or "", safe="")
    if db["PASSWORD"]:
        credentials += ":" + quote(db["PASSWORD"], safe="")
    return f"postgres://{credentials}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture
def second_process() -> Iterator[Callable[..., subprocess.Popen[str]]]:
    """``second_process(redis_url=..., **settings)``: an API process on the test database."""
    started: list[subprocess.Popen[str]] = []

    def start(*, redis_url: str, **values: float) -> subprocess.Popen[str]:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings.test",
            "TEST_DATABASE_URL": _test_database_url(),
            "TEST_REDIS_URL": redis_url,
            "LOG_LEVEL": "ERROR",
            **{name: str(value) for name, value in values.items()},
        }
        process = subprocess.Popen(
            [sys.executable, "-m", "single_window.tests.registry_reader"],
            cwd=ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        started.append(process)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)
        for stream in (process.stdin, process.stdout):
            if stream is not None:
                stream.close()


def _warm(process: subprocess.Popen[str], *, key: str, until: int) -> None:
    assert process.stdin is not None
    assert process.stdout is not None
    process.stdin.write(json.dumps({"key": key, "path": ME, "until": until, "timeout": 20}) + "\n")
    process.stdin.flush()
    assert json.loads(process.stdout.readline()) == {"warm": 200}


def _watch(process: subprocess.Popen[str]) -> dict[str, Any]:
    assert process.stdin is not None
    assert process.stdout is not None
    process.stdin.write("go\n")
    process.stdin.flush()
    answer: dict[str, Any] = json.loads(process.stdout.readline())
    return answer


def _revoke(who: Persona) -> None:
    services.api_key_revoke(api_key=ApiKey.objects.get(pk=who.api_key.pk), actor=TEST_ACTOR)


def _suspend(who: Persona) -> None:
    enterprise = Enterprise.objects.get(pk=who.enterprise.pk)
    services.enterprise_set_status(enterprise=enterprise, status=Enterprise.Status.SUSPENDED, actor=TEST_ACTOR)


CHANGES = [
    pytest.param(_revoke, 401, errors.API_KEY_REVOKED, id="revoked-key"),
    pytest.param(_suspend, 403, errors.ENTERPRISE_SUSPENDED, id="suspended-enterprise"),
]


@committed
@pytest.mark.parametrize(("change", "status", "code"), CHANGES)
def test_a_second_process_refuses_within_its_check_interval(
    owner: Persona,
    second_process: Callable[..., subprocess.Popen[str]],
    change: Callable[[Persona], None],
    status: int,
    code: str,
) -> None:
    # A bound far away: only the announcement in Redis can make the process see the change.
    process = second_process(
        redis_url=django_settings.REDIS_URL, REGISTRY_CACHE_SECONDS=600, REGISTRY_CACHE_CHECK_SECONDS=0.2
    )
    _warm(process, key=owner.raw_key, until=status)

    change(owner)
    seen = _watch(process)

    assert seen["answers"][-1] == status
    assert seen["code"] == code
    assert set(seen["answers"][:-1]) <= {200}
    assert seen["since_go"] < 3


@committed
@pytest.mark.parametrize(("change", "status", "code"), CHANGES)
def test_with_redis_away_a_second_process_keeps_serving_and_refuses_within_the_bound(
    owner: Persona,
    second_process: Callable[..., subprocess.Popen[str]],
    change: Callable[[Persona], None],
    status: int,
    code: str,
) -> None:
    bound = 2.5
    process = second_process(
        redis_url=f"redis://127.0.0.1:{free_port()}/0", REGISTRY_CACHE_SECONDS=bound, REGISTRY_CACHE_CHECK_SECONDS=0.2
    )
    _warm(process, key=owner.raw_key, until=status)

    change(owner)
    seen = _watch(process)

    # Served from its cache (Redis can't tell it) until the bound, then refused.
    assert seen["answers"][0] == 200
    assert seen["answers"][-1] == status
    assert seen["code"] == code
    assert set(seen["answers"][:-1]) == {200}
    assert seen["since_warm"] <= bound + 1.5


@committed
def test_with_redis_away_requests_succeed_and_the_bound_holds(
    redis_gone: str, owner: Persona, owner_client: APIClient, clock: Clock, settings: Settings
) -> None:
    bound = settings.REGISTRY_CACHE_SECONDS
    assert owner_client.get(ME).status_code == 200
    # Another process revoked the key; Redis being away, nobody is told.
    ApiKey.objects.filter(pk=owner.api_key.pk).update(revoked_at=datetime.datetime.now(tz=SHANGHAI))

    for _ in range(3):
        clock.advance(settings.REGISTRY_CACHE_CHECK_SECONDS)
        response, queries = _queries(lambda: owner_client.get(ME))
        assert response.status_code == 200
        assert queries == []
    clock.advance(bound)

    assert_problem(owner_client.get(ME), 401, errors.API_KEY_REVOKED)


# --- The cache itself ----------------------------------------------------------------------


@pytest.fixture
def local(clock: Clock, settings: Settings) -> ProcessCache:
    settings.REGISTRY_CACHE_SECONDS = 5
    settings.REGISTRY_CACHE_CHECK_SECONDS = 1
    local = ProcessCache(
        name="registry-test",
        seconds=registry_cache.CACHE.seconds,
        check_seconds=registry_cache.CACHE.check_seconds,
        max_entries=3,
        clock=clock,
    )
    local.get("nothing")  # its first look at the token, which empties it
    return local


def test_an_entry_lives_its_seconds_from_the_read_not_from_the_store(local: ProcessCache, clock: Clock) -> None:
    ticket = local.ticket()
    clock.advance(2)  # a slow query
    local.put("a", 1, ticket)

    clock.advance(2.9)
    assert local.get("a") == 1
    clock.advance(0.2)
    assert local.get("a") is None


def test_a_read_that_raced_a_change_is_not_kept(local: ProcessCache) -> None:
    ticket = local.ticket()
    local.clear()  # a change, while the read ran
    local.put("a", 1, ticket)

    assert local.get("a") is None


def test_the_cache_forgets_the_least_recently_used_past_its_size(local: ProcessCache) -> None:
    for key in "abc":
        local.put(key, key, local.ticket())
    assert local.get("a") == "a"
    local.put("d", "d", local.ticket())

    assert [local.get(key) for key in "abcd"] == ["a", None, "c", "d"]
    assert len(local) == 3


def test_a_new_token_empties_the_cache_at_the_next_check(local: ProcessCache, clock: Clock) -> None:
    local.put("a", 1, local.ticket())
    local.publish_generation()  # by another process

    assert local.get("a") == 1
    clock.advance(1)
    assert local.get("a") is None


def test_a_cache_of_zero_seconds_keeps_nothing(local: ProcessCache, settings: Settings) -> None:
    settings.REGISTRY_CACHE_SECONDS = 0
    local.put("a", 1, local.ticket())

    assert local.get("a") is None
    assert len(local) == 0


@committed
def test_a_change_publishes_a_new_token_when_it_commits(owner: Persona) -> None:
    key = registry_cache.CACHE.generation_key
    before = cache.get(key)
    with transaction.atomic():
        _suspend(owner)
        assert cache.get(key) == before

    assert cache.get(key) not in (None, before)
