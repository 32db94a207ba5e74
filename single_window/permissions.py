from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from core import errors
from core.errors import Forbidden
from single_window.authentication import Caller
from single_window.models import Enterprise


class IsActiveEnterprise(BasePermission):
    """The caller holds an enterprise key and the enterprise is active.

    No key at all is answered 401 by DRF (``has_permission`` returns False before anyone is
    authenticated); a key of a suspended enterprise is 403.
    """

    def has_permission(self, request: Request, view: Any) -> bool:
        caller = request.user
        if not isinstance(caller, Caller):
            return False
        enterprise = caller.enterprise
        if enterprise is None:
            raise Forbidden(_("This endpoint is for enterprises."), code=errors.PERMISSION_DENIED)
        if enterprise.status == Enterprise.Status.SUSPENDED:
            raise Forbidden(_("The enterprise is suspended."), code=errors.ENTERPRISE_SUSPENDED)
        if enterprise.status != Enterprise.Status.ACTIVE:
            raise Forbidden(_("The enterprise is not active yet."), code=errors.ENTERPRISE_NOT_ACTIVE)
        return True


class IsActiveEnterpriseOrRegulator(BasePermission):
    """As ``IsActiveEnterprise``, or the key of an active regulator (a user, not an enterprise).

    For the few endpoints regulators read over the API; what a regulator may see there is the
    endpoint's to decide (its permissions and scope), as the admin does.
    """

    def has_permission(self, request: Request, view: Any) -> bool:
        caller = request.user
        if isinstance(caller, Caller) and caller.enterprise is None and caller.user is not None:
            if not caller.user.is_active:
                raise Forbidden(_("The regulator's account is not active."), code=errors.PERMISSION_DENIED)
            return True
        return IsActiveEnterprise().has_permission(request, view)


def caller_enterprise(request: Request) -> Enterprise:
    """The calling enterprise of a view guarded by ``IsActiveEnterprise``."""
    caller = request.user
    if not isinstance(caller, Caller) or caller.enterprise is None:
        raise Forbidden(_("This endpoint is for enterprises."))
    return caller.enterprise
