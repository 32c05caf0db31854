"""A dashboard's table as a download: CSV, or an XLSX workbook.

Every text cell that a spreadsheet would read as a formula (it starts with
``=``, ``+``, ``-`` or ``@``, or a tab or carriage return that some programs
skip before one) is neutralised with a leading apostrophe, so a stakeholder's
name or a change request's title typed as ``=HYPERLINK(...)`` stays text in
the reader's spreadsheet. Numbers stay numbers.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

from django.http import HttpResponse
from openpyxl import Workbook

FORMATS = ("csv", "xlsx")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def neutralised(value: Any) -> Any:
    """The cell as written: None empty, dates as ISO text, formula-like text behind an apostrophe."""
    # The common cells first, by exact type (a whole firm's table is a quarter of a million of them).
    kind = type(value)
    if kind is str:
        return f"'{value}" if value.startswith(FORMULA_STARTS) else value
    if kind is int or kind is float:
        return value
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat(timespec="minutes")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        return value
    text = str(value)
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text


def table_response(
    *, format: str, filename: str, header: Sequence[str], rows: Iterable[Sequence[Any]]
) -> HttpResponse:
    """The table as an attachment named ``filename`` plus the format's extension."""
    cells = [[neutralised(value) for value in row] for row in rows]
    if format == "xlsx":
        workbook = Workbook(write_only=True)
        sheet = workbook.create_sheet(title=filename[:31])
        sheet.append([neutralised(name) for name in header])
        for row in cells:
            sheet.append(row)
        buffer = io.BytesIO()
        workbook.save(buffer)
        response = HttpResponse(buffer.getvalue(), content_type=XLSX_TYPE)
    else:
        # Written to a buffer, then handed over whole: a response written row by row encodes each row
        # on its own, which took longer than the rows themselves.
        text = io.StringIO()
        writer = csv.writer(text)
        writer.writerow(header)
        writer.writerows(cells)
        response = HttpResponse(text.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}.{format}"'
    return response
