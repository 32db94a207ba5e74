"""The carrier simulator: ``python -m simulators.carrier --port 8203 --callback-url URL --secret whsec_...``.

``POST /waybills`` (JSON ``{"logistics_code", "logistics_no", "mode", "place_from", "place_to"}``;
``mode`` is ``air``, ``sea``, ``rail``, ``road`` or ``express``, default ``express``) tells it to
carry a parcel. It answers 202 at once and then reports the journey, one tracking event per
step, each a signed webhook (Standard Webhooks) to ``--callback-url`` (the single window's
``/api/v1/webhooks/carriers``) with body ``{"events": [event]}``:

    leg 1, in ``mode``:  picked_up, departed, arrived_hub, at_customs, released
    leg 2, by road:      out_for_delivery, delivered

Step n happens (``occurred_at``, ISO 8601 with +08:00) and is sent ``n * --step-delay`` seconds
after the request. To exercise the receiver:

- ``--duplicate-rate`` (0..1): the share of events sent a second time (same body, a new
  webhook id: the single window must store the event once);
- ``--reorder-rate`` (0..1): the share of events held back and sent after the next one (the
  timeline must keep time order).

``--seed`` makes the choices reproducible. ``GET /health``; ``GET /messages`` lists the
requests received and the webhooks sent. Every option reads ``SIM_CARRIER_<OPTION>`` too.
Nothing here comes from the product.
"""

from __future__ import annotations

import argparse
import datetime
import json
import random
import threading
from collections.abc import Sequence
from dataclasses import dataclass
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
    now_cst,
    stable_webhook_id,
)

ENV_PREFIX = "SIM_CARRIER"
JSON = "application/json"
MODES = ("air", "sea", "rail", "road", "express")
# (status, leg): the journey of a parcel; leg 2 is the last mile, by road.
JOURNEY: tuple[tuple[str, int], ...] = (
    ("picked_up", 1),
    ("departed", 1),
    ("arrived_hub", 1),
    ("at_customs", 1),
    ("released", 1),
    ("out_for_delivery", 2),
    ("delivered", 2),
)


@dataclass
class CarrierConfig:
    host: str = "127.0.0.1"
    port: int = 8203
    callback_url: str = "http://127.0.0.1:8000/api/v1/webhooks/carriers"
    secret: str = ""
    step_delay: float = 1.0
    duplicate_rate: float = 0.0
    reorder_rate: float = 0.0
    seed: int | None = None
    callback_attempts: int = 4
    callback_backoff: float = 0.5
    callback_timeout: float = 5.0
    workers: int = 8


@dataclass(frozen=True)
class PlannedSend:
    """One webhook to send: the event, when (seconds after the request), and which copy."""

    event: dict[str, Any]
    delay: float
    copy: int = 0


def plan_journey(
    *,
    logistics_code: str,
    logistics_no: str,
    mode: str,
    start: datetime.datetime,
    step_delay: float,
    duplicate_rate: float,
    reorder_rate: float,
    rng: random.Random,
    place_from: str = "Origin warehouse",
    place_to: str = "Consignee address",
) -> list[PlannedSend]:
    """The webhooks of one journey, in the order they are sent."""
    places = {
        "picked_up": place_from,
        "departed": place_from,
        "arrived_hub": "Import hub",
        "at_customs": "Customs supervision zone",
        "released": "Customs supervision zone",
        "out_for_delivery": "Delivery station",
        "delivered": place_to,
    }
    events = [
        {
            "logistics_code": logistics_code,
            "logistics_no": logistics_no,
            "status": status,
            "place": places[status],
            "occurred_at": (start + datetime.timedelta(seconds=step * step_delay)).isoformat(timespec="seconds"),
            "transport_mode": mode if leg == 1 else "road",
            "leg": leg,
        }
        for step, (status, leg) in enumerate(JOURNEY, start=1)
    ]
    sends = [PlannedSend(event=event, delay=step * step_delay) for step, event in enumerate(events, start=1)]
    # Held back: sent just after the next event instead of before it.
    for index in range(len(sends) - 1):
        if rng.random() < reorder_rate:
            this, after = sends[index], sends[index + 1]
            sends[index] = PlannedSend(event=this.event, delay=after.delay + step_delay / 10)
    duplicates = [
        PlannedSend(event=send.event, delay=send.delay + step_delay / 20, copy=1)
        for send in sends
        if rng.random() < duplicate_rate
    ]
    return sorted([*sends, *duplicates], key=lambda send: send.delay)


class CarrierSimulator(SimulatorProcess):
    name = "carrier"

    def __init__(self, config: CarrierConfig) -> None:
        self.config = config
        self.rng = random.Random(config.seed)  # noqa: S311 - a simulation, not security
        self._rng_lock = threading.Lock()
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
            {
                ("POST", "/waybills"): self._waybill,
                ("GET", "/health"): self._health,
                ("GET", "/messages"): self._messages,
            },
        )

    def _health(self, handler: Handler) -> None:
        handler.respond(200, json_body({"status": "ok", "service": "carrier"}), JSON)

    def _messages(self, handler: Handler) -> None:
        handler.respond(200, json_body(self.log.snapshot()), JSON)

    def _waybill(self, handler: Handler) -> None:
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
        missing = [name for name in ("logistics_code", "logistics_no") if not request.get(name)]
        mode = str(request.get("mode") or "express")
        if missing or mode not in MODES:
            problem = {"title": "The waybill is not valid.", "missing": missing, "modes": list(MODES)}
            handler.respond(400, json_body(problem), "application/problem+json")
            return
        code, number = str(request["logistics_code"]), str(request["logistics_no"])
        with self._rng_lock:
            sends = plan_journey(
                logistics_code=code,
                logistics_no=number,
                mode=mode,
                start=now_cst(),
                step_delay=self.config.step_delay,
                duplicate_rate=self.config.duplicate_rate,
                reorder_rate=self.config.reorder_rate,
                rng=self.rng,
                place_from=str(request.get("place_from") or "Origin warehouse"),
                place_to=str(request.get("place_to") or "Consignee address"),
            )
        self.log.received({"logistics_code": code, "logistics_no": number, "mode": mode})
        for send in sends:
            self.scheduler.call_later(send.delay, lambda send=send: self._send(send))  # type: ignore[misc]
        handler.respond(202, json_body({"logistics_no": number, "status": "accepted", "events": len(sends)}), JSON)

    def _send(self, send: PlannedSend) -> None:
        event = send.event
        webhook_id = stable_webhook_id(
            "carrier", event["logistics_code"], event["logistics_no"], event["status"], str(send.copy)
        )
        body = json.dumps({"events": [event]}).encode()
        delivery = self.sender.send(body, webhook_id=webhook_id, content_type=JSON)
        self.log.sent(
            {
                "logistics_no": event["logistics_no"],
                "status": event["status"],
                "occurred_at": event["occurred_at"],
                "copy": send.copy,
                "webhook_id": webhook_id,
                "delivered": delivery.delivered,
                "attempts": delivery.attempts,
                "status_code": delivery.status_code,
                "error": delivery.error,
            }
        )


def _rate(value: str) -> float:
    rate = float(value)
    if not 0.0 <= rate <= 1.0:
        msg = f"a rate is between 0 and 1, not {value}"
        raise argparse.ArgumentTypeError(msg)
    return rate


def parse_config(argv: Sequence[str] | None = None) -> CarrierConfig:
    parser = argparse.ArgumentParser(prog="python -m simulators.carrier", description=__doc__)
    opt = add_option
    opt(parser, ENV_PREFIX, "--host", default="127.0.0.1", help_text="address to listen on")
    opt(parser, ENV_PREFIX, "--port", default="8203", help_text="port to listen on", kind=int)
    opt(
        parser,
        ENV_PREFIX,
        "--callback-url",
        default="http://127.0.0.1:8000/api/v1/webhooks/carriers",
        help_text="where tracking events go",
    )
    opt(parser, ENV_PREFIX, "--secret", default=None, help_text="Standard Webhooks secret, whsec_<base64>")
    opt(parser, ENV_PREFIX, "--step-delay", default="1.0", help_text="seconds between the steps", kind=float)
    opt(parser, ENV_PREFIX, "--duplicate-rate", default="0", help_text="share of events sent twice", kind=_rate)
    opt(parser, ENV_PREFIX, "--reorder-rate", default="0", help_text="share of events sent late", kind=_rate)
    opt(parser, ENV_PREFIX, "--seed", default=None, help_text="random seed", kind=int)
    opt(parser, ENV_PREFIX, "--callback-attempts", default="4", help_text="attempts per webhook", kind=int)
    opt(
        parser,
        ENV_PREFIX,
        "--callback-backoff",
        default="0.5",
        help_text="first retry wait, seconds (doubles)",
        kind=float,
    )
    opt(parser, ENV_PREFIX, "--callback-timeout", default="5", help_text="webhook timeout, seconds", kind=float)
    opt(parser, ENV_PREFIX, "--workers", default="8", help_text="sender threads", kind=int)
    args = parser.parse_args(argv)
    if not args.secret:
        parser.error("--secret (or SIM_CARRIER_SECRET) is required")
    return CarrierConfig(**vars(args))


def main(argv: Sequence[str] | None = None) -> None:
    configure_logging()
    CarrierSimulator(parse_config(argv)).serve()


if __name__ == "__main__":
    main()
