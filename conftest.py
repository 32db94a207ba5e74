"""The shared fixtures live in tests/conftest.py; importing them here makes them reach every
test directory (core/tests, single_window/tests, and the other apps' tests)."""

from __future__ import annotations

from tests.conftest import *  # noqa: F403
