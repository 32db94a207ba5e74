"""Exports of the regulators' list pages: CSV (streamed) or Excel, exactly the rows of the
page's current filter, search and scope, masked as the page masks them.

- The export's address is the list page's, with ``export/csv/`` or ``export/xlsx/`` and the
  same query string: the page's own ``ChangeList`` reads the filter, so what is exported is
  what the page lists (all its pages), in its order.
- Personal fields go out masked (``core.masking``) unless the user holds the permission that
  unmasks them on screen (``unmask_permission``); ID numbers are always masked.
- Every cell goes through ``core.csv.safe_cell``: text a spreadsheet would run as a formula is
  neutralised, in CSV and in Excel alike.
- More rows than ``WORKBENCH_EXPORT_MAX_ROWS`` is refused with a message: never cut short.
- Each export is written to the audit trail (``ListExport``: the page, the query string, the
  row count, the format, whether it was unmasked) before a byte leaves.
"""

from __future__ import annotations

import csv
import datetime
import html
import io
import re
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any, ClassVar, cast

from django.conf import settings
from django.contrib import messages
from django.contrib.admin.options import IncorrectLookupParameters, ModelAdmin
from django.contrib.admin.utils import label_for_field
from django.contrib.admin.views.main import SEARCH_VAR
from django.core.exceptions import FieldDoesNotExist, PermissionDenied
from django.db import models, transaction
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, StreamingHttpResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import strip_tags
from django.utils.safestring import SafeString
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from openpyxl import Workbook

from core.admin import admin_actor
from core.csv import safe_cell
from core.masking import mask_value
from declarations.intake.identity import is_valid_resident_id, normalise_id_number
from declarations.models import ListExport

FORMATS: dict[str, str] = {
    ListExport.Format.CSV: "text/csv; charset=utf-8",
    ListExport.Format.XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
# Rows read from the database at a time while streaming.
CHUNK = 2000
# Characters a sheet's title may not hold.
SHEET_TITLE_UNSAFE = re.compile(r"[\\/?*\[\]:]")

Column = tuple[str, Callable[[Any], object]]
MASKED_NOTE = re.compile(r'<small class="sw-masked-note">.*?</small>')


def _plain(value: object) -> object:
    """A value as a cell shows it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return gettext("yes") if value else gettext("no")
    if isinstance(value, datetime.datetime):
        return timezone.localtime(value).strftime("%Y-%m-%d %H:%M:%S") if timezone.is_aware(value) else value
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, SafeString):
        # A display built for the page (a masked value's marker, a link): its text, without the
        # page's "(masked)" note, which a spreadsheet's column heading does not need.
        return html.unescape(strip_tags(MASKED_NOTE.sub("", value))).strip()
    return value


class _Echo:
    """A file whose ``write`` hands back what it was given: csv.writer's rows, one by one."""

    def write(self, value: str) -> str:
        return value


class ExportMixin:
    """CSV and Excel exports of a ``ModelAdmin``'s list page (put it after the scope mixin).

    ``export_fields`` names the columns (model fields, or the admin's own display methods);
    by default the page's ``list_display``. ``unmask_permission`` is the permission that shows
    personal fields unmasked on screen (None: never unmasked).
    """

    export_fields: ClassVar[tuple[str, ...] | None] = None
    unmask_permission: ClassVar[str | None] = None

    # --- Pages --------------------------------------------------------------------------------

    def get_urls(self) -> list[URLPattern]:
        urls: list[URLPattern] = super().get_urls()  # type: ignore[misc]
        opts = self.opts  # type: ignore[attr-defined]
        site = self.admin_site  # type: ignore[attr-defined]
        name = f"{opts.app_label}_{opts.model_name}_export"
        # Before the model's "<path:object_id>/" catch-all.
        return [path("export/<str:fmt>/", site.admin_view(self.export_view), name=name), *urls]

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        opts = self.opts  # type: ignore[attr-defined]
        query = request.GET.urlencode()
        links = [
            (
                label,
                reverse(f"admin:{opts.app_label}_{opts.model_name}_export", args=[fmt])
                + (f"?{query}" if query else ""),
            )
            for fmt, label in ((ListExport.Format.CSV, _("Export CSV")), (ListExport.Format.XLSX, _("Export Excel")))
        ]
        extra_context = {**(extra_context or {}), "export_links": links}
        response: HttpResponse = super().changelist_view(request, extra_context)  # type: ignore[misc]
        return response

    def export_view(self, request: HttpRequest, fmt: str) -> HttpResponse:
        """The page's current rows as ``fmt`` (csv or xlsx), audited; refused over the cap."""
        if not self.has_view_or_change_permission(request):  # type: ignore[attr-defined]
            raise PermissionDenied
        if fmt not in FORMATS:
            raise Http404
        opts = self.opts  # type: ignore[attr-defined]
        changelist_url = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
        back = HttpResponseRedirect(changelist_url + (f"?{request.GET.urlencode()}" if request.GET else ""))
        user_id = request.user.pk
        if user_id is None:
            raise PermissionDenied
        if is_valid_resident_id(normalise_id_number(request.GET.get(SEARCH_VAR, ""))):
            # As the page: a full ID number is never searched from an address (nor kept in the
            # export's audit entry); the page's buyer search form posts it.
            messages.error(request, gettext("Search a buyer with the buyer search form; nothing was exported."))
            return HttpResponseRedirect(changelist_url)
        try:
            changelist = self.get_changelist_instance(request)  # type: ignore[attr-defined]
        except IncorrectLookupParameters:
            messages.error(request, gettext("The filter is not valid; nothing was exported."))
            return HttpResponseRedirect(changelist_url)
        rows = changelist.queryset
        cap = settings.WORKBENCH_EXPORT_MAX_ROWS
        with transaction.atomic():
            count = rows.count()
            if count > cap:
                messages.error(
                    request,
                    gettext(
                        "%(count)s rows match this filter; an export holds at most %(cap)s. "
                        "Narrow the filter and export again: nothing was exported."
                    )
                    % {"count": count, "cap": cap},
                )
                return back
            unmasked = self.export_unmasked(request)
            ListExport.objects.create(
                actor=admin_actor(request).label[:200],
                user_id=int(user_id),
                page=f"{opts.app_label}.{opts.model_name}",
                querystring=request.GET.urlencode()[:2000],
                row_count=count,
                format=fmt,
                unmasked=unmasked,
            )
        columns = self.export_columns(request, unmasked=unmasked)
        filename = f"{opts.model_name}-{timezone.localtime():%Y%m%d-%H%M%S}.{fmt}"
        if fmt == ListExport.Format.CSV:
            response: HttpResponse | StreamingHttpResponse = StreamingHttpResponse(
                self._csv_lines(rows, columns), content_type=FORMATS[fmt]
            )
        else:
            response = HttpResponse(self._xlsx(rows, columns), content_type=FORMATS[fmt])
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response  # type: ignore[return-value]

    # --- Columns and cells --------------------------------------------------------------------

    def export_unmasked(self, request: HttpRequest) -> bool:
        return bool(self.unmask_permission and request.user.has_perm(self.unmask_permission))

    def get_export_fields(self, request: HttpRequest) -> tuple[str, ...]:
        """The page's columns; for a document's page, then the document's fields as its change
        page shows them (``DocumentAdmin.document_fields``: personal ones through their masked
        displays)."""
        if self.export_fields is not None:
            return self.export_fields
        shown = self.get_list_display(request)  # type: ignore[attr-defined]
        columns = [name for name in shown if isinstance(name, str) and name != "action_checkbox"]
        columns += getattr(self, "document_fields", ())
        return tuple(dict.fromkeys(columns))

    def export_columns(self, request: HttpRequest, *, unmasked: bool) -> list[Column]:
        model: type[models.Model] = self.model  # type: ignore[attr-defined]
        personal: tuple[str, ...] = getattr(model, "personal_fields", ())
        columns: list[Column] = []
        for name in self.get_export_fields(request):
            label = str(label_for_field(name, model, model_admin=cast("ModelAdmin[Any]", self)))
            columns.append((label, self._getter(model, name, personal=personal, unmasked=unmasked)))
        return columns

    def _getter(
        self, model: type[models.Model], name: str, *, personal: tuple[str, ...], unmasked: bool
    ) -> Callable[[Any], object]:
        try:
            field = model._meta.get_field(name)
        except FieldDoesNotExist:
            field = None
        if field is None:
            method = getattr(self, name, None)
            if callable(method):

                def shown(obj: Any) -> object:
                    # The admin's own display (a masked personal field, a status summary).
                    obj._unmasked = unmasked
                    return method(obj)

                return shown
            return lambda obj: getattr(obj, name)() if callable(getattr(obj, name)) else getattr(obj, name)
        if getattr(field, "choices", None):
            return lambda obj: getattr(obj, f"get_{name}_display")()
        if field.is_relation:
            return lambda obj: str(getattr(obj, name) or "")
        if name in personal and not unmasked:
            return lambda obj: mask_value(name, getattr(obj, name))
        return lambda obj: getattr(obj, name)

    @staticmethod
    def _cells(obj: Any, columns: list[Column]) -> list[str]:
        return [safe_cell(_plain(getter(obj))) for _label, getter in columns]

    def _csv_lines(self, rows: Any, columns: list[Column]) -> Iterator[str]:
        writer = csv.writer(_Echo())
        # A byte-order mark, so spreadsheets read Chinese right (as core.csv.csv_response).
        yield "\ufeff" + writer.writerow([safe_cell(label) for label, _getter in columns])
        for obj in rows.iterator(chunk_size=CHUNK):
            yield writer.writerow(self._cells(obj, columns))

    def _xlsx(self, rows: Any, columns: list[Column]) -> bytes:
        book = Workbook(write_only=True)
        title = str(self.opts.verbose_name_plural)  # type: ignore[attr-defined]
        sheet = book.create_sheet(title=SHEET_TITLE_UNSAFE.sub(" ", title)[:31].strip() or "export")
        sheet.append([safe_cell(label) for label, _getter in columns])
        for obj in rows.iterator(chunk_size=CHUNK):
            # Every cell as text: a value is never read as a formula or a date by the sheet.
            sheet.append(self._cells(obj, columns))
        buffer = io.BytesIO()
        book.save(buffer)
        return buffer.getvalue()
