"""The payment company simulator: ``python -m simulators.payment --port 8202 --callback-url URL --secret whsec_...``.

``POST /verify`` (JSON) asks whether the payer of a payment and the order's buyer are the same
person, or a pair the payment company verified (matching rule 3). It answers 202 at once and
calls back ``--callback-url`` with JSON ``{request_id, pay_transaction_id, verified, reason}``,
signed with Standard Webhooks headers. ``GET /health``, ``GET /messages``.

The decision, from the request and the company's own table only:

1. ``same_person``: the names are equal (spaces trimmed) and the ID numbers are equal
   (spaces removed, ``x`` upper-cased), or the ID hashes are equal; one side's number and the
   other's hash are compared through SHA-256 of the normalised number (hex);
2. ``verified_pair``: otherwise, the (payer, buyer) pair is in the table
   (``--verified-pairs``, a JSON list of objects with ``payer_name``, ``payer_id_number`` or
   ``payer_id_number_hash``, ``buyer_name``, ``buyer_id_number`` or ``buyer_id_number_hash``);
3. ``not_same_person``: otherwise (``verified`` false).
"""

from __future__ import annotations

import argparse
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from simulators.common import (
    CallbackSender,
    Handler,
    MessageLog,
    Scheduler,
    SimulatorProcess,
    SimulatorServer,
    add_option,
    configure_logging,
    json_body,
    stable_webhook_id,
)

ENV_PREFIX = "SIM_PAYMENT"
JSON = "application/json"
DEFAULT_PAIRS = Path(__file__).resolve().parent / "data" / "verified_pairs.json"
REQUIRED = ("request_id", "pay_code", "pay_transaction_id", "order_no", "payer_name", "buyer_name")


@dataclass
class PaymentConfig:
    host: str = "127.0.0.1"
    port: int = 8202
    callback_url: str = "http://127.0.0.1:8000/api/v1/webhooks/payments"
    secret: str = ""
    verified_pairs: Path | None = DEFAULT_PAIRS
    delay: float = 0.2
    callback_attempts: int = 4
    callback_backoff: float = 0.5
    callback_timeout: float = 5.0
    workers: int = 8


def normalise_id(number: str) -> str:
    return "".join(number.split()).upper()


def _name(value: object) -> str:
    return " ".join(str(value or "").split())


@dataclass(frozen=True)
class Person:
    name: str
    number: str = ""  # normalised ID number, when given
    digest: str = ""  # ID number hash as given (lower case), or SHA-256 of the number

    @classmethod
    def of(cls, data: Mapping[str, Any], role: str) -> Person:
        number = normalise_id(str(data.get(f"{role}_id_number") or ""))
        given_hash = str(data.get(f"{role}_id_number_hash") or "").strip().lower()
        return cls(name=_name(data.get(f"{role}_name")), number=number, digest=given_hash)

    def has_id(self) -> bool:
        return bool(self.number or self.digest)

    def same_as(self, other: Person) -> bool:
        if not self.name or self.name != other.name or not self.has_id() or not other.has_id():
            return False
        if self.number and other.number:
            return self.number == other.number
        if self.digest and other.digest:
            return self.digest == other.digest
        number, digest = (self.number, other.digest) if self.number else (other.number, self.digest)
        return hashlib.sha256(number.encode()).hexdigest() == digest


def load_pairs(path: Path | None) -> list[tuple[Person, Person]]:
    if path is None or not path.is_file():
        return []
    entries = json.loads(path.read_text(encoding="utf-8"))
    return [(Person.of(entry, "payer"), Person.of(entry, "buyer")) for entry in entries]


def decide(request: Mapping[str, Any], pairs: Sequence[tuple[Person, Person]]) -> tuple[bool, str]:
    payer, buyer = Person.of(request, "payer"), Person.of(request, "buyer")
    if payer.same_as(buyer):
        return True, "same_person"
    if any(payer.same_as(known_payer) and buyer.same_as(known_buyer) for known_payer, known_buyer in pairs):
        return True, "verified_pair"
    return False, "not_same_person"


class PaymentSimulator(SimulatorProcess):
    name = "payment"

    def __init__(self, config: PaymentConfig) -> None:
        self.config = config
        self.pairs = load_pairs(config.verified_pairs)
        self.log = MessageLog()
        self.sender = CallbackSender(
            url=config.callback_url,
            secret=config.secret,
            attempts=config.callback_attempts,
            backoff=config.callback_backoff,
            timeout=config.callback_timeout,
        )
        self.scheduler = Scheduler(workers=config.workers)
        self.server = SimulatorServer(
            (config.host, config.port),
            {("POST", "/verify"): self._verify, ("GET", "/health"): self._health, ("GET", "/messages"): self._messages},
        )

    def _health(self, handler: Handler) -> None:
        handler.respond(200, json_body({"status": "ok", "service": "payment"}), JSON)

    def _messages(self, handler: Handler) -> None:
        handler.respond(200, json_body(self.log.snapshot()), JSON)

    def _verify(self, handler: Handler) -> None:
        body = handler.read_body()
        if body is None:
            return
        try:
            request = json.loads(body)
        except (json.JSONDecodeError, UnicodeDecodeError):
            request = None
        if not isinstance(request, dict):
            handler.respond(400, json_body({"title": "The body must be a JSON object."}), "application/problem+json")
            return
        missing = [name for name in REQUIRED if not request.get(name)]
        missing += [
            f"{role}_id_number or {role}_id_number_hash"
            for role in ("payer", "buyer")
            if not (request.get(f"{role}_id_number") or request.get(f"{role}_id_number_hash"))
        ]
        if missing:
            problem = {"title": "Fields are missing.", "missing": missing}
            handler.respond(400, json_body(problem), "application/problem+json")
            return
        verified, reason = decide(request, self.pairs)
        request_id, transaction = str(request["request_id"]), str(request["pay_transaction_id"])
        result = {"request_id": request_id, "pay_transaction_id": transaction, "verified": verified, "reason": reason}
        # No personal data in the log: the request's keys only.
        self.log.received({"request_id": request_id, "pay_transaction_id": transaction})
        webhook_id = stable_webhook_id("payment-verification", request_id)
        callback = json.dumps(result).encode()

        def send() -> None:
            delivery = self.sender.send(callback, webhook_id=webhook_id, content_type=JSON)
            self.log.sent(
                {
                    **result,
                    "webhook_id": webhook_id,
                    "delivered": delivery.delivered,
                    "attempts": delivery.attempts,
                    "status_code": delivery.status_code,
                    "error": delivery.error,
                }
            )

        self.scheduler.call_later(self.config.delay, send)
        handler.respond(202, json_body({"request_id": request_id, "status": "accepted"}), JSON)


def parse_config(argv: Sequence[str] | None = None) -> PaymentConfig:
    parser = argparse.ArgumentParser(prog="python -m simulators.payment", description=__doc__)
    opt = add_option
    opt(parser, ENV_PREFIX, "--host", default="127.0.0.1", help_text="address to listen on")
    opt(parser, ENV_PREFIX, "--port", default="8202", help_text="port to listen on", kind=int)
    opt(
        parser,
        ENV_PREFIX,
        "--callback-url",
        default="http://127.0.0.1:8000/api/v1/webhooks/payments",
        help_text="where results go",
    )
    opt(parser, ENV_PREFIX, "--secret", default=None, help_text="Standard Webhooks secret, whsec_<base64>")
    opt(
        parser,
        ENV_PREFIX,
        "--verified-pairs",
        default=str(DEFAULT_PAIRS),
        help_text="JSON file of verified pairs",
        kind=Path,
    )
    opt(parser, ENV_PREFIX, "--delay", default="0.2", help_text="seconds before the callback", kind=float)
    opt(parser, ENV_PREFIX, "--callback-attempts", default="4", help_text="attempts per callback", kind=int)
    opt(
        parser,
        ENV_PREFIX,
        "--callback-backoff",
        default="0.5",
        help_text="first retry wait, seconds (doubles)",
        kind=float,
    )
    opt(parser, ENV_PREFIX, "--callback-timeout", default="5", help_text="callback timeout, seconds", kind=float)
    opt(parser, ENV_PREFIX, "--workers", default="8", help_text="callback worker threads", kind=int)
    args = parser.parse_args(argv)
    if not args.secret:
        parser.error("--secret (or SIM_PAYMENT_SECRET) is required")
    return PaymentConfig(**vars(args))


def main(argv: Sequence[str] | None = None) -> None:
    configure_logging()
    PaymentSimulator(parse_config(argv)).serve()


if __name__ == "__main__":
    main()
