"""The regulators' view of the import documents: read-only, scoped, personal data masked.

Names, phones and addresses are shown only to regulators holding
``declarations.view_personal_data`` (the "personal data reviewers" group has it), and each such
view is written to the audit log: who, when, which record and which fields. ID numbers are never
shown in full. A masked value says it is masked; where a matching rule failed on a personal
field, the list's page shows where the documents' values differ (a character position, never
the characters), and for ID numbers only whether they are equal.

Codes are shown with their names in the page's language ("601 Australia", "601 澳大利亚"),
amounts with their own decimals. A document's History page is its real history: a list's
moves and customs receipts, and what regulators did with it (``document_history``).

Regulators search lists by order, waybill and list number, and by a buyer's full ID number,
which is matched by its lookup hash (the plaintext is stored nowhere). The ID number is posted
by the page's buyer search form, never put in a URL: a URL is written to access logs on its way
(proxies, the web server), so a number typed into the address bar (``?q=``) is refused, not
searched. A list's page shows
its four documents side by side with the fields that failed matching marked, the latest
rule results, the tax estimate and the list's history.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from functools import cached_property
from typing import Any, ClassVar, Protocol

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.admin.views.main import PAGE_VAR, SEARCH_VAR
from django.core.exceptions import PermissionDenied
from django.db.models import Exists, Max, Model, OuterRef, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.http import urlencode
from django.utils.safestring import SafeString
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from core.admin import admin_actor
from core.audit import audit_record
from core.crypto import decrypt_text
from core.models import AuditEntry
from declarations import roles
from declarations.admin import display
from declarations.admin.actions import WorkbenchActionsMixin
from declarations.admin.exports import ExportMixin
from declarations.admin.filters import ParkFilter
from declarations.admin.history import document_history
from declarations.admin.inlines import LIST_INLINES
from declarations.clearance import matching
from declarations.clearance.rule_names import rule_name
from declarations.customs.spec import DocumentSpec
from declarations.intake.identity import id_number_hash, is_valid_resident_id, masked_id_number, normalise_id_number
from declarations.kinds import INVENTORY, ORDER, PAYMENT, WAYBILL
from declarations.models import (
    BuyerYearQuota,
    Declaration,
    Inventory,
    InventoryCancellation,
    InventoryItem,
    InventoryReturn,
    InventoryReturnItem,
    Order,
    OrderItem,
    Payment,
    RuleResult,
    TaxEstimate,
    TaxEstimateItem,
    Waybill,
)
from finance import selectors as finance
from single_window.scope import ScopedAdminMixin

UNMASK_PERMISSION = roles.UNMASK_PERMISSION
SEARCH_HELP = _("An order, waybill or list number. A buyer's ID number goes in the buyer search form.")
# The field of the buyer search form (posted to "<changelist>/buyer/").
BUYER_ID_FIELD = "id_number"
ID_NUMBER_LABELS = display.ID_NUMBER_LABELS


def _label(model: type[Model], name: str) -> Any:
    return getattr(model._meta.get_field(name), "verbose_name", name)


def _personal(model: type[Model], name: str) -> Callable[[Any, Any], Any]:
    def show(self: Any, obj: Any) -> Any:
        value = getattr(obj, name)
        if getattr(obj, "_unmasked", False) or not value:
            return value
        return display.masked(name, value)

    show.short_description = _label(model, name)  # type: ignore[attr-defined]
    return show


def _id_number(name: str) -> Callable[[Any, Any], SafeString]:
    def show(self: Any, obj: Any) -> SafeString:
        return display.masked_text(masked_id_number(decrypt_text(getattr(obj, f"{name}_encrypted"))))

    show.short_description = ID_NUMBER_LABELS.get(name, name)  # type: ignore[attr-defined]
    return show


def shown(model: type[Model], name: str) -> Callable[[Any, Any], str] | None:
    """A display of ``name`` that names its code or formats its amount; None: shown as stored."""
    if name in display.CODE_TABLES:

        def code(self: Any, obj: Any) -> str:
            return display.code_label(name, getattr(obj, name))

        code.short_description = _label(model, name)  # type: ignore[attr-defined]
        code.admin_order_field = name  # type: ignore[attr-defined]
        return code
    if name in {f.name for f in model._meta.concrete_fields if f.get_internal_type() == "DecimalField"}:

        def number(self: Any, obj: Any) -> str:
            return display.amount(name, getattr(obj, name), getattr(obj, "amount_scales", None))

        number.short_description = _label(model, name)  # type: ignore[attr-defined]
        number.admin_order_field = name  # type: ignore[attr-defined]
        return number
    return None


def add_displays(cls: Any, model: type[Model], names: tuple[str, ...]) -> tuple[str, ...]:
    """Give ``cls`` a ``<name>_shown`` display for each code and amount of ``names``; the
    names to show, in order."""
    fields = []
    for name in names:
        show = shown(model, name)
        if show is None:
            fields.append(name)
        else:
            setattr(cls, f"{name}_shown", show)
            fields.append(f"{name}_shown")
    return tuple(fields)


def is_id_number(term: str) -> bool:
    """Is ``term`` a full resident ID number (spaces and a lowercase x allowed)?"""
    return is_valid_resident_id(normalise_id_number(term))


class RegulatorAdmin(ScopedAdminMixin, ExportMixin, admin.ModelAdmin[Any]):
    """Scoped to the regulator's districts and parks (``declarations.admin.scope``: by the
    list, whose districts and parks decide who sees it and its documents); with
    ``buyer_hash_field``, searchable by a buyer's full ID number through a posted form.

    ``buyer_hash_field`` names the lookup hash a full ID number is matched against.
    """

    buyer_hash_field: ClassVar[str | None] = None
    change_list_template = "admin/declarations/regulator_change_list.html"
    # Exports (declarations.admin.exports) unmask personal fields as the pages do.
    unmask_permission = UNMASK_PERMISSION

    def get_urls(self) -> list[URLPattern]:
        urls: list[URLPattern] = super().get_urls()
        if self.buyer_hash_field is None:
            return urls
        # Before the model's "<path:object_id>/" catch-all.
        name = f"{self.opts.app_label}_{self.opts.model_name}_buyer_search"
        return [path("buyer/", self.admin_site.admin_view(self.buyer_search_view), name=name), *urls]

    def _changelist_url(self) -> str:
        return reverse(
            f"admin:{self.opts.app_label}_{self.opts.model_name}_changelist", current_app=self.admin_site.name
        )

    def buyer_search_view(self, request: HttpRequest) -> HttpResponse:
        """POST ``id_number``: back to the list page, filtered by the number's keyed lookup hash.

        The number travels in the body only; the redirect carries the hash, which names the
        buyer to no one without the server's key. Neither is logged.
        """
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        changelist = self._changelist_url()
        number = normalise_id_number(request.POST.get(BUYER_ID_FIELD, ""))
        if self.buyer_hash_field is None or not is_valid_resident_id(number):
            messages.error(request, gettext("That is not a full resident ID number; nothing was searched."))
            return HttpResponseRedirect(changelist)
        messages.info(
            request, gettext("Showing the buyer with ID number %(number)s.") % {"number": masked_id_number(number)}
        )
        return HttpResponseRedirect(f"{changelist}?{urlencode({self.buyer_hash_field: id_number_hash(number)})}")

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        """A full ID number in the query string is dropped, not searched.

        It is in the access logs already; searching it would teach the habit, and the page would
        repeat it in the search box and every link (pages, filters, ``_changelist_filters``).
        The buyer search form posts it instead.
        """
        term = request.GET.get(SEARCH_VAR, "")
        if is_id_number(term):
            query = request.GET.copy()
            query.pop(SEARCH_VAR)
            query.pop(PAGE_VAR, None)
            messages.warning(
                request,
                gettext(
                    "Search a buyer by ID number with the buyer search form: a number in the address is "
                    "written to access logs. Nothing was searched."
                ),
            )
            return HttpResponseRedirect(f"{request.path}?{query.urlencode()}" if query else request.path)
        if self.buyer_hash_field is not None:
            extra_context = {
                **(extra_context or {}),
                "buyer_search_url": f"{self._changelist_url()}buyer/",
                "buyer_id_field": BUYER_ID_FIELD,
            }
        return super().changelist_view(request, extra_context)

    def lookup_allowed(self, lookup: str, value: str, request: HttpRequest | None = None) -> bool:
        if lookup == self.buyer_hash_field:
            return True
        return super().lookup_allowed(lookup, value, request)  # type: ignore[arg-type]

    def history_view(self, request: HttpRequest, object_id: str, extra_context: dict[str, Any] | None = None) -> Any:
        """The admin's History page: the record's real history, not Django's log of admin edits
        (regulators edit no document, so that log is always empty)."""
        obj = self.get_object(request, unquote(object_id))
        if obj is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)  # type: ignore[attr-defined]
        if not self.has_view_or_change_permission(request, obj):
            raise PermissionDenied
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("History: %(record)s") % {"record": obj},
            "subtitle": None,
            "opts": self.opts,
            "object": obj,
            "history_entries": document_history(obj),
            "change_url": reverse(
                f"admin:{self.opts.app_label}_{self.opts.model_name}_change",
                args=[obj.pk],
                current_app=self.admin_site.name,
            ),
            **(extra_context or {}),
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "admin/declarations/document_history.html", context)


class ReadOnlyAdmin(RegulatorAdmin):
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class DocumentLayout(Protocol):
    """What a document admin lays its page out from: an import ``DocumentType`` or an export
    ``ExportKind``."""

    @property
    def model(self) -> type[Declaration]: ...

    @property
    def spec(self) -> DocumentSpec: ...


class DocumentAdmin(ReadOnlyAdmin):
    """Documents come from enterprises, never from regulators: nothing here changes them."""

    document_type: ClassVar[DocumentLayout]
    list_filter: ClassVar[Any] = ("status",)
    list_select_related = ("sender",)
    date_hierarchy = "updated_at"
    search_help_text = SEARCH_HELP

    document_fields: tuple[str, ...] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Lay out the change page from the field table: personal fields get masked displays,
        codes their names, amounts their decimals."""
        super().__init_subclass__(**kwargs)
        model = cls.document_type.model
        fields: list[str] = ["sender", "status", "version"]
        for field in cls.document_type.spec.head:
            if field.name.endswith("_id_number"):
                setattr(cls, f"display_{field.name}", _id_number(field.name))
                fields.append(f"display_{field.name}")
            elif field.personal:
                setattr(cls, f"display_{field.name}", _personal(model, field.name))
                fields.append(f"display_{field.name}")
            else:
                fields.extend(add_displays(cls, model, (field.name,)))
        cls.document_fields = (*fields, "created_at", "updated_at")

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return self.document_fields

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return self.document_fields

    def get_object(self, request: HttpRequest, object_id: str, from_field: str | None = None) -> Any:
        """The document; on its change page, unmasked for a holder of the unmask permission,
        and that showing audited (who, when, which record, which fields)."""
        obj = super().get_object(request, object_id, from_field)
        change_page = (
            getattr(request.resolver_match, "url_name", "") == f"{self.opts.app_label}_{self.opts.model_name}_change"
        )
        if obj is not None and change_page and request.method == "GET" and request.user.has_perm(UNMASK_PERMISSION):
            obj._unmasked = True
            audit_unmasked(request, obj, reason="personal data shown on its page in the admin")
        return obj


def audit_unmasked(request: HttpRequest, document: Declaration, *, reason: str) -> None:
    """Record that ``request``'s user was shown ``document``'s personal fields unmasked."""
    audit_record(
        actor=admin_actor(request),
        action=AuditEntry.Action.UNMASK,
        instance=document,
        after={"fields": list(document.personal_fields)},
        reason=reason,
    )


class ReadOnlyInline(admin.TabularInline[Any, Any]):
    """Read-only rows of a document (its items); ``shown_fields``: codes get their names and
    amounts their decimals."""

    extra = 0
    can_delete = False
    shown_fields: ClassVar[tuple[str, ...]] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.shown_fields:
            cls.fields = add_displays(cls, cls.model, cls.shown_fields)
            cls.readonly_fields = cls.fields

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class OrderItemInline(ReadOnlyInline):
    model = OrderItem
    shown_fields = ("gnum", "item_name", "gmodel", "qty", "unit", "price", "total_price", "currency", "country")


class InventoryItemInline(ReadOnlyInline):
    model = InventoryItem
    shown_fields = (
        "gnum",
        "gcode",
        "gname",
        "gmodel",
        "qty",
        "unit",
        "qty1",
        "unit1",
        "price",
        "total_price",
        "country",
    )


@admin.register(Order)
class OrderAdmin(DocumentAdmin):
    document_type = ORDER
    buyer_hash_field = "buyer_id_hash"
    inlines = (OrderItemInline,)
    list_display = ("order_no", "ebc_code", "status", "actual_paid_shown", "updated_at")
    search_fields = ("order_no", "ebp_code", "ebc_code", "pay_transaction_id")


@admin.register(Payment)
class PaymentAdmin(DocumentAdmin):
    document_type = PAYMENT
    buyer_hash_field = "payer_id_hash"
    list_display = ("pay_transaction_id", "order_no", "status", "amount_paid_shown", "updated_at")
    search_fields = ("pay_transaction_id", "order_no", "pay_code")


@admin.register(Waybill)
class WaybillAdmin(DocumentAdmin):
    document_type = WAYBILL
    list_display = ("logistics_no", "order_no", "status", "updated_at")
    search_fields = ("logistics_no", "order_no", "bill_no")
    search_help_text = _("A waybill, order or bill of lading number.")


# -- A list's review: its four documents side by side -------------------------------------------

# The columns of the side-by-side table, left to right.
COLUMNS: dict[str, type[Declaration]] = {kind.name: kind.model for kind in (INVENTORY, ORDER, PAYMENT, WAYBILL)}

# The rows of the side-by-side table, after the documents' heads: per document, the attribute
# shown and the fields of the rule results (declarations.clearance.match_rules) whose failure marks it.
HEAD_ROWS: tuple[tuple[Any, Mapping[str, tuple[str, tuple[str, ...]]]], ...] = (
    (
        _("e-commerce enterprise code"),
        {"inventory": ("ebc_code", ("ebc_code",)), "order": ("ebc_code", ("ebc_code",))},
    ),
    (
        _("e-commerce platform code"),
        {"inventory": ("ebp_code", ()), "order": ("ebp_code", ()), "payment": ("ebp_code", ())},
    ),
    (
        _("order number"),
        {
            "inventory": ("order_no", ()),
            "order": ("order_no", ("order_no",)),
            "payment": ("order_no", ()),
            "waybill": ("order_no", ("order_no",)),
        },
    ),
    (_("waybill number"), {"inventory": ("logistics_no", ()), "waybill": ("logistics_no", ())}),
    (
        _("status"),
        {
            "inventory": ("status", ()),
            "order": ("status", ("order.status",)),
            "payment": ("status", ("payment.status",)),
            "waybill": ("status", ("waybill.status",)),
        },
    ),
    (
        _("buyer's name"),
        {
            "inventory": ("buyer_name", ("buyer_name",)),
            "order": ("buyer_name", ("buyer_name", "payer_name")),
            "payment": ("payer_name", ("payer_name",)),
        },
    ),
    (
        _("buyer's telephone"),
        {
            "inventory": ("buyer_telephone", ("buyer_telephone",)),
            "order": ("buyer_telephone", ("buyer_telephone",)),
            "payment": ("telephone", ()),
        },
    ),
    (
        _("buyer's ID type"),
        {
            "inventory": ("buyer_id_type", ("buyer_id_type",)),
            "order": ("buyer_id_type", ("order.buyer_id_type",)),
            "payment": ("payer_id_type", ("payer_id_type",)),
        },
    ),
    (
        _("buyer's ID number"),
        {
            "inventory": ("buyer_id_number", ("buyer_id_number",)),
            "order": ("buyer_id_number", ("buyer_id_number", "payer_id_number")),
            "payment": ("payer_id_number", ("payer_id_number",)),
        },
    ),
    (_("consignee's name"), {"order": ("consignee", ("consignee",)), "waybill": ("consignee", ("consignee",))}),
    (
        _("consignee's telephone"),
        {
            "order": ("consignee_telephone", ("consignee_telephone",)),
            "waybill": ("consignee_telephone", ("consignee_telephone",)),
        },
    ),
    (
        _("consignee's address"),
        {
            "inventory": ("consignee_address", ()),
            "order": ("consignee_address", ("consignee_address",)),
            "waybill": ("consignee_address", ("consignee_address",)),
        },
    ),
    (_("freight"), {"inventory": ("freight", ()), "order": ("freight", ()), "waybill": ("freight", ())}),
    (_("goods value"), {"order": ("goods_value", ("goods_value",))}),
    (
        _("amount paid"),
        {"order": ("actual_paid", ("actual_paid", "amount_paid")), "payment": ("amount_paid", ("amount_paid",))},
    ),
)


@dataclass(frozen=True)
class Cell:
    value: Any = ""
    # Codes of the failed rules that mark the cell.
    rules: tuple[str, ...] = ()
    # Where a masked value differs from the row's others ("differs from character 7"), or
    # whether an ID number equals them; never a character of the value.
    difference: str = ""

    @property
    def failed(self) -> bool:
        return bool(self.rules)

    @property
    def rule_names(self) -> str:
        return ", ".join(rule_name(rule) for rule in self.rules)


@dataclass(frozen=True)
class Row:
    label: str
    cells: tuple[Cell, ...]
    # The rule results' fields that mark the row (to say, beside a failed rule, where it differs).
    fields: tuple[str, ...] = ()


@dataclass(frozen=True)
class Column:
    label: str
    document: Declaration | None
    url: str


@dataclass(frozen=True)
class RuleRow:
    """A rule result as the page shows it: the rule and the field by name, and where masked
    values differ."""

    result: RuleResult
    name: str
    difference: str
    field: str = ""

    @property
    def failed(self) -> bool:
        return self.result.outcome == RuleResult.Outcome.FAILED


def _is_id_number(name: str) -> bool:
    return name.endswith("_id_number")


class Comparison:
    """The four documents of a list's parcel side by side, marked by the latest matching run.

    ``failures`` maps a rule result's field to the codes of the rules that failed on it.
    Personal values are masked unless ``unmasked``; ID numbers always are. A masked cell a rule
    failed on says where its value differs from the row's others; an ID number cell says
    whether the numbers are equal.
    """

    def __init__(
        self, documents: Mapping[str, Declaration | None], failures: Mapping[str, set[str]], *, unmasked: bool
    ) -> None:
        self.documents = documents
        self.failures = failures
        self.unmasked = unmasked

    @cached_property
    def columns(self) -> list[Column]:
        columns = []
        for kind, model in COLUMNS.items():
            document = self.documents[kind]
            url = "" if document is None else reverse(f"admin:declarations_{kind}_change", args=[document.pk])
            columns.append(Column(label=str(model._meta.verbose_name), document=document, url=url))
        return columns

    @cached_property
    def rows(self) -> list[Row]:
        return [self._head_row(label, spec) for label, spec in HEAD_ROWS] + self._item_rows()

    def difference_for(self, field: str) -> str:
        """Where the masked values a rule result's ``field`` names differ, from the rows."""
        for row in self.rows:
            if field in row.fields:
                return "; ".join(
                    f"{column.label}: {cell.difference}"
                    for column, cell in zip(self.columns, row.cells, strict=True)
                    if cell.difference
                )
        return ""

    def _rules(self, fields: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(sorted({rule for name in fields for rule in self.failures.get(name, ())}))

    def _marked(self, value: Any, fields: tuple[str, ...]) -> Cell:
        return Cell(value, self._rules(fields))

    def _plain(self, kind: str, name: str) -> str | None:
        """The stored value of a personal field (an ID number normalised), for comparing only."""
        document = self.documents[kind]
        if document is None:
            return None
        if _is_id_number(name):
            return normalise_id_number(decrypt_text(getattr(document, f"{name}_encrypted")))
        return str(getattr(document, name) or "")

    def _head_row(self, label: Any, spec: Mapping[str, tuple[str, tuple[str, ...]]]) -> Row:
        cells = [self._cell(kind, *spec[kind]) if kind in spec else Cell() for kind in COLUMNS]
        personal = [
            (index, kind, spec[kind][0])
            for index, kind in enumerate(COLUMNS)
            if kind in spec and self.documents[kind] is not None and self._is_personal(kind, spec[kind][0])
        ]
        plain = {index: self._plain(kind, name) for index, kind, name in personal}
        for index, _kind, name in personal:
            others = [value for other, value in plain.items() if other != index and value]
            mine = plain[index]
            if not mine or not others:
                continue
            if _is_id_number(name):
                # ID numbers: equal or not, nothing more (a position would narrow the number).
                said = gettext("equal") if all(other == mine for other in others) else gettext("differs")
            elif cells[index].failed:
                positions = [p for p in (display.first_difference(mine, other) for other in others) if p is not None]
                said = display.differs_from(min(positions)) if positions else ""
            else:
                said = ""
            cells[index] = Cell(cells[index].value, cells[index].rules, said)
        fields = tuple(field for _name, names in spec.values() for field in names)
        return Row(label=str(label), cells=tuple(cells), fields=fields)

    def _is_personal(self, kind: str, name: str) -> bool:
        document = self.documents[kind]
        return _is_id_number(name) or (document is not None and name in document.personal_fields)

    def _cell(self, kind: str, name: str, fields: tuple[str, ...]) -> Cell:
        document = self.documents[kind]
        if document is None:
            return Cell()
        if _is_id_number(name):
            shown = display.masked_text(masked_id_number(decrypt_text(getattr(document, f"{name}_encrypted"))))
            return self._marked(shown, fields)
        if name == "status":
            return self._marked(document.get_status_display(), fields)  # type: ignore[attr-defined]
        value = getattr(document, name)
        if isinstance(value, Decimal) or value is None:
            return self._marked(display.amount(name, value, document.amount_scales), fields)
        if name in document.personal_fields and not self.unmasked:
            return self._marked(display.masked(name, value) if value else "", fields)
        return self._marked(display.code_label(name, str(value)), fields)

    def _item_rows(self) -> list[Row]:
        """Items paired by gnum: the list's against the order's."""
        inventory, order = self.documents["inventory"], self.documents["order"]
        ours = {i.gnum: i for i in inventory.items.all()} if inventory is not None else {}  # type: ignore[attr-defined]
        theirs = {i.gnum: i for i in order.items.all()} if order is not None else {}  # type: ignore[attr-defined]
        rows = []
        for gnum in sorted(ours.keys() | theirs.keys()):
            mine, other = ours.get(gnum), theirs.get(gnum)
            unpaired = ("items.gnum",) if mine is None or other is None else ()
            item = f"items[{gnum}]"
            rows += [
                Row(
                    gettext("item %(gnum)s: name") % {"gnum": gnum},
                    (
                        self._marked(mine.item_name or mine.gname if mine else "", (f"{item}.item_name", *unpaired)),
                        self._marked(other.item_name if other else "", (f"{item}.item_name", *unpaired)),
                        Cell(),
                        Cell(),
                    ),
                ),
                Row(
                    gettext("item %(gnum)s: commodity code") % {"gnum": gnum},
                    (self._marked(mine.gcode if mine else "", (f"{item}.gcode",)), Cell(), Cell(), Cell()),
                ),
                Row(
                    gettext("item %(gnum)s: quantity") % {"gnum": gnum},
                    (
                        Cell(self._quantity(mine)),
                        Cell(self._quantity(other)),
                        Cell(),
                        Cell(),
                    ),
                ),
                Row(
                    gettext("item %(gnum)s: total price") % {"gnum": gnum},
                    (
                        Cell(display.amount("total_price", mine.total_price, mine.amount_scales) if mine else ""),
                        self._marked(
                            display.amount("total_price", other.total_price, other.amount_scales) if other else "",
                            (f"{item}.total_price",),
                        ),
                        Cell(),
                        Cell(),
                    ),
                ),
            ]
        return rows

    @staticmethod
    def _quantity(item: Any) -> str:
        if item is None:
            return ""
        return f"{display.amount('qty', item.qty, item.amount_scales)} {display.code_label('unit', item.unit)}"


def inventory_review(*, inventory: Inventory, unmasked: bool) -> dict[str, Any]:
    """What a list's change page shows besides its fields.

    The documents are those matching compares (``matching.parcel_documents``): the declared
    order and payment of the list's ``ebp_code + order_no`` and the latest generation of its
    waybill.
    """
    order, payment, waybill = matching.parcel_documents(inventory)
    run = RuleResult.objects.filter(inventory=inventory).aggregate(run=Max("run"))["run"]
    results = list(RuleResult.objects.filter(inventory=inventory, run=run)) if run is not None else []
    failures: dict[str, set[str]] = {}
    for result in results:
        if result.outcome == RuleResult.Outcome.FAILED and result.field:
            failures.setdefault(result.field, set()).add(result.rule)
    documents = {"inventory": inventory, "order": order, "payment": payment, "waybill": waybill}
    comparison = Comparison(documents, failures, unmasked=unmasked)
    rule_rows = [
        RuleRow(
            result=result,
            name=rule_name(result.rule),
            field=display.field_label(result.field) if result.field else "",
            difference=comparison.difference_for(result.field)
            if result.outcome == RuleResult.Outcome.FAILED and result.field
            else "",
        )
        for result in results
    ]
    history = document_history(inventory)
    return {
        "comparison": comparison,
        "rule_run": run,
        "rule_results": results,
        "rule_rows": rule_rows,
        "tax_estimate": TaxEstimate.objects.filter(inventory=inventory).prefetch_related("items").first(),
        "tax_bills": finance.tax_bills_of_list(inventory_id=inventory.pk),
        "history": [entry.change for entry in history if entry.change is not None],
        "history_entries": history,
    }


class TaxBillFilter(admin.SimpleListFilter):
    """Lists by their customs tax bill (finance's): none yet, as estimated, or differing."""

    title = _("tax bill")
    parameter_name = "tax_bill"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [
            ("differs", _("differs from the estimate")),
            ("as_estimated", _("as estimated")),
            ("none", _("none yet")),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() == "differs":
            return queryset.filter(bill_differs=True)
        if self.value() == "as_estimated":
            return queryset.filter(billed=True, bill_differs=False)
        if self.value() == "none":
            return queryset.filter(billed=False)
        return queryset


@admin.register(Inventory)
class InventoryAdmin(WorkbenchActionsMixin, DocumentAdmin):
    document_type = INVENTORY
    buyer_hash_field = "buyer_id_hash"
    change_form_template = "admin/declarations/inventory/change_form.html"
    # The workbench's holds, assignments and notes (declarations.admin.inlines) after the items.
    inlines = (InventoryItemInline, *LIST_INLINES)
    list_display = ("cop_no", "order_no", "trade_mode_shown", "customs_code_shown", "status", "tax_bill", "updated_at")
    list_filter = ("status", "trade_mode", "customs_code", ParkFilter, TaxBillFilter)
    search_fields = ("cop_no", "invt_no", "pre_no", "order_no", "logistics_no")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        lists: QuerySet[Any] = super().get_queryset(request)
        bills = finance.tax_bills_in_force()
        annotated: QuerySet[Any] = lists.annotate(
            billed=Exists(bills.filter(inventory_id=OuterRef("pk"))),
            bill_differs=Exists(bills.filter(inventory_id=OuterRef("pk")).exclude(differences={})),
        )
        return annotated

    @admin.display(description=_("tax bill"))
    def tax_bill(self, obj: Any) -> str:
        if not getattr(obj, "billed", False):
            return "-"
        return str(_("differs from the estimate") if obj.bill_differs else _("as estimated"))

    def render_change_form(  # noqa: PLR0917 - Django's signature
        self,
        request: HttpRequest,
        context: dict[str, Any],
        add: bool = False,
        change: bool = False,
        form_url: str = "",
        obj: Any = None,
    ) -> HttpResponse:
        if obj is not None:
            unmasked = getattr(obj, "_unmasked", False)
            review = inventory_review(inventory=obj, unmasked=unmasked)
            if unmasked:
                # The page shows the other documents' personal data too: each view is recorded.
                for kind in ("order", "payment", "waybill"):
                    document: Declaration | None = review["comparison"].documents[kind]
                    if document is not None:
                        audit_unmasked(request, document, reason=f"personal data shown beside list {obj.pk}")
            context.update(review)
        return super().render_change_form(request, context, add, change, form_url, obj)


@admin.register(InventoryCancellation)
class InventoryCancellationAdmin(RegulatorAdmin):
    list_display = ("inventory", "requested_by", "status", "created_at")
    list_filter = ("status",)
    readonly_fields = ("inventory", "requested_by", "reason", "status", "created_at", "updated_at")
    fields = readonly_fields
    verbose_name = _("cancellation request")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


class InventoryReturnItemInline(ReadOnlyInline):
    model = InventoryReturnItem
    shown_fields = ("gnum", "gcode", "gname", "qty", "unit", "dutiable_value")


@admin.register(InventoryReturn)
class InventoryReturnAdmin(RegulatorAdmin):
    """Return requests (CEB625) and customs' answers (CEB626), scoped by their list."""

    list_display = ("inventory", "requested_by", "status", "dutiable_value", "quota_given_back", "created_at")
    list_filter = ("status", "quota_given_back")
    readonly_fields = (
        "inventory",
        "requested_by",
        "guid",
        "reason",
        "whole_list",
        "status",
        "return_status",
        "return_info",
        "dutiable_value",
        "quota_given_back",
        "quota_amount",
        "created_at",
        "sent_at",
        "answered_at",
        "concluded_at",
        "updated_at",
    )
    fields = readonly_fields
    inlines = (InventoryReturnItemInline,)
    verbose_name = _("return request")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


# -- What the single window decided --------------------------------------------------------------


class TaxEstimateItemInline(ReadOnlyInline):
    model = TaxEstimateItem
    shown_fields = ("gnum", "gcode", "dutiable_value", "customs_tax", "value_added_tax", "consumption_tax")


@admin.register(TaxEstimate)
class TaxEstimateAdmin(ReadOnlyAdmin):
    buyer_hash_field = "inventory__buyer_id_hash"
    inlines = (TaxEstimateItemInline,)
    # The total only; the taxes one by one are on the estimate's page.
    list_display = ("inventory", "mode", "dutiable_total", "tax_total", "created_at")
    list_filter = ("mode",)
    list_select_related = ("inventory",)
    search_fields = ("inventory__cop_no", "inventory__invt_no", "inventory__order_no", "inventory__logistics_no")
    search_help_text = SEARCH_HELP
    fields = (
        "inventory",
        "mode",
        "dutiable_total",
        "customs_tax",
        "value_added_tax",
        "consumption_tax",
        "tax_total",
        "created_at",
    )
    readonly_fields = fields


@admin.register(BuyerYearQuota)
class BuyerYearQuotaAdmin(ReadOnlyAdmin):
    """A regulator sees the quotas of the buyers with a list in its districts and parks."""

    buyer_hash_field = "buyer_id_hash"
    list_display = ("buyer", "year", "reserved_shown", "consumed_shown")
    list_filter = ("year",)
    fields = list_display
    readonly_fields = fields

    @admin.display(description=_("reserved"))
    def reserved_shown(self, obj: BuyerYearQuota) -> str:
        return display.amount("reserved", obj.reserved)

    @admin.display(description=_("consumed"))
    def consumed_shown(self, obj: BuyerYearQuota) -> str:
        return display.amount("consumed", obj.consumed)

    @admin.display(description=_("buyer (lookup hash)"))
    def buyer(self, obj: BuyerYearQuota) -> str:
        return f"{obj.buyer_id_hash[:12]}…"
