"""Test support: keys and certificates, signing, messages built from the official samples, and a
fake single window that records the callbacks it receives.

Independent of the product too: nothing here imports it.
"""

from __future__ import annotations

import base64
import copy
import datetime
import hashlib
import hmac
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from lxml import etree
from signxml import CanonicalizationMethod, DigestAlgorithm, SignatureMethod, XMLSigner

CEB_NS = "http://www.chinaport.gov.cn/ceb"
DS_NS = "http://www.w3.org/2000/09/xmldsig#"
SAMPLES = Path(__file__).resolve().parent / "samples"
SECRET = "whsec_" + base64.b64encode(b"simulator-test-secret-0123456789").decode()

AGENT = "1105910159"  # the declaring agent of the sample list
EBC = "1101110325"  # the sample list's e-commerce enterprise


def q(name: str) -> str:
    return f"{{{CEB_NS}}}{name}"


# --- Keys ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Identity:
    code: str
    key_pem: bytes
    cert_pem: bytes


def make_identity(code: str) -> Identity:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"enterprise {code}")])
    now = datetime.datetime.now(tz=datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=365))
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return Identity(code, key_pem, certificate.public_bytes(serialization.Encoding.PEM))


class _Sha1Signer(XMLSigner):
    """signxml refuses SHA-1 unless told; the customs specification requires rsa-sha1/sha1."""

    def check_deprecated_methods(self) -> None:
        return None


def sign(root: etree._Element, identity: Identity) -> etree._Element:
    """Enveloped rsa-sha1/sha1, C14N 1.0, URI="", the certificate in KeyInfo; signature last."""
    signer = _Sha1Signer(
        signature_algorithm=SignatureMethod.RSA_SHA1,
        digest_algorithm=DigestAlgorithm.SHA1,
        c14n_algorithm=CanonicalizationMethod.CANONICAL_XML_1_0,
    )
    signed: etree._Element = signer.sign(
        root, key=identity.key_pem, cert=identity.cert_pem.decode(), exclude_c14n_transform_element=True
    )
    return signed


# --- Messages -----------------------------------------------------------------------------------


def _sample(name: str) -> etree._Element:
    data = (SAMPLES / name).read_bytes().removeprefix(b"\xef\xbb\xbf")
    root = etree.fromstring(data, etree.XMLParser(remove_blank_text=True, resolve_entities=False))
    for signature in root.findall(f"{{{DS_NS}}}Signature"):
        root.remove(signature)
    return root


def _set(parent: etree._Element, name: str, value: str) -> None:
    element = parent.find(q(name))
    assert element is not None, name
    element.text = value


def new_guid() -> str:
    return str(uuid.uuid4()).upper()


def inventory_message(
    *,
    cop_no: str | None = None,
    agent_code: str = AGENT,
    items: Iterable[tuple[str, str]] = (("3304990010", "1000"), ("8541401000", "100")),
    freight: str = "0",
    insured_fee: str = "0",
    order_no: str | None = None,
) -> etree._Element:
    """One list (the sample's first), unsigned: ``items`` are (gcode, totalPrice) pairs;
    ``order_no`` replaces the sample's (where the sandbox triggers go)."""
    root = _sample("CEB621Message.xml")
    inventories = root.findall(q("Inventory"))
    for extra in inventories[1:]:
        root.remove(extra)
    inventory = inventories[0]
    head = inventory.find(q("InventoryHead"))
    assert head is not None
    guid = new_guid()
    root.set("guid", guid)
    _set(head, "guid", guid)
    _set(head, "appStatus", "2")
    _set(head, "copNo", cop_no or f"COP{uuid.uuid4().hex[:12].upper()}")
    _set(head, "agentCode", agent_code)
    _set(head, "freight", freight)
    _set(head, "insuredFee", insured_fee)
    if order_no is not None:
        _set(head, "orderNo", order_no)
    template = inventory.findall(q("InventoryList"))[0]
    for old in inventory.findall(q("InventoryList")):
        inventory.remove(old)
    for gnum, (gcode, total) in enumerate(items, start=1):
        item = copy.deepcopy(template)
        _set(item, "gnum", str(gnum))
        _set(item, "gcode", gcode)
        _set(item, "qty", "1")
        _set(item, "price", total)
        _set(item, "totalPrice", total)
        inventory.append(item)
    return root


def lists_message(*messages: etree._Element) -> etree._Element:
    """One CEB621 holding the lists of ``messages`` (unsigned, as ``inventory_message`` makes
    them), in order, under the first one's guid."""
    root = copy.deepcopy(messages[0])
    transfer = root.find(q("BaseTransfer"))
    assert transfer is not None
    for message in messages[1:]:
        for inventory in message.findall(q("Inventory")):
            transfer.addprevious(copy.deepcopy(inventory))
    return root


def order_message() -> etree._Element:
    """The sample CEB311 (six orders of platform and enterprise 1105910159), unsigned."""
    root = _sample("CEB311Message.xml")
    root.set("guid", new_guid())
    return root


def to_bytes(root: etree._Element) -> bytes:
    result: bytes = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    return result


def dxp_envelope(message: bytes) -> bytes:
    return (
        b'<?xml version="1.0" encoding="UTF-8"?>'
        b'<dxp:DxpMsg xmlns:dxp="http://www.chinaport.gov.cn/dxp" ver="1.0"><dxp:TransInfo>'
        b"<dxp:CopMsgId>" + uuid.uuid4().hex.encode() + b"</dxp:CopMsgId>"
        b"<dxp:SenderId>DXPENT0000000001</dxp:SenderId><dxp:ReceiverIds><dxp:ReceiverId>DXPEDCCEB0000002"
        b"</dxp:ReceiverId></dxp:ReceiverIds><dxp:CreatTime>2026-01-01T10:00:00</dxp:CreatTime>"
        b"<dxp:MsgType>CEB621Message</dxp:MsgType></dxp:TransInfo>"
        b"<dxp:Data>" + base64.b64encode(message) + b"</dxp:Data></dxp:DxpMsg>"
    )


# --- Webhooks -----------------------------------------------------------------------------------


def expected_signature(secret: str, webhook_id: str, timestamp: str, body: bytes) -> str:
    """Standard Webhooks, recomputed by hand."""
    key = base64.b64decode(secret.split("_", 1)[1])
    digest = hmac.new(key, webhook_id.encode() + b"." + timestamp.encode() + b"." + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


@dataclass(frozen=True)
class Callback:
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def root(self) -> etree._Element:
        return etree.fromstring(self.body)

    @property
    def message_type(self) -> str:
        return str(etree.QName(self.root).localname)

    def first(self, name: str) -> str:
        element = self.root.find(f".//{q(name)}")
        return (element.text or "") if element is not None else ""


@dataclass
class Receiver:
    """A fake single window: records each callback and answers ``statuses`` in turn, then 204."""

    statuses: list[int] = field(default_factory=list)
    callbacks: list[Callback] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    server: ThreadingHTTPServer | None = None

    def start(self) -> Receiver:
        receiver = self

        class RecordingHandler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with receiver.lock:
                    receiver.callbacks.append(
                        Callback(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                    )
                    status = receiver.statuses.pop(0) if receiver.statuses else 204
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), RecordingHandler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks"

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()

    def received(self) -> list[Callback]:
        with self.lock:
            return list(self.callbacks)

    def wait_for(self, condition: Callable[[list[Callback]], bool], timeout: float = 10.0) -> list[Callback]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            callbacks = self.received()
            if condition(callbacks):
                return callbacks
            time.sleep(0.02)
        raise AssertionError(
            f"timed out; received {[(c.message_type, c.first('returnStatus')) for c in self.received()]}"
        )


def cancel_message(*, invt_no: str, cop_no: str, agent_code: str = AGENT) -> etree._Element:
    """A CEB623 asking to cancel a released list, unsigned."""
    guid = new_guid()
    root = etree.Element(q("CEB623Message"), {"guid": guid, "version": "1.0"}, nsmap={"ceb": CEB_NS})
    cancel = etree.SubElement(root, q("InvtCancel"))
    values = {
        "guid": guid, "appType": "1", "appTime": "20260101100000", "appStatus": "2", "customsCode": "3700",
        "orderNo": "order2016030811340001", "ebpCode": "1101110325", "ebpName": "测试企业", "ebcCode": EBC,
        "ebcName": "测试企业", "logisticsNo": "L201603081138007", "logisticsCode": "1101180326",
        "logisticsName": "测试物流企业", "copNo": cop_no, "invtNo": invt_no, "buyerIdType": "1",
        "buyerIdNumber": "110105199003070017", "buyerName": "王小明", "buyerTelephone": "13800000000",
        "agentCode": agent_code, "agentName": "测试企业", "reason": "buyer returned the order",
    }  # fmt: skip
    for name, value in values.items():
        etree.SubElement(cancel, q(name)).text = value
    transfer = etree.SubElement(root, q("BaseTransfer"))
    for name, value in (("copCode", agent_code), ("copName", "测试企业"), ("dxpMode", "DXP"), ("dxpId", "DXPENT0001")):
        etree.SubElement(transfer, q(name)).text = value
    return root


def refund_message(
    *, invt_no: str, cop_no: str, lines: Iterable[tuple[int, str]], agent_code: str = AGENT
) -> etree._Element:
    """A CEB625 asking to return ``lines`` ((gnum, qty) pairs) of a released list, unsigned."""
    guid = new_guid()
    root = etree.Element(q("CEB625Message"), {"guid": guid, "version": "1.0"}, nsmap={"ceb": CEB_NS})
    refund = etree.SubElement(root, q("InvtRefund"))
    head = etree.SubElement(refund, q("InvtRefundHead"))
    values = {
        "guid": guid, "appType": "1", "appTime": "20260101100000", "appStatus": "2", "customsCode": "3700",
        "orderNo": "order2016030811340001", "ebpCode": "1101110325", "ebpName": "测试企业", "ebcCode": EBC,
        "ebcName": "测试企业", "logisticsNo": "L201603081138007", "logisticsCode": "1101180326",
        "logisticsName": "测试物流企业", "copNo": cop_no, "invtNo": invt_no, "buyerIdType": "1",
        "buyerIdNumber": "110105199003070017", "buyerName": "王小明", "buyerTelephone": "13800000000",
        "agentCode": agent_code, "agentName": "测试企业", "reason": "buyer sent it back",
    }  # fmt: skip
    for name, value in values.items():
        etree.SubElement(head, q(name)).text = value
    for gnum, qty in lines:
        line = etree.SubElement(refund, q("InvtRefundList"))
        for name, value in (
            ("gnum", str(gnum)),
            ("gcode", "3304990010"),
            ("gname", "goods"),
            ("qty", qty),
            ("unit", "007"),
        ):
            etree.SubElement(line, q(name)).text = value
    transfer = etree.SubElement(root, q("BaseTransfer"))
    for name, value in (("copCode", agent_code), ("copName", "测试企业"), ("dxpMode", "DXP"), ("dxpId", "DXPENT0001")):
        etree.SubElement(transfer, q(name)).text = value
    return root
