"""One HTTP POST of an outbox message, as every sender makes it.

The senders (customs, partners, enterprises' webhooks) differ in where they post and how
they sign; the POST itself is the same: bounded timeouts, redirects not followed (a redirect
could carry a signed body to a host nobody checked), 2xx is delivered, and an answer or the
reason there was none is kept for the delivery log. Checks of the address (the webhooks'
public-address rule) stay with the caller, before it calls this.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping

import httpx

from single_window.outbox import RESPONSE_EXCERPT_READ, DeliveryResult

ERROR_LENGTH = 500

_CLIENT_LOCK = threading.Lock()
_CLIENT: tuple[int, httpx.Client] | None = None


def _client() -> httpx.Client:
    """This process's client: made once (its TLS context costs tens of milliseconds of CPU),
    its connections kept alive between deliveries, and made again in a forked child."""
    global _CLIENT  # noqa: PLW0603 - one client per process
    with _CLIENT_LOCK:
        if _CLIENT is None or _CLIENT[0] != os.getpid():
            _CLIENT = (os.getpid(), httpx.Client(follow_redirects=False))
        return _CLIENT[1]


def post_for_delivery(
    *,
    url: str,
    body: bytes,
    headers: Mapping[str, str],
    timeout: httpx.Timeout,
    label_timeouts: bool = True,
) -> DeliveryResult:
    """POST ``body`` to ``url``; never raises for a network failure, which is a failed attempt.

    A timeout is logged as ``timeout: ReadTimeout``; with ``label_timeouts=False`` like any
    other failure (``ReadTimeout: timed out``), the wording the customs sender has always logged.
    """
    try:
        response = _client().post(url, content=body, headers=dict(headers), timeout=timeout)
    except httpx.TimeoutException as exc:
        if label_timeouts:
            return DeliveryResult(ok=False, error=f"timeout: {type(exc).__name__}")
        return DeliveryResult(ok=False, error=f"{type(exc).__name__}: {exc}"[:ERROR_LENGTH])
    except httpx.HTTPError as exc:
        return DeliveryResult(ok=False, error=f"{type(exc).__name__}: {exc}"[:ERROR_LENGTH])
    # The log keeps the start of the answer; the outbox stars secrets in it when it stores it.
    excerpt = response.content[:RESPONSE_EXCERPT_READ].decode("utf-8", errors="replace")
    return DeliveryResult(
        ok=200 <= response.status_code < 300, status_code=response.status_code, response_excerpt=excerpt
    )
