"""Who is calling: ``Authorization: Bearer <api key>``."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from django.contrib.auth.models import User
from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.request import Request

from core import errors
from core.audit import Actor
from single_window import services
from single_window.models import ApiKey, Enterprise

KEY_PATTERN = re.compile(r"^sw_[a-z0-9]{8}_[A-Za-z0-9_-]{20,64}$")


@dataclass(frozen=True)
class Caller:
    """``request.user`` of an API call: the key and its owner, an enterprise or a regulator."""

    api_key: ApiKey
    enterprise: Enterprise | None = None
    user: User | None = None
    is_authenticated: bool = field(default=True, init=False)
    is_anonymous: bool = field(default=False, init=False)

    @property
    def actor(self) -> Actor:
        return Actor(
            label=f"api:{self.api_key.prefix}",
            user_id=self.user.pk if self.user else None,
            enterprise_id=self.enterprise.pk if self.enterprise else None,
        )


class ApiKeyAuthentication(BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[Caller, ApiKey] | None:
        header = get_authorization_header(request)
        if not header:
            return None
        parts = header.split()
        if len(parts) != 2 or parts[0].lower() != self.keyword.lower().encode():
            raise AuthenticationFailed(
                _("Send the key as 'Authorization: Bearer <key>'."), code=errors.AUTHENTICATION_MALFORMED
            )
        try:
            raw_key = parts[1].decode("ascii")
        except UnicodeDecodeError:
            raw_key = ""
        if not KEY_PATTERN.fullmatch(raw_key):
            raise AuthenticationFailed(_("The API key is malformed."), code=errors.AUTHENTICATION_MALFORMED)
        try:
            api_key = services.api_key_authenticate(raw_key=raw_key)
        except services.ApiKeyInvalid as exc:
            raise AuthenticationFailed(str(exc.detail), code=exc.code) from exc
        return Caller(api_key=api_key, enterprise=api_key.enterprise, user=api_key.user), api_key

    def authenticate_header(self, request: Request) -> str:
        return f'{self.keyword} realm="single-window"'


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "single_window.authentication.ApiKeyAuthentication"
    name = "ApiKey"

    def get_security_definition(self, auto_schema: object) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "sw_<prefix>_<secret>",
            "description": "An enterprise API key, issued by a regulator or created over /api/v1/keys.",
        }
