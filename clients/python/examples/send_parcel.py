"""Send one parcel (order, payment, waybill, declaration list) and wait until customs releases it.

The documents are the README's examples (``docs/examples/*.json``) under fresh business keys,
each sent with the key of the party that sends it. With ``make run`` (which prints the keys)::

    export SW_BASE_URL=http://127.0.0.1:8000
    export SW_KEY_EBP=sw_...        # 3301960001, the platform: the order
    export SW_KEY_PAY=sw_...        # 3301960003, the payment company: the payment
    export SW_KEY_LOGISTICS=sw_...  # 3301960004, the logistics company: the waybill
    export SW_KEY_AGENT=sw_...      # 3301960005, the declaring agent: the list
    python clients/python/examples/send_parcel.py
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import sys
import uuid
from pathlib import Path
from typing import Any

from single_window_client import Client, ProblemError

EXAMPLES = Path(__file__).resolve().parents[3] / "docs" / "examples"
CHINA = datetime.timezone(datetime.timedelta(hours=8))
KINDS = ("order", "payment", "waybill", "inventory")
KEY_VARIABLES = {
    "order": "SW_KEY_EBP",
    "payment": "SW_KEY_PAY",
    "waybill": "SW_KEY_LOGISTICS",
    "inventory": "SW_KEY_AGENT",
}


def fresh_parcel(examples: Path = EXAMPLES, *, now: datetime.datetime | None = None) -> dict[str, dict[str, Any]]:
    """The four example documents under business keys nobody used, dated now (China Standard Time)."""
    current = (now or datetime.datetime.now(CHINA)).astimezone(CHINA)
    stamp = current.strftime("%Y%m%d%H%M%S")
    serial = uuid.uuid4().hex[:6].upper()
    docs: dict[str, dict[str, Any]] = {
        kind: json.loads((examples / f"{kind}.json").read_text(encoding="utf-8")) for kind in KINDS
    }
    order_no, pay_no, waybill_no = f"SW{stamp}{serial}", f"PAY{stamp}{serial}", f"YT{stamp}{serial}"
    for data in docs.values():
        data["guid"] = str(uuid.uuid4()).upper()
        data["app_time"] = stamp
        data["order_no"] = order_no
    docs["order"]["pay_transaction_id"] = docs["payment"]["pay_transaction_id"] = pay_no
    docs["payment"]["pay_time"] = stamp
    docs["waybill"]["logistics_no"] = docs["inventory"]["logistics_no"] = waybill_no
    docs["inventory"]["cop_no"] = f"COP{stamp[2:]}{serial[:5]}"  # at most 20 characters
    docs["inventory"]["decl_time"] = current.strftime("%Y%m%d")
    return docs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base-url", default=os.environ.get("SW_BASE_URL", "http://127.0.0.1:8000"))
    parser.add_argument("--examples", type=Path, default=EXAMPLES, help="the directory of the example documents")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for the release")
    args = parser.parse_args(argv)
    missing = [name for name in KEY_VARIABLES.values() if not os.environ.get(name)]
    if missing:
        parser.error(f"set {', '.join(missing)}")

    docs = fresh_parcel(args.examples)
    agent = Client(args.base_url, os.environ[KEY_VARIABLES["inventory"]])
    # Only what happens from now on: the agent's feed may hold earlier parcels' events.
    start = agent.last_sequence()
    try:
        for kind in KINDS:
            with Client(args.base_url, os.environ[KEY_VARIABLES[kind]]) as sender:
                stored = sender.submit(kind, docs[kind])  # type: ignore[arg-type]
            waiting = f", waiting for {stored['waiting_for']}" if stored.get("waiting_for") else ""
            print(f"{kind:<9} {stored['id']:>6}  {stored['status']}{waiting}")  # noqa: T201
    except ProblemError as problem:
        print(f"refused: {problem}", file=sys.stderr)  # noqa: T201
        for error in problem.errors:
            print(f"  {error.field}: [{error.code}] {error.message}", file=sys.stderr)  # noqa: T201
        return 1

    order_no = docs["order"]["order_no"]
    print(f"waiting for the release of {order_no} ...")  # noqa: T201
    with agent:
        event = agent.wait_for_event(
            "inventory.status_changed",
            lambda e: e["data"].get("order_no") == order_no and e["data"].get("to_status") in {"released", "rejected"},
            timeout=args.timeout,
            after=start,
        )
        print(f"{event['timestamp']}  {event['data']['to_status']}  invt_no {event['data'].get('invt_no')}")  # noqa: T201
        for step in agent.get_trace(docs["order"]["ebp_code"], order_no)["events"]:
            print(f"  {step['at']}  {step['type']}  {step.get('to_status') or step.get('document') or ''}")  # noqa: T201
    return 0 if event["data"]["to_status"] == "released" else 2


if __name__ == "__main__":
    sys.exit(main())
