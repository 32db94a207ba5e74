"""``Idempotency-Key`` for POST endpoints.

Scoped to the calling enterprise and the endpoint. Same key and same body: the stored
answer is replayed. Same key, another body: 422. The first request still running: 409.
Records are kept ``IDEMPOTENCY_TTL`` (24 hours); a periodic task deletes expired ones.

A request that fails with an error answer releases its key, so a corrected retry may use
the same key; only answers below 400 (the ones that changed something) are replayed.
"""

from __future__ import annotations

import datetime
import functools
import hashlib
import hmac
import json
from collections.abc import Callable
from typing import Any, TypeVar

from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import HttpResponse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework.request import Request
from rest_framework.response import Response

from core import errors
from core.crypto import decrypt_bytes, encrypt_bytes
from core.errors import ApiError, Conflict, FieldError, InvalidInput
from core.models import IdempotencyRecord

IDEMPOTENCY_TTL = datetime.timedelta(hours=24)
# A request in flight longer than this is taken to have died with its worker.
IN_FLIGHT_ABANDONED_AFTER = datetime.timedelta(minutes=2)
MAX_KEY_LENGTH = 255
HEADER = "Idempotency-Key"

IDEMPOTENCY_KEY_INVALID = "idempotency_key_invalid"
IDEMPOTENCY_KEY_REUSED = "idempotency_key_reused"
IDEMPOTENCY_IN_FLIGHT = "idempotency_request_in_flight"


class KeyReused(ApiError):
    status_code = 422
    default_code = IDEMPOTENCY_KEY_REUSED
    default_detail = _("This Idempotency-Key was used with a different request.")


def fingerprint(request: Request) -> str:
    """The request as the key must match it: method, path (the endpoint's route may hold an
    id, ``inventories/<id>/cancel``), content type and body."""
    key = settings.SECRET_KEY.encode()
    material = b"\x00".join(
        [(request.method or "").encode(), request.get_full_path().encode(), request.content_type.encode(), request.body]
    )
    return hmac.new(key, material, hashlib.sha256).hexdigest()


def _begin(*, owner_id: int, endpoint: str, key: str, request_fingerprint: str) -> IdempotencyRecord | None:
    """Claim the key; return the finished record to replay, or None when the caller runs."""
    now = timezone.now()
    for _attempt in range(2):
        try:
            with transaction.atomic():
                IdempotencyRecord.objects.create(
                    owner_id=owner_id,
                    endpoint=endpoint,
                    key=key,
                    fingerprint=request_fingerprint,
                    expires_at=now + IDEMPOTENCY_TTL,
                )
                return None
        except IntegrityError:
            pass
        record = IdempotencyRecord.objects.filter(owner_id=owner_id, endpoint=endpoint, key=key).first()
        if record is None:
            continue  # released in between: claim again
        if record.expires_at <= now:
            IdempotencyRecord.objects.filter(pk=record.pk, expires_at__lte=now).delete()
            continue
        if record.fingerprint != request_fingerprint:
            raise KeyReused
        if record.state == IdempotencyRecord.State.DONE:
            return record
        if now - record.created_at > IN_FLIGHT_ABANDONED_AFTER:
            IdempotencyRecord.objects.filter(pk=record.pk, state=IdempotencyRecord.State.IN_FLIGHT).delete()
            continue
        raise Conflict(_("A request with this Idempotency-Key is still being processed."), code=IDEMPOTENCY_IN_FLIGHT)
    raise Conflict(_("A request with this Idempotency-Key is still being processed."), code=IDEMPOTENCY_IN_FLIGHT)


def _body_of(response: HttpResponse) -> tuple[str, bytes]:
    if isinstance(response, Response):
        return "json", json.dumps(response.data, ensure_ascii=False, default=str).encode()
    return response.get("Content-Type", "application/octet-stream"), response.content


def _replay(record: IdempotencyRecord) -> HttpResponse:
    body = decrypt_bytes(record.response_body_encrypted)
    status = record.response_status or 200
    if record.response_content_type == "json":
        response: HttpResponse = Response(json.loads(body), status=status)
    else:
        response = HttpResponse(body, status=status, content_type=record.response_content_type)
    response["Idempotent-Replayed"] = "true"
    return response


def idempotency_purge_expired() -> int:
    deleted, _details = IdempotencyRecord.objects.filter(expires_at__lt=timezone.now()).delete()
    return deleted


Handler = TypeVar("Handler", bound=Callable[..., HttpResponse])


def idempotent(handler: Handler) -> Handler:
    """Decorate a view's ``post``; the caller's owner id comes from ``request.user.api_key``."""

    @functools.wraps(handler)
    def wrapper(view: Any, request: Request, *args: Any, **kwargs: Any) -> HttpResponse:
        key = request.headers.get(HEADER)
        if key is None:
            return handler(view, request, *args, **kwargs)
        if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
            raise InvalidInput(
                _("The Idempotency-Key header must be 1 to 255 printable characters."),
                code=IDEMPOTENCY_KEY_INVALID,
                errors=[FieldError(HEADER, errors.INVALID, _("Not a valid key."))],
            )
        owner_id = request.user.api_key.enterprise_id  # type: ignore[union-attr]
        endpoint = f"{request.method} {request.resolver_match.route if request.resolver_match else request.path}"
        done = _begin(owner_id=owner_id, endpoint=endpoint, key=key, request_fingerprint=fingerprint(request))
        if done is not None:
            return _replay(done)
        scope = IdempotencyRecord.objects.filter(owner_id=owner_id, endpoint=endpoint, key=key)
        try:
            response = handler(view, request, *args, **kwargs)
        except BaseException:
            scope.delete()
            raise
        if response.status_code >= 400:
            scope.delete()
            return response
        content_type, body = _body_of(response)
        scope.update(
            state=IdempotencyRecord.State.DONE,
            response_status=response.status_code,
            response_content_type=content_type,
            response_body_encrypted=encrypt_bytes(body),
        )
        return response

    return wrapper  # type: ignore[return-value]
