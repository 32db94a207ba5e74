"""Writes to the registry. Each service owns its transaction and audits in it."""

from __future__ import annotations

import base64
import datetime
import hashlib
import hmac
import secrets
from collections.abc import Iterable
from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from core import errors
from core.audit import Actor, audit_record, snapshot
from core.crypto import decrypt_bytes, encrypt_bytes, encrypt_text
from core.errors import ApiError, Conflict, FieldError, InvalidInput
from core.models import AuditEntry
from core.services import model_update
from single_window import error_codes, registry_cache, selectors
from single_window.codes import USCC_PATTERN, is_valid_customs_code, is_valid_uscc
from single_window.error_codes import SIGNING_KEY_CERTIFICATE_UNUSABLE, SIGNING_KEY_INVALID, SIGNING_KEY_MISMATCH
from single_window.models import (
    ApiKey,
    Appointment,
    Enterprise,
    EnterpriseCertificate,
    EnterpriseRole,
    EnterpriseSigningKey,
    InboundMessage,
    Park,
    Partner,
    Role,
)

API_KEY_PREFIX = "sw"
# sw_<8 prefix characters>_<43 secret characters>: the prefix finds nothing by itself, it
# only lets people tell keys apart in lists and logs.
API_KEY_PREFIX_LEN = 8
LAST_USED_RESOLUTION = datetime.timedelta(minutes=1)


class ApiKeyInvalid(ApiError):
    status_code = 401
    default_code = errors.API_KEY_INVALID
    default_detail = _("The API key is not valid.")


class ApiKeyRevoked(ApiKeyInvalid):
    default_code = errors.API_KEY_REVOKED
    default_detail = _("The API key has been revoked.")


# --- Enterprises -------------------------------------------------------------------------


def validate_enterprise_codes(*, customs_code: str | None, uscc: str | None) -> list[FieldError]:
    problems: list[FieldError] = []
    if not customs_code and not uscc:
        problems.append(
            FieldError(
                None, errors.ENTERPRISE_CODE_REQUIRED, _("A customs code or a unified social credit code is required.")
            )
        )
    if customs_code and not is_valid_customs_code(customs_code):
        problems.append(
            FieldError("customs_code", errors.CUSTOMS_CODE_FORMAT, _("A customs code is 10 digits or capital letters."))
        )
    if uscc and not USCC_PATTERN.fullmatch(uscc):
        problems.append(
            FieldError(
                "uscc", errors.USCC_FORMAT, _("A unified social credit code is 18 characters of the GB 32100 alphabet.")
            )
        )
    elif uscc and not is_valid_uscc(uscc):
        problems.append(
            FieldError(
                "uscc",
                errors.USCC_CHECK_CHARACTER,
                _("The check character of the unified social credit code is wrong."),
            )
        )
    return problems


@transaction.atomic
def enterprise_register(
    *,
    name: str,
    roles: Iterable[str],
    actor: Actor,
    customs_code: str | None = None,
    uscc: str | None = None,
    park: Park | None = None,
    status: str = Enterprise.Status.PENDING,
    contact_name: str = "",
    contact_phone: str = "",
    contact_email: str = "",
) -> Enterprise:
    customs_code = (customs_code or "").strip().upper() or None
    uscc = (uscc or "").strip().upper() or None
    problems = validate_enterprise_codes(customs_code=customs_code, uscc=uscc)
    unknown = set(roles) - set(Role.values)
    if unknown:
        problems.append(FieldError("roles", errors.INVALID, _("Unknown role.")))
    if problems:
        raise InvalidInput(_("The enterprise is not valid."), errors=problems)
    enterprise = Enterprise(
        customs_code=customs_code,
        uscc=uscc,
        name=name,
        park=park,
        status=status,
        contact_name=contact_name,
        contact_phone=contact_phone,
        contact_email=contact_email,
    )
    try:
        with transaction.atomic():
            enterprise.save()
    except IntegrityError as exc:
        raise Conflict(_("An enterprise with this code is already registered."), code=errors.CONFLICT) from exc
    EnterpriseRole.objects.bulk_create([EnterpriseRole(enterprise=enterprise, role=r) for r in sorted(set(roles))])
    audit_record(
        actor=actor,
        action=AuditEntry.Action.CREATE,
        instance=enterprise,
        after=snapshot(enterprise, extra={"roles": sorted(set(roles))}),
    )
    return enterprise


@transaction.atomic
def enterprise_set_status(*, enterprise: Enterprise, status: str, actor: Actor, reason: str = "") -> Enterprise:
    model_update(instance=enterprise, data={"status": status}, actor=actor, reason=reason)
    return enterprise


# --- Appointments --------------------------------------------------------------------------


@transaction.atomic
def appointment_create(
    *, principal: Enterprise, agent: Enterprise, valid_from: datetime.date, valid_to: datetime.date, actor: Actor
) -> Appointment:
    problems: list[FieldError] = []
    if principal.pk == agent.pk:
        problems.append(FieldError("agent_code", errors.INVALID, _("An enterprise cannot appoint itself.")))
    if not agent.has_role(Role.AGENT):
        problems.append(
            FieldError("agent_code", errors.ROLE_REQUIRED, _("The appointed enterprise is not a declaring agent."))
        )
    if valid_to < valid_from:
        problems.append(FieldError("valid_to", errors.INVALID, _("The appointment ends before it starts.")))
    if problems:
        raise InvalidInput(_("The appointment is not valid."), errors=problems)
    appointment = Appointment(principal=principal, agent=agent, valid_from=valid_from, valid_to=valid_to)
    try:
        with transaction.atomic():
            appointment.save()
    except IntegrityError as exc:
        raise Conflict(_("This agent already holds an appointment starting that day.")) from exc
    audit_record(actor=actor, action=AuditEntry.Action.CREATE, instance=appointment, after=snapshot(appointment))
    return appointment


@transaction.atomic
def appointment_revoke(*, appointment: Appointment, actor: Actor) -> Appointment:
    if appointment.revoked_at is None:
        model_update(
            instance=appointment, data={"revoked_at": timezone.now()}, actor=actor, action=AuditEntry.Action.REVOKE
        )
    return appointment


# --- API keys ------------------------------------------------------------------------------


def api_key_digest(raw_key: str) -> str:
    secret = settings.API_KEY_HMAC_SECRET
    if not secret:
        raise ImproperlyConfigured("API_KEY_HMAC_SECRET is empty.")
    return hmac.new(secret.encode(), raw_key.encode(), hashlib.sha256).hexdigest()


def _new_raw_key() -> tuple[str, str]:
    alphabet = "abcdefghijkmnpqrstuvwxyz23456789"
    prefix = "".join(secrets.choice(alphabet) for _ in range(API_KEY_PREFIX_LEN))
    return f"{API_KEY_PREFIX}_{prefix}", f"{API_KEY_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"


@transaction.atomic
def api_key_issue(
    *,
    name: str,
    actor: Actor,
    enterprise: Enterprise | None = None,
    user_id: int | None = None,
    throttle_rate: str = "",
    enforce_limit: bool = True,
) -> tuple[ApiKey, str]:
    """Create a key and return it with its plaintext, which is never available again.

    Enterprises hold a bounded number of active keys; the count is taken under a lock on
    the enterprise row so that two parallel requests can't both take the last place.
    """
    if enterprise is not None and enforce_limit:
        Enterprise.objects.select_for_update().filter(pk=enterprise.pk).first()
        if selectors.active_api_key_count(enterprise=enterprise) >= settings.API_KEY_MAX_ACTIVE_PER_ENTERPRISE:
            raise Conflict(
                _("The enterprise already holds the largest number of active keys; revoke one first."),
                code=errors.API_KEY_LIMIT_REACHED,
                extra={"limit": settings.API_KEY_MAX_ACTIVE_PER_ENTERPRISE},
            )
    prefix, raw_key = _new_raw_key()
    api_key = ApiKey.objects.create(
        enterprise=enterprise,
        user_id=user_id,
        name=name,
        prefix=prefix,
        digest=api_key_digest(raw_key),
        throttle_rate=throttle_rate,
        created_by=actor.label[:200],
    )
    audit_record(actor=actor, action=AuditEntry.Action.ISSUE, instance=api_key, after=snapshot(api_key))
    return api_key, raw_key


@transaction.atomic
def api_key_revoke(*, api_key: ApiKey, actor: Actor) -> ApiKey:
    """Revoke a key; revoking a revoked key changes nothing."""
    if api_key.revoked_at is None:
        model_update(
            instance=api_key, data={"revoked_at": timezone.now()}, actor=actor, action=AuditEntry.Action.REVOKE
        )
    return api_key


def api_key_authenticate(*, raw_key: str) -> ApiKey:
    """The key behind ``raw_key``, with its owner loaded; raises when unknown or revoked.

    Runs on every request. The key and its owner come from the registry's process cache
    (``selectors.api_key_get_by_digest``): no query on a hit, one on a miss, and at most
    ``REGISTRY_CACHE_SECONDS`` old, so a revoked key stops working within that bound in every
    process. ``last_used_at`` is written at most once a minute.
    """
    digest = api_key_digest(raw_key)
    api_key = selectors.api_key_get_by_digest(digest=digest)
    if api_key is None:
        raise ApiKeyInvalid
    if api_key.revoked_at is not None:
        raise ApiKeyRevoked
    now = timezone.now()
    if api_key.last_used_at is None or now - api_key.last_used_at >= LAST_USED_RESOLUTION:
        # Conditional on the stored value, not the cached one (which may lag): of many
        # parallel requests, in this process or others, one writes a minute.
        ApiKey.objects.filter(
            Q(last_used_at__isnull=True) | Q(last_used_at__lte=now - LAST_USED_RESOLUTION), pk=api_key.pk
        ).update(last_used_at=now)
        api_key.last_used_at = now
        # The cached key remembers it, so this process tries again in a minute, not at
        # every request until its entry expires.
        registry_cache.note_api_key_used(digest=digest, at=now)
    return api_key


# --- Partners ------------------------------------------------------------------------------


def new_signing_secret() -> str:
    """A Standard Webhooks secret: ``whsec_`` and base64 of 32 random bytes."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


@transaction.atomic
def partner_register(
    *, code: str, name: str, kind: str, actor: Actor, endpoint_url: str = "", enterprise: Enterprise | None = None
) -> tuple[Partner, str]:
    """Register a partner and return its signing secret, shown this once."""
    secret = new_signing_secret()
    try:
        with transaction.atomic():
            partner = Partner.objects.create(
                code=code,
                name=name,
                kind=kind,
                endpoint_url=endpoint_url,
                enterprise=enterprise,
                signing_secret_encrypted=encrypt_text(secret),
            )
    except IntegrityError as exc:
        raise Conflict(_("A partner with this code is already registered.")) from exc
    audit_record(actor=actor, action=AuditEntry.Action.CREATE, instance=partner, after=snapshot(partner))
    return partner, secret


@transaction.atomic
def partner_rotate_secret(*, partner: Partner, actor: Actor) -> str:
    secret = new_signing_secret()
    # The secret is left out of the audit view, so the entry records the rotation by its reason.
    model_update(
        instance=partner,
        data={"signing_secret_encrypted": encrypt_text(secret)},
        actor=actor,
        reason="signing secret rotated",
    )
    return secret


# --- Certificates --------------------------------------------------------------------------

# SM2 keys are id-ecPublicKey on the curve 1.2.156.10197.1.301, which cryptography doesn't load.
_SM2_CURVE_OID_DER = bytes.fromhex("06082a811ccf5501822d")
MIN_RSA_KEY_BITS = 1024  # the customs sample certificates are RSA-1024


class CertificateInvalid(InvalidInput):
    default_code = error_codes.CERTIFICATE_INVALID
    default_detail = _("The certificate is not valid.")


class CertificateExpired(InvalidInput):
    default_code = error_codes.CERTIFICATE_EXPIRED
    default_detail = _("The certificate has expired.")


class CertificateDuplicate(Conflict):
    default_code = error_codes.CERTIFICATE_DUPLICATE
    default_detail = _("This certificate is already registered.")


@dataclass(frozen=True)
class CertificateFacts:
    """What the registry keeps of a certificate, read from its PEM."""

    certificate_pem: str
    fingerprint_sha256: str
    serial_number: str
    subject: str
    algorithm: str
    not_before: datetime.datetime
    not_after: datetime.datetime


def _invalid_certificate(message: str | Promise) -> CertificateInvalid:
    return CertificateInvalid(message, errors=[FieldError("certificate_pem", error_codes.CERTIFICATE_INVALID, message)])


def certificate_facts(*, certificate_pem: str) -> CertificateFacts:
    """Parse one PEM certificate; raises ``CertificateInvalid`` for anything else."""
    try:
        certificates = x509.load_pem_x509_certificates(certificate_pem.strip().encode())
    except ValueError:
        raise _invalid_certificate(_("This is not a PEM-encoded X.509 certificate.")) from None
    if len(certificates) != 1:
        raise _invalid_certificate(_("Send one certificate, without its chain."))
    certificate = certificates[0]
    der = certificate.public_bytes(serialization.Encoding.DER)
    try:
        public_key = certificate.public_key()
    except (UnsupportedAlgorithm, ValueError):  # SM2 curves, among others
        public_key = None
    if isinstance(public_key, rsa.RSAPublicKey):
        if public_key.key_size < MIN_RSA_KEY_BITS:
            raise _invalid_certificate(_("The RSA key is shorter than 1024 bits."))
        algorithm = EnterpriseCertificate.Algorithm.RSA
    elif _SM2_CURVE_OID_DER in certificate.tbs_certificate_bytes:
        algorithm = EnterpriseCertificate.Algorithm.SM2
    else:
        raise _invalid_certificate(_("The certificate's key is neither RSA nor SM2."))
    return CertificateFacts(
        certificate_pem=certificate.public_bytes(serialization.Encoding.PEM).decode(),
        fingerprint_sha256=hashlib.sha256(der).hexdigest(),
        serial_number=format(certificate.serial_number, "x"),
        subject=certificate.subject.rfc4514_string()[:500],
        algorithm=algorithm,
        not_before=certificate.not_valid_before_utc,
        not_after=certificate.not_valid_after_utc,
    )


def certificate_validate(*, certificate_pem: str) -> CertificateFacts:
    """Everything ``certificate_register`` checks before it writes (the admin form uses it).

    Refused: anything but one RSA or SM2 X.509 certificate (400 certificate_invalid), an
    expired one (400 certificate_expired), one already registered, by this enterprise or
    another (409 certificate_duplicate: a certificate signs for one enterprise only).
    """
    facts = certificate_facts(certificate_pem=certificate_pem)
    if facts.not_after <= timezone.now():
        message = _("The certificate expired on %(date)s.") % {"date": facts.not_after.date().isoformat()}
        raise CertificateExpired(
            message, errors=[FieldError("certificate_pem", error_codes.CERTIFICATE_EXPIRED, message)]
        )
    if EnterpriseCertificate.objects.filter(fingerprint_sha256=facts.fingerprint_sha256).exists():
        raise _duplicate_certificate()
    return facts


def _duplicate_certificate() -> CertificateDuplicate:
    return CertificateDuplicate(
        errors=[FieldError("certificate_pem", error_codes.CERTIFICATE_DUPLICATE, CertificateDuplicate.default_detail)]
    )


@transaction.atomic
def certificate_register(*, enterprise: Enterprise, certificate_pem: str, actor: Actor) -> EnterpriseCertificate:
    """Register a signing certificate for ``enterprise``; refusals as ``certificate_validate``."""
    facts = certificate_validate(certificate_pem=certificate_pem)
    certificate = EnterpriseCertificate(
        enterprise=enterprise,
        certificate_pem=facts.certificate_pem,
        fingerprint_sha256=facts.fingerprint_sha256,
        serial_number=facts.serial_number,
        subject=facts.subject,
        algorithm=facts.algorithm,
        not_before=facts.not_before,
        not_after=facts.not_after,
    )
    try:
        with transaction.atomic():
            certificate.save()
    except IntegrityError as exc:  # registered in parallel
        raise _duplicate_certificate() from exc
    audit_record(actor=actor, action=AuditEntry.Action.CREATE, instance=certificate, after=snapshot(certificate))
    return certificate


@transaction.atomic
def certificate_revoke(*, certificate: EnterpriseCertificate, actor: Actor) -> EnterpriseCertificate:
    """Revoke a certificate: signatures by it stop verifying. Revoking twice changes nothing."""
    if certificate.revoked_at is None:
        model_update(
            instance=certificate, data={"revoked_at": timezone.now()}, actor=actor, action=AuditEntry.Action.REVOKE
        )
    return certificate


def inbound_message_record(
    *,
    sender: Enterprise,
    channel: str,
    message_type: str,
    message_guid: str,
    body: bytes,
    outcome: list[dict[str, str]],
) -> InboundMessage:
    """Keep a received message, encrypted, with what was answered for each document."""
    return InboundMessage.objects.create(
        sender=sender,
        channel=channel,
        message_type=message_type,
        message_guid=message_guid[:64],
        body_encrypted=encrypt_bytes(body),
        body_sha256=hashlib.sha256(body).hexdigest(),
        outcome=outcome,
    )


def inbound_message_set_outcome(*, message: InboundMessage, outcome: list[dict[str, str]]) -> InboundMessage:
    """Record what was answered for each document of a message recorded before processing."""
    message.outcome = outcome
    message.save(update_fields=["outcome"])
    return message


# --- Signing keys --------------------------------------------------------------------------


class SigningKeyInvalid(InvalidInput):
    default_code = SIGNING_KEY_INVALID
    default_detail = _("The signing key is not valid.")


def _signing_key_refusal(field: str, code: str, message: str | Promise) -> SigningKeyInvalid:
    return SigningKeyInvalid(message, code=code, errors=[FieldError(field, code, message)])


def _signing_key_associated_data(enterprise_id: int) -> bytes:
    # Binds the ciphertext to its enterprise: a key copied onto another row does not decrypt.
    return f"single_window.signing_key:{enterprise_id}".encode()


def _load_rsa_private_key(private_key_pem: str) -> rsa.RSAPrivateKey:
    try:
        key = serialization.load_pem_private_key(private_key_pem.strip().encode(), password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise _signing_key_refusal(
            "private_key_pem",
            SIGNING_KEY_INVALID,
            _("This is not an unencrypted PEM private key (PKCS#8 or PKCS#1)."),
        ) from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise _signing_key_refusal(
            "private_key_pem", SIGNING_KEY_INVALID, _("Only RSA keys are taken: customs messages are signed rsa-sha1.")
        )
    if key.key_size < MIN_RSA_KEY_BITS:
        raise _signing_key_refusal("private_key_pem", SIGNING_KEY_INVALID, _("The RSA key is shorter than 1024 bits."))
    return key


def _key_certificate(*, enterprise: Enterprise, facts: CertificateFacts, actor: Actor) -> EnterpriseCertificate:
    """The enterprise's registered certificate of these facts, registering it when new."""
    existing = EnterpriseCertificate.objects.filter(fingerprint_sha256=facts.fingerprint_sha256).first()
    if existing is None:
        return certificate_register(enterprise=enterprise, certificate_pem=facts.certificate_pem, actor=actor)
    if existing.enterprise_id != enterprise.pk:
        raise _duplicate_certificate()
    if not existing.is_usable_at(timezone.now()):
        raise _signing_key_refusal(
            "certificate_pem",
            SIGNING_KEY_CERTIFICATE_UNUSABLE,
            _("This certificate is revoked or outside its validity period."),
        )
    return existing


@transaction.atomic
def signing_key_register(
    *, enterprise: Enterprise, private_key_pem: str, certificate_pem: str, actor: Actor
) -> EnterpriseSigningKey:
    """Keep ``enterprise``'s signing key, encrypted; it replaces the enterprise's active key.

    1. The key must be an unencrypted RSA private key, and the certificate (one X.509
       certificate) must carry its public key (400 ``signing_key_invalid`` /
       ``signing_key_mismatch``).
    2. The certificate is registered as the enterprise's ``EnterpriseCertificate`` unless it
       is already (refusals as ``certificate_register``; 409 if another enterprise holds it).
    3. The enterprise row is locked, its active key revoked, the new one stored; the database
       keeps one active key per enterprise. Audited without the private key.
    """
    # 1.
    key = _load_rsa_private_key(private_key_pem)
    facts = certificate_facts(certificate_pem=certificate_pem)
    certificate = x509.load_pem_x509_certificate(facts.certificate_pem.encode())
    public = serialization.PublicFormat.SubjectPublicKeyInfo
    if certificate.public_key().public_bytes(serialization.Encoding.DER, public) != key.public_key().public_bytes(
        serialization.Encoding.DER, public
    ):
        raise _signing_key_refusal(
            "certificate_pem", SIGNING_KEY_MISMATCH, _("The certificate does not carry this private key's public key.")
        )
    # 2.
    registered = _key_certificate(enterprise=enterprise, facts=facts, actor=actor)
    # 3.
    Enterprise.objects.select_for_update().filter(pk=enterprise.pk).first()
    for previous in EnterpriseSigningKey.objects.filter(enterprise=enterprise, revoked_at__isnull=True):
        signing_key_revoke(signing_key=previous, actor=actor, reason="replaced by a new signing key")
    pkcs8 = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    signing_key = EnterpriseSigningKey(
        enterprise=enterprise,
        certificate=registered,
        private_key_encrypted=encrypt_bytes(pkcs8, associated_data=_signing_key_associated_data(enterprise.pk)),
        certificate_pem=registered.certificate_pem,
        algorithm=EnterpriseSigningKey.Algorithm.RSA,
        fingerprint_sha256=registered.fingerprint_sha256,
    )
    try:
        with transaction.atomic():
            signing_key.save()
    except IntegrityError as exc:  # another key registered in parallel
        raise Conflict(_("Another signing key was registered at the same time; try again.")) from exc
    audit_record(actor=actor, action=AuditEntry.Action.CREATE, instance=signing_key, after=snapshot(signing_key))
    return signing_key


@transaction.atomic
def signing_key_revoke(*, signing_key: EnterpriseSigningKey, actor: Actor, reason: str = "") -> EnterpriseSigningKey:
    """Stop signing with a key. Its certificate stays registered (revoke it separately).

    Revoking twice changes nothing.
    """
    if signing_key.revoked_at is None:
        model_update(
            instance=signing_key,
            data={"revoked_at": timezone.now()},
            actor=actor,
            reason=reason,
            action=AuditEntry.Action.REVOKE,
        )
    return signing_key


def signing_key_private_pem(*, signing_key: EnterpriseSigningKey) -> bytes:
    """The private key in PEM, for signing the enterprise's own messages only."""
    return decrypt_bytes(
        signing_key.private_key_encrypted, associated_data=_signing_key_associated_data(signing_key.enterprise_id)
    )
