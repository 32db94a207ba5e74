"""A Python client for the Single Window API: submit the four documents, read a parcel's trace
and the event feed, and check the Standard Webhooks signature of a delivery."""

from __future__ import annotations

__version__ = "0.1.0"

from single_window_client.client import Client, retry_after_seconds
from single_window_client.errors import FieldError, ProblemError, SingleWindowError, WebhookVerificationError
from single_window_client.webhooks import verify_webhook

__all__ = [
    "Client",
    "FieldError",
    "ProblemError",
    "SingleWindowError",
    "WebhookVerificationError",
    "__version__",
    "retry_after_seconds",
    "verify_webhook",
]
