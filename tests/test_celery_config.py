"""Celery wiring: at-least-once delivery, JSON only, bounded tasks, a redelivery window above them."""

from __future__ import annotations

import pytest

from config.celery import BEAT_SCHEDULE, app
from config.settings import base
from config.settings.base import celery_transport_options


def test_tasks_are_acknowledged_late_and_given_back_when_a_worker_dies() -> None:
    assert app.conf.task_acks_late is True
    assert app.conf.task_reject_on_worker_lost is True
    assert app.conf.worker_prefetch_multiplier == 1


def test_only_json_is_sent_and_accepted() -> None:
    assert app.conf.task_serializer == "json"
    assert app.conf.result_serializer == "json"
    assert list(app.conf.accept_content) == ["json"]


def test_tasks_have_a_soft_and_a_hard_time_limit() -> None:
    soft, hard = app.conf.task_soft_time_limit, app.conf.task_time_limit
    assert isinstance(soft, int)
    assert isinstance(hard, int)
    assert 0 < soft < hard


def test_redis_redelivers_only_after_the_longest_task_could_have_run() -> None:
    assert app.conf.broker_url.startswith("redis://")
    assert app.conf.broker_transport_options["visibility_timeout"] > app.conf.task_time_limit


@pytest.mark.parametrize("hard_limit", [60, 3600, 7200])
def test_the_visibility_timeout_follows_a_longer_hard_limit(monkeypatch: pytest.MonkeyPatch, hard_limit: int) -> None:
    monkeypatch.setattr(base, "CELERY_TASK_TIME_LIMIT", hard_limit)

    assert celery_transport_options("redis://127.0.0.1:6379/0")["visibility_timeout"] > hard_limit


def test_the_filesystem_broker_shares_one_folder_between_producers_and_consumers() -> None:
    options = celery_transport_options("filesystem://")

    assert options["data_folder_in"] == options["data_folder_out"]
    assert "visibility_timeout" not in options


def test_the_beat_schedule_is_declared_in_one_place() -> None:
    assert app.conf.beat_schedule == BEAT_SCHEDULE
    for entry in BEAT_SCHEDULE.values():
        assert {"task", "schedule"} <= entry.keys()
