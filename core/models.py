"""The base model every table of the project shares."""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class TimeStampedModel(models.Model):
    created_at = models.DateTimeField(_("created at"), auto_now_add=True, db_index=False)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        abstract = True


class AuditQuerySet(models.QuerySet["AuditEntry"]):
    def update(self, **kwargs: object) -> int:
        raise AppendOnlyError("audit entries are never changed")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError("audit entries are never deleted")


class AppendOnlyError(Exception):
    pass


class AuditAction(models.TextChoices):
    CREATE = "create", _("create")
    UPDATE = "update", _("update")
    DELETE = "delete", _("delete")
    REVOKE = "revoke", _("revoke")
    ISSUE = "issue", _("issue")
    UNMASK = "unmask", _("unmask")


class AuditEntry(models.Model):
    """One change made by a person, an enterprise or a command. Append-only.

    Personal data in ``before``/``after`` is masked and secrets are left out before a row is
    written (see ``core.audit``); on PostgreSQL a trigger refuses UPDATE and DELETE as well.
    """

    Action = AuditAction

    # The time it was recorded, also when it is inserted later with others (``core.deferred``).
    at = models.DateTimeField(_("at"), default=timezone.now, editable=False)
    actor = models.CharField(_("actor"), max_length=200)
    actor_user = models.ForeignKey(
        "auth.User", verbose_name=_("user"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    actor_enterprise_id = models.BigIntegerField(_("enterprise id"), null=True, blank=True)
    action = models.CharField(_("action"), max_length=16, choices=AuditAction.choices)
    object_type = models.CharField(_("object type"), max_length=100)
    object_id = models.CharField(_("object id"), max_length=64)
    object_repr = models.CharField(_("object"), max_length=200)
    before = models.JSONField(_("before"), null=True, blank=True)
    after = models.JSONField(_("after"), null=True, blank=True)
    reason = models.CharField(_("reason"), max_length=300, blank=True)

    objects = AuditQuerySet.as_manager()

    class Meta:
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit log")
        ordering = ("-at", "-id")
        indexes = [
            # The admin's history of one object: WHERE object_type = ? AND object_id = ?
            models.Index(fields=["object_type", "object_id", "-at"], name="audit_object_idx"),
            # The admin's list, newest first.
            models.Index(fields=["-at"], name="audit_at_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(action__in=AuditAction.values), name="audit_action_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.actor} {self.action} {self.object_repr}"

    def save(self, *args: object, **kwargs: object) -> None:
        if not self._state.adding:
            raise AppendOnlyError("audit entries are never changed")
        super().save(*args, **kwargs)  # type: ignore[arg-type]

    def delete(self, *args: object, **kwargs: object) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError("audit entries are never deleted")


class IdempotencyRecord(models.Model):
    """A POST made with an ``Idempotency-Key``: its fingerprint, and its answer once done.

    The answer is stored encrypted: it may hold personal data of the sender's documents.
    """

    class State(models.TextChoices):
        IN_FLIGHT = "in_flight", _("in flight")
        DONE = "done", _("done")

    owner_id = models.BigIntegerField(_("enterprise id"))
    endpoint = models.CharField(_("endpoint"), max_length=200)
    key = models.CharField(_("key"), max_length=255)
    fingerprint = models.CharField(_("request fingerprint"), max_length=64)
    state = models.CharField(_("state"), max_length=16, choices=State.choices, default=State.IN_FLIGHT)
    response_status = models.PositiveSmallIntegerField(_("response status"), null=True, blank=True)
    response_content_type = models.CharField(_("response content type"), max_length=100, blank=True)
    response_body_encrypted = models.TextField(_("response body (encrypted)"), blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    expires_at = models.DateTimeField(_("expires at"))

    class Meta:
        verbose_name = _("idempotency record")
        verbose_name_plural = _("idempotency records")
        constraints = [
            models.UniqueConstraint(fields=["owner_id", "endpoint", "key"], name="idempotency_key_unique"),
            models.CheckConstraint(
                condition=models.Q(state="in_flight") | models.Q(response_status__isnull=False),
                name="idempotency_done_has_response",
            ),
        ]
        indexes = [
            # The purge task: DELETE ... WHERE expires_at < now()
            models.Index(fields=["expires_at"], name="idempotency_expiry_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.owner_id} {self.endpoint} {self.key}"


class WorkerHeartbeat(models.Model):
    """When a Celery worker last ran the periodic heartbeat task; one row per worker.

    In the database, not Redis: health reads it to report a Redis outage too.
    """

    name = models.CharField(_("worker"), max_length=200)
    beat_at = models.DateTimeField(_("beat at"))

    class Meta:
        verbose_name = _("worker heartbeat")
        verbose_name_plural = _("worker heartbeats")
        constraints = [models.UniqueConstraint(fields=["name"], name="worker_heartbeat_name_unique")]

    def __str__(self) -> str:
        return f"{self.name} {self.beat_at:%Y-%m-%d %H:%M:%S}"
