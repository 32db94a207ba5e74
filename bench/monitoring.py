"""How fast the monitoring's figures answer (docs/monitoring.md).

``python -m bench.monitoring [--calls 50] [--json RESULT.json]``, with ``DJANGO_SETTINGS_MODULE``
and ``DATABASE_URL`` naming the database to measure (its rollups filled, e.g. by
``manage.py monitoring_rebuild``). Times each selector of ``monitoring.selectors`` and both API
calls (JSON and CSV, through Django's test client: middleware, key authentication, throttling,
the view and the renderer, in this process) ``--calls`` times each, over the whole period the
rollups hold, for the three kinds of reader: everything (a superuser), a regulator's district,
and one enterprise (the e-commerce enterprise with the most lists). Prints p50 and p95 in ms.

It writes to the database it measures only what a caller needs: a superuser ``bench-monitoring``
and API keys for it and for the enterprise (each run revokes its own keys at the end).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any


def _setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    import django  # noqa: PLC0415 - the settings must be chosen before Django loads

    django.setup()


def _say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def _percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    position = (len(ordered) - 1) * q
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _time(call: Callable[[], Any], calls: int) -> dict[str, float]:
    call()  # warm: the first call pays for imports and plans
    took = []
    for _ in range(calls):
        began = time.perf_counter()
        call()
        took.append(time.perf_counter() - began)
    return {"p50_ms": round(_percentile(took, 0.5) * 1000, 1), "p95_ms": round(_percentile(took, 0.95) * 1000, 1)}


def main(argv: Sequence[str] | None = None) -> int:  # noqa: PLR0915 - one flat script of measurements
    parser = argparse.ArgumentParser(prog="python -m bench.monitoring")
    parser.add_argument("--calls", type=int, default=50)
    parser.add_argument("--json", type=Path, default=None, help="Also write the results here.")
    args = parser.parse_args(argv)
    _setup()
    # Django is set up from here on.
    from django.contrib.auth.models import User  # noqa: PLC0415
    from django.db import connection  # noqa: PLC0415
    from django.db.models import Max, Min, Sum  # noqa: PLC0415
    from django.test import Client  # noqa: PLC0415

    from core.audit import Actor  # noqa: PLC0415
    from monitoring import selectors  # noqa: PLC0415
    from monitoring.models import DailyGoodsFigures, DailyListFigures, DailyRuleFailures  # noqa: PLC0415
    from single_window.models import ApiKey, Enterprise  # noqa: PLC0415
    from single_window.services import api_key_issue  # noqa: PLC0415

    span = DailyListFigures.objects.aggregate(first=Min("day"), last=Max("day"))
    if span["first"] is None:
        sys.stderr.write("The rollups are empty: run manage.py monitoring_rebuild first.\n")
        return 1
    first: datetime.date = span["first"]
    last: datetime.date = min(span["last"], first + datetime.timedelta(days=730))
    top = DailyListFigures.objects.values("ebc", "district").annotate(n=Sum("declared")).order_by("-n").first()
    if top is None:
        return 1
    enterprise = (
        Enterprise.objects.filter(customs_code=top["ebc"]).first() or Enterprise.objects.filter(uscc=top["ebc"]).first()
    )
    user, _created = User.objects.get_or_create(
        username="bench-monitoring", defaults={"is_superuser": True, "is_staff": True}
    )
    # The bench measures the answer, not the rate limit: its keys may call often.
    actor = Actor.system("bench.monitoring")
    rate = "100000/min"
    keys = [api_key_issue(name="bench monitoring", actor=actor, user_id=user.pk, throttle_rate=rate)]
    if enterprise is not None:
        keys.append(
            api_key_issue(
                name="bench monitoring", actor=actor, enterprise=enterprise, throttle_rate=rate, enforce_limit=False
            )
        )
    everything = selectors.FigureScope.everything()
    district = selectors.FigureScope(districts=frozenset({top["district"]}), parks=None, enterprises=None)
    own = (
        selectors.scope_of_enterprise(enterprise)
        if enterprise is not None
        else selectors.FigureScope(districts=None, parks=None, enterprises=frozenset({top["ebc"]}))
    )
    month_ago = last - datetime.timedelta(days=30)
    cases: dict[str, Callable[[], Any]] = {
        "summary, everything, whole period": lambda: selectors.summary(everything, first, last),
        "summary, a district, whole period": lambda: selectors.summary(district, first, last),
        "summary, an enterprise, whole period": lambda: selectors.summary(own, first, last),
        "summary, everything, HS chapter 33 (goods rollup)": lambda: selectors.summary(
            everything, first, last, filters={"hs_chapter": "33"}
        ),
        "series by day, everything, last 30 days": lambda: selectors.series(everything, month_ago, last, "day"),
        "series by month, everything, whole period": lambda: selectors.series(everything, first, last, "month"),
        "series by month and ebc, everything": lambda: selectors.series(everything, first, last, "month", "ebc"),
        "series by month and HS chapter, everything (goods rollup)": lambda: selectors.series(
            everything, first, last, "month", "hs_chapter"
        ),
        "series by month and country, an enterprise (goods rollup)": lambda: selectors.series(
            own, first, last, "month", "country"
        ),
        "regional balance by city": lambda: selectors.regional_balance(everything, first, last, "city"),
        "regional balance by park": lambda: selectors.regional_balance(everything, first, last, "park"),
        "top failing rules": lambda: selectors.top_failing_rules(everything, first, last),
    }
    client = Client(HTTP_HOST="127.0.0.1")
    period = {"date_from": first.isoformat(), "date_to": last.isoformat()}
    superuser_key = keys[0][1]

    def api(path: str, key: str, **params: str) -> Callable[[], Any]:
        def call() -> Any:
            response = client.get(
                f"/api/v1/monitoring/{path}", {**period, **params}, HTTP_AUTHORIZATION=f"Bearer {key}"
            )
            if response.status_code != 200:
                msg = f"{path} answered {response.status_code}: {response.content[:300]!r}"
                raise RuntimeError(msg)
            return response

        return call

    cases["API summary JSON, everything"] = api("summary", superuser_key)
    cases["API summary CSV, everything"] = api("summary", superuser_key, format="csv")
    cases["API series JSON, by month and HS chapter"] = api(
        "series", superuser_key, interval="month", dimension="hs_chapter"
    )
    cases["API series CSV, by day"] = api("series", superuser_key, interval="day", format="csv")
    if enterprise is not None:
        enterprise_key = keys[1][1]
        cases["API summary JSON, an enterprise"] = api("summary", enterprise_key)
        cases["API series JSON, an enterprise, by month and country"] = api(
            "series", enterprise_key, interval="month", dimension="country"
        )
    rows = {
        "list": DailyListFigures.objects.count(),
        "goods": DailyGoodsFigures.objects.count(),
        "rules": DailyRuleFailures.objects.count(),
    }
    results: dict[str, Any] = {
        "database": connection.settings_dict.get("NAME"),
        "period": [first.isoformat(), last.isoformat()],
        "rollup_rows": rows,
        "calls": args.calls,
        "timings": {},
    }
    _say(f"database {results['database']}, {first}..{last}, rollup rows {rows}, {args.calls} calls each")
    _say(f"{'call':<62} {'p50 ms':>8} {'p95 ms':>8}")
    try:
        for name, call in cases.items():
            timing = _time(call, args.calls)
            results["timings"][name] = timing
            _say(f"{name:<62} {timing['p50_ms']:>8} {timing['p95_ms']:>8}")
    finally:
        ApiKey.objects.filter(pk__in=[key.pk for key, _raw in keys]).delete()
    if args.json is not None:
        args.json.write_text(json.dumps(results, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
