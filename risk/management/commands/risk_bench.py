"""Time risk control's answer on a large history.

``manage.py risk_bench --observations 1000000``:

Fills risk's observation tables with ``--observations`` list observations and as many price
observations (COPY in chunks, ids from ``BENCH_BASE`` up, spread over the last 7 days), then
asks the risk participant about ``--lists`` fresh lists with every seeded rule enabled and prints
the median and 95th percentile of ``reserve()``, timed inside a transaction as the declare step
calls it (the commit belongs to the list's transaction, not to risk). ``--clean`` removes the
generated rows (and the answers the run recorded) first. Meant for a development or staging
database, never production.
"""

from __future__ import annotations

import datetime
import io
import random
import statistics
import time
from decimal import Decimal
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import connection, transaction
from django.utils import timezone

from risk.models import Assessment, ListObservation, PriceObservation, RiskHit
from risk.participant import RiskParticipant
from single_window import hashes
from single_window.declare import ItemFacts, ListFacts, ListRef

BENCH_BASE = 9_000_000_000
GCODES = 5_000


def _gcode(n: int) -> str:
    return f"{1901000000 + n * 97:010d}"


class Command(BaseCommand):
    help = "Fill risk's history tables and time the risk participant's answer (median and p95)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--observations", type=int, default=1_000_000)
        parser.add_argument("--lists", type=int, default=500, help="fresh lists to time")
        parser.add_argument("--chunk", type=int, default=50_000)
        parser.add_argument("--buyers", type=int, default=200_000, help="distinct buyers in the history")
        parser.add_argument("--clean", action="store_true", help="remove earlier generated rows first")
        parser.add_argument("--seed", type=int, default=7)

    def handle(self, *args: Any, **options: Any) -> None:
        rng = random.Random(options["seed"])  # noqa: S311 - made-up history, not a secret
        if options["clean"]:
            self._clean()
        n, chunk, buyers = options["observations"], options["chunk"], options["buyers"]
        start = ListObservation.objects.filter(inventory_id__gte=BENCH_BASE).count()
        if n > start:
            began = time.perf_counter()
            self._fill(rng, start, n, chunk, buyers)
            self.stdout.write(f"history: {n - start} observations added in {time.perf_counter() - began:.1f} s")
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE risk_listobservation; ANALYZE risk_priceobservation")
        timings = self._time(rng, options["lists"], n, buyers)
        timings.sort()
        median = statistics.median(timings)
        p95 = timings[int(len(timings) * 0.95) - 1]
        self.stdout.write(
            f"risk reserve() over {ListObservation.objects.count()} list and "
            f"{PriceObservation.objects.count()} price observations: "
            f"median {median:.2f} ms, p95 {p95:.2f} ms, max {timings[-1]:.2f} ms ({len(timings)} lists)"
        )

    def _clean(self) -> None:
        with transaction.atomic():
            RiskHit.objects.filter(inventory_id__gte=BENCH_BASE).delete()
            Assessment.objects.filter(inventory_id__gte=BENCH_BASE).delete()
            ListObservation.objects.filter(inventory_id__gte=BENCH_BASE).delete()
            PriceObservation.objects.filter(inventory_id__gte=BENCH_BASE).delete()

    def _fill(self, rng: random.Random, start: int, end: int, chunk: int, buyers: int) -> None:
        now = timezone.now()
        week = 7 * 24 * 3600
        buyer_hashes = [hashes.id_number_hash(f"bench-buyer-{i}") for i in range(min(buyers, 20_000))]
        for low in range(start, end, chunk):
            lists, prices = io.StringIO(), io.StringIO()
            for i in range(low, min(low + chunk, end)):
                at = (now - datetime.timedelta(seconds=rng.random() * week)).isoformat()
                # A cheap distinct hash per buyer beyond the precomputed ones.
                b = rng.randrange(buyers)
                buyer = buyer_hashes[b] if b < len(buyer_hashes) else f"{b:064x}"
                phone, address = f"{rng.randrange(buyers * 2):064x}", f"{rng.randrange(buyers * 2) + 1:063x}a"
                value = Decimal(rng.randrange(1000, 200_000)) / 100
                ebc = f"33019600{i % 100:02d}"
                lists.write(f"{BENCH_BASE + i}\t1\t{buyer}\t{ebc}\t{phone}\t{address}\t{value}\t{at}\n")
                price = Decimal(rng.randrange(5_000, 15_000)) / 100
                prices.write(f"{_gcode(i % GCODES)}\t{price}\t{BENCH_BASE + i}\t1\t{at}\n")
            with connection.cursor() as cursor:
                lists.seek(0)
                prices.seek(0)
                raw = cursor.cursor
                raw.copy_expert(
                    "COPY risk_listobservation (inventory_id, list_version, buyer_hash, ebc_code, phone_hash, "
                    "address_hash, goods_value, observed_at) FROM STDIN",
                    lists,
                )
                raw.copy_expert(
                    "COPY risk_priceobservation (gcode, unit_price, inventory_id, list_version, observed_at) "
                    "FROM STDIN",
                    prices,
                )
            self.stdout.write(f"  {min(low + chunk, end)} / {end}")

    def _time(self, rng: random.Random, lists: int, offset: int, buyers: int) -> list[float]:
        participant = RiskParticipant()
        buyer_hashes = [hashes.id_number_hash(f"bench-buyer-{i}") for i in range(min(buyers, 20_000))]
        timings = []
        base = BENCH_BASE + offset + rng.randrange(1_000_000) * 10
        for n in range(lists):
            facts = _facts(rng, ListRef(base + n, 1), rng.choice(buyer_hashes))
            # As the declare step asks: inside the list's transaction (its commit is the list's).
            with transaction.atomic():
                began = time.perf_counter()
                participant.reserve(facts)
                timings.append((time.perf_counter() - began) * 1000)
        return timings


def _facts(rng: random.Random, ref: ListRef, buyer_hash: str) -> ListFacts:
    items = tuple(
        ItemFacts(
            gnum=g + 1,
            gcode=_gcode(rng.randrange(GCODES)),
            item_record_no="",
            item_name="goods",
            qty=Decimal(1),
            unit="122",
            qty1=Decimal("0.8"),
            unit1="035",
            qty2=None,
            unit2="",
            price=Decimal(100),
            total_price=Decimal(100),
            currency="142",
            country="502",
        )
        for g in range(rng.randrange(1, 4))
    )
    return ListFacts(
        ref=ref,
        cop_no=f"BENCH{ref.inventory_id}",
        trade_mode="9610",
        ebp_code="3301960001",
        ebc_code=f"33019600{rng.randrange(100):02d}",
        agent_code="3301960005",
        assure_code="3301960005",
        logistics_code="3301960004",
        area_code="",
        ems_no="",
        customs_code="2901",
        port_code="2901",
        park_code="",
        buyer_hash=buyer_hash,
        consignee_phone_hash=hashes.phone_hash(f"138{rng.randrange(10**8):08d}"),
        consignee_address_hash=hashes.address_hash(f"西湖区文三路{rng.randrange(10**6)}号"),
        gross_weight=Decimal("1.2"),
        net_weight=Decimal("1.0"),
        freight=Decimal(0),
        insured_fee=Decimal(0),
        items=items,
        tax=None,
        declared_at=timezone.now(),
    )
