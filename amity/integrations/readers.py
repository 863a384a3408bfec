"""Reading spreadsheets for imports: CSV (any delimiter, detected encoding) and XLSX, always streamed.

``inspect(path)`` looks at a file once (format, encoding, delimiter, headers, a few sample rows) and raises
``FileProblem`` with a message for the person who uploaded it when the file cannot be imported at all.
``iter_rows(path, info)`` then yields every data row as ``(row_number, values)``, never holding more than one row
(plus a read buffer) in memory, so a 200 MB file imports in constant memory.

Cell content is only ever text: nothing is evaluated (XLSX formulas come back as the value Excel stored, a CSV cell
starting with ``=`` stays that text) and nothing is interpreted as HTML here or anywhere downstream.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import itertools
import posixpath
import re
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any
from xml.etree import ElementTree
from xml.parsers import expat

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from openpyxl.styles.numbers import BUILTIN_FORMATS, is_date_format, is_timedelta_format
from openpyxl.utils.datetime import MAC_EPOCH, WINDOWS_EPOCH, from_excel

from amity.integrations.values import clean_cell

MAX_FILE_BYTES = 200 * 1024 * 1024
ENCODINGS = [
    ("", gettext_lazy("Detect automatically")),
    ("utf-8", gettext_lazy("UTF-8")),
    ("utf-16", gettext_lazy("UTF-16")),
    ("gb18030", gettext_lazy("Chinese (GB18030/GBK)")),
    ("latin-1", gettext_lazy("Western (Latin-1)")),
]
DELIMITERS = [",", ";", "\t", "|"]
SAMPLE_BYTES = 64 * 1024
CHUNK_BYTES = 1024 * 1024
MAX_SHARED_STRINGS_BYTES = 300 * 1024 * 1024  # unpacked XML of an XLSX's text table (held in memory as str)

# Encodings a caller may pass (aliases people type) → the name we report and open the file with.
_ENCODING_ALIASES = {
    "utf-8": "utf-8", "utf8": "utf-8", "utf-8-sig": "utf-8-sig", "utf_8_sig": "utf-8-sig",
    "utf-16": "utf-16", "utf16": "utf-16", "utf-16-le": "utf-16-le", "utf-16le": "utf-16-le",
    "utf-16-be": "utf-16-be", "utf-16be": "utf-16-be",
    "gb18030": "gb18030", "gbk": "gb18030", "gb2312": "gb18030", "cp936": "gb18030",
    "latin-1": "latin-1", "latin1": "latin-1", "iso-8859-1": "latin-1", "cp1252": "latin-1",
    "windows-1252": "latin-1",
}


def _latin1_fallback(exc: UnicodeError) -> tuple[str, int]:
    """Bytes Windows-1252 leaves undefined (0x81, 0x8D, 0x8F, 0x90, 0x9D) decode as Latin-1."""
    if not isinstance(exc, UnicodeDecodeError):
        raise exc
    return exc.object[exc.start:exc.end].decode("latin-1"), exc.end


codecs.register_error("amity-latin1", _latin1_fallback)


def _codec(encoding: str) -> tuple[str, str]:
    """The Python codec and error handler for one of our encoding names. "latin-1" reads as Windows-1252 (its
    superset that spreadsheets on Windows actually write: €, curly quotes, dashes), falling back to Latin-1."""
    if encoding == "latin-1":
        return "cp1252", "amity-latin1"
    return encoding, "strict"


class FileProblem(Exception):
    """The whole file cannot be imported; ``str(exc)`` is the (translated) message for the person."""


@dataclass(frozen=True)
class SheetInfo:
    format: str  # "csv" | "xlsx"
    encoding: str  # "utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-16-be", "gb18030", "latin-1"; "" for xlsx
    delimiter: str  # "," ";" "\t" "|"; "" for xlsx
    headers: list[str]
    sample: list[list[str]]
    sheet: str = ""  # xlsx: the sheet read
    sheets: list[str] = field(default_factory=list)  # xlsx: every sheet's name, for a sheet picker
    header_row: int = 1  # the spreadsheet row of the header (blank rows above it are skipped)
    size: int = 0  # bytes


RaggedCallback = Callable[[int, int, int], None]


# ---------------------------------------------------------------------------------------------------------------
# What kind of file is it?

def _size_text(size: int) -> str:
    return f"{size / (1024 * 1024):.0f} MB" if size >= 1024 * 1024 else f"{max(1, size // 1024)} KB"


def _check_size(path: Path) -> int:
    try:
        size = path.stat().st_size
    except OSError:
        raise FileProblem(_("The file could not be opened.")) from None
    if size > MAX_FILE_BYTES:
        raise FileProblem(
            _("The file is %(size)s; the limit is %(limit)s. Split it into smaller files and import them one by one.")
            % {"size": _size_text(size), "limit": _size_text(MAX_FILE_BYTES)}
        )
    if size == 0:
        raise FileProblem(_("The file is empty."))
    return size


_SIGNATURES: list[tuple[bytes, Any]] = [
    (b"%PDF", gettext_lazy("This is a PDF document, not a spreadsheet. Export the data as CSV or XLSX.")),
    (b"\x89PNG", gettext_lazy("This is an image (PNG), not a spreadsheet.")),
    (b"\xff\xd8\xff", gettext_lazy("This is an image (JPEG), not a spreadsheet.")),
    (b"GIF8", gettext_lazy("This is an image (GIF), not a spreadsheet.")),
    (b"\xd0\xcf\x11\xe0", gettext_lazy(
        "This is an old Excel 97–2003 (.xls) workbook. Open it in your spreadsheet program and save it as .xlsx or "
        "CSV.")),
    (b"\x1f\x8b", gettext_lazy("This is a compressed (gzip) file. Unpack it and upload the CSV or XLSX inside.")),
    (b"Rar!", gettext_lazy("This is a compressed (RAR) file. Unpack it and upload the CSV or XLSX inside.")),
    (b"7z\xbc\xaf", gettext_lazy("This is a compressed (7-Zip) file. Unpack it and upload the CSV or XLSX inside.")),
    (b"\x7fELF", gettext_lazy("This is a program, not a spreadsheet.")),
    (b"MZ", gettext_lazy("This is a program, not a spreadsheet.")),
]


def _sniff_format(path: Path, head: bytes) -> str:
    if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
        try:
            with zipfile.ZipFile(path) as archive:
                names = set(archive.namelist())
        except (zipfile.BadZipFile, OSError):
            raise FileProblem(_("The file looks like an XLSX workbook or a zip archive but is damaged.")) from None
        if "xl/workbook.xml" in names:
            return "xlsx"
        if "content.xml" in names and "mimetype" in names:
            raise FileProblem(_("This is an OpenDocument file (.ods). Save it as .xlsx or CSV and upload that."))
        if "word/document.xml" in names:
            raise FileProblem(_("This is a Word document, not a spreadsheet."))
        raise FileProblem(_("This is a zip archive, not a spreadsheet. Unpack it and upload the CSV or XLSX inside."))
    for signature, message in _SIGNATURES:
        if head.startswith(signature):
            raise FileProblem(str(message))
    return "csv"


# ---------------------------------------------------------------------------------------------------------------
# CSV: encoding and delimiter

def _utf16_guess(head: bytes) -> str | None:
    """UTF-16 without a BOM: ASCII-heavy text has a NUL in every other byte."""
    sample = head[: 4096 - (len(head[:4096]) % 2)]
    if len(sample) < 4 or sample.count(0) < len(sample) // 4:
        return None
    even_nuls = sample[0::2].count(0)
    odd_nuls = sample[1::2].count(0)
    if odd_nuls > len(sample) // 4 and even_nuls < odd_nuls // 4:
        return "utf-16-le"
    if even_nuls > len(sample) // 4 and odd_nuls < even_nuls // 4:
        return "utf-16-be"
    return None


def _utf16_text(head: bytes) -> str | None:
    """UTF-16 without a BOM and without ASCII (all Chinese, say): no NUL pattern, but it decodes to text."""
    sample = head[: len(head) - len(head) % 2]
    for codec in ("utf-16-le", "utf-16-be"):
        try:
            text = sample.decode(codec)
        except UnicodeDecodeError:
            continue
        if text and sum(1 for ch in text if ch.isprintable() or ch in "\t\r\n") >= len(text) * 0.98:
            return codec
    return None


def _decodes(path: Path, encoding: str) -> tuple[bool, int, int]:
    """Whether the whole file decodes in ``encoding`` (streamed); if not, the line and byte offset of the first
    bad byte."""
    codec, errors = _codec(encoding)
    decoder = codecs.getincrementaldecoder(codec)(errors)
    line, offset = 1, 0
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK_BYTES):
            try:
                text = decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                # The decoder may hold back a few bytes of an unfinished character from the previous chunk.
                start = max(0, exc.start - len(exc.object) + len(chunk))
                return False, line + chunk[:start].count(b"\n"), offset + start
            line += text.count("\n")
            offset += len(chunk)
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return False, line, offset
    return True, line, offset


def _looks_binary(head: bytes) -> bool:
    """Control bytes other than tab/CR/LF/FF in a file that is not UTF-16: an unknown binary format."""
    if not head:
        return False
    sample = head[:4096]
    controls = sum(1 for b in sample if b < 32 and b not in (9, 10, 12, 13))
    return controls > max(8, len(sample) * 3 // 100)


def _detect_encoding(path: Path, head: bytes) -> str:
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith(codecs.BOM_UTF16_LE) or head.startswith(codecs.BOM_UTF16_BE):
        return "utf-16"
    guess = _utf16_guess(head)
    if guess:
        return guess
    if _looks_binary(head):
        guess = _utf16_text(head)
        if guess:
            return guess
        raise FileProblem(_("This is not a text or spreadsheet file (it contains binary data)."))
    utf8, line, offset = _decodes(path, "utf-8")
    if utf8:
        return "utf-8"
    with path.open("rb") as handle:
        handle.seek(max(0, offset - SAMPLE_BYTES // 2))
        window = handle.read(SAMPLE_BYTES)
    before = window[: min(offset, SAMPLE_BYTES // 2)]
    if _has_utf8_multibyte(before):
        # Valid UTF-8 accents or CJK before the first bad byte: a UTF-8 file with damage, not another encoding.
        raise FileProblem(
            _("The file is UTF-8, but line %(line)s contains bytes that are not. Save the file again as UTF-8, "
              "or choose its encoding by hand.") % {"line": line}
        )
    return _gb18030_or_latin1(path, window[len(before):] if offset > SAMPLE_BYTES // 2 else window)


def _has_utf8_multibyte(data: bytes) -> bool:
    """Whether ``data`` holds eight or more multi-byte UTF-8 characters (a few can happen by chance in GBK)."""
    return sum(1 for ch in data.decode("utf-8", errors="ignore") if ord(ch) > 0x7F) >= 8


def _gb18030_or_latin1(path: Path, sample: bytes) -> str:
    """Between Chinese (GB18030/GBK) and Western (Latin-1/Windows-1252), from a sample that holds the file's first
    non-ASCII bytes. GB18030 must decode the whole file, or it is not the answer."""
    try:
        sample.decode("gb18030")
        gb_ok = True
    except UnicodeDecodeError as exc:
        gb_ok = exc.start >= len(sample) - 4  # a multi-byte character cut by the sample's end
    if not gb_ok:
        return "latin-1"
    from charset_normalizer import from_bytes

    best = from_bytes(sample, cp_isolation=["gb18030", "cp1252"]).best()
    choice = "gb18030" if best is not None and best.encoding in {"gb18030", "gbk", "gb2312"} else "latin-1"
    if choice == "gb18030" and not _decodes(path, "gb18030")[0]:
        return "latin-1"
    return choice


def _clean_encoding(encoding: str) -> str:
    name = _ENCODING_ALIASES.get(encoding.strip().lower().replace("_", "-"))
    if name is None:
        raise FileProblem(_("“%(encoding)s” is not an encoding Amity can read.") % {"encoding": encoding})
    return name


def _encoding_label(encoding: str) -> str:
    labels = dict(ENCODINGS)
    return str(labels.get(encoding.removesuffix("-sig").removesuffix("-le").removesuffix("-be"), encoding))


def _detect_delimiter(text: str) -> str:
    lines = text.splitlines(keepends=True)
    if len(lines) > 1 and not text.endswith(("\n", "\r")):
        lines = lines[:-1]  # the last line of a sample may be cut in the middle
    sample = "".join(lines[:50])
    try:
        found = csv.Sniffer().sniff(sample, delimiters="".join(DELIMITERS)).delimiter
    except csv.Error:
        found = ""
    if found in DELIMITERS and _consistent(sample, found):
        return found
    best, best_score = ",", 0
    for candidate in DELIMITERS:
        rows = [r for r in csv.reader(io.StringIO(sample), delimiter=candidate) if r]
        if not rows or len(rows[0]) < 2:
            continue
        score = sum(1 for r in rows if len(r) == len(rows[0])) * 1000 + len(rows[0])
        if score > best_score:
            best, best_score = candidate, score
    return best


def _consistent(sample: str, delimiter: str) -> bool:
    rows = [r for r in csv.reader(io.StringIO(sample), delimiter=delimiter) if r]
    return bool(rows) and len(rows[0]) > 1


def _open_text(path: Path, encoding: str) -> io.TextIOWrapper:
    codec, errors = _codec(encoding)
    return open(path, encoding=codec, errors=errors, newline="")  # noqa: SIM115 — the caller closes it


def clean_headers(raw: list[str]) -> list[str]:
    """Trimmed names; an empty one becomes "Column 3", a repeated one "Email (2)"."""
    headers: list[str] = []
    seen: set[str] = set()
    for index, value in enumerate(raw, start=1):
        name = clean_cell(value).replace("\n", " ") or _("Column %(number)s") % {"number": index}
        candidate, n = name, 2
        while candidate.casefold() in seen:
            candidate = f"{name} ({n})"
            n += 1
        seen.add(candidate.casefold())
        headers.append(candidate)
    return headers


def _csv_records(path: Path, encoding: str, delimiter: str) -> Iterator[tuple[int, list[str]]]:
    """Every record with its spreadsheet row number (a quoted newline stays inside its record).

    A record spanning several lines is held back until the next record arrives. If none does, it is re-read
    strictly: a quote opened and never closed means the "cell" swallowed the end of the file, so nothing of it is
    yielded and FileProblem names the row. (csv.reader in its forgiving mode, which real files need for stray
    quotes like `5" screen`, would otherwise return it silently.)"""
    pending: tuple[int, list[str], int] | None = None
    for number, record, first_line, multiline in _csv_raw_records(path, encoding, delimiter):
        if pending is not None:
            yield pending[0], pending[1]
            pending = None
        if multiline:
            pending = (number, record, first_line)
            continue
        yield number, record
    if pending is not None:
        if _quote_left_open(path, encoding, delimiter, pending[2]):
            raise FileProblem(
                _("Row %(row)s opens a quote (\") that is never closed, so the rest of the file would become "
                  "one cell. Fix the quote and upload the file again.") % {"row": pending[0]}
            )
        yield pending[0], pending[1]


def _quote_left_open(path: Path, encoding: str, delimiter: str, skip_lines: int) -> bool:
    with _open_text(path, encoding) as handle:
        for _skipped in itertools.islice(handle, skip_lines):
            pass
        try:
            for _record in csv.reader(handle, delimiter=delimiter, strict=True):
                pass
        except csv.Error as exc:
            return "unexpected end of data" in str(exc)
    return False


def _csv_raw_records(path: Path, encoding: str,
                     delimiter: str) -> Iterator[tuple[int, list[str], int, bool]]:
    """(row number, cells, lines read before the record, whether it spans several lines)."""
    with _open_text(path, encoding) as handle:
        reader = csv.reader(handle, delimiter=delimiter)
        number = 0
        while True:
            before = reader.line_num
            try:
                record = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                raise FileProblem(
                    _("Row %(row)s could not be read (%(reason)s). Check for a quote that is never closed.")
                    % {"row": number + 1, "reason": exc}
                ) from None
            except UnicodeDecodeError:
                raise FileProblem(
                    _("Row %(row)s is not valid %(encoding)s. Choose the file's encoding by hand.")
                    % {"row": number + 1, "encoding": _encoding_label(encoding)}
                ) from None
            number += 1
            yield number, record, before, reader.line_num - before > 1


def _inspect_csv(path: Path, head: bytes, size: int, encoding: str | None, delimiter: str | None,
                 sample_rows: int) -> SheetInfo:
    if encoding:
        encoding = _clean_encoding(encoding)
        ok, line, _offset = _decodes(path, encoding)
        if not ok:
            raise FileProblem(
                _("The file is not valid %(encoding)s (the first problem is on line %(line)s). Choose another "
                  "encoding or let Amity detect it.") % {"encoding": _encoding_label(encoding), "line": line}
            )
    else:
        encoding = _detect_encoding(path, head)
    codec, errors = _codec(encoding)
    text = codecs.getincrementaldecoder(codec)(errors).decode(head)
    if delimiter:
        if delimiter == "\\t" or delimiter.lower() == "tab":
            delimiter = "\t"
        if delimiter not in DELIMITERS:
            raise FileProblem(_("Choose comma, semicolon, tab or | as the delimiter."))
    else:
        delimiter = _detect_delimiter(text.lstrip("\ufeff"))
    headers, header_row, sample, has_data = _header_and_sample(_csv_records(path, encoding, delimiter), sample_rows)
    if headers is None:
        raise FileProblem(_("The file has no rows."))
    if not has_data:
        raise FileProblem(_("The file has a header row but no data rows."))
    return SheetInfo(format="csv", encoding=encoding, delimiter=delimiter, headers=headers, sample=sample,
                     header_row=header_row, size=size)


def _header_and_sample(records: Iterator[tuple[int, list[str]]],
                       sample_rows: int) -> tuple[list[str] | None, int, list[list[str]], bool]:
    """The first non-empty row as headers, its row number, up to ``sample_rows`` data rows, and whether there is
    any data row at all (reading stops at the row after the sample)."""
    headers: list[str] | None = None
    header_row = 1
    sample: list[list[str]] = []
    for number, record in records:
        if not any(cell.strip() for cell in record):
            continue
        if headers is None:
            headers, header_row = clean_headers(record), number
            continue
        if len(sample) >= sample_rows:
            return headers, header_row, sample, True
        sample.append(_fit(record, len(headers)))
    return headers, header_row, sample, bool(sample)


def _fit(record: list[str], width: int) -> list[str]:
    values = [v if v.isprintable() and len(v.strip()) == len(v) else clean_cell(v) for v in record[:width]]
    if len(values) < width:
        values.extend([""] * (width - len(values)))
    return values


# ---------------------------------------------------------------------------------------------------------------
# XLSX

def xlsx_value(value: Any) -> str:
    """One stored XLSX cell value as the text an importer parses: dates ISO, numbers without float noise."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0, 0) and value.tzinfo is None:
            return value.date().isoformat()
        return value.isoformat()
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            return ""
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        # Excel keeps 15 significant digits; anything after that is binary float noise (0.1+0.2 → 0.3).
        text = format(Decimal(format(value, ".15g")), "f")
        return text.rstrip("0").rstrip(".") if "." in text else text
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, dt.timedelta):
        return str(value)
    return clean_cell(str(value))


class _Workbook:
    """The parts of an XLSX package a row reader needs: sheet names and paths, shared strings, which cell styles
    are dates, the date system. Sheets are then streamed with expat (openpyxl's read-only mode parses a sheet
    without a <dimension> twice and builds an object per inline string: ~10x slower, measured)."""

    def __init__(self, path: Path):
        self.archive = zipfile.ZipFile(path)
        names = set(self.archive.namelist())
        workbook = _xml(self.archive.read("xl/workbook.xml"))
        rels_name = "xl/_rels/workbook.xml.rels"
        targets = {}
        if rels_name in names:
            for rel in _xml(self.archive.read(rels_name)):
                target = rel.get("Target", "")
                target = target.lstrip("/") if target.startswith("/") else posixpath.normpath(f"xl/{target}")
                targets[rel.get("Id")] = target
        self.sheets: dict[str, str] = {}
        for sheet in workbook.iter(f"{{{_MAIN_NS}}}sheet"):
            target = targets.get(sheet.get(f"{{{_REL_NS}}}id"), "")
            if target in names:
                self.sheets[sheet.get("name", "")] = target
        properties = workbook.find(f"{{{_MAIN_NS}}}workbookPr")
        date1904 = properties is not None and properties.get("date1904", "").lower() in {"1", "true"}
        self.epoch = MAC_EPOCH if date1904 else WINDOWS_EPOCH
        self.date_styles, self.duration_styles = self._styles(names)
        self.shared = self._shared_strings(names)

    def close(self) -> None:
        self.archive.close()

    def _styles(self, names: set[str]) -> tuple[set[int], set[int]]:
        if "xl/styles.xml" not in names:
            return set(), set()
        styles = _xml(self.archive.read("xl/styles.xml"))
        formats = dict(BUILTIN_FORMATS)
        for fmt in styles.iter(f"{{{_MAIN_NS}}}numFmt"):
            formats[int(fmt.get("numFmtId", "0"))] = fmt.get("formatCode", "")
        dates: set[int] = set()
        durations: set[int] = set()
        xfs = styles.find(f"{{{_MAIN_NS}}}cellXfs")
        for index, xf in enumerate(xfs if xfs is not None else []):
            code = formats.get(int(xf.get("numFmtId", "0")), "")
            if code and is_date_format(code):
                dates.add(index)
                if is_timedelta_format(code):
                    durations.add(index)
        return dates, durations

    def _shared_strings(self, names: set[str]) -> list[str]:
        name = "xl/sharedStrings.xml"
        if name not in names:
            return []
        if self.archive.getinfo(name).file_size > MAX_SHARED_STRINGS_BYTES:
            # Shared strings are held in memory; a workbook whose text alone unpacks to more is refused.
            raise FileProblem(_("The workbook holds too much text to import at once. Split it or export CSV."))
        strings: list[str] = []
        parts: list[str] = []
        state = {"in_t": False, "phonetic": 0}

        def start(tag: str, _attrs: dict[str, str]) -> None:
            local = tag.rpartition("}")[2]
            if local == "t" and not state["phonetic"]:
                state["in_t"] = True
            elif local == "rPh":
                state["phonetic"] += 1

        def end(tag: str) -> None:
            local = tag.rpartition("}")[2]
            if local == "t":
                state["in_t"] = False
            elif local == "rPh":
                state["phonetic"] -= 1
            elif local == "si":
                strings.append(_unescape("".join(parts)))
                parts.clear()

        def text(data: str) -> None:
            if state["in_t"]:
                parts.append(data)

        parser = _expat()
        parser.StartElementHandler, parser.EndElementHandler, parser.CharacterDataHandler = start, end, text
        with self.archive.open(name) as source:
            parser.ParseFile(source)
        return strings

    def rows(self, sheet: str) -> Iterator[tuple[int, list[str]]]:
        """(row number, cell texts) per stored row; gaps between columns are filled with ""."""
        shared, dates, durations, epoch = self.shared, self.date_styles, self.duration_styles, self.epoch
        done: list[tuple[int, list[str]]] = []
        row: list[str] = []
        parts: list[str] = []
        columns: dict[str, int] = {}
        # The state of the cell being read, in closure variables (the handlers run once per XML element).
        row_number = column = style = 0
        kind = "n"
        keep = inline = False

        def start(tag: str, attrs: dict[str, str]) -> None:
            nonlocal row_number, column, style, kind, keep, inline
            if ":" in tag:
                tag = tag.rpartition(":")[2]
            if tag == "c":
                ref = attrs.get("r")
                if ref:
                    letters = ref.rstrip("0123456789")
                    found = columns.get(letters)
                    if found is None:
                        found = columns[letters] = _column_index(letters)
                    column = found
                else:
                    column += 1
                kind = attrs.get("t", "n")
                s = attrs.get("s")
                style = int(s) if s else 0
                parts.clear()
            elif tag == "v":
                keep = True
            elif tag == "t":
                keep = inline
            elif tag == "is":
                inline = True
            elif tag == "rPh":
                inline = False
            elif tag == "row":
                number = attrs.get("r")
                row_number = int(number) if number else row_number + 1
                column = 0
                row.clear()

        def end(tag: str) -> None:
            nonlocal keep, inline
            if ":" in tag:
                tag = tag.rpartition(":")[2]
            if tag == "v" or tag == "t":
                keep = False
            elif tag == "c":
                inline = False
                if parts:
                    value = _cell_text(kind, "".join(parts), style, shared, dates, durations, epoch)
                    if value:
                        if len(row) < column - 1:
                            row.extend([""] * (column - 1 - len(row)))
                        row.append(value)
            elif tag == "row":
                done.append((row_number, row[:]))

        def text(data: str) -> None:
            if keep:
                parts.append(data)

        parser = _expat(namespaces=False)
        parser.StartElementHandler, parser.EndElementHandler, parser.CharacterDataHandler = start, end, text
        with self.archive.open(self.sheets[sheet]) as source:
            while chunk := source.read(256 * 1024):
                parser.Parse(chunk, False)
                if done:
                    yield from done
                    done.clear()
            parser.Parse(b"", True)
        yield from done


def _refuse_dtd(*_args: Any) -> None:
    raise ValueError("DTDs are not allowed in XLSX parts")


def _expat(namespaces: bool = True) -> Any:
    """A streaming parser that refuses any DTD, so no entity tricks (billion laughs, external entities)."""
    parser = expat.ParserCreate(namespace_separator="}") if namespaces else expat.ParserCreate()
    parser.buffer_text = True
    parser.StartDoctypeDeclHandler = _refuse_dtd
    parser.EntityDeclHandler = _refuse_dtd
    return parser


_DTD_RE = re.compile(rb"<!DOCTYPE|<!ENTITY", re.IGNORECASE)


def _xml(data: bytes) -> ElementTree.Element:
    """A small package part (workbook, relationships, styles) as a tree; a DTD is refused before parsing."""
    if _DTD_RE.search(data):
        raise ValueError("DTDs are not allowed in XLSX parts")
    return ElementTree.fromstring(data)  # noqa: S314 — no DTD, hence no entity expansion or external entities


_MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_ESCAPE_RE = re.compile(r"_x([0-9A-Fa-f]{4})_")


def _unescape(text: str) -> str:
    """OOXML writes characters XML cannot hold as _xHHHH_ ("_x000D_" for a carriage return)."""
    return _ESCAPE_RE.sub(lambda m: chr(int(m[1], 16)), text) if "_x" in text else text


def _column_index(ref: str) -> int:
    index = 0
    for char in ref:
        if "A" <= char <= "Z":
            index = index * 26 + ord(char) - 64
        elif "a" <= char <= "z":
            index = index * 26 + ord(char) - 96
        else:
            break
    return index


def _cell_text(kind: str, raw: str, style: int, shared: list[str], dates: set[int], durations: set[int],
               epoch: dt.datetime) -> str:
    """One stored cell as text. Formulas are never evaluated: a formula cell gives the value Excel stored."""
    if not raw:
        return ""
    if kind == "s":
        try:
            return clean_cell(shared[int(raw)])
        except (ValueError, IndexError):
            return ""
    if kind in {"inlineStr", "str", "e"}:
        return clean_cell(_unescape(raw))
    if kind == "b":
        return "true" if raw.strip() in {"1", "true"} else "false"
    if kind == "d":
        return raw.strip()
    raw = raw.strip()
    if style in dates:
        try:
            return xlsx_value(from_excel(float(raw), epoch, timedelta=style in durations))
        except (ValueError, OverflowError):
            return raw
    if raw.isdigit() or (raw[:1] == "-" and raw[1:].isdigit()):
        return raw  # integers stay exact, whatever their length
    try:
        return xlsx_value(float(raw))
    except ValueError:
        return raw


def _open_workbook(path: Path) -> _Workbook:
    try:
        return _Workbook(path)
    except (KeyError, ValueError, zipfile.BadZipFile, ElementTree.ParseError, expat.ExpatError, OSError,
            EOFError):
        raise FileProblem(_("The XLSX workbook could not be read; it may be damaged. Save it again or export CSV."))\
            from None


def _sheet_name(workbook: _Workbook, sheet: str | None) -> str | None:
    if sheet:
        if sheet not in workbook.sheets:
            raise FileProblem(_("The workbook has no sheet named “%(sheet)s”.") % {"sheet": sheet})
        return sheet
    return next(iter(workbook.sheets), None)


def _xlsx_records(path: Path, sheet: str | None, workbook: _Workbook | None = None) -> Iterator[tuple[int, list[str]]]:
    own = workbook is None
    book = workbook or _open_workbook(path)
    try:
        name = _sheet_name(book, sheet)
        if name is None:
            return
        try:
            yield from book.rows(name)
        except (KeyError, ValueError, zipfile.BadZipFile, expat.ExpatError, OSError, EOFError, zlib.error):
            raise FileProblem(_("The XLSX workbook could not be read; it may be damaged. Save it again or export "
                                "CSV.")) from None
    finally:
        if own:
            book.close()


def _inspect_xlsx(path: Path, size: int, sheet: str | None, sample_rows: int) -> SheetInfo:
    workbook = _open_workbook(path)
    try:
        title = _sheet_name(workbook, sheet) or ""
        records = _xlsx_records(path, title or None, workbook)
        headers, header_row, sample, has_data = _header_and_sample(records, sample_rows)
        sheets = list(workbook.sheets)
    finally:
        workbook.close()
    if headers is None:
        raise FileProblem(_("The sheet “%(sheet)s” is empty.") % {"sheet": title})
    if not has_data:
        raise FileProblem(_("The sheet “%(sheet)s” has a header row but no data rows.") % {"sheet": title})
    return SheetInfo(format="xlsx", encoding="", delimiter="", headers=headers, sample=sample, sheet=title,
                     sheets=sheets, header_row=header_row, size=size)


# ---------------------------------------------------------------------------------------------------------------
# Public interface

def inspect(path: str | Path, *, encoding: str | None = None, delimiter: str | None = None,
            sample_rows: int = 10, sheet: str | None = None) -> SheetInfo:
    """Look at a file: its format, encoding and delimiter (detected unless given), headers and the first
    ``sample_rows`` data rows. Raises ``FileProblem`` for anything that cannot be imported as a whole."""
    path = Path(path)
    size = _check_size(path)
    with path.open("rb") as handle:
        head = handle.read(SAMPLE_BYTES)
    if _sniff_format(path, head) == "xlsx":
        return _inspect_xlsx(path, size, sheet, sample_rows)
    return _inspect_csv(path, head, size, encoding, delimiter, sample_rows)


def iter_rows(path: str | Path, info: SheetInfo, *,
              on_ragged: RaggedCallback | None = None) -> Iterator[tuple[int, list[str]]]:
    """Yield ``(row_number, values)`` for every data row, streamed.

    ``row_number`` is the row as the person sees it in their spreadsheet (the header is row 1, so data starts at
    2; a record with a quoted line break counts as one row). ``values`` are cleaned strings (see
    ``values.clean_cell``), exactly ``len(info.headers)`` of them. Completely empty rows are skipped.

    Ragged rows: a row with fewer cells is padded with "", a row with more cells loses the extra ones. Either way
    ``on_ragged(row_number, cells, len(info.headers))`` is called before the row is yielded, so the caller can
    warn "Row 17 has 9 cells; the header has 7". Extra cells that are all empty (trailing delimiters, or XLSX
    cells formatted but blank) are dropped silently, and XLSX rows may be shorter than the header (Excel does not
    store trailing empty cells), so only CSV reports short rows.

    Raises ``FileProblem`` if the file turns out to be unreadable part-way (a damaged workbook, an unclosed quote
    that makes a cell larger than 128 KB).
    """
    path = Path(path)
    width = len(info.headers)
    records = (_xlsx_records(path, info.sheet or None) if info.format == "xlsx"
               else _csv_records(path, info.encoding, info.delimiter))
    header_row, is_csv = info.header_row, info.format == "csv"
    for number, record in records:
        if number <= header_row:
            continue
        values = _fit(record, width)
        lost = len(record) > width and any(clean_cell(cell) for cell in record[width:])
        if not lost and not any(values):
            continue
        if on_ragged is not None and (lost or (is_csv and len(record) < width)):
            on_ragged(number, len(record), width)
        yield number, values
