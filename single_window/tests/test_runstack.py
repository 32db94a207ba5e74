"""``make run``'s supervisor: a child that dies is started again (with back-off, a few times a
minute at most); stopping, by Ctrl-C or SIGTERM, ends every child.

The children are tiny Python commands, so the whole file runs in a couple of seconds.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from single_window.management.commands.runstack import Child, Supervisor

SLEEPER = [sys.executable, "-c", "import time; time.sleep(60)"]


def crasher(starts: Path) -> list[str]:
    """Notes each start in ``starts``, then exits with 1 at once."""
    return [sys.executable, "-c", f"import sys; open({str(starts)!r}, 'a').write('x'); sys.exit(1)"]


def _until(condition: Callable[[], bool], supervisor: Supervisor, timeout: float = 4.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        supervisor.poll_once()
        time.sleep(0.02)


@pytest.fixture
def supervisors() -> Iterator[list[Supervisor]]:
    """Every supervisor a test makes is stopped at the end, whatever happens."""
    made: list[Supervisor] = []
    yield made
    for supervisor in made:
        supervisor.stop()


def make(supervisors: list[Supervisor], children: list[Child], **options: float) -> Supervisor:
    defaults: dict[str, float] = {"backoff_initial": 0.05, "backoff_max": 0.2, "poll_interval": 0.02}
    supervisor = Supervisor(children, **(defaults | options))  # type: ignore[arg-type]
    supervisors.append(supervisor)
    return supervisor


def test_a_child_that_exits_is_started_again_and_the_others_run_on(
    supervisors: list[Supervisor], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    starts = tmp_path / "starts"
    supervisor = make(supervisors, [Child("worker", crasher(starts)), Child("api", SLEEPER)])
    supervisor.start()
    api_pid = supervisor.children["api"].pid

    with caplog.at_level(logging.INFO, logger="single_window.runstack"):
        _until(lambda: starts.exists() and len(starts.read_text()) >= 3, supervisor)

    assert supervisor.gave_up == ""
    assert supervisor.children["api"].pid == api_pid
    assert supervisor.children["api"].running
    assert "worker exited with 1; restarting in" in caplog.text


def test_the_back_off_grows_between_quick_exits(supervisors: list[Supervisor], tmp_path: Path) -> None:
    supervisor = make(
        supervisors, [Child("worker", crasher(tmp_path / "starts"))], backoff_initial=0.1, backoff_max=0.4
    )

    assert [supervisor.backoff(failures) for failures in range(1, 6)] == [0.1, 0.2, 0.4, 0.4, 0.4]


def test_past_the_restarts_allowed_in_a_minute_it_gives_up_and_stops_everything(
    supervisors: list[Supervisor], tmp_path: Path
) -> None:
    starts = tmp_path / "starts"
    supervisor = make(supervisors, [Child("worker", crasher(starts)), Child("api", SLEEPER)], max_restarts_per_minute=2)
    supervisor.start()
    api = supervisor.children["api"]

    started = time.monotonic()
    supervisor.run()

    assert time.monotonic() - started < 4
    assert "worker" in supervisor.gave_up
    assert len(starts.read_text()) == 3  # the first start and two restarts
    assert not api.running
    assert api.process is not None
    assert api.process.returncode is not None


def test_stopping_ends_every_child(supervisors: list[Supervisor]) -> None:
    supervisor = make(supervisors, [Child("api", SLEEPER), Child("beat", SLEEPER)])
    supervisor.start()
    processes = [child.process for child in supervisor.children.values()]

    supervisor.stop()

    assert all(p is not None and p.poll() is not None for p in processes)
    # Stopped on purpose: nothing is started again.
    supervisor.poll_once()
    assert not any(child.running for child in supervisor.children.values())


def test_sigterm_stops_the_loop_and_every_child(supervisors: list[Supervisor]) -> None:
    supervisor = make(supervisors, [Child("api", SLEEPER), Child("worker", SLEEPER)])
    supervisor.start()
    previous = supervisor.install_signal_handlers()
    timer = threading.Timer(0.3, os.kill, args=(os.getpid(), signal.SIGTERM))
    try:
        timer.start()
        started = time.monotonic()
        supervisor.run()
    finally:
        timer.cancel()
        for signum, handler in previous.items():
            signal.signal(signum, handler)

    assert time.monotonic() - started < 3
    assert supervisor.gave_up == ""
    assert not any(child.running for child in supervisor.children.values())
