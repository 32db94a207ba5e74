"""The regulators' console for declarations. Every change is audited (``AuditedModelAdmin``)."""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from core.admin import AuditedModelAdmin
from declarations.admin import display
from declarations.models import CountryCode, PositiveListEntry, TaxRate, UnitCode
from declarations.reference.tables import tax_rate_problems
from single_window.scope import ScopedAdminMixin

# Reference data ---------------------------------------------------------------------------
# The positive list, the tax rates and the code tables: seeded with a sample, edited here by
# customs officers, replaced by the official tables with ``manage.py import_reference``.
#
# Not scoped: customs publishes one table for the whole country, so these are nationwide in the
# regulators' scope (``declarations.admin.scope``) and every regulator sees all of them. The
# admins still take ``ScopedAdminMixin``, as every admin does: the register says so, not a
# page that forgot to ask.

_GCODE = re.compile(r"[0-9]{10}")


class _TariffLineSearchMixin:
    """Searching a 10-digit goods code also finds its 8-digit tariff line."""

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Any], search_term: str
    ) -> tuple[QuerySet[Any], bool]:
        results, may_have_duplicates = super().get_search_results(  # type: ignore[misc]
            request, queryset, search_term
        )
        term = search_term.strip()
        if _GCODE.fullmatch(term):
            results |= queryset.filter(tariff_line=term[:8])
        return results, may_have_duplicates


@admin.register(PositiveListEntry)
class PositiveListEntryAdmin(ScopedAdminMixin, _TariffLineSearchMixin, AuditedModelAdmin):
    list_display = ("tariff_line", "name", "bonded_only", "remark", "source")
    list_filter = ("source", "bonded_only")
    search_fields = ("^tariff_line", "name", "remark")
    list_per_page = 100


class TaxRateForm(forms.ModelForm[TaxRate]):
    class Meta:
        model = TaxRate
        fields = (
            "tariff_line",
            "name",
            "duty_rate",
            "vat_rate",
            "ct_rate",
            "ct_amount_per_unit",
            "ct_unit",
            "ct_threshold_unit_price",
            "source",
        )
        help_texts = {
            "tariff_line": _(
                "8 digits for the whole tariff line, or a 10-digit goods code (which wins over its line)."
            ),
            "duty_rate": _("A fraction: 0.10 for 10%."),
            "vat_rate": _("A fraction: 0.13 for 13%."),
            "ct_rate": _("Ad valorem consumption tax, a fraction: 0.15 for 15%."),
            "ct_amount_per_unit": _("Per-unit consumption tax in CNY for each unit below (beer, spirits)."),
            "ct_unit": _("Customs unit code of the per-unit tax, such as 095 (litre)."),
            "ct_threshold_unit_price": _(
                "Consumption tax only at or above this price in CNY per legal unit of the line; empty: always."
            ),
        }

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        unit = cleaned.get("ct_unit") or ""
        unit_codes = set(UnitCode.objects.filter(code=unit).values_list("code", flat=True)) if unit else set()
        for field, message in tax_rate_problems(cleaned, unit_codes=unit_codes):
            self.add_error(field, message)
        return cleaned


@admin.register(TaxRate)
class TaxRateAdmin(ScopedAdminMixin, _TariffLineSearchMixin, AuditedModelAdmin):
    form = TaxRateForm
    # Seven columns fit a 1,440-pixel screen; the per-unit tax and the threshold are on the rate's page.
    list_display = ("tariff_line", "name", "duty_rate", "vat_rate", "ct_rate", "ct_unit_shown", "source")
    list_filter = ("source",)
    search_fields = ("^tariff_line", "name")
    list_per_page = 100

    @admin.display(description=_("unit of the per-unit tax"), ordering="ct_unit")
    def ct_unit_shown(self, obj: TaxRate) -> str:
        return display.code_label("ct_unit", obj.ct_unit)


class _CodeTableAdmin(ScopedAdminMixin, AuditedModelAdmin):
    list_display = ("code", "name_zh", "name_en", "source")
    list_filter = ("source",)
    search_fields = ("=code", "name_zh", "name_en")
    list_per_page = 100

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        # The code is the primary key: the admin would save an edited code as a new row.
        return ("code",) if obj is not None else ()


@admin.register(CountryCode)
class CountryCodeAdmin(_CodeTableAdmin):
    pass


@admin.register(UnitCode)
class UnitCodeAdmin(_CodeTableAdmin):
    pass
