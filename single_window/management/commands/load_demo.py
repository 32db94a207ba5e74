"""Demo data for a workstation: parks, an enterprise of every role, partners, a regulator.

Demo data only where it belongs: with ``DEBUG`` off (production settings) it refuses to run
unless ``ALLOW_DEMO_DATA`` is true (``single_window/demo_guard.py``).

Safe to run again: records are found by code, earlier demo keys are revoked and new ones
printed, and written to ``var/demo-keys.env`` (mode 0600, ``KEY_<code>=...``) for ``make keys``
and ``manage.py send_demo_parcel``; the single window keeps only their digests.

The partner simulators (``simulators/``) need what a real partner is given at onboarding: the
partner's webhook signing secret and the certificates of the enterprises that sign. Each run
rotates the demo partners' secrets and writes them, never to the console, with the simulators'
addresses to ``var/simulators.env`` (mode 0600), which ``runstack`` reads; the demo declaring
agent and seller get an RSA key and certificate (``var/demo-keys/``), registered here and copied
for the customs simulator to ``var/simulator-certificates/<code>.pem``, and kept as their
signing keys for the gateway. The demo agent also gets the certificate the committed signed
example list (``docs/examples/xml/CEB621Message.xml``) was signed with, so that file is
accepted as it is by a fresh demo.
"""

from __future__ import annotations

import datetime
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from django.conf import settings
from django.contrib.auth.models import Group, User
from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction
from django.utils import timezone

from core.audit import Actor
from core.services import model_update
from single_window import selectors, services
from single_window.codes import uscc_check_character
from single_window.demo_guard import DEMO_KEY_NAME, refuse_demo_data
from single_window.models import (
    ApiKey,
    Enterprise,
    EnterpriseCertificate,
    EnterpriseSigningKey,
    EnterpriseStatus,
    Park,
    ParkKind,
    Partner,
    PartnerKind,
    RegulatorScope,
    Role,
)
from single_window.roles import AUDITOR, COMMERCE_BUREAU, CUSTOMS_OFFICER

ACTOR = Actor.system("load_demo")
DEMO_KEYS_ENV_FILE = "demo-keys.env"
# The certificate of the key that signed docs/examples/xml/CEB621Message.xml (the key itself is
# not kept): registered for the demo agent, so the committed example is accepted by any demo.
EXAMPLE_SIGNER = "3301960005"
EXAMPLE_CERTIFICATE = Path(settings.BASE_DIR) / "docs" / "examples" / "xml" / f"{EXAMPLE_SIGNER}.demo.crt.pem"

PARKS = [
    ("HZ-XS", "杭州下沙综合保税区 Xiasha Comprehensive Bonded Zone", "Hangzhou", "2901", ParkKind.BONDED_ZONE),
    ("HZ-KG", "杭州空港跨境电商园 Airport Cross-border Park", "Hangzhou", "2902", ParkKind.COMPREHENSIVE),
    ("NB-BL", "宁波保税物流中心 Ningbo Bonded Logistics Centre", "Ningbo", "3104", ParkKind.LOGISTICS_CENTRE),
]


def _uscc(body17: str) -> str:
    return body17 + uscc_check_character(body17)


# customs code, USCC body, name, roles, park
ENTERPRISES = [
    ("3301960001", "91330100MA2H0B4X1", "天猫国际示例平台 Demo Platform", [Role.EBP], "HZ-KG"),
    ("3301960002", "91330100MA2H0B4X2", "杭州示例跨境电商有限公司 Demo Seller", [Role.EBC], "HZ-XS"),
    ("3301960003", "91330100MA2H0B4X3", "示例支付有限公司 Demo Pay", [Role.PAY], "HZ-KG"),
    ("3301960004", "91330100MA2H0B4X4", "示例国际物流有限公司 Demo Logistics", [Role.LOGISTICS], "HZ-XS"),
    ("3301960005", "91330100MA2H0B4X5", "杭州示例报关有限公司 Demo Customs Broker", [Role.AGENT], "HZ-XS"),
    ("3301960006", "91330100MA2H0B4X6", "下沙示例保税仓储有限公司 Demo Bonded Warehouse", [Role.AREA], "HZ-XS"),
    ("3301960007", "91330100MA2H0B4X7", "示例银行杭州分行 Demo Bank", [Role.FINANCE], "HZ-KG"),
    ("3301960008", "91330100MA2H0B4X8", "全链示例集团 Demo Group (platform and seller)", [Role.EBP, Role.EBC], "NB-BL"),
]

# The partners the simulators play: code, name, kind, path of the simulator's endpoint.
PARTNERS = [
    ("CUSTOMS-HZ", "杭州海关 Hangzhou Customs (simulator)", PartnerKind.CUSTOMS, "customs", "/ceb"),
    ("PAY-DEMO", "示例支付 Demo Pay (simulator)", PartnerKind.PAYMENT, "payment", "/verify"),
    # The demo carrier's tracking webhooks: a carrier partner reports for the logistics code its
    # partner code names (the demo logistics enterprise's).
    ("3301960004", "示例国际物流 Demo Logistics (carrier simulator)", PartnerKind.CARRIER, "carrier", "/waybills"),
]
# The enterprises that sign customs messages in the demo: the declaring agent (lists) and the seller.
SIGNING_ENTERPRISES = ("3301960005", "3301960002", "3301960004", "3301960006")
CERTIFICATE_DAYS = 730

REGULATORS = [
    ("officer", CUSTOMS_OFFICER, "2901"),
    ("analyst", COMMERCE_BUREAU, "2902"),
    ("auditor", AUDITOR, "2901"),
]


class Command(BaseCommand):
    help = "Load demo parks, enterprises of every role, partners and regulators, and print keys and logins."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--admin-password", default="", help="password for the 'admin' superuser (random if empty)")
        parser.add_argument(
            "--simulator-host",
            default=os.environ.get("SIMULATOR_HOST", "127.0.0.1"),
            help="address the partner simulators listen on (env SIMULATOR_HOST)",
        )
        parser.add_argument(
            "--customs-port",
            type=int,
            default=int(os.environ.get("SIM_CUSTOMS_PORT", "8201")),
            help="port of the customs simulator (env SIM_CUSTOMS_PORT)",
        )
        parser.add_argument(
            "--payment-port",
            type=int,
            default=int(os.environ.get("SIM_PAYMENT_PORT", "8202")),
            help="port of the payment simulator (env SIM_PAYMENT_PORT)",
        )
        parser.add_argument(
            "--carrier-port",
            type=int,
            default=int(os.environ.get("SIM_CARRIER_PORT", "8203")),
            help="port of the carrier simulator (env SIM_CARRIER_PORT)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        refuse_demo_data("load_demo")
        self._load(options)

    @transaction.atomic
    def _load(self, options: dict[str, Any]) -> None:
        parks = {code: self._park(code, name, city, district, kind) for code, name, city, district, kind in PARKS}
        keys: list[tuple[Enterprise, str]] = []
        for customs_code, body, name, roles, park in ENTERPRISES:
            enterprise = self._enterprise(customs_code, _uscc(body), name, roles, parks[park])
            for old in ApiKey.objects.filter(enterprise=enterprise, name=DEMO_KEY_NAME, revoked_at__isnull=True):
                services.api_key_revoke(api_key=old, actor=ACTOR)
            _key, raw = services.api_key_issue(
                enterprise=enterprise, name=DEMO_KEY_NAME, actor=ACTOR, enforce_limit=False
            )
            keys.append((enterprise, raw))

        seller = Enterprise.objects.get(customs_code="3301960002")
        broker = Enterprise.objects.get(customs_code="3301960005")
        if not selectors.appointment_valid(principal=seller, agent=broker):
            today = selectors.today()
            services.appointment_create(
                principal=seller,
                agent=broker,
                valid_from=today.replace(month=1, day=1),
                valid_to=today.replace(month=12, day=31) + datetime.timedelta(days=365),
                actor=ACTOR,
            )
        host = options["simulator_host"]
        ports = {
            "customs": options["customs_port"],
            "payment": options["payment_port"],
            "carrier": options["carrier_port"],
        }
        simulator_env: dict[str, str] = {}
        for code, name, kind, simulator, path in PARTNERS:
            endpoint_url = f"http://{host}:{ports[simulator]}{path}"
            secret = _partner_with_fresh_secret(code=code, name=name, kind=kind, endpoint_url=endpoint_url)
            prefix = f"SIM_{simulator.upper()}"
            simulator_env |= {
                f"{prefix}_HOST": host,
                f"{prefix}_PORT": str(ports[simulator]),
                f"{prefix}_SECRET": secret,
            }
        var = Path(settings.VAR_DIR)
        certificates = var / "simulator-certificates"
        demo_signing_keys_install(
            codes=SIGNING_ENTERPRISES, keys_directory=var / "demo-keys", certificates_directory=certificates
        )
        example_certificate_install(path=EXAMPLE_CERTIFICATE, code=EXAMPLE_SIGNER, certificates_directory=certificates)
        simulator_env["SIM_CUSTOMS_CERTIFICATES"] = str(certificates)
        # Written once the secrets are committed, so the file never holds a secret the database lacks.
        transaction.on_commit(lambda: write_env_file(var / SIMULATORS_ENV_FILE, simulator_env))
        transaction.on_commit(lambda: write_demo_keys_file(var / DEMO_KEYS_ENV_FILE, keys))

        password = options["admin_password"] or secrets.token_urlsafe(12)
        logins = [("admin", password, "superuser")]
        self._user("admin", password, superuser=True)
        for username, group, district in REGULATORS:
            self._user(username, password, group=group, district=district)
            logins.append((username, password, f"{group}, district {district}"))
        self._print(keys, logins)
        self.stdout.write(
            f"Partner secrets rotated; the simulators' settings are in {var / SIMULATORS_ENV_FILE} (not printed).\n"
            f"Demo signing keys of {', '.join(SIGNING_ENTERPRISES)}: {var / 'demo-keys'}\n"
        )

    def _park(self, code: str, name: str, city: str, district: str, kind: str) -> Park:
        park, _created = Park.objects.update_or_create(
            code=code, defaults={"name": name, "city": city, "customs_district": district, "kind": kind}
        )
        return park

    def _enterprise(self, customs_code: str, uscc: str, name: str, roles: list[Role], park: Park) -> Enterprise:
        existing = Enterprise.objects.filter(customs_code=customs_code).first()
        if existing is not None:
            return existing
        return services.enterprise_register(
            customs_code=customs_code,
            uscc=uscc,
            name=name,
            roles=roles,
            park=park,
            status=EnterpriseStatus.ACTIVE,
            actor=ACTOR,
        )

    def _user(
        self, username: str, password: str, *, superuser: bool = False, group: str = "", district: str = ""
    ) -> None:
        user, _created = User.objects.get_or_create(username=username)
        user.is_staff = True
        user.is_superuser = superuser
        user.set_password(password)
        user.save()
        if group:
            user.groups.set([Group.objects.get(name=group)])
            RegulatorScope.objects.get_or_create(user=user, customs_district=district)

    def _print(self, keys: list[tuple[Enterprise, str]], logins: list[tuple[str, str, str]]) -> None:
        out = self.stdout
        out.write(
            f"\nDemo API keys (Authorization: Bearer <key>), also in {Path(settings.VAR_DIR) / DEMO_KEYS_ENV_FILE}:"
        )
        for enterprise, raw in keys:
            out.write(f"  {enterprise.customs_code}  {','.join(sorted(enterprise.roles)):<14} {raw}")
            out.write(f"              {enterprise.name}")
        out.write("\nRegulator logins for /admin/:")
        for username, password, what in logins:
            out.write(f"  {username:<8} {password}   ({what})")
        out.write("")


# --- Partner simulators ----------------------------------------------------------------------

SIMULATORS_ENV_FILE = "simulators.env"


def _partner_with_fresh_secret(*, code: str, name: str, kind: str, endpoint_url: str) -> str:
    """Register the demo partner, or rotate its secret and point it at its simulator; the secret."""
    partner = Partner.objects.filter(code=code).first()
    if partner is None:
        _partner, secret = services.partner_register(
            code=code, name=name, kind=kind, endpoint_url=endpoint_url, actor=ACTOR
        )
        return secret
    model_update(instance=partner, data={"endpoint_url": endpoint_url}, actor=ACTOR)
    return services.partner_rotate_secret(partner=partner, actor=ACTOR)


def write_env_file(path: Path, values: Mapping[str, str]) -> None:
    """``NAME=value`` lines, readable by the owner only (the file holds signing secrets)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = "# Written by `manage.py load_demo` for `manage.py runstack`; secrets: do not share.\n"
    text += "".join(f"{name}={value}\n" for name, value in sorted(values.items()))
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.write(text)
    path.chmod(0o600)  # an older file keeps its mode through O_CREAT


def write_demo_keys_file(path: Path, keys: list[tuple[Enterprise, str]]) -> None:
    """``KEY_<customs code>=<key>`` for each demo enterprise, under a comment naming it and its
    roles; readable by the owner only. ``read_env_file`` reads it back."""
    lines = [
        "# Demo API keys, written by `manage.py load_demo` (each run issues new ones and revokes these).",
        "# Authorization: Bearer <key>. `make keys` prints this file; `manage.py send_demo_parcel` reads it.",
    ]
    for enterprise, raw in keys:
        lines += [
            f"# {enterprise.name} ({', '.join(sorted(enterprise.roles))})",
            f"KEY_{enterprise.customs_code}={raw}",
        ]
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.write("\n".join(lines) + "\n")
    path.chmod(0o600)  # an older file keeps its mode through O_CREAT


def read_env_file(path: Path) -> dict[str, str]:
    """What ``write_env_file`` wrote; an empty dict when there is no file."""
    if not path.exists():
        return {}
    values = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        name, sep, value = line.partition("=")
        if sep and not line.startswith("#"):
            values[name.strip()] = value.strip()
    return values


@dataclass(frozen=True)
class DemoKeyPair:
    private_key_pem: bytes
    certificate_pem: bytes


def demo_key_pair(*, code: str, directory: Path) -> DemoKeyPair:
    """The enterprise's demo RSA key and self-signed certificate, made once and kept in
    ``directory`` (``<code>.key.pem`` mode 0600, ``<code>.crt.pem``); remade when expired."""
    key_path, certificate_path = directory / f"{code}.key.pem", directory / f"{code}.crt.pem"
    if key_path.exists() and certificate_path.exists():
        pair = DemoKeyPair(key_path.read_bytes(), certificate_path.read_bytes())
        certificate = x509.load_pem_x509_certificate(pair.certificate_pem)
        if certificate.not_valid_after_utc > timezone.now() + datetime.timedelta(days=1):
            return pair
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"{code} demo signing key")])
    start = timezone.now() - datetime.timedelta(days=1)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + datetime.timedelta(days=CERTIFICATE_DAYS))
        .sign(key, hashes.SHA256())
    )
    pair = DemoKeyPair(
        private_key_pem=key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ),
        certificate_pem=certificate.public_bytes(serialization.Encoding.PEM),
    )
    directory.mkdir(parents=True, exist_ok=True)
    directory.chmod(0o700)
    descriptor = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        file.write(pair.private_key_pem)
    certificate_path.write_bytes(pair.certificate_pem)
    return pair


def demo_signing_keys_install(*, codes: tuple[str, ...], keys_directory: Path, certificates_directory: Path) -> None:
    """Give each demo enterprise a signing key: kept in the single window's key store (the
    gateway signs JSON-submitted lists with it), its certificate registered, and the certificate
    written as ``<code>.pem`` where the customs simulator reads its registry. The key files stay
    in ``keys_directory`` for whoever signs XML for the demo. A re-run with the same key changes
    nothing.
    """
    certificates_directory.mkdir(parents=True, exist_ok=True)
    for code in codes:
        enterprise = Enterprise.objects.get(customs_code=code)
        pair = demo_key_pair(code=code, directory=keys_directory)
        facts = services.certificate_facts(certificate_pem=pair.certificate_pem.decode())
        in_use = EnterpriseSigningKey.objects.filter(
            enterprise=enterprise, fingerprint_sha256=facts.fingerprint_sha256, revoked_at__isnull=True
        )
        if not in_use.exists():
            services.signing_key_register(
                enterprise=enterprise,
                private_key_pem=pair.private_key_pem.decode(),
                certificate_pem=facts.certificate_pem,
                actor=ACTOR,
            )
        (certificates_directory / f"{code}.pem").write_bytes(pair.certificate_pem)


def example_certificate_install(*, path: Path, code: str, certificates_directory: Path) -> None:
    """Register the committed example signer's certificate for ``code`` (once), and add it to the
    certificates the customs simulator knows for ``code`` (its ``<code>.pem`` may hold several),
    so the committed signed example is accepted by the single window and forwarded to customs
    as it came. Nothing happens when the file is absent or the certificate has expired."""
    if not path.is_file():
        return
    pem = path.read_bytes()
    facts = services.certificate_facts(certificate_pem=pem.decode())
    if facts.not_after <= timezone.now():
        return
    enterprise = Enterprise.objects.get(customs_code=code)
    if not EnterpriseCertificate.objects.filter(fingerprint_sha256=facts.fingerprint_sha256).exists():
        services.certificate_register(enterprise=enterprise, certificate_pem=facts.certificate_pem, actor=ACTOR)
    registry = certificates_directory / f"{code}.pem"
    known = registry.read_bytes() if registry.exists() else b""
    if pem.strip() not in known:
        registry.write_bytes(known.rstrip() + b"\n" + pem if known else pem)
