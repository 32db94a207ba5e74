"""The customs sender: posts what the outbox holds for customs to the customs partner's endpoint.

The hub knows no system: it sends bytes that ``declarations`` built, signed and checked. The
customs partner is ``settings.CUSTOMS_PARTNER_CODE`` (or the one active customs partner when
that is empty); its ``endpoint_url`` is read at each attempt, so changing it takes effect on
the next retry. With ``settings.CUSTOMS_DXP_ENVELOPE`` the message travels inside a DXP
envelope (``DxpMsg``: TransInfo and the message base64 in ``Data``), as the specification's
data exchange platform carries it. A 2xx answer is delivery; a 400 carrying a CEB900Message
is customs refusing the message as a whole (its format or schema), which no retry mends: the
outbox gives it up at once (``DeliveryResult.refused``). Anything else is a failed attempt the
outbox retries on its schedule. Redirects are not followed.
"""

from __future__ import annotations

import base64
import dataclasses
import uuid
from http import HTTPStatus

import httpx
from django.conf import settings
from django.utils import timezone
from lxml import etree

from single_window.delivery import post_for_delivery
from single_window.models import OutboxMessage, Partner, PartnerKind
from single_window.outbox import DeliveryResult

HTTP_TIMEOUT = httpx.Timeout(10.0, connect=5.0)
USER_AGENT = "single-window-customs-gateway/1"
DXP_NS = "http://www.chinaport.gov.cn/dxp"
# The e-port's receiver id for customs messages.
DXP_RECEIVER = "DXPEDCCEB0000002"
# Customs' answer to a message refused as a whole (message specification 2022-05, 3.19).
MESSAGE_REFUSAL_ROOT = "CEB900Message"


def customs_partner() -> Partner | None:
    """The customs partner messages go to: the configured code, else the one active customs partner."""
    partners = Partner.objects.filter(kind=PartnerKind.CUSTOMS, active=True)
    code = getattr(settings, "CUSTOMS_PARTNER_CODE", "")
    if code:
        return partners.filter(code=code).first()
    found = list(partners.order_by("code")[:2])
    return found[0] if len(found) == 1 else None


def dxp_envelope(*, body: bytes, message_type: str, message_id: str) -> bytes:
    """``body`` inside a DXP envelope: TransInfo (ids, time, type) and the message in base64."""
    root = etree.Element(f"{{{DXP_NS}}}DxpMsg", nsmap={"dxp": DXP_NS}, ver="1.0")
    info = etree.SubElement(root, f"{{{DXP_NS}}}TransInfo")
    for name, value in (
        ("CopMsgId", message_id),
        ("SenderId", settings.CUSTOMS_DXP_ID),
        ("CreatTime", timezone.localtime().strftime("%Y-%m-%dT%H:%M:%S")),
        ("MsgType", message_type),
    ):
        etree.SubElement(info, f"{{{DXP_NS}}}{name}").text = value
    receivers = etree.SubElement(info, f"{{{DXP_NS}}}ReceiverIds")
    etree.SubElement(receivers, f"{{{DXP_NS}}}ReceiverId").text = DXP_RECEIVER
    etree.SubElement(root, f"{{{DXP_NS}}}Data").text = base64.b64encode(body).decode()
    envelope: bytes = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    return envelope


def deliver_customs(message: OutboxMessage, body: bytes) -> DeliveryResult:
    """POST one message to customs; 2xx is delivered. Registered for the ``customs`` outbox kind."""
    partner = Partner.objects.filter(code=message.destination, kind=PartnerKind.CUSTOMS).first()
    if partner is None or not partner.active:
        return DeliveryResult(ok=False, error=f"no active customs partner {message.destination!r}")
    if not partner.endpoint_url:
        return DeliveryResult(ok=False, error=f"customs partner {partner.code} has no endpoint URL")
    headers = {"User-Agent": USER_AGENT, "Content-Type": "application/xml", **message.headers}
    if settings.CUSTOMS_DXP_ENVELOPE:
        body = dxp_envelope(
            body=body,
            message_type=message.message_type,
            message_id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"outbox:{message.pk}")),
        )
        headers["Content-Type"] = "application/xml"
    result = post_for_delivery(
        url=partner.endpoint_url, body=body, headers=headers, timeout=HTTP_TIMEOUT, label_timeouts=False
    )
    if result.status_code == HTTPStatus.BAD_REQUEST and MESSAGE_REFUSAL_ROOT in result.response_excerpt:
        return dataclasses.replace(
            result, refused=True, error=f"HTTP 400: customs refused the message ({MESSAGE_REFUSAL_ROOT})"
        )
    return result
