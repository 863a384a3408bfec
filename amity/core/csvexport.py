"""Streaming CSV exports that spreadsheet programs open safely.

A cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is read as a formula by Excel,
LibreOffice and Google Sheets ("CSV injection"), so such cells are prefixed with ``'``, which makes them text.
Rows are written one at a time into a tiny buffer, so an export of a million rows never sits in memory.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from django.http import StreamingHttpResponse

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> str:
    """The text of one cell, neutralised if a spreadsheet would evaluate it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple | set):
        value = ", ".join(str(v) for v in value)
    elif isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    text = str(value)
    if text.startswith(FORMULA_PREFIXES):
        return "'" + text
    return text


def _fast_cell(value: Any) -> Any:
    """``safe_cell`` with a shortcut for the common cases (plain text and numbers), for million-row exports."""
    if value.__class__ is str:
        return "'" + value if value[:1] in _PREFIX_SET else value
    if value.__class__ is int:
        return value if value >= 0 else "'" + str(value)
    return safe_cell(value)


_PREFIX_SET = frozenset(FORMULA_PREFIXES)


class _Line:
    """A file-like object whose ``write`` returns what was written, for ``csv.writer`` into a generator."""

    def write(self, value: str) -> str:
        return value


def stream_rows(header: list[str], rows: Iterable[Iterable[Any]],
                on_row: Callable[[], None] | None = None) -> Iterator[str]:
    """Yield CSV lines: a UTF-8 byte-order mark (so Excel reads Chinese names), the header, then each row."""
    writer = csv.writer(_Line())
    yield "\ufeff" + writer.writerow([safe_cell(h) for h in header])
    cell = _fast_cell
    buffer: list[str] = []
    for row in rows:
        if on_row is not None:
            on_row()
        buffer.append(writer.writerow([cell(value) for value in row]))
        if len(buffer) >= 100:  # ~100 rows per chunk: fewer, larger writes to the socket
            yield "".join(buffer)
            buffer.clear()
    if buffer:
        yield "".join(buffer)


def csv_response(filename: str, header: list[str], rows: Iterable[Iterable[Any]],
                 on_row: Callable[[], None] | None = None) -> StreamingHttpResponse:
    response = StreamingHttpResponse(stream_rows(header, rows, on_row), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response


def counted_into_audit(entry: Any, rows: Iterable[Any]) -> Iterator[Any]:
    """Pass ``rows`` through, then store how many there were on the export's audit entry.

    The entry is written before streaming starts (so an interrupted download is still on record);
    the count is added when the last row has gone out.
    """
    from amity.core.models import AuditEntry

    count = 0
    for row in rows:
        count += 1
        yield row
    changes = dict(entry.changes or {})
    changes["rows"] = count
    AuditEntry.objects.filter(pk=entry.pk).update(changes=changes)
