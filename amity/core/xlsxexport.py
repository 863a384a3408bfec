"""Excel (.xlsx) exports that never contain formulas, written with flat memory.

The workbook is written straight into a zip, a row at a time: one sheet of inline strings, numbers, booleans and
dates, with a bold frozen header row. openpyxl's write-only mode does the same but builds an object per cell and
measured ~10× slower (~0.3 ms per 20-column row); this writer emits the sheet XML directly (openpyxl reads the
files back in the tests). The file goes to a temporary file, is streamed to the client, then deleted.

Text is always stored as text (inline strings are never formulas or error values), so ``=1+1`` or ``@SUM(A1)``
stays the literal text; dates are real dates (times in UTC, as Excel has no time zones), numbers real numbers,
and characters XML cannot hold are dropped.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import tempfile
import zipfile
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django.http import FileResponse

# Excel's limit is 1,048,576 rows per sheet; one is the header.
MAX_ROWS = 1_048_575
CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_EPOCH = dt.datetime(1899, 12, 30)
_EPOCH_DATE = dt.date(1899, 12, 30)
# Style indexes in styles.xml: 1 bold header, 2 date, 3 date and time.
_BOLD, _DATE, _DATETIME = 1, 2, 3

_CONTENT_TYPES = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">\
<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>\
<Default Extension="xml" ContentType="application/xml"/>\
<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>\
<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>\
<Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>\
</Types>"""
_RELS = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">\
<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>\
</Relationships>"""
_WORKBOOK = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" \
xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">\
<sheets><sheet name="{title}" sheetId="1" r:id="rId1"/></sheets></workbook>"""
_WORKBOOK_RELS = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">\
<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>\
<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/>\
</Relationships>"""
_STYLES = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">\
<numFmts count="1"><numFmt numFmtId="164" formatCode="yyyy-mm-dd hh:mm:ss"/></numFmts>\
<fonts count="2"><font><sz val="11"/><name val="Calibri"/></font><font><b/><sz val="11"/><name val="Calibri"/></font></fonts>\
<fills count="2"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill></fills>\
<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>\
<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>\
<cellXfs count="4"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>\
<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/>\
<xf numFmtId="14" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>\
<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/></cellXfs>\
<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>\
</styleSheet>"""
_SHEET_START = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">\
<sheetViews><sheetView workbookViewId="0"><pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>\
</sheetView></sheetViews><sheetData>"""
_SHEET_END = "</sheetData></worksheet>"


def _text(value: str) -> str:
    if _ILLEGAL.search(value):
        value = _ILLEGAL.sub("", value)
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _string_cell(text: str, style: int = 0) -> str:
    s = f' s="{style}"' if style else ""
    return f'<c t="inlineStr"{s}><is><t xml:space="preserve">{_text(text)}</t></is></c>'


def _cell(value: Any) -> str:
    """One cell's XML. Only numbers, booleans and dates are anything but text."""
    cls = value.__class__
    if cls is str:
        return _string_cell(value) if value else "<c/>"
    if value is None:
        return "<c/>"
    if cls is bool:
        return f'<c t="b"><v>{int(value)}</v></c>'
    if cls is int or cls is float or cls is Decimal:
        if cls is Decimal and not value.is_finite():
            return _string_cell(str(value))
        return f"<c><v>{value}</v></c>"
    if cls is dt.datetime or isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        serial = (value - _EPOCH).total_seconds() / 86400
        return f'<c s="{_DATETIME}"><v>{serial:.10f}</v></c>'
    if cls is dt.date:
        return f'<c s="{_DATE}"><v>{(value - _EPOCH_DATE).days}</v></c>'
    if isinstance(value, list | tuple | set):
        return _string_cell(", ".join(str(v) for v in value))
    return _string_cell(str(value))


def write_xlsx(path: str, header: list[str], rows: Iterable[Iterable[Any]], *, title: str = "Export") -> int:
    """Write ``rows`` under a bold, frozen ``header`` into ``path``; return the number of data rows."""
    count = 0
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=5) as archive:
        archive.writestr("[Content_Types].xml", _CONTENT_TYPES)
        archive.writestr("_rels/.rels", _RELS)
        safe_title = re.sub(r"[\[\]:*?/\\]", "", title)[:31] or "Export"
        archive.writestr("xl/workbook.xml", _WORKBOOK.format(title=_text(safe_title).replace('"', "&quot;")))
        archive.writestr("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS)
        archive.writestr("xl/styles.xml", _STYLES)
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            sheet.write(_SHEET_START.encode())
            sheet.write(("<row>" + "".join(_string_cell(str(h), _BOLD) for h in header) + "</row>").encode())
            buffer: list[str] = []
            cell = _cell
            for row in rows:
                buffer.append("<row>" + "".join([cell(v) for v in row]) + "</row>")
                count += 1
                if len(buffer) >= 500:
                    sheet.write("".join(buffer).encode())
                    buffer.clear()
            if buffer:
                sheet.write("".join(buffer).encode())
            sheet.write(_SHEET_END.encode())
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
