"""Fixtures of the simulator tests: no database, no Redis; real HTTP on free ports."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from simulators.customs import CustomsConfig, CustomsSimulator
from simulators.tests.support import AGENT, EBC, SECRET, Identity, Receiver, make_identity


@pytest.fixture(autouse=True)
def empty_cache() -> None:
    """Overrides the project's autouse fixture of that name: these tests use no cache."""


@pytest.fixture(scope="session")
def agent() -> Identity:
    """The declaring agent of the sample list; its certificate is registered with customs."""
    return make_identity(AGENT)


@pytest.fixture(scope="session")
def ebc() -> Identity:
    """The sample list's e-commerce enterprise; registered too, but not the declarant."""
    return make_identity(EBC)


@pytest.fixture(scope="session")
def stranger() -> Identity:
    """An enterprise customs has no certificate of."""
    return make_identity("9999999999")


@pytest.fixture
def certificates(tmp_path: Path, agent: Identity, ebc: Identity) -> Path:
    directory = tmp_path / "certificates"
    directory.mkdir()
    for identity in (agent, ebc):
        (directory / f"{identity.code}.pem").write_bytes(identity.cert_pem)
    return directory


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    fake = Receiver().start()
    yield fake
    fake.stop()


@pytest.fixture
def customs(receiver: Receiver, certificates: Path) -> Iterator[Callable[..., CustomsSimulator]]:
    """``customs(script="default", **settings)``: a started customs simulator on a free port."""
    started: list[CustomsSimulator] = []

    def start(**settings: object) -> CustomsSimulator:
        config = CustomsConfig(
            port=0,
            callback_url=receiver.url,
            secret=SECRET,
            certificates=certificates,
            step_delay=0.05,
            callback_backoff=0.05,
            fail_rate=0.0,
        )
        for name, value in settings.items():
            setattr(config, name, value)
        simulator = CustomsSimulator(config).start()
        started.append(simulator)
        return simulator

    yield start
    for simulator in started:
        simulator.stop()
