"""Excel (.xlsx) exports that never contain formulas, written with flat memory.

openpyxl's write-only mode streams each row into a temporary file as it is appended, so memory stays flat however
many rows there are; the finished file is then streamed to the client and deleted.

Text is always stored as text: openpyxl would turn a string starting with ``=`` into a formula (and ``#N/A`` into
an error value), so such cells are written as explicit string cells. Dates stay dates (times in UTC, as Excel has
no time zones), numbers stay numbers, and characters XML cannot hold are dropped.
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
import uuid
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django.http import FileResponse
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ERROR_CODES, ILLEGAL_CHARACTERS_RE, Cell
from openpyxl.styles import Font

# Excel's limit is 1,048,576 rows per sheet; one is the header.
MAX_ROWS = 1_048_575
CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_ERRORS = frozenset(ERROR_CODES)


def _cell_value(sheet: Any, value: Any) -> Any:
    """What to append for one value: a plain Python value where openpyxl stores it as-is, else a string cell."""
    if value is None or value.__class__ in (int, float, Decimal, bool, dt.date):
        return value
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        return value
    if isinstance(value, list | tuple | set):
        value = ", ".join(str(v) for v in value)
    elif isinstance(value, uuid.UUID):
        return str(value)
    text = str(value)
    if ILLEGAL_CHARACTERS_RE.search(text):
        text = ILLEGAL_CHARACTERS_RE.sub("", text)
    if text.startswith("=") or text in _ERRORS:
        cell = WriteOnlyCell(sheet, None)
        cell._value = text  # bypass inference: keep it a string, never a formula or an error
        cell.data_type = "s"
        return cell
    return text


def write_xlsx(path: str, header: list[str], rows: Iterable[Iterable[Any]], *, title: str = "Export") -> int:
    """Write ``rows`` under a bold, frozen ``header`` into ``path``; return the number of data rows."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=title[:31])
    sheet.freeze_panes = "A2"
    bold = Font(bold=True)
    header_cells = []
    for name in header:
        cell = _cell_value(sheet, name)
        cell = cell if isinstance(cell, Cell) else WriteOnlyCell(sheet, cell)
        cell.font = bold
        header_cells.append(cell)
    sheet.append(header_cells)
    count = 0
    for row in rows:
        sheet.append([_cell_value(sheet, value) for value in row])
        count += 1
    workbook.save(path)
    return count


def xlsx_response(filename: str, header: list[str], rows: Iterable[Iterable[Any]], *,
                  title: str = "Export") -> FileResponse:
    """Build the workbook in a temporary file, then stream it; the file is gone once the response is closed."""
    handle, path = tempfile.mkstemp(suffix=".xlsx", prefix="amity-export-")
    os.close(handle)
    try:
        write_xlsx(path, header, rows, title=title)
        stream = open(path, "rb")  # noqa: SIM115 - FileResponse closes it
    finally:
        os.unlink(path)  # the open handle keeps the data readable until the response closes it
    response = FileResponse(stream, as_attachment=True, filename=filename, content_type=CONTENT_TYPE)
    response["Cache-Control"] = "no-store"
    return response
