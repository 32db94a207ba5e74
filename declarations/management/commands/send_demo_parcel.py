"""Send one fresh parcel of the demo parties to a running single window, as an integrator would.

It is a client of the API (``httpx``) and nothing else: the documents are the examples
(``declarations.intake.examples`` in JSON, ``docs/examples/xml/`` in customs XML) with
everything that must be unique made new and changed the same way in all four (order number,
payment transaction id, waybill number, the list's copNo, every guid, the buyer's ID number so
that the buyer's yearly quota never runs out), the times set to now. Each document goes with the
demo key of the enterprise that sends it, read from ``var/demo-keys.env`` (``load_demo``
writes it); the list in XML is signed with the demo agent's key in ``var/demo-keys/``.
"""

from __future__ import annotations

import copy
import datetime
import json
import logging
import os
import secrets
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from lxml import etree

from declarations.intake import examples
from single_window.signatures import sign_message

CHINA = ZoneInfo("Asia/Shanghai")
CEB_NS = "http://www.chinaport.gov.cn/ceb"
KINDS = ("order", "payment", "waybill", "inventory")
PLURAL = {"order": "orders", "payment": "payments", "waybill": "waybills", "inventory": "inventories"}
# Who sends each document: the demo platform, payment company, logistics company and agent.
SENDER = {"order": "3301960001", "payment": "3301960003", "waybill": "3301960004", "inventory": "3301960005"}
XML_DIR = Path(settings.BASE_DIR) / "docs" / "examples" / "xml"
XML_TEMPLATE = {
    "order": "CEB311Message.xml",
    "payment": "CEB411Message.xml",
    "waybill": "CEB511Message.xml",
    "inventory": "CEB621Message.unsigned.xml",
}
# The JSON name of each field the parcel changes, and its element in the customs XML.
XML_ELEMENT = {
    "guid": "guid",
    "app_time": "appTime",
    "order_no": "orderNo",
    "pay_transaction_id": "payTransactionId",
    "logistics_no": "logisticsNo",
    "cop_no": "copNo",
    "pay_time": "payTime",
    "decl_time": "declTime",
    "ie_date": "ieDate",
    "buyer_reg_no": "buyerRegNo",
    "buyer_id_number": "buyerIdNumber",
    "payer_id_number": "payerIdNumber",
}
# Statuses of a list after which waiting is over: released, or stopped on the way.
RELEASED = "released"
STOPPED = frozenset(
    {"match_failed", "risk_rejected", "risk_blocked", "send_failed", "rejected", "cancelled", "detained", "closed"}
)
ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def id_check_character(first17: str) -> str:
    """The 18th character of a resident ID number (GB 11643, ISO 7064 MOD 11-2)."""
    total = sum(int(digit) * weight for digit, weight in zip(first17, ID_WEIGHTS, strict=True))
    return "10X98765432"[total % 11]


def fresh_buyer_id() -> str:
    """A well-formed ID number of no real person, for a buyer born in 1990 in Xihu district."""
    born = datetime.date(1990, 1, 1) + datetime.timedelta(days=secrets.randbelow(365))
    first17 = f"330106{born:%Y%m%d}{secrets.randbelow(1000):03d}"
    return first17 + id_check_character(first17)


@dataclass(frozen=True)
class Parcel:
    """One parcel's unique values; ``changes[kind]`` are the fields each document gets."""

    order_no: str
    changes: Mapping[str, Mapping[str, str]]


def fresh_parcel(now: datetime.datetime | None = None) -> Parcel:
    """New keys for the four documents, the same in each that names them."""
    moment = (now or datetime.datetime.now(tz=CHINA)).astimezone(CHINA)
    serial = f"{moment:%Y%m%d%H%M%S}{secrets.randbelow(1000):03d}"  # 17 characters: copNo holds 20
    buyer_id = fresh_buyer_id()
    stamp, day = f"{moment:%Y%m%d%H%M%S}", f"{moment:%Y%m%d}"
    common = {
        "order_no": f"SW{serial}",
        "pay_transaction_id": f"PAY{serial}",
        "logistics_no": f"YT{serial}",
        "cop_no": f"COP{serial}",
        "app_time": stamp,
        "pay_time": f"{moment - datetime.timedelta(minutes=1):%Y%m%d%H%M%S}",
        "decl_time": day,
        "ie_date": day,
        "buyer_reg_no": f"buyer-{serial}",
        "buyer_id_number": buyer_id,
        "payer_id_number": buyer_id,
    }
    changes = {}
    for kind in KINDS:
        fields = examples.DOCUMENTS[kind]
        changes[kind] = {name: value for name, value in common.items() if name in fields}
        changes[kind]["guid"] = str(uuid.uuid4()).upper()
    return Parcel(order_no=common["order_no"], changes=changes)


def json_document(parcel: Parcel, kind: str) -> dict[str, Any]:
    document = copy.deepcopy(examples.DOCUMENTS[kind])
    document.update(parcel.changes[kind])
    return document


def _ceb(name: str) -> str:
    return f"{{{CEB_NS}}}{name}"


def xml_message(parcel: Parcel, kind: str, *, keys_directory: Path | None = None) -> bytes:
    """The example message of ``kind`` (``docs/examples/xml/``) carrying the parcel's values; a
    list is signed with the demo agent's key from ``keys_directory`` (``var/demo-keys/``)."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    root = etree.parse(str(XML_DIR / XML_TEMPLATE[kind]), parser).getroot()
    root.set("guid", str(uuid.uuid4()).upper())
    for name, value in parcel.changes[kind].items():
        for element in root.iter(_ceb(XML_ELEMENT[name])):
            element.text = value
    if kind == "inventory":
        directory = keys_directory or Path(settings.VAR_DIR) / "demo-keys"
        code = SENDER[kind]
        key, certificate = directory / f"{code}.key.pem", directory / f"{code}.crt.pem"
        if not (key.is_file() and certificate.is_file()):
            raise CommandError(f"No demo signing key of {code} in {directory}: run `manage.py load_demo` first.")
        root = sign_message(root=root, private_key_pem=key.read_bytes(), certificate_pem=certificate.read_bytes())
    body: bytes = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    return body


def read_keys(path: Path) -> dict[str, str]:
    """``KEY_<code>=<key>`` lines of ``var/demo-keys.env``, by customs code."""
    if not path.is_file():
        raise CommandError(f"No {path}: run `make run` (or `manage.py load_demo`) first; it writes the demo keys.")
    keys = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        name, sep, value = line.partition("=")
        if sep and name.startswith("KEY_") and not line.startswith("#"):
            keys[name.removeprefix("KEY_").strip()] = value.strip()
    missing = sorted(set(SENDER.values()) - set(keys))
    if missing:
        raise CommandError(f"{path} has no key for {', '.join(missing)}: run `manage.py load_demo` again.")
    return keys


def _refused_in_xml(body: bytes) -> bool:
    """Whether a CEB312/412/512/622 answer refuses a document, or the answer is a CEB900."""
    try:
        root = etree.fromstring(body, etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False))
    except etree.XMLSyntaxError:
        return True
    if root.tag == _ceb("CEB900Message"):
        return True
    return any((status.text or "").startswith("-") for status in root.iter(_ceb("returnStatus")))


def _shown(response: httpx.Response) -> str:
    if "json" in response.headers.get("content-type", ""):
        return json.dumps(response.json(), ensure_ascii=False, indent=2)
    return response.text


@dataclass
class DemoParcelSender:
    """Sends a parcel with ``client`` (its ``base_url`` is the API's) and writes what happens."""

    client: httpx.Client
    keys: Mapping[str, str]
    write: Callable[[str], None]
    use_xml: bool = False
    keys_directory: Path | None = None

    def _headers(self, code: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[code]}"}

    def send(self, parcel: Parcel) -> None:
        """POST the four documents in order; raises ``CommandError`` at the first refusal."""
        for kind in KINDS:
            code = SENDER[kind]
            headers = self._headers(code) | {"Idempotency-Key": f"demo-parcel-{parcel.order_no}-{kind}"}
            if self.use_xml:
                body = xml_message(parcel, kind, keys_directory=self.keys_directory)
                headers["Content-Type"] = "application/xml"
                response = self.client.post(f"/api/v1/{PLURAL[kind]}", content=body, headers=headers)
                refused = response.status_code >= 400 or _refused_in_xml(response.content)
            else:
                document = json_document(parcel, kind)
                response = self.client.post(f"/api/v1/{PLURAL[kind]}", json=document, headers=headers)
                refused = response.status_code >= 400
            self.write(f"\n{kind} {parcel.order_no} from {code}: HTTP {response.status_code}\n{_shown(response)}")
            if refused:
                raise CommandError(f"The {kind} was refused; nothing more is sent.")

    def trace(self, parcel: Parcel) -> dict[str, Any]:
        response = self.client.get(
            f"/api/v1/orders/{SENDER['order']}/{parcel.order_no}/trace", headers=self._headers(SENDER["order"])
        )
        if response.status_code != 200:
            raise CommandError(f"The trace answered HTTP {response.status_code}: {response.text[:2000]}")
        trace: dict[str, Any] = response.json()
        return trace

    def wait(self, parcel: Parcel, *, timeout: float, interval: float = 1.0) -> dict[str, Any]:
        """Poll the trace until the list is released (the trace), stopped or ``timeout`` passes."""
        deadline = time.monotonic() + timeout
        seen = ""
        while True:
            trace = self.trace(parcel)
            status = (trace.get("inventory") or {}).get("status", "")
            if status != seen:
                self.write(f"list status: {status}")
                seen = status
            if status == RELEASED:
                return trace
            if status in STOPPED:
                raise CommandError(f"The list stopped at {status}:\n{json.dumps(trace, ensure_ascii=False, indent=2)}")
            if time.monotonic() >= deadline:
                raise CommandError(f"Not released within {timeout:g} s (the list is {status or 'not stored'}).")
            time.sleep(interval)


class Command(BaseCommand):
    help = (
        "Send a fresh parcel of the demo parties (order, payment, waybill, list: new numbers and guids) "
        "to the running API with the demo keys of var/demo-keys.env, in JSON or (--xml) customs XML with "
        "the list signed by the demo agent's key; print each answer, then the parcel's trace."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--base-url",
            default=f"http://127.0.0.1:{os.environ.get('PORT', '8000')}",
            help="the running API (default http://127.0.0.1:$PORT, PORT defaulting to 8000)",
        )
        parser.add_argument("--xml", action="store_true", help="send customs XML (CEB311/411/511/621) instead of JSON")
        parser.add_argument("--wait", action="store_true", help="then wait until customs releases the list")
        parser.add_argument("--timeout", type=float, default=60.0, help="seconds --wait waits (default 60)")
        parser.add_argument(
            "--keys-file",
            type=Path,
            default=Path(settings.VAR_DIR) / "demo-keys.env",
            help="the demo keys (default var/demo-keys.env, written by load_demo)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        logging.getLogger("httpx").setLevel(logging.WARNING)  # each answer is printed in full already
        keys = read_keys(options["keys_file"])
        parcel = fresh_parcel()
        self.stdout.write(f"Parcel {parcel.order_no} to {options['base_url']} ({'XML' if options['xml'] else 'JSON'})")
        with httpx.Client(base_url=options["base_url"], timeout=30.0) as client:
            sender = DemoParcelSender(client=client, keys=keys, write=self.stdout.write, use_xml=options["xml"])
            try:
                sender.send(parcel)
                trace = sender.wait(parcel, timeout=options["timeout"]) if options["wait"] else sender.trace(parcel)
            except httpx.TransportError as exc:
                raise CommandError(f"Can't reach {options['base_url']}: {exc}. Is `make run` running?") from None
        self.stdout.write(f"\nTrace of {parcel.order_no}:\n{json.dumps(trace, ensure_ascii=False, indent=2)}")
