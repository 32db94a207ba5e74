"""The throttle's fallback when the cache is away: a fixed window per key in the process, and a
log line per interval rather than per request. Through the API: tests/test_dependency_outage.py."""

from __future__ import annotations

import logging

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

from single_window.throttling import CacheOutageLog, LocalFixedWindow


def test_the_window_allows_the_limit_then_says_how_long_to_wait() -> None:
    window = LocalFixedWindow()

    assert [window.hit("k", limit=2, duration=60, now=120.0 + n) for n in range(2)] == [None, None]
    assert window.hit("k", limit=2, duration=60, now=150.0) == pytest.approx(30.0)
    assert window.hit("other", limit=2, duration=60, now=150.0) is None


def test_a_new_window_starts_counting_again() -> None:
    window = LocalFixedWindow()
    window.hit("k", limit=1, duration=60, now=100.0)
    assert window.hit("k", limit=1, duration=60, now=119.0) is not None

    assert window.hit("k", limit=1, duration=60, now=120.0) is None


def test_the_counts_stay_bounded() -> None:
    window = LocalFixedWindow(max_keys=3)
    for n in range(3):
        window.hit(f"old-{n}", limit=5, duration=1, now=0.5)

    # The old windows ended: they are forgotten to make room.
    assert window.hit("new", limit=5, duration=1, now=10.0) is None
    assert len(window._windows) == 1


def test_the_outage_is_logged_once_per_interval_and_its_end_once(caplog: pytest.LogCaptureFixture) -> None:
    log = CacheOutageLog(interval=3600)
    error = RedisConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    with caplog.at_level(logging.WARNING, logger="single_window.throttling"):
        for _ in range(5):
            log.down(error)
        log.up()
        log.up()
        log.down(error)

    messages = [record.getMessage() for record in caplog.records]
    assert len(messages) == 3
    assert "unreachable (ConnectionError" in messages[0]
    assert "answers again" in messages[1]
    assert "unreachable" in messages[2]
