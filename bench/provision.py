"""The benchmark's registry, made as an area onboards its enterprises and partners.

``python -m bench.djangorun bench.provision --customs-url URL --payment-url URL
--certificates DIR --keys DIR --out FILE``, in the stack's environment:

1. each enterprise of ``bench.enterprises`` by ``manage.py register_enterprise``;
2. the e-commerce enterprise appoints the broker (for the year, as ``load_demo`` does);
3. the customs and payment partners, pointed at the simulators; their signing secrets;
4. the signing keys of the enterprises that sign, made and registered as ``load_demo`` makes
   the demo's (``demo_signing_keys_install``), certificates where the customs simulator reads them,
   and the seller's guarantee account (it guarantees its lists' tax), as ``make run`` opens the demo's;
5. an API key per enterprise by ``manage.py issue_api_key`` (the key is its last line).

The keys and partner secrets go to ``--out`` (mode 0600), never to the console.
"""

from __future__ import annotations

import argparse
import datetime
import io
import json
import os
from collections.abc import Sequence
from pathlib import Path

from django.core.management import call_command
from django.db import transaction

from bench.enterprises import CUSTOMS_PARTNER, ENTERPRISES, PAYMENT_PARTNER
from core.audit import Actor
from single_window import selectors, services
from single_window.codes import uscc_check_character
from single_window.management.commands.load_demo import demo_signing_keys_install
from single_window.models import Enterprise, PartnerKind

ACTOR = Actor.system("bench")


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="bench.provision")
    parser.add_argument("--customs-url", required=True, help="the customs simulator's base URL")
    parser.add_argument("--payment-url", required=True, help="the payment simulator's base URL")
    parser.add_argument("--certificates", type=Path, required=True, help="the customs simulator's certificates")
    parser.add_argument("--keys", type=Path, required=True, help="where the signing keys are kept")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    # 1.
    for enterprise in ENTERPRISES:
        call_command(
            "register_enterprise",
            customs_code=enterprise.customs_code,
            uscc=enterprise.uscc_body + uscc_check_character(enterprise.uscc_body),
            name=enterprise.name,
            roles=[enterprise.role],
            stdout=io.StringIO(),
        )
    by_key = {e.key: Enterprise.objects.get(customs_code=e.customs_code) for e in ENTERPRISES}
    with transaction.atomic():
        # 2.
        today = selectors.today()
        services.appointment_create(
            principal=by_key["seller"],
            agent=by_key["broker"],
            valid_from=today - datetime.timedelta(days=1),
            valid_to=today + datetime.timedelta(days=365),
            actor=ACTOR,
        )
        # 3.
        _customs, customs_secret = services.partner_register(
            code=CUSTOMS_PARTNER,
            name="海关 Customs (simulator)",
            kind=PartnerKind.CUSTOMS,
            endpoint_url=args.customs_url.rstrip("/") + "/ceb",
            actor=ACTOR,
        )
        _payment, payment_secret = services.partner_register(
            code=PAYMENT_PARTNER,
            name="支付 Payment company (simulator)",
            kind=PartnerKind.PAYMENT,
            endpoint_url=args.payment_url.rstrip("/") + "/verify",
            actor=ACTOR,
        )
        # 4.
        demo_signing_keys_install(
            codes=tuple(e.customs_code for e in ENTERPRISES if e.signs),
            keys_directory=args.keys,
            certificates_directory=args.certificates,
        )
    # The e-commerce enterprise guarantees its lists' tax (assureCode): its account covers a long run.
    call_command(
        "guarantee_account",
        by_key["seller"].customs_code,
        amount="1000000000",
        reason="bench: the seller's guarantee",
        stdout=io.StringIO(),
    )
    # 5.
    keys = {}
    for enterprise in ENTERPRISES:
        out = io.StringIO()
        call_command("issue_api_key", enterprise.customs_code, name="bench", stdout=out, stderr=io.StringIO())
        keys[enterprise.key] = out.getvalue().strip().splitlines()[-1]
    descriptor = os.open(args.out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        json.dump({"keys": keys, "partner_secrets": {"customs": customs_secret, "payment": payment_secret}}, file)
    return 0
