"""The payment company's identity verification (DOMAIN.md section 3, rule 3).

The payer must be the buyer (name and ID number) unless the payment company verified that
the payer may pay for the buyer. When matching finds them different and nobody has asked
yet, it asks, in the same transaction:

1. the payment's ``identity_verification`` goes ``not_requested`` -> ``requested``
   (compare-and-swap on the row, so two matching runs ask once);
2. an outbox message to the payment partner carries the names and SHA-256 digests of the
   normalised ID numbers, never the numbers themselves (the simulator's contract: a payment
   company compares digests, or hashes the numbers it holds); the keyed lookup hashes of the
   single window stay inside it;
3. the list fails matching (``payer_is_buyer`` failed, noted "requested"): ``match_failed``.

The answer comes back signed to ``POST /api/v1/webhooks/payments``, lands in the hub's inbox
and is applied by ``verification_answers``: the payment is ``verified`` or ``refused`` and the parcel's lists are
matched again in the same transaction, so a verified parcel goes on to ``declared``.

``request_id`` is ``payment-<id>-v<version>``: an answer for an older version of the payment
(its payer may have changed since; a new version is asked again) is recorded and ignored.
"""

from __future__ import annotations

import hashlib
import re

from django.utils import timezone

from core.audit import Actor, audit_record
from core.crypto import decrypt_text
from core.models import AuditEntry
from declarations.intake.identity import normalise_id_number
from declarations.models import IdentityVerification, Order, Payment
from single_window.models import OutboxDestination, Partner, PartnerKind
from single_window.outbox import outbox_enqueue

MESSAGE_TYPE = "payment.identity_verification"
REQUEST_ID = re.compile(r"^payment-(?P<id>[0-9]+)-v(?P<version>[0-9]+)$")
ACTOR = Actor.system("identity-verification")


def request_id_for(payment: Payment) -> str:
    return f"payment-{payment.pk}-v{payment.version}"


def payment_partner(payment: Payment) -> Partner | None:
    """The payment company's partner: the one of the payment's pay_code enterprise, or else
    the first active payment partner (one service verifying for every payment company)."""
    partners = Partner.objects.filter(kind=PartnerKind.PAYMENT, active=True).order_by("code")
    return partners.filter(enterprise__customs_code=payment.pay_code).first() or partners.first()


def id_number_digest(encrypted: str) -> str:
    """SHA-256 hex of the normalised ID number: what the payment company compares."""
    return hashlib.sha256(normalise_id_number(decrypt_text(encrypted)).encode()).hexdigest()


def record_change(payment: Payment, before: str, reason: str) -> None:
    audit_record(
        actor=ACTOR,
        action=AuditEntry.Action.UPDATE,
        instance=payment,
        before={"identity_verification": before},
        after={"identity_verification": payment.identity_verification},
        reason=reason,
    )


def payment_identity_verification_request(*, payment: Payment, order: Order) -> bool:
    """Ask the payment company whether the payer may pay for the order's buyer.

    Runs in the matching transaction. Returns False (nothing asked) when it was asked before,
    or no payment partner is registered: the rule then fails as it would without one.
    """
    partner = payment_partner(payment)
    if partner is None:
        return False
    asked = Payment.objects.filter(
        pk=payment.pk, version=payment.version, identity_verification=IdentityVerification.NOT_REQUESTED
    ).update(identity_verification=IdentityVerification.REQUESTED, updated_at=timezone.now())
    if not asked:
        return False
    payment.identity_verification = IdentityVerification.REQUESTED
    request_id = request_id_for(payment)
    outbox_enqueue(
        destination_kind=OutboxDestination.PARTNER,
        destination=partner.code,
        ordering_key=f"payment:{payment.pk}",
        message_type=MESSAGE_TYPE,
        payload={
            "request_id": request_id,
            "pay_code": payment.pay_code,
            "pay_transaction_id": payment.pay_transaction_id,
            "order_no": payment.order_no,
            "payer_name": payment.payer_name,
            "payer_id_number_hash": id_number_digest(payment.payer_id_number_encrypted),
            "buyer_name": order.buyer_name,
            "buyer_id_number_hash": id_number_digest(order.buyer_id_number_encrypted),
        },
    )
    record_change(payment, IdentityVerification.NOT_REQUESTED, f"requested from {partner.code} ({request_id})")
    return True
