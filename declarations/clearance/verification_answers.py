"""The payment company's answers to identity verifications (``identity_verification``).

Registered with the hub's inbox: the answer is recorded on the payment under the parcel's
lock, and the parcel's lists are matched again in the same transaction.
"""

from __future__ import annotations

import json
from typing import Any

from django.utils import timezone

from declarations.clearance import matching, parcels
from declarations.clearance.identity_verification import MESSAGE_TYPE, REQUEST_ID, record_change
from declarations.models import IdentityVerification, Payment
from single_window.inbox import InboxRejected, register_handler
from single_window.models import InboxMessage, PartnerKind


def _read(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InboxRejected("the body is not JSON") from exc
    if not isinstance(data, dict):
        raise InboxRejected("the body is not a JSON object")
    if not isinstance(data.get("verified"), bool):
        raise InboxRejected("verified must be true or false")
    for name in ("request_id", "pay_transaction_id"):
        if not isinstance(data.get(name), str) or not data[name]:
            raise InboxRejected(f"{name} is missing")
    return data


def apply_identity_verification(message: InboxMessage, body: bytes) -> str:
    """The inbox handler: record the answer on the payment and match its parcel again."""

    data = _read(body)
    request_id, transaction_id = data["request_id"], data["pay_transaction_id"]
    found = REQUEST_ID.match(request_id)
    if found is None:
        raise InboxRejected(f"request_id {request_id[:60]!r} is not one the single window sent")
    payment = Payment.objects.filter(pk=int(found["id"]), pay_transaction_id=transaction_id).first()
    if payment is None:
        return f"{request_id}: no such payment"
    partner = message.partner
    if partner.enterprise is not None and partner.enterprise.customs_code != payment.pay_code:
        raise InboxRejected(f"{partner.code} may not answer for payments of {payment.pay_code}")
    # The parcel's lock, as intake takes it: a document of the parcel arriving now waits.
    parcels.parcel_lock("payment", {"ebp_code": payment.ebp_code, "order_no": payment.order_no})
    payment = Payment.objects.select_for_update().get(pk=payment.pk)
    if payment.version != int(found["version"]):
        return f"{request_id}: the payment is at version {payment.version}; the answer is ignored"
    if payment.identity_verification != IdentityVerification.REQUESTED:
        return f"{request_id}: already {payment.identity_verification}; the answer is ignored"
    verified = data["verified"]
    payment.identity_verification = IdentityVerification.VERIFIED if verified else IdentityVerification.REFUSED
    payment.identity_verified_at = timezone.now()
    payment.save(update_fields=["identity_verification", "identity_verified_at", "updated_at"])
    reason = str(data.get("reason", ""))[:100]
    record_change(payment, IdentityVerification.REQUESTED, f"{partner.code}: {reason}")
    matching.documents_changed(kind="payment", document=payment)
    return f"{request_id}: {payment.identity_verification} ({reason})"


def register() -> None:
    # The payment company's callback names no type: every JSON body it sends is this one.
    register_handler(
        MESSAGE_TYPE,
        apply_identity_verification,
        partner_kinds=(PartnerKind.PAYMENT,),
        default_for_partner_kind=PartnerKind.PAYMENT,
    )
