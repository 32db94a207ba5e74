"""The README's first calls, run as written: the example files are the documents the API
accepts, and every command of "Your first call" is run with curl, with the keys `load_demo`
prints, against the app and the customs simulator in its own process, as `make run` starts them.
The answers are checked: amounts at their scale, times in China Standard Time, the list
released with the simulator's tax bill, and which events each enterprise hears of."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import textwrap
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from pytest_django.fixtures import Settings
from pytest_django.live_server_helper import LiveServer

from declarations.customs.spec import Kind
from declarations.intake import examples
from declarations.kinds import KINDS
from declarations.models import Inventory
from declarations.tests.conftest import reseed_after_flush  # noqa: F401 - a fixture, handed in by name
from declarations.tests.test_gateway import (
    _free_port,
    _healthy,
    _run_until_released,
    finance_participant,  # noqa: F401 - a fixture, handed in by name
)
from finance.models import TaxBill

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES_DIR = ROOT / "docs" / "examples"


@pytest.mark.parametrize("kind", sorted(examples.DOCUMENTS))
def test_the_readme_example_file_is_the_documented_example(kind: str) -> None:
    on_disk = json.loads((EXAMPLES_DIR / f"{kind}.json").read_text(encoding="utf-8"))
    assert on_disk == examples.DOCUMENTS[kind]


def test_the_readme_starts_with_the_two_commands() -> None:
    readme = (EXAMPLES_DIR.parent.parent / "README.md").read_text(encoding="utf-8")
    commands = [
        line.split("#")[0].strip() for line in readme.split("```sh", 1)[1].split("```", 1)[0].strip().splitlines()
    ]
    assert commands == ["make run", "make test"]


# --- The first calls, run as written ------------------------------------------------------------

README = ROOT / "README.md"
DEMO_BASE_URL = "http://127.0.0.1:8000"
# What `export NAME=sw_...   # code, ...` in step 1 names.
KEY_LINE = re.compile(r"^export (?P<name>[A-Z_]+)=sw_\S+\s+# (?P<code>\d{10}),")
PRINTED_KEY = re.compile(r"^\s+(?P<code>\d{10})\s+\S+\s+(?P<key>sw_\S+)$", re.MULTILINE)
CHINA_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?\+08:00$")
ANY_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")
TWO_DECIMALS = re.compile(r"^-?\d+\.\d{2}$")


@dataclass(frozen=True)
class Answer:
    command: str
    status: int
    body: Any


def first_call_blocks() -> list[str]:
    """The shell blocks of the README's "Your first call", in order."""
    text = README.read_text(encoding="utf-8")
    section = text.split("## Your first call", 1)[1].split("\n## ", 1)[0]
    return [textwrap.dedent(block.split("```", 1)[0]) for block in section.split("```sh\n")[1:]]


def commands_of(block: str) -> list[str]:
    """The commands of a block, continuation lines joined."""
    return [command for command in block.replace("\\\n", " ").splitlines() if command.strip()]


def key_names() -> dict[str, str]:
    """Step 1's variables, by the enterprise code each holds the key of."""
    found = [KEY_LINE.match(line) for block in first_call_blocks() for line in commands_of(block)]
    return {m["name"]: m["code"] for m in found if m}


def run_curl(command: str, *, base_url: str, env: dict[str, str], cwd: Path = ROOT) -> Answer:
    assert command.strip().startswith("curl "), command
    shell = command.replace(DEMO_BASE_URL, base_url).replace("curl ", "curl -sS -w '\\n%{http_code}' ", 1)
    done = subprocess.run(
        ["bash", "-c", shell],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    body, _newline, status = done.stdout.rpartition("\n")
    return Answer(command, int(status), json.loads(body) if body else None)


def strings_of(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    if isinstance(value, dict):
        for name, item in value.items():
            yield from strings_of(item, f"{path}.{name}")
    elif isinstance(value, list):
        for n, item in enumerate(value):
            yield from strings_of(item, f"{path}[{n}]")
    elif isinstance(value, str):
        yield path, value


def assert_times_in_china(answer: Answer) -> None:
    times = {path: text for path, text in strings_of(answer.body) if ANY_TIME.match(text)}
    assert times, answer.command
    assert {path: text for path, text in times.items() if not CHINA_TIME.match(text)} == {}, answer.command


@pytest.fixture
def demo_stack(settings: Settings, tmp_path: Path, live_server: LiveServer) -> Iterator[dict[str, str]]:
    """`load_demo` (its files in a temporary var/) and the customs simulator as its own process,
    as `make run` starts them; the demo keys by enterprise code."""
    settings.VAR_DIR = tmp_path
    settings.CUSTOMS_GATEWAY_ENABLED = True
    settings.CUSTOMS_PARTNER_CODE = "CUSTOMS-HZ"
    customs_port = _free_port()
    out = io.StringIO()
    call_command(
        "load_demo", customs_port=customs_port, payment_port=_free_port(), carrier_port=_free_port(), stdout=out
    )
    keys = {m["code"]: m["key"] for m in PRINTED_KEY.finditer(out.getvalue())}
    # As the Makefile's `run` does after load_demo: the seller guarantees its lists.
    call_command("guarantee_account", "3301960002", amount="1000000", reason="demo", stdout=io.StringIO())
    simulators = dict(
        line.split("=", 1) for line in (tmp_path / "simulators.env").read_text().splitlines() if "=" in line
    )
    command = [
        sys.executable,
        "-m",
        "simulators.customs",
        "--port",
        str(customs_port),
        "--callback-url",
        f"{live_server.url}/api/v1/webhooks/customs",
        "--secret",
        simulators["SIM_CUSTOMS_SECRET"],
        "--certificates",
        simulators["SIM_CUSTOMS_CERTIFICATES"],
        "--script",
        "default",
        "--step-delay",
        "0.2",
    ]
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIM_")}
    base = f"http://127.0.0.1:{customs_port}"
    with (tmp_path / "customs.log").open("wb") as log:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 15
            while not _healthy(base):
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail("the customs simulator did not start")
                time.sleep(0.1)
            yield keys
        finally:
            process.terminate()
            process.wait(timeout=5)


def test_step_1_names_a_key_for_each_sender_and_both_roles_that_hear_of_the_list() -> None:
    assert key_names() == {
        "PLATFORM_KEY": "3301960001",
        "SELLER_KEY": "3301960002",
        "PAY_KEY": "3301960003",
        "LOGISTICS_KEY": "3301960004",
        "BROKER_KEY": "3301960005",
    }


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("reseed_after_flush", "finance_participant")
def test_the_first_calls_work_as_written(demo_stack: dict[str, str], live_server: LiveServer, tmp_path: Path) -> None:
    env = {"PATH": os.environ["PATH"], **{name: demo_stack[code] for name, code in key_names().items()}}
    blocks = first_call_blocks()
    commands = [c for block in blocks for c in commands_of(block) if not KEY_LINE.match(c)]
    submissions = [c for c in commands if "-X POST" in c]
    assert all(c.startswith("curl ") for c in commands), commands
    answers: list[Answer] = []

    def run(expected: str) -> Answer:
        """Run the README's next command, which must contain ``expected``: none is skipped."""
        assert commands, f"no command left for {expected!r}"
        answer = run_curl(commands.pop(0), base_url=live_server.url, env=env)
        assert expected in answer.command, (expected, answer.command)
        answers.append(answer)
        return answer

    # Step 2.
    me = run("/enterprises/me")
    assert (me.status, me.body["customs_code"]) == (200, "3301960001"), me

    # Step 3: the four documents, each by its sender; amounts at the scale they were sent.
    order = run("/orders ")
    payment = run("/payments ")
    waybill = run("/waybills ")
    inventory = run("/inventories ")
    assert [a.status for a in (order, payment, waybill, inventory)] == [201] * 4, answers
    for answer, kind in ((order, "order"), (payment, "payment"), (waybill, "waybill"), (inventory, "inventory")):
        sent = examples.DOCUMENTS[kind]
        spec = KINDS[kind].spec
        amounts_of = {f.name for f in (*spec.head, *spec.lines) if f.kind is Kind.DECIMAL}
        amounts = {name: answer.body[name] for name in sent if name in amounts_of}
        assert amounts == {name: sent[name] for name in amounts}, kind
        for n, item in enumerate(sent.get("items", [])):
            answered = answer.body["items"][n]
            assert {name: answered[name] for name in item if name in amounts_of} == {
                name: value for name, value in item.items() if name in amounts_of
            }, kind
        assert_times_in_china(answer)
    assert order.body["goods_value"] == "398.00"
    assert order.body["discount"] == "0"
    assert inventory.body["status"] == "declared", inventory.body
    estimate = inventory.body["tax_estimate"]
    figures = {
        path: value
        for path, value in strings_of(estimate)
        if re.fullmatch(r"-?\d+(\.\d+)?", value) and not path.endswith(("gcode", "rate"))
    }
    assert figures
    assert {path: value for path, value in figures.items() if not TWO_DECIMALS.match(value)} == {}

    listed = Inventory.objects.get(agent_code="3301960005", cop_no=examples.INVENTORY["cop_no"])
    _run_until_released(listed)

    # The list, released, with the simulator's tax bill: differs from the estimate, as explained.
    released = run("/inventories/3301960005/")
    assert (released.status, released.body["status"]) == (200, "released"), released.body
    bill = TaxBill.objects.get(inventory_id=listed.pk)
    assert bill.differs
    # Consumption tax on the cream, and the VAT on it (VAT is charged on the value with CT).
    assert set(bill.differences) - {"items"} == {"consumption_tax", "value_added_tax"}
    assert Decimal(bill.differences["consumption_tax"]["estimate"]) == 0
    assert Decimal(bill.differences["consumption_tax"]["bill"]) > 0
    assert bill.guarantee_effect in {"used", "freed"}, "the bill is charged to the seller's guarantee"
    assert_times_in_china(released)

    # Step 6: the trace, and each enterprise's feed.
    trace = run("/trace")
    assert trace.status == 200, trace
    assert_times_in_china(trace)
    feeds = {}
    for key_name in ("PLATFORM_KEY", "SELLER_KEY", "BROKER_KEY"):
        answer = run(f"Bearer ${key_name}")
        assert "/events?after=0" in answer.command
        assert answer.status == 200, answer
        assert_times_in_china(answer)
        feeds[key_name] = [event["type"] for event in answer.body["events"]]
    assert commands == []

    # The platform hears that its order was stored, and nothing of the list; the seller and its
    # broker hear of the list (the seller sent nothing: no document.accepted).
    assert feeds["PLATFORM_KEY"] == ["document.accepted"]
    listed_events = {"inventory.matching_result", "inventory.status_changed", "inventory.tax_bill"}
    paid = {"inventory.tax_bill_status"}  # when customs has already reported the bill paid
    assert listed_events <= set(feeds["SELLER_KEY"]) <= listed_events | paid
    assert (
        listed_events | {"document.accepted"}
        <= set(feeds["BROKER_KEY"])
        <= listed_events | paid | {"document.accepted"}
    )
    assert feeds["BROKER_KEY"].count("document.accepted") == 1
    assert feeds["SELLER_KEY"].count("inventory.status_changed") >= 3  # declared, accepted, released

    # Step 3's second parcel: the same files again are a duplicate (the same key replays) ...
    replayed = run_curl(submissions[0], base_url=live_server.url, env=env)
    assert (replayed.status, replayed.body["id"]) == (201, order.body["id"])
    again = run_curl(
        submissions[0].replace("Idempotency-Key: ", "Idempotency-Key: again-"), base_url=live_server.url, env=env
    )
    assert (again.status, again.body["code"]) == (409, "duplicate_document"), again
    # ... and copies with the numbers the note names changed are a new parcel, declared at once.
    firsts = (
        examples.ORDER["order_no"],
        examples.ORDER["pay_transaction_id"],
        examples.WAYBILL["logistics_no"],
        examples.INVENTORY["cop_no"],
    )
    numbers = {number: number[:-1] + "2" for number in firsts}
    copies = tmp_path / "second" / "docs" / "examples"
    copies.mkdir(parents=True)
    for kind, sent in examples.DOCUMENTS.items():
        text = json.dumps({**sent, "guid": str(uuid.uuid4()).upper()}, ensure_ascii=False)
        for old, new in numbers.items():
            text = text.replace(f'"{old}"', f'"{new}"')
        (copies / f"{kind}.json").write_text(text, encoding="utf-8")
    second = []
    for command in submissions:
        renumbered = command
        for old, new in numbers.items():
            renumbered = renumbered.replace(old, new)
        second.append(run_curl(renumbered, base_url=live_server.url, env=env, cwd=tmp_path / "second"))
    assert [a.status for a in second] == [201] * 4, [a.body for a in second]
    assert second[-1].body["status"] == "declared", second[-1].body
    assert second[0].body["order_no"] == numbers[examples.ORDER["order_no"]]


def test_the_second_parcel_note_names_every_shared_identifier() -> None:
    readme = README.read_text(encoding="utf-8")
    note = readme.split("**A second parcel.**", 1)[1].split("\n4. ", 1)[0]
    shared = {"order_no", "pay_transaction_id", "logistics_no", "cop_no", "guid"}
    assert {name for name in shared if f"`{name}`" in note} == shared
    # Every number the example documents share with another is named, with where it is; the
    # master air waybill (`bill_no`) is shared by many parcels and stays, `pack_no` is a count.
    docs = examples.DOCUMENTS
    numbers = {
        name
        for doc in docs.values()
        for name in doc
        if name.endswith(("_no", "_id")) and name not in {"bill_no", "pack_no"}
    }
    for name in numbers:
        holders = [kind for kind, doc in docs.items() if name in doc]
        if len(holders) > 1:
            assert f"`{name}`" in note, name
    assert {"order", "payment", "waybill", "inventory"} == {k for k, d in docs.items() if "order_no" in d}
    assert {"order", "payment"} == {k for k, d in docs.items() if "pay_transaction_id" in d}
    assert {"waybill", "inventory"} == {k for k, d in docs.items() if "logistics_no" in d}
