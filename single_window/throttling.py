from __future__ import annotations

from typing import Any

from django.conf import settings
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle

from single_window.models import ApiKey


class ApiKeyRateThrottle(SimpleRateThrottle):
    """Requests per key; a key's own ``throttle_rate`` overrides ``API_THROTTLE_RATE``.

    Unauthenticated requests are counted by client address.
    """

    scope = "api_key"

    def allow_request(self, request: Request, view: Any) -> bool:
        api_key = request.auth if isinstance(request.auth, ApiKey) else None
        self.rate = (api_key.throttle_rate if api_key else "") or settings.API_THROTTLE_RATE
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request, view)

    def get_rate(self) -> str:
        return str(settings.API_THROTTLE_RATE)

    def get_cache_key(self, request: Request, view: Any) -> str:
        ident = f"key-{request.auth.pk}" if isinstance(request.auth, ApiKey) else self.get_ident(request)
        return self.cache_format % {"scope": self.scope, "ident": ident}
