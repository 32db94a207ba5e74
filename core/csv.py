"""CSV downloads: cells a spreadsheet would run as formulas are neutralised."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

from django.http import HttpResponse

# A cell starting with one of these is a formula to Excel, LibreOffice and Google Sheets.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> str:
    """The cell as text; text a spreadsheet would evaluate is prefixed with an apostrophe.
    Numbers (``-12.50``) stay numbers."""
    text = "" if value is None else str(value)
    if text.startswith(FORMULA_STARTS):
        try:
            float(text)
        except ValueError:
            return f"'{text}"
    return text


def csv_response(*, header: Sequence[str], rows: Iterable[Sequence[object]], filename: str) -> HttpResponse:
    """A UTF-8 CSV attachment (with a byte-order mark, so spreadsheets read Chinese right)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows([safe_cell(cell) for cell in row] for row in rows)
    response = HttpResponse("\ufeff" + buffer.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
