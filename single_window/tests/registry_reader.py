"""A second API process for the registry cache's tests: it calls the API with one key until
the answer changes.

Run as ``python -m single_window.tests.registry_reader`` with the test settings and the test
database in the environment. Reads one JSON line on stdin (``key``, ``path``, ``until``: the
status to wait for, ``timeout`` in seconds), answers ``{"warm": status}`` after its first call
(its cache now holds the key), waits for a line ``go``, then calls every ``POLL_SECONDS`` and
answers ``{"answers": [...], "code": ..., "since_warm": s, "since_go": s}``.
"""

from __future__ import annotations

import json
import os
import sys
import time

import django
from django.test import Client

POLL_SECONDS = 0.02


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
    django.setup()
    order = json.loads(sys.stdin.readline())
    client = Client(HTTP_AUTHORIZATION=f"Bearer {order['key']}")
    warmed = time.monotonic()
    warm = client.get(order["path"])
    _say({"warm": warm.status_code})
    if sys.stdin.readline().strip() != "go":
        return
    went = time.monotonic()
    answers: list[int] = []
    code = None
    while time.monotonic() - went < order["timeout"]:
        response = client.get(order["path"])
        answers.append(response.status_code)
        if response.status_code == order["until"]:
            code = response.json().get("code")
            break
        time.sleep(POLL_SECONDS)
    now = time.monotonic()
    _say({"answers": answers, "code": code, "since_warm": now - warmed, "since_go": now - went})


def _say(message: dict[str, object]) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
