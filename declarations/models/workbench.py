"""The regulators' workbench: notes, assignments and holds on declaration lists, the audit
trail of every action taken on lists in the admin, and of every export; and the work queues,
as proxies of the list (each its own admin page, URL and permissions).

Rows are written only by ``declarations.workbench.services``; the audit trail is append-only.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from declarations.models.documents import Inventory


class ListNote(models.Model):
    """A regulator's note on a list (its text is the action's reason in the audit trail)."""

    inventory = models.ForeignKey(
        Inventory, verbose_name=_("declaration list"), on_delete=models.CASCADE, related_name="workbench_notes"
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("author"), on_delete=models.PROTECT, related_name="+"
    )
    text = models.CharField(_("text"), max_length=1000)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("note on a list")
        verbose_name_plural = _("notes on lists")
        ordering = ("-created_at", "-id")
        constraints = [models.CheckConstraint(condition=~Q(text=""), name="list_note_text_required")]
        indexes = [
            # A list's notes, newest first: WHERE inventory_id = ? ORDER BY created_at DESC
            models.Index(fields=["inventory", "-created_at"], name="list_note_list_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.inventory_id}: {self.text[:40]}"


class ListAssignment(models.Model):
    """Who works on a list: one current assignee per list; an earlier one is ended, kept."""

    inventory = models.ForeignKey(
        Inventory, verbose_name=_("declaration list"), on_delete=models.CASCADE, related_name="workbench_assignments"
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("assignee"), on_delete=models.PROTECT, related_name="+"
    )
    assigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("assigned by"), on_delete=models.PROTECT, related_name="+"
    )
    reason = models.CharField(_("reason"), max_length=1000)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True)

    class Meta:
        verbose_name = _("assignment of a list")
        verbose_name_plural = _("assignments of lists")
        ordering = ("-created_at", "-id")
        constraints = [
            models.CheckConstraint(condition=~Q(reason=""), name="list_assignment_reason_required"),
            # One current assignee per list.
            models.UniqueConstraint(
                fields=["inventory"], condition=Q(ended_at__isnull=True), name="list_assignment_one_current"
            ),
        ]
        indexes = [
            # "My lists": WHERE assignee_id = ? AND ended_at IS NULL
            models.Index(fields=["assignee"], condition=Q(ended_at__isnull=True), name="list_assignment_current_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.inventory_id} -> {self.assignee_id}"


class ListHold(models.Model):
    """A regulator's hold on a list before it reaches customs: the gateway sends no held list.
    Released, it is kept with who released it and why; one hold in force per list."""

    inventory = models.ForeignKey(
        Inventory, verbose_name=_("declaration list"), on_delete=models.CASCADE, related_name="workbench_holds"
    )
    held_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("held by"), on_delete=models.PROTECT, related_name="+"
    )
    reason = models.CharField(_("reason"), max_length=1000)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    released_at = models.DateTimeField(_("released at"), null=True, blank=True)
    released_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("released by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    release_reason = models.CharField(_("reason for the release"), max_length=1000, blank=True)

    class Meta:
        verbose_name = _("hold on a list")
        verbose_name_plural = _("holds on lists")
        ordering = ("-created_at", "-id")
        constraints = [
            models.CheckConstraint(condition=~Q(reason=""), name="list_hold_reason_required"),
            # In force (nothing of the release), or released by someone, when, and why.
            models.CheckConstraint(
                condition=Q(released_at__isnull=True, released_by__isnull=True, release_reason="")
                | (Q(released_at__isnull=False, released_by__isnull=False) & ~Q(release_reason="")),
                name="list_hold_release_complete",
            ),
            models.UniqueConstraint(
                fields=["inventory"], condition=Q(released_at__isnull=True), name="list_hold_one_in_force"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.inventory_id}: {self.reason[:40]}"


class WorkbenchActionKind(models.TextChoices):
    NOTE = "note", _("note")
    ASSIGN = "assign", _("assign")
    HOLD = "hold", _("hold")
    RELEASE = "release", _("release the hold")
    RETURN_FOR_CORRECTION = "return", _("return for correction")
    REMATCH = "rematch", _("re-run matching")


class AppendOnlyQuerySet(models.QuerySet[models.Model]):
    def update(self, **kwargs: object) -> int:
        msg = "the workbench's audit trail is never changed"
        raise TypeError(msg)

    def delete(self) -> tuple[int, dict[str, int]]:
        msg = "the workbench's audit trail is never deleted"
        raise TypeError(msg)


class WorkbenchAction(models.Model):
    """One action a regulator took on one or more lists: who, when, what, why, on which lists.
    Written in the transaction of the action's effect; append-only."""

    Kind = WorkbenchActionKind

    at = models.DateTimeField(_("at"), auto_now_add=True)
    actor = models.CharField(_("actor"), max_length=200)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.PROTECT, related_name="+"
    )
    action = models.CharField(_("action"), max_length=16, choices=WorkbenchActionKind.choices)
    reason = models.CharField(_("reason"), max_length=1000)
    # What the action set besides its reason: the assignee, the statuses the lists moved from.
    detail = models.JSONField(_("detail"), default=dict, blank=True)
    lists = models.ManyToManyField(Inventory, verbose_name=_("declaration lists"), related_name="+")

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        verbose_name = _("action on lists")
        verbose_name_plural = _("actions on lists")
        ordering = ("-at", "-id")
        # "add" is the right to act on lists (declarations.workbench.services.ACT_PERMISSION).
        default_permissions = ("add", "view")
        constraints = [
            models.CheckConstraint(condition=~Q(reason=""), name="workbench_action_reason_required"),
            models.CheckConstraint(
                condition=Q(action__in=WorkbenchActionKind.values), name="workbench_action_kind_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.actor} {self.action}"


class ListExport(models.Model):
    """One export of an admin list page: who, when, which page, its filter (the query string),
    how many rows, in which format, and whether personal data went out unmasked. Append-only."""

    class Format(models.TextChoices):
        CSV = "csv", "CSV"
        XLSX = "xlsx", "Excel (.xlsx)"

    at = models.DateTimeField(_("at"), auto_now_add=True)
    actor = models.CharField(_("actor"), max_length=200)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.PROTECT, related_name="+"
    )
    # The admin page's model, "app_label.model_name".
    page = models.CharField(_("page"), max_length=100)
    querystring = models.CharField(_("filter"), max_length=2000, blank=True)
    row_count = models.PositiveIntegerField(_("rows"))
    format = models.CharField(_("format"), max_length=4, choices=Format.choices)
    unmasked = models.BooleanField(_("personal data unmasked"), default=False)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        verbose_name = _("export")
        verbose_name_plural = _("exports")
        ordering = ("-at", "-id")
        default_permissions = ("view",)
        constraints = [
            models.CheckConstraint(condition=Q(format__in=["csv", "xlsx"]), name="list_export_format_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.actor} {self.page} ({self.row_count})"


# --- The work queues: the same lists, each queue its own admin page -------------------------------


class ListWaitingForDocuments(Inventory):
    class Meta:
        proxy = True
        default_permissions = ("view",)
        verbose_name = _("list waiting for documents")
        verbose_name_plural = _("queue: lists waiting for documents")


class ListMatchFailure(Inventory):
    class Meta:
        proxy = True
        default_permissions = ("view",)
        verbose_name = _("list that failed matching")
        verbose_name_plural = _("queue: matching failures")


class ListSendFailure(Inventory):
    class Meta:
        proxy = True
        default_permissions = ("view",)
        verbose_name = _("list that could not be sent")
        verbose_name_plural = _("queue: send failures")


class ListTaxBillDifference(Inventory):
    class Meta:
        proxy = True
        default_permissions = ("view",)
        verbose_name = _("list whose tax bill differs")
        verbose_name_plural = _("queue: tax-bill differences")
