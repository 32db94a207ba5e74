"""The API client of the tests."""

from __future__ import annotations

from typing import Any

from django.test import TestCase
from rest_framework.test import APIClient


class CommittingAPIClient(APIClient):
    """A client whose requests end as they do in production.

    A test runs inside a transaction that never commits, so work a request leaves to run after
    its commit (``transaction.on_commit``: a declared list's signing and dispatch, the outbox's
    kick) would never run. Here it runs when the answer is back, as after a real commit.
    """

    def request(self, *args: Any, **kwargs: Any) -> Any:
        with TestCase.captureOnCommitCallbacks(execute=True):
            return super().request(*args, **kwargs)
