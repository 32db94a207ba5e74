"""Arrival manifests (入库明细单, CEB711): a supervised site operator tells customs which parcels
of a conveyance it unloaded at its site.

The operator is an enterprise with role ``area`` (the bonded-zone warehouse and supervised site
operator, DOMAIN.md section 2), named in the manifest as ``operator_code`` (its own code:
customs code or USCC). ``arrival_manifest_submit`` is the one entry; in one transaction:

1. the operator must be the caller (``arrival_operator_not_caller``) and hold role ``area``
   (``party_lacks_role``); each line's ``gnum`` is used once (``duplicate_gnum``), and its
   ``logistics_no`` must be a waybill the single window holds (not deleted) for the manifest's
   ``logistics_code`` (``arrival_unknown_waybill``, on ``lines[i].logistics_no``). Every problem
   comes in one answer;
2. the manifest's business key is (operator, ``cop_no``): a second one is
   ``duplicate_document`` (409, with ``existing_id``);
3. the manifest and its lines are stored and handed to the gateway, which builds the CEB711,
   signs it for the operator, checks it against the schema and puts it in the outbox
   (``customs.arrivals.arrival_send``); one that can't leave is refused
   (``arrival_not_sendable``, 409).

Every refusal stores nothing. Customs' answer (CEB712) is applied by
``declarations.customs.arrivals.apply_arrival_receipts``.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils.translation import gettext_lazy as _

from core.audit import Actor, audit_record, snapshot
from core.errors import Conflict, FieldError, InvalidInput
from core.models import AuditEntry
from declarations.customs import arrivals, gateway
from declarations.intake import codes
from declarations.models import ArrivalManifest, ArrivalManifestLine, DocumentStatus, Waybill
from single_window.models import Enterprise, Role
from single_window.selectors import enterprise_get_by_code


@dataclass(frozen=True)
class ArrivalLine:
    gnum: int
    logistics_no: str
    note: str = ""


@dataclass(frozen=True)
class ArrivalInput:
    """A manifest as the operator sent it (checked for shape, not yet for meaning)."""

    cop_no: str
    customs_code: str
    operator_code: str
    ie_flag: str
    traf_mode: str
    traf_no: str
    voyage_no: str
    bill_no: str
    logistics_code: str
    logistics_name: str
    lines: Sequence[ArrivalLine]
    unload_location: str = ""
    note: str = ""


def _own_codes(enterprise: Enterprise) -> set[str]:
    return {code for code in (enterprise.customs_code, enterprise.uscc) if code}


def _stored_code(code: str) -> str:
    """A party code as documents store it: a registered enterprise's customs code (else USCC)."""
    enterprise = enterprise_get_by_code(code=code)
    if enterprise is None:
        return code
    return enterprise.customs_code or enterprise.uscc or code


def _check(operator: Enterprise, data: ArrivalInput, logistics_code: str) -> dict[str, Waybill]:
    """Step 1: every problem in one refusal; the waybills of the lines, by number."""
    problems: list[FieldError] = []
    if data.operator_code not in _own_codes(operator):
        problems.append(
            FieldError(
                "operator_code",
                codes.ARRIVAL_OPERATOR_NOT_CALLER,
                _("The operator code must be your own enterprise's code."),
            )
        )
    elif not operator.has_role(Role.AREA):
        problems.append(FieldError("operator_code", codes.ROLE_MISSING, _("A site operator needs the role 'area'.")))
    numbers = [line.logistics_no for line in data.lines]
    found: dict[str, Waybill] = {}
    rows = (
        Waybill.objects.filter(logistics_code=logistics_code, logistics_no__in=numbers)
        .exclude(status=DocumentStatus.DELETED)
        .order_by("logistics_no", "-generation", "-id")
    )
    for waybill in rows:
        found.setdefault(waybill.logistics_no, waybill)
    seen: set[int] = set()
    for index, line in enumerate(data.lines):
        if line.gnum in seen:
            problems.append(FieldError(f"lines[{index}].gnum", codes.DUPLICATE_GNUM, _("Each gnum may be used once.")))
        seen.add(line.gnum)
        if line.logistics_no not in found:
            problems.append(
                FieldError(
                    f"lines[{index}].logistics_no",
                    codes.ARRIVAL_UNKNOWN_WAYBILL,
                    _("The single window holds no waybill with this number for the logistics code."),
                )
            )
    if problems:
        raise InvalidInput(_("The arrival manifest is not valid."), errors=problems)
    return found


@transaction.atomic
def arrival_manifest_submit(*, operator: Enterprise, data: ArrivalInput, actor: Actor | None = None) -> ArrivalManifest:
    """Store an arrival manifest and hand its CEB711 to the outbox; see the module's steps."""
    logistics_code = _stored_code(data.logistics_code)
    waybills = _check(operator, data, logistics_code)
    existing = ArrivalManifest.objects.filter(operator=operator, cop_no=data.cop_no).first()
    if existing is not None:
        raise Conflict(
            _("An arrival manifest with this cop_no exists."),
            code=codes.DUPLICATE,
            errors=[FieldError("cop_no", codes.DUPLICATE, _("An arrival manifest with this cop_no exists."))],
            extra={"existing_id": existing.pk},
        )
    try:
        with transaction.atomic():
            manifest = ArrivalManifest.objects.create(
                operator=operator,
                guid=str(uuid.uuid4()).upper(),
                cop_no=data.cop_no,
                customs_code=data.customs_code,
                operator_code=operator.customs_code or operator.uscc or data.operator_code,
                operator_name=operator.name[:100],
                ie_flag=data.ie_flag,
                traf_mode=data.traf_mode,
                traf_no=data.traf_no,
                voyage_no=data.voyage_no,
                bill_no=data.bill_no,
                logistics_code=logistics_code,
                logistics_name=data.logistics_name,
                unload_location=data.unload_location,
                note=data.note,
            )
    except IntegrityError:
        raise Conflict(_("An arrival manifest with this cop_no exists."), code=codes.DUPLICATE) from None
    lines = ArrivalManifestLine.objects.bulk_create(
        ArrivalManifestLine(
            manifest=manifest,
            gnum=line.gnum,
            logistics_no=line.logistics_no,
            waybill=waybills[line.logistics_no],
            note=line.note,
        )
        for line in sorted(data.lines, key=lambda line: line.gnum)
    )
    try:
        arrivals.arrival_send(manifest=manifest, lines=lines)
    except gateway.GatewayRefusal as refusal:
        # Nothing is recorded that can't leave: the operator fixes the cause and sends it again.
        raise Conflict(refusal.note, code=codes.ARRIVAL_NOT_SENDABLE) from None
    audit_record(
        actor=actor or Actor(label=f"enterprise:{operator.code}", enterprise_id=operator.pk),
        action=AuditEntry.Action.CREATE,
        instance=manifest,
        after=snapshot(manifest),
        reason=f"arrival manifest {manifest.cop_no} of {len(lines)} parcels",
    )
    return manifest
