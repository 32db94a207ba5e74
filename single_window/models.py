"""The registry: parks, enterprises and their roles, appointments, credentials and partners."""

from __future__ import annotations

import datetime
from typing import ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.models import TimeStampedModel
from single_window.codes import CUSTOMS_CODE_SQL_REGEX, USCC_SQL_REGEX
from single_window.event_types import NAME_MAX_LENGTH as EVENT_TYPE_MAX_LENGTH

DISTRICT_SQL_REGEX = r"^[0-9]{4}$"


class ParkKind(models.TextChoices):
    COMPREHENSIVE = "comprehensive", _("comprehensive park")
    BONDED_ZONE = "bonded_zone", _("bonded zone")
    LOGISTICS_CENTRE = "logistics_centre", _("logistics centre")


class Park(TimeStampedModel):
    """A park of the offline integrated platform, where enterprises and warehouses cluster."""

    Kind = ParkKind

    code = models.CharField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=200)
    city = models.CharField(_("city"), max_length=100)
    customs_district = models.CharField(_("customs district"), max_length=4)
    kind = models.CharField(_("kind"), max_length=32, choices=ParkKind.choices)

    class Meta:
        verbose_name = _("park")
        verbose_name_plural = _("parks")
        ordering = ("code",)
        constraints = [
            models.CheckConstraint(
                condition=Q(customs_district__regex=DISTRICT_SQL_REGEX), name="park_district_4_digits"
            ),
            models.CheckConstraint(condition=Q(kind__in=ParkKind.values), name="park_kind_valid"),
        ]
        indexes = [
            # Regulator scoping in the admin: parks of a customs district.
            models.Index(fields=["customs_district"], name="park_district_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class Role(models.TextChoices):
    EBP = "ebp", _("e-commerce platform")
    EBC = "ebc", _("e-commerce enterprise")
    PAY = "pay", _("payment enterprise")
    LOGISTICS = "logistics", _("logistics enterprise")
    AGENT = "agent", _("declaring agent")
    AREA = "area", _("bonded warehouse operator")
    FINANCE = "finance", _("financial institution")


class EnterpriseStatus(models.TextChoices):
    PENDING = "pending", _("pending")
    ACTIVE = "active", _("active")
    SUSPENDED = "suspended", _("suspended")


class Enterprise(TimeStampedModel):
    Status = EnterpriseStatus

    customs_code = models.CharField(_("customs code"), max_length=10, null=True, blank=True, unique=True)
    uscc = models.CharField(_("unified social credit code"), max_length=18, null=True, blank=True, unique=True)
    name = models.CharField(_("name"), max_length=200)
    status = models.CharField(
        _("status"), max_length=16, choices=EnterpriseStatus.choices, default=EnterpriseStatus.PENDING
    )
    park = models.ForeignKey(
        Park, verbose_name=_("park"), null=True, blank=True, on_delete=models.PROTECT, related_name="enterprises"
    )
    contact_name = models.CharField(_("contact name"), max_length=100, blank=True)
    contact_phone = models.CharField(_("contact phone"), max_length=32, blank=True)
    contact_email = models.EmailField(_("contact email"), blank=True)

    audit_masked: ClassVar[tuple[str, ...]] = ("contact_name", "contact_phone", "contact_email")

    class Meta:
        verbose_name = _("enterprise")
        verbose_name_plural = _("enterprises")
        ordering = ("name",)
        constraints = [
            models.CheckConstraint(
                condition=Q(customs_code__isnull=False) | Q(uscc__isnull=False), name="enterprise_has_a_code"
            ),
            models.CheckConstraint(
                condition=Q(customs_code__isnull=True) | Q(customs_code__regex=CUSTOMS_CODE_SQL_REGEX),
                name="enterprise_customs_code_format",
            ),
            models.CheckConstraint(
                condition=Q(uscc__isnull=True) | Q(uscc__regex=USCC_SQL_REGEX), name="enterprise_uscc_format"
            ),
            models.CheckConstraint(condition=Q(status__in=EnterpriseStatus.values), name="enterprise_status_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"

    @property
    def code(self) -> str:
        """The code documents name this enterprise by: customs code first, else the USCC."""
        return self.customs_code or self.uscc or ""

    @property
    def codes(self) -> list[str]:
        """Every code documents may name this enterprise by: its customs code and its USCC."""
        return [code for code in (self.customs_code, self.uscc) if code]

    @property
    def roles(self) -> set[str]:
        return {r.role for r in self.role_set.all()}

    def has_role(self, role: str) -> bool:
        return role in self.roles


class EnterpriseRole(models.Model):
    enterprise = models.ForeignKey(Enterprise, on_delete=models.CASCADE, related_name="role_set")
    role = models.CharField(_("role"), max_length=16, choices=Role.choices)

    class Meta:
        verbose_name = _("role")
        verbose_name_plural = _("roles")
        constraints = [
            models.UniqueConstraint(fields=["enterprise", "role"], name="enterprise_role_unique"),
            models.CheckConstraint(condition=Q(role__in=Role.values), name="enterprise_role_valid"),
        ]

    def __str__(self) -> str:
        return str(self.get_role_display())


class Appointment(TimeStampedModel):
    """An e-commerce enterprise (principal) appoints an agent to declare for it."""

    principal = models.ForeignKey(
        Enterprise, verbose_name=_("principal"), on_delete=models.PROTECT, related_name="appointments_given"
    )
    agent = models.ForeignKey(
        Enterprise, verbose_name=_("agent"), on_delete=models.PROTECT, related_name="appointments_received"
    )
    valid_from = models.DateField(_("valid from"))
    valid_to = models.DateField(_("valid to"))
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)

    class Meta:
        verbose_name = _("appointment")
        verbose_name_plural = _("appointments")
        ordering = ("-valid_from",)
        constraints = [
            models.CheckConstraint(condition=Q(valid_to__gte=models.F("valid_from")), name="appointment_period_valid"),
            models.CheckConstraint(condition=~Q(principal=models.F("agent")), name="appointment_not_self"),
            models.UniqueConstraint(fields=["principal", "agent", "valid_from"], name="appointment_unique_start"),
        ]
        indexes = [
            # "May this agent act for that principal today?": WHERE agent = ? AND principal = ?
            models.Index(fields=["agent", "principal", "valid_to"], name="appointment_lookup_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.principal.code} → {self.agent.code} ({self.valid_from} to {self.valid_to})"

    def is_valid_on(self, day: object) -> bool:
        return self.revoked_at is None and self.valid_from <= day <= self.valid_to  # type: ignore[operator]


class ApiKey(models.Model):
    """A bearer credential. The key is shown once; only its HMAC-SHA256 digest is kept.

    A key belongs to an enterprise (the enterprise API) or to a regulator (the regulators'
    endpoints), never both.
    """

    enterprise = models.ForeignKey(
        Enterprise,
        verbose_name=_("enterprise"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="api_keys",
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("regulator"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="api_keys",
    )
    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(_("prefix"), max_length=16, unique=True)
    digest = models.CharField(_("digest"), max_length=64, unique=True)
    throttle_rate = models.CharField(
        _("throttle rate"), max_length=32, blank=True, help_text=_("For example 100/min; empty for the default.")
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    created_by = models.CharField(_("created by"), max_length=200)
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)

    audit_excluded: ClassVar[tuple[str, ...]] = ("digest",)

    class Meta:
        verbose_name = _("API key")
        verbose_name_plural = _("API keys")
        ordering = ("-created_at",)
        constraints = [
            models.CheckConstraint(
                condition=(Q(enterprise__isnull=False) & Q(user__isnull=True))
                | (Q(enterprise__isnull=True) & Q(user__isnull=False)),
                name="api_key_one_owner",
            ),
            models.CheckConstraint(
                condition=Q(throttle_rate__regex=r"^([0-9]+/(s|sec|m|min|h|hour|d|day))?$"), name="api_key_rate_format"
            ),
        ]
        indexes = [
            # The key list of an enterprise and the active-key limit.
            models.Index(fields=["enterprise", "revoked_at"], name="api_key_owner_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.name})"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    def revoke(self) -> None:
        self.revoked_at = timezone.now()


class RegulatorScope(models.Model):
    """A customs district or a park a regulator works on; a regulator may hold several."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("regulator"), on_delete=models.CASCADE, related_name="regulator_scopes"
    )
    customs_district = models.CharField(_("customs district"), max_length=4, blank=True)
    park = models.ForeignKey(Park, verbose_name=_("park"), null=True, blank=True, on_delete=models.CASCADE)

    class Meta:
        verbose_name = _("regulator scope")
        verbose_name_plural = _("regulator scopes")
        constraints = [
            models.CheckConstraint(
                condition=(Q(customs_district="") & Q(park__isnull=False))
                | (Q(customs_district__regex=DISTRICT_SQL_REGEX) & Q(park__isnull=True)),
                name="regulator_scope_district_or_park",
            ),
        ]

    def __str__(self) -> str:
        return self.customs_district or str(self.park)


class PartnerKind(models.TextChoices):
    CUSTOMS = "customs", _("customs")
    PAYMENT = "payment", _("payment company")
    CARRIER = "carrier", _("carrier")


class Partner(TimeStampedModel):
    """An outside system that exchanges signed webhooks with the single window."""

    Kind = PartnerKind

    code = models.CharField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(_("kind"), max_length=16, choices=PartnerKind.choices)
    enterprise = models.ForeignKey(
        Enterprise, verbose_name=_("enterprise"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    endpoint_url = models.URLField(_("endpoint URL"), blank=True)
    signing_secret_encrypted = models.TextField(_("signing secret (encrypted)"))
    active = models.BooleanField(_("active"), default=True)

    audit_excluded: ClassVar[tuple[str, ...]] = ("signing_secret_encrypted",)

    class Meta:
        verbose_name = _("partner")
        verbose_name_plural = _("partners")
        ordering = ("code",)
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=PartnerKind.values), name="partner_kind_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class CertificateAlgorithm(models.TextChoices):
    RSA = "rsa", _("RSA")
    SM2 = "sm2", _("SM2")


FINGERPRINT_SQL_REGEX = r"^[0-9a-f]{64}$"


class EnterpriseCertificate(TimeStampedModel):
    """A signing certificate an enterprise registered with the single window.

    Customs checks that a declaration list is signed by the declaring enterprise (-621015); the
    single window checks the same against these. Certificates are revoked, never deleted: a
    signature verified yesterday must still name the certificate that verified it.
    """

    Algorithm = CertificateAlgorithm

    enterprise = models.ForeignKey(
        Enterprise, verbose_name=_("enterprise"), on_delete=models.PROTECT, related_name="certificates"
    )
    certificate_pem = models.TextField(_("certificate (PEM)"))
    fingerprint_sha256 = models.CharField(
        _("SHA-256 fingerprint"), max_length=64, unique=True, help_text=_("Of the DER encoding, lowercase hex.")
    )
    serial_number = models.CharField(_("serial number"), max_length=64, help_text=_("Hexadecimal."))
    subject = models.CharField(_("subject"), max_length=500)
    algorithm = models.CharField(_("key algorithm"), max_length=8, choices=CertificateAlgorithm.choices)
    not_before = models.DateTimeField(_("valid from"))
    not_after = models.DateTimeField(_("valid until"))
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)

    # Public, but long: the fingerprint names it in the audit log.
    audit_excluded: ClassVar[tuple[str, ...]] = ("certificate_pem",)

    class Meta:
        verbose_name = _("enterprise certificate")
        verbose_name_plural = _("enterprise certificates")
        ordering = ("-created_at", "-id")
        constraints = [
            models.CheckConstraint(
                condition=Q(algorithm__in=CertificateAlgorithm.values), name="certificate_algorithm_valid"
            ),
            models.CheckConstraint(
                condition=Q(not_after__gt=models.F("not_before")), name="certificate_validity_period"
            ),
            models.CheckConstraint(
                condition=Q(fingerprint_sha256__regex=FINGERPRINT_SQL_REGEX), name="certificate_fingerprint_format"
            ),
            models.CheckConstraint(
                condition=Q(revoked_at__isnull=True) | Q(revoked_at__gte=models.F("created_at")),
                name="certificate_revoked_after_created",
            ),
        ]
        indexes = [
            # Signature verification and the enterprise's own list: the enterprise's certificates
            # not revoked (WHERE enterprise_id = ? AND revoked_at IS NULL).
            models.Index(fields=["enterprise", "revoked_at"], name="certificate_owner_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.subject[:80]} ({self.fingerprint_sha256[:16]}…)"

    def is_usable_at(self, moment: datetime.datetime) -> bool:
        """Not revoked and inside its validity period at ``moment``."""
        return self.revoked_at is None and self.not_before <= moment <= self.not_after


class SigningKeyAlgorithm(models.TextChoices):
    RSA = "rsa", _("RSA (rsa-sha1 signatures)")


class EnterpriseSigningKey(models.Model):
    """The key the single window signs an enterprise's customs messages with (JSON submissions).

    Customs checks that the declaring enterprise signed a list (-621015), so the gateway signs
    each message with the declaring enterprise's own key, never with a key of the platform. The
    private key is kept encrypted (``core.crypto``, bound to the enterprise) and is never shown
    again, nor written to the audit log. Its certificate is also one of the enterprise's
    ``EnterpriseCertificate`` rows, so what the gateway signs verifies like what the enterprise
    signs itself. One active key per enterprise; a new one replaces it.
    """

    Algorithm = SigningKeyAlgorithm

    enterprise = models.ForeignKey(
        Enterprise, verbose_name=_("enterprise"), on_delete=models.PROTECT, related_name="signing_keys"
    )
    certificate = models.ForeignKey(
        EnterpriseCertificate, verbose_name=_("certificate"), on_delete=models.PROTECT, related_name="signing_keys"
    )
    private_key_encrypted = models.TextField(_("private key (encrypted)"))
    certificate_pem = models.TextField(_("certificate (PEM)"))
    algorithm = models.CharField(_("algorithm"), max_length=8, choices=SigningKeyAlgorithm.choices)
    fingerprint_sha256 = models.CharField(
        _("certificate SHA-256 fingerprint"), max_length=64, help_text=_("Of the certificate's DER encoding.")
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)

    audit_excluded: ClassVar[tuple[str, ...]] = ("private_key_encrypted", "certificate_pem")

    class Meta:
        verbose_name = _("signing key")
        verbose_name_plural = _("signing keys")
        ordering = ("-created_at", "-id")
        constraints = [
            # Also the gateway's lookup: WHERE enterprise_id = ? AND revoked_at IS NULL.
            models.UniqueConstraint(
                fields=["enterprise"], condition=Q(revoked_at__isnull=True), name="signing_key_one_active"
            ),
            models.CheckConstraint(condition=Q(algorithm__in=SigningKeyAlgorithm.values), name="signing_key_algorithm"),
            models.CheckConstraint(
                condition=Q(fingerprint_sha256__regex=FINGERPRINT_SQL_REGEX), name="signing_key_fingerprint_format"
            ),
            models.CheckConstraint(
                condition=Q(revoked_at__isnull=True) | Q(revoked_at__gte=models.F("created_at")),
                name="signing_key_revoked_after_created",
            ),
        ]
        indexes = [
            # The enterprise's key list, newest first.
            models.Index(fields=["enterprise", "-created_at"], name="signing_key_owner_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.enterprise_id}: {self.fingerprint_sha256[:16]}…"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class InboundMessage(models.Model):
    """A message as it reached the single window, kept encrypted: it holds personal data.

    Written for every customs-XML submission, so what an enterprise sent can be shown
    later exactly as it came, with what the single window answered for each document.
    """

    class Channel(models.TextChoices):
        API_XML = "api_xml", _("customs XML over the API")

    sender = models.ForeignKey(Enterprise, verbose_name=_("sender"), on_delete=models.PROTECT, related_name="+")
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices)
    message_type = models.CharField(_("message type"), max_length=32)
    message_guid = models.CharField(_("message guid"), max_length=64, blank=True)
    body_encrypted = models.TextField(_("body (encrypted)"))
    body_sha256 = models.CharField(_("body SHA-256"), max_length=64)
    outcome = models.JSONField(_("outcome per document"), default=list)
    received_at = models.DateTimeField(_("received at"), auto_now_add=True)

    audit_excluded: ClassVar[tuple[str, ...]] = ("body_encrypted",)

    class Meta:
        verbose_name = _("inbound message")
        verbose_name_plural = _("inbound messages")
        ordering = ("-received_at",)
        indexes = [
            # A sender's messages, newest first.
            models.Index(fields=["sender", "-received_at"], name="inbound_sender_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.message_type} {self.message_guid}"


# --- Outbox, events and outbound webhooks ----------------------------------------------------


class OutboxDestination(models.TextChoices):
    CUSTOMS = "customs", _("customs")
    PARTNER = "partner", _("partner")
    WEBHOOK = "webhook", _("enterprise webhook")


class OutboxState(models.TextChoices):
    PENDING = "pending", _("pending")
    SENDING = "sending", _("sending")
    SENT = "sent", _("sent")
    DEAD = "dead", _("dead")
    DISCARDED = "discarded", _("discarded")


# States that hold back later messages of the same ordering key.
OUTBOX_UNSENT_STATES = (OutboxState.PENDING, OutboxState.SENDING, OutboxState.DEAD)


class WebhookEndpoint(TimeStampedModel):
    """Where an enterprise receives its events, signed per Standard Webhooks.

    During a rotation the previous secret keeps signing (a second signature) until
    ``previous_secret_expires_at``. Deleting an endpoint sets ``deleted_at``: its delivery log
    stays readable to the admin.
    """

    enterprise = models.ForeignKey(
        Enterprise, verbose_name=_("enterprise"), on_delete=models.PROTECT, related_name="webhook_endpoints"
    )
    url = models.URLField(_("URL"), max_length=500)
    event_types = models.JSONField(_("event types"), default=list)
    secret_encrypted = models.TextField(_("secret (encrypted)"))
    previous_secret_encrypted = models.TextField(_("previous secret (encrypted)"), blank=True)
    previous_secret_expires_at = models.DateTimeField(_("previous secret expires at"), null=True, blank=True)
    active = models.BooleanField(_("active"), default=True)
    deleted_at = models.DateTimeField(_("deleted at"), null=True, blank=True)

    audit_excluded: ClassVar[tuple[str, ...]] = ("secret_encrypted", "previous_secret_encrypted")

    class Meta:
        verbose_name = _("webhook endpoint")
        verbose_name_plural = _("webhook endpoints")
        ordering = ("-created_at", "-id")
        constraints = [
            models.CheckConstraint(
                condition=Q(previous_secret_encrypted="") | Q(previous_secret_expires_at__isnull=False),
                name="webhook_previous_secret_expires",
            ),
        ]
        indexes = [
            # event_publish: the enterprise's live endpoints (WHERE enterprise_id = ? AND deleted_at IS NULL).
            models.Index(fields=["enterprise", "deleted_at"], name="webhook_endpoint_owner_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.url} ({self.enterprise_id})"


class OutboxMessage(models.Model):
    """A message to an outside system, written in the transaction of the change that causes it.

    The relay (``single_window.outbox``) delivers it at least once. Messages sharing an
    ``ordering_key`` leave in id order: while an earlier one is pending, sending or dead, the
    later ones wait. The payload is always stored encrypted: the hub can't tell which payloads
    hold personal data, and AES-GCM costs nothing next to an HTTP call.
    """

    Destination = OutboxDestination
    State = OutboxState

    destination_kind = models.CharField(_("destination kind"), max_length=16, choices=OutboxDestination.choices)
    destination = models.CharField(
        _("destination"), max_length=200, help_text=_("Partner code, endpoint id or URL: the sender's to interpret.")
    )
    # Owner of a webhook delivery: the enterprise sees it in its delivery log.
    webhook_endpoint = models.ForeignKey(
        WebhookEndpoint,
        verbose_name=_("webhook endpoint"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="deliveries",
    )
    event = models.ForeignKey(
        "single_window.Event",
        verbose_name=_("event"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    ordering_key = models.CharField(_("ordering key"), max_length=200)
    message_type = models.CharField(_("message type"), max_length=64)
    payload_encrypted = models.TextField(_("payload (encrypted)"))
    headers = models.JSONField(_("headers"), default=dict, blank=True)
    state = models.CharField(_("state"), max_length=16, choices=OutboxState.choices, default=OutboxState.PENDING)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt at"), default=timezone.now)
    lease_until = models.DateTimeField(_("lease until"), null=True, blank=True)
    last_error = models.CharField(_("last error"), max_length=500, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)

    audit_excluded: ClassVar[tuple[str, ...]] = ("payload_encrypted", "headers")

    class Meta:
        verbose_name = _("outbox message")
        verbose_name_plural = _("outbox messages")
        ordering = ("-id",)
        constraints = [
            models.CheckConstraint(condition=Q(state__in=OutboxState.values), name="outbox_state_valid"),
            models.CheckConstraint(
                condition=Q(destination_kind__in=OutboxDestination.values), name="outbox_destination_kind_valid"
            ),
            models.CheckConstraint(
                condition=~Q(destination_kind=OutboxDestination.WEBHOOK) | Q(webhook_endpoint__isnull=False),
                name="outbox_webhook_has_endpoint",
            ),
            models.CheckConstraint(
                condition=~Q(state=OutboxState.SENDING) | Q(lease_until__isnull=False), name="outbox_sending_has_lease"
            ),
            models.CheckConstraint(
                condition=~Q(state=OutboxState.SENT) | Q(sent_at__isnull=False), name="outbox_sent_has_sent_at"
            ),
        ]
        indexes = [
            # The relay's claim: WHERE state = 'pending' AND next_attempt_at <= now()
            models.Index(fields=["next_attempt_at"], condition=Q(state="pending"), name="outbox_due_idx"),
            # The relay's claim of abandoned rows: WHERE state = 'sending' AND lease_until <= now()
            models.Index(fields=["lease_until"], condition=Q(state="sending"), name="outbox_lease_idx"),
            # The ordering check: an earlier unsent row of the key (WHERE ordering_key = ? AND id < ?).
            models.Index(
                fields=["ordering_key", "id"],
                condition=Q(state__in=["pending", "sending", "dead"]),
                name="outbox_unsent_key_idx",
            ),
            # The delivery log of an endpoint, newest first.
            models.Index(fields=["webhook_endpoint", "-id"], name="outbox_endpoint_idx"),
            # The admin's dead letters.
            models.Index(fields=["state", "-id"], name="outbox_state_idx"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.message_type} → {self.destination_kind}:{self.destination}"


class OutboxAttempt(models.Model):
    """One try at delivering an outbox message: what came back and how long it took."""

    message = models.ForeignKey(
        OutboxMessage, verbose_name=_("message"), on_delete=models.CASCADE, related_name="attempt_log"
    )
    number = models.PositiveIntegerField(_("number"))
    started_at = models.DateTimeField(_("started at"))
    status_code = models.PositiveSmallIntegerField(_("status code"), null=True, blank=True)
    error = models.CharField(_("error"), max_length=500, blank=True)
    latency_ms = models.PositiveIntegerField(_("latency (ms)"))
    response_excerpt = models.CharField(_("response excerpt"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("delivery attempt")
        verbose_name_plural = _("delivery attempts")
        ordering = ("message", "started_at", "id")
        constraints = [
            models.CheckConstraint(
                condition=Q(status_code__isnull=False) | ~Q(error=""), name="outbox_attempt_has_outcome"
            ),
        ]
        indexes = [
            # The attempts of one message, in order (delivery log, admin inline).
            models.Index(fields=["message", "started_at"], name="outbox_attempt_message_idx"),
        ]

    def __str__(self) -> str:
        return f"#{self.message_id}/{self.number}: {self.status_code or self.error}"


class Event(models.Model):
    """Something an enterprise is told about, in its own sequence (the feed and the webhooks).

    ``sequence`` counts per enterprise with no gaps among committed events and commits in
    order (``single_window.events.event_publish``). Payloads carry ids, keys, statuses, codes
    and amounts, never names, phones, addresses or ID numbers.

    ``type`` names a type some app registered (``single_window.event_types``). The register
    lives in code, so ``event_publish`` checks it rather than a constraint: a constraint would
    list other systems' types in the hub's schema.
    """

    enterprise = models.ForeignKey(
        Enterprise, verbose_name=_("enterprise"), on_delete=models.PROTECT, related_name="events"
    )
    sequence = models.PositiveBigIntegerField(_("sequence"))
    type = models.CharField(_("type"), max_length=EVENT_TYPE_MAX_LENGTH)
    subject = models.CharField(_("subject"), max_length=100, blank=True, help_text=_("For example inventory:81."))
    payload = models.JSONField(_("payload"), default=dict)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("event")
        verbose_name_plural = _("events")
        ordering = ("enterprise", "sequence")
        constraints = [
            # Also the feed's index: WHERE enterprise_id = ? AND sequence > ? ORDER BY sequence.
            models.UniqueConstraint(fields=["enterprise", "sequence"], name="event_sequence_unique"),
            models.CheckConstraint(condition=~Q(type=""), name="event_type_not_empty"),
            models.CheckConstraint(condition=Q(sequence__gte=1), name="event_sequence_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.enterprise_id}#{self.sequence} {self.type}"


class EventCounter(models.Model):
    """The last sequence given to an enterprise's events; locked by each publishing transaction."""

    enterprise = models.OneToOneField(
        Enterprise, verbose_name=_("enterprise"), primary_key=True, on_delete=models.CASCADE, related_name="+"
    )
    last_sequence = models.PositiveBigIntegerField(_("last sequence"), default=0)

    class Meta:
        verbose_name = _("event counter")
        verbose_name_plural = _("event counters")

    def __str__(self) -> str:
        return f"{self.enterprise_id}: {self.last_sequence}"


SUBSCRIBER_NAME_MAX_LENGTH = 64


class SubscriptionCursor(models.Model):
    """How far a subscriber of the product (``single_window.subscriptions``) has read the events.

    Every event up to ``last_event_id`` has been handed to the subscriber or was of no type it
    follows; the move commits with what the subscriber wrote for those events. ``gap_at`` is an
    id below a visible one and not visible itself (its transaction still open, or rolled back):
    the cursor waits there until every transaction in ``gap_waiting_on`` (those writing events
    when the gap was first seen) has ended. ``failures`` counts the runs in a row whose handler
    raised on ``failing_event_id``.
    """

    name = models.CharField(_("subscriber"), max_length=SUBSCRIBER_NAME_MAX_LENGTH, unique=True)
    last_event_id = models.PositiveBigIntegerField(_("last event id"), default=0)
    gap_at = models.PositiveBigIntegerField(_("waiting for event id"), null=True, blank=True)
    gap_waiting_on = models.JSONField(_("transactions waited for"), default=list, blank=True)
    gap_seen_at = models.DateTimeField(_("gap seen at"), null=True, blank=True)
    failures = models.PositiveIntegerField(_("failures in a row"), default=0)
    failing_event_id = models.PositiveBigIntegerField(_("failing event id"), null=True, blank=True)
    last_error = models.CharField(_("last error"), max_length=500, blank=True)
    last_error_at = models.DateTimeField(_("last error at"), null=True, blank=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("event subscription")
        verbose_name_plural = _("event subscriptions")
        ordering = ("name",)
        constraints = [
            models.CheckConstraint(condition=~Q(name=""), name="subscription_cursor_named"),
            models.CheckConstraint(
                condition=Q(gap_at__isnull=True) | Q(gap_at__gt=models.F("last_event_id")),
                name="subscription_cursor_gap_ahead",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} @ {self.last_event_id}"


class InboxMessage(models.Model):
    """A partner's message as it arrived (body encrypted), and what became of it."""

    class State(models.TextChoices):
        RECEIVED = "received", _("received")
        APPLIED = "applied", _("applied")
        UNREADABLE = "unreadable", _("could not be applied")

    partner = models.ForeignKey(Partner, verbose_name=_("partner"), on_delete=models.PROTECT, related_name="inbox")
    message_id = models.CharField(_("webhook id"), max_length=100)
    message_type = models.CharField(_("message type"), max_length=40, blank=True)
    content_type = models.CharField(_("content type"), max_length=100)
    body_encrypted = models.TextField(_("body (encrypted)"))
    state = models.CharField(_("state"), max_length=12, choices=State.choices, default=State.RECEIVED)
    note = models.CharField(_("note"), max_length=500, blank=True)
    received_at = models.DateTimeField(_("received at"), auto_now_add=True)
    applied_at = models.DateTimeField(_("applied at"), null=True, blank=True)

    audit_excluded: ClassVar[tuple[str, ...]] = ("body_encrypted",)

    class Meta:
        verbose_name = _("inbox message")
        verbose_name_plural = _("inbox")
        ordering = ("-received_at",)
        constraints = [
            # A partner's message id is applied once, however often it is delivered.
            models.UniqueConstraint(fields=["partner", "message_id"], name="inbox_message_once"),
        ]
        indexes = [
            # The sweep: WHERE state = 'received' ORDER BY received_at
            models.Index(fields=["state", "received_at"], name="inbox_state_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.partner_id}:{self.message_id} {self.message_type}"
