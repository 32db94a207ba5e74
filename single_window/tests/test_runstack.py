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
from pytest_django.fixtures import Settings

from single_window.management.commands.load_demo import SIMULATORS_ENV_FILE, write_env_file
from single_window.management.commands.runstack import Child, Command, Supervisor, simulator_environment

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


# --- The simulators' environment ------------------------------------------------------------

LOAD_DEMO_FILE = {
    "SIM_CUSTOMS_HOST": "127.0.0.1",
    "SIM_CUSTOMS_PORT": "8201",
    "SIM_CUSTOMS_SECRET": "whsec_from_load_demo",
    "SIM_CUSTOMS_CERTIFICATES": "/var/simulator-certificates",
}


def customs_environment(shell: dict[str, str], port: int = 8201) -> dict[str, str]:
    return simulator_environment(
        prefix="SIM_CUSTOMS",
        file_values=LOAD_DEMO_FILE,
        shell=shell,
        host="127.0.0.1",
        port=port,
        callback_url="http://127.0.0.1:8000/api/v1/webhooks/customs",
    )


def test_the_shells_simulator_options_win_over_the_file() -> None:
    environment = customs_environment(
        {"PATH": "/usr/bin", "SIM_CUSTOMS_SCRIPT": "reject", "SIM_CUSTOMS_CERTIFICATES": "/elsewhere"}
    )

    assert environment["SIM_CUSTOMS_SCRIPT"] == "reject"
    assert environment["SIM_CUSTOMS_CERTIFICATES"] == "/elsewhere"
    assert environment["PATH"] == "/usr/bin"  # the rest of the shell's environment goes through


def test_the_secret_host_and_callback_stay_load_demos_whatever_the_shell_says() -> None:
    environment = customs_environment(
        {
            "SIM_CUSTOMS_SECRET": "whsec_from_shell",
            "SIM_CUSTOMS_HOST": "0.0.0.0",  # noqa: S104 - the value a shell must not impose
            "SIM_CUSTOMS_CALLBACK_URL": "http://elsewhere/hook",
            "SIM_CUSTOMS_PORT": "9999",
        }
    )

    assert environment["SIM_CUSTOMS_SECRET"] == "whsec_from_load_demo"
    assert environment["SIM_CUSTOMS_HOST"] == "127.0.0.1"
    assert environment["SIM_CUSTOMS_CALLBACK_URL"] == "http://127.0.0.1:8000/api/v1/webhooks/customs"
    assert environment["SIM_CUSTOMS_PORT"] == "8201"  # the port the caller chose (see the next test)
    assert environment["SIM_CUSTOMS_CERTIFICATES"] == "/var/simulator-certificates"


def test_without_shell_options_the_simulator_runs_with_the_files() -> None:
    environment = customs_environment({"HOME": "/home/x"})

    assert {key: value for key, value in environment.items() if key.startswith("SIM_")} == LOAD_DEMO_FILE | {
        "SIM_CUSTOMS_CALLBACK_URL": "http://127.0.0.1:8000/api/v1/webhooks/customs"
    }


def test_runstack_starts_the_simulators_with_the_shells_options_and_port(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, settings: Settings
) -> None:
    settings.VAR_DIR = tmp_path
    write_env_file(
        tmp_path / SIMULATORS_ENV_FILE,
        LOAD_DEMO_FILE | {"SIM_PAYMENT_HOST": "127.0.0.1", "SIM_PAYMENT_PORT": "8202", "SIM_PAYMENT_SECRET": "whsec_p"},
    )
    monkeypatch.setenv("SIM_CUSTOMS_SCRIPT", "reject")
    monkeypatch.setenv("SIM_CUSTOMS_STEP_DELAY", "2")
    monkeypatch.setenv("SIM_CUSTOMS_PORT", "8301")
    monkeypatch.setenv("SIM_CUSTOMS_SECRET", "whsec_from_shell")
    monkeypatch.setenv("SIM_PAYMENT_DELAY", "1.5")
    options = {"simulator_host": None, "customs_port": None, "payment_port": None, "carrier_port": None}

    simulators = Command()._simulators(tmp_path, "http://127.0.0.1:8000", options)

    customs, customs_url = simulators["customs"]
    assert customs_url == "http://127.0.0.1:8301"
    assert customs["SIM_CUSTOMS_PORT"] == "8301"
    assert customs["SIM_CUSTOMS_SCRIPT"] == "reject"
    assert customs["SIM_CUSTOMS_STEP_DELAY"] == "2"
    assert customs["SIM_CUSTOMS_SECRET"] == "whsec_from_load_demo"
    payment, _url = simulators["payment"]
    assert payment["SIM_PAYMENT_DELAY"] == "1.5"
    assert payment["SIM_PAYMENT_SECRET"] == "whsec_p"
    assert "carrier" not in simulators  # the file has no carrier: not started
