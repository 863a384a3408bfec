"""Reading real sample files (see samples/make_samples.py) and broken ones; a property-based CSV round trip."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from amity.integrations import readers
from amity.integrations.readers import FileProblem, SheetInfo, inspect, iter_rows
from amity.integrations.values import clean_cell

SAMPLES = Path(__file__).resolve().parent / "samples"
CSV, BROKEN, XLSX = SAMPLES / "csv", SAMPLES / "broken", SAMPLES / "xlsx"

ENGLISH_HEADERS = ["First Name", "Last Name", "Email", "Phone", "Company", "City"]
FIRST_ROW = ["Ada", "Lovelace", "ada@example.com", "+44 20 7946 0018", "Analytical Engines Ltd", "London"]
LAST_ROW = ["Frances", "Allen", "fran@example.com", "+1 914 555 0111", "IBM Research", "Yorktown Heights"]


def read_all(path: Path, **kwargs: object) -> tuple[SheetInfo, list[tuple[int, list[str]]]]:
    info = inspect(path, **kwargs)  # type: ignore[arg-type]
    return info, list(iter_rows(path, info))


@pytest.mark.parametrize(
    ("name", "encoding", "delimiter"),
    [
        ("utf8_contacts.csv", "utf-8", ","),
        ("utf8_bom_contacts.csv", "utf-8-sig", ","),
        ("utf16le_bom_contacts.txt", "utf-16", "\t"),
        ("utf16be_nobom_contacts.csv", "utf-16-be", ","),
        ("semicolon.csv", "utf-8", ";"),
        ("tab.tsv", "utf-8", "\t"),
        ("pipe.csv", "utf-8", "|"),
    ],
    ids=["utf8", "utf8-bom", "utf16le-bom-tab", "utf16be-no-bom", "semicolon", "tab", "pipe"],
)
def test_the_same_contacts_read_identically_in_every_encoding_and_delimiter(name, encoding, delimiter):
    info, rows = read_all(CSV / name)

    assert (info.format, info.encoding, info.delimiter) == ("csv", encoding, delimiter)
    assert info.headers == ENGLISH_HEADERS
    assert info.sample[0] == FIRST_ROW and len(info.sample) == 10
    assert [number for number, _values in rows] == list(range(2, 12))
    assert rows[0][1] == FIRST_ROW and rows[-1][1] == LAST_ROW


@pytest.mark.parametrize("name", ["gb18030_contacts.csv", "gbk_contacts.csv"])
def test_chinese_files_in_gb18030_or_gbk_are_detected(name):
    info, rows = read_all(CSV / name)

    assert info.encoding == "gb18030"
    assert info.headers == ["名", "姓", "邮箱", "手机", "公司", "城市"]
    assert rows[0] == (2, ["小明", "王", "wang.xiaoming@example.cn", "13800138000", "北京科技有限公司", "北京"])
    assert rows[-1][1][:2] == ["洋", "吴"]


def test_western_european_file_reads_as_latin1_with_windows_characters():
    info, rows = read_all(CSV / "latin1_semicolon.csv")

    assert (info.encoding, info.delimiter) == ("latin-1", ";")
    assert info.headers == ["Vorname", "Nachname", "E-Mail", "Stadt", "Straße"]
    assert rows[0][1] == ["Jürgen", "Müller", "juergen@example.de", "Köln", "Straße 5"]
    # Windows-1252's curly apostrophe, euro sign and en dash survive (strict Latin-1 would make them C1 codes).
    assert rows[1][1][4] == "Rue de l’Église"
    assert rows[4][1][4] == "Place €uro"
    assert rows[5][1][4] == "Main St – North"


@pytest.mark.parametrize(("encoding", "expected"), [("cp1252", "latin-1"), ("gb18030", "gb18030")])
def test_detection_looks_where_the_first_non_ascii_bytes_are(tmp_path, encoding, expected):
    # 3,000 ASCII rows (more than the 64 KB head) before the first accent or Chinese name.
    lines = ["Name,Email"] + [f"Person {i},p{i}@example.com" for i in range(3000)]
    lines += ["Zoë Brontë,zoe@example.com" if expected == "latin-1" else "王小明,wang@example.cn"]
    path = tmp_path / "late.csv"
    path.write_bytes("\n".join(lines).encode(encoding) + b"\n")

    info = inspect(path)
    *_rest, (number, last) = iter_rows(path, info)

    assert info.encoding == expected
    assert number == 3002 and last[0] in {"Zoë Brontë", "王小明"}


def test_a_utf8_file_with_damage_is_refused_with_the_line_instead_of_guessing(tmp_path):
    path = tmp_path / "damaged.csv"
    good = "Name,City\n" + "".join(f"王小明{i},北京\n" for i in range(10))
    path.write_bytes(good.encode() + b"Ren\xe9,Paris\n")

    with pytest.raises(FileProblem) as problem:
        inspect(path)

    assert str(problem.value) == (
        "The file is UTF-8, but line 12 contains bytes that are not. Save the file again as UTF-8, or choose its "
        "encoding by hand."
    )


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
def test_utf16_without_bom_and_without_ascii_is_still_text(tmp_path, codec):
    path = tmp_path / "chinese16.csv"
    path.write_bytes("姓名，城市\n王小明，北京\n李华，上海\n".replace("，", "\t").encode(codec))

    info, rows = read_all(path)

    assert (info.encoding, info.delimiter, info.headers) == (codec, "\t", ["姓名", "城市"])
    assert rows == [(2, ["王小明", "北京"]), (3, ["李华", "上海"])]


def test_encoding_override_is_used_and_a_wrong_one_is_refused_with_the_line():
    info = inspect(CSV / "gb18030_contacts.csv", encoding="GBK")
    assert info.encoding == "gb18030"

    with pytest.raises(FileProblem) as problem:
        inspect(BROKEN / "gb18030_as_utf8.csv", encoding="utf-8")
    assert str(problem.value) == (
        "The file is not valid UTF-8 (the first problem is on line 3). Choose another encoding or let Amity "
        "detect it."
    )

    latin = inspect(BROKEN / "gb18030_as_utf8.csv", encoding="latin-1")  # the person's choice is respected
    assert latin.encoding == "latin-1" and latin.sample[0] == ["Ada", "London"]

    with pytest.raises(FileProblem, match="“ebcdic” is not an encoding Amity can read."):
        inspect(CSV / "utf8_contacts.csv", encoding="ebcdic")


def test_delimiter_override():
    info = inspect(CSV / "semicolon.csv", delimiter=",")
    assert info.delimiter == "," and info.headers == ["First Name;Last Name;Email;Phone;Company;City"]

    assert inspect(CSV / "tab.tsv", delimiter="\\t").delimiter == "\t"
    with pytest.raises(FileProblem, match="Choose comma, semicolon, tab or | as the delimiter."):
        inspect(CSV / "semicolon.csv", delimiter="x")


def test_a_single_column_file(tmp_path):
    path = tmp_path / "emails.csv"
    path.write_text("Email\nada@example.com\ngrace@example.org\n", encoding="utf-8")

    info, rows = read_all(path)

    assert (info.delimiter, info.headers) == (",", ["Email"])
    assert rows == [(2, ["ada@example.com"]), (3, ["grace@example.org"])]


def test_ragged_rows_are_padded_or_cut_and_reported():
    info = inspect(CSV / "ragged.csv")
    reported: list[tuple[int, int, int]] = []

    rows = list(iter_rows(CSV / "ragged.csv", info, on_ragged=lambda *args: reported.append(args)))

    assert reported == [(3, 2, 4), (4, 6, 4)]  # row 5 only has empty trailing cells: nothing is lost
    assert rows == [
        (2, ["Ada Lovelace", "ada@example.com", "+44 20 7946 0018", "London"]),
        (3, ["Grace Hopper", "grace@example.org", "", ""]),
        (4, ["Alan Turing", "alan@example.co.uk", "+44 161 496 0735", "Manchester"]),
        (5, ["Linus Torvalds", "linus@example.fi", "", "Helsinki"]),
        (7, ["Frances Allen", "fran@example.com", "+1 914 555 0111", "Yorktown Heights"]),  # row 6 is blank
    ]


def test_quoted_newlines_stay_in_their_cell_and_rows_count_records():
    info, rows = read_all(CSV / "quoted_newlines.csv")

    assert [number for number, _v in rows] == [2, 3, 4]
    assert rows[0][1][2] == "Met at the conference.\nWants a demo in May,\nthen a quote."
    assert rows[1][1][2] == 'Said "call me Amazing Grace"'
    assert rows[2][1][2] == "Line one\nLine two"


def test_formulas_and_html_stay_literal_text_and_control_characters_go():
    _info, rows = read_all(CSV / "dangerous.csv")

    assert rows[0][1] == ['=HYPERLINK("http://evil.example","Click")', "a@example.com", "=1+2",
                          "+cmd|' /C calc'!A0"]
    assert rows[1][1] == ["<script>alert('x')</script>", "b@example.com", "<b>bold</b> & <i>co</i>", "-2+3"]
    assert rows[2][1] == ["@SUM(A1:A9)", "c@example.com", "nulbell[31mred", "javascript:alert(1)"]


def test_headers_are_cleaned_numbered_and_deduplicated(tmp_path):
    path = tmp_path / "headers.csv"
    path.write_bytes("\ufeff Email ,,email,Email\x00,Phone\n1,2,3,4,5\n".encode())

    info = inspect(path)

    assert info.encoding == "utf-8-sig"
    assert info.headers == ["Email", "Column 2", "email (2)", "Email (3)", "Phone"]


def test_blank_rows_above_the_header_are_skipped_and_numbering_follows_the_sheet(tmp_path):
    path = tmp_path / "blank_top.csv"
    path.write_text("\n,,\nName,Email\nAda,ada@example.com\n", encoding="utf-8")

    info, rows = read_all(path)

    assert info.header_row == 3 and info.headers == ["Name", "Email"]
    assert rows == [(4, ["Ada", "ada@example.com"])]


def test_xlsx_values_dates_numbers_formulas_and_html():
    info, rows = read_all(XLSX / "contacts.xlsx")

    assert (info.format, info.encoding, info.delimiter, info.sheet) == ("xlsx", "", "", "Contacts")
    assert info.sheets == ["Contacts", "Companies"]
    assert info.headers == ["Name", "Email", "Signed up", "Last call", "Orders", "Revenue", "Big id", "Total",
                            "Notes", "VIP"]
    assert rows == [
        (2, ["Ada Lovelace", "ada@example.com", "2025-04-03", "2025-04-03T14:30:00", "3", "1234.5",
             "12345678901234", "3703.5", "<script>alert('x')</script>", "true"]),
        # The formula's stored value is read, not the formula, and its float noise (0.30000000000000004) goes;
        # a text cell "=1+2" stays text.
        (3, ["Grace Hopper", "grace@example.org", "2024-12-31", "2024-01-02T08:00:05", "1", "0.3",
             "00012345678901234567", "0.3", "=1+2", "false"]),
        (4, ["王小明", "wang@example.cn", "1999-01-01", "", "0", "19.99", "987654321", "19.99", "<b>bold</b>", ""]),
    ]


def test_xlsx_written_like_excel_shared_strings_rich_text_styles_gaps():
    info, rows = read_all(XLSX / "excel_style.xlsx")

    assert (info.sheet, info.sheets) == ("Kunden", ["Kunden"])
    assert info.headers == ["Name", "Email", "Met", "Call length", "Amount", "Notes"]
    assert rows == [
        # B2 is missing (a gap); a custom "dd.mm.yyyy hh:mm" format is a date; "[h]:mm" is a duration; an escaped
        # carriage return (_x000D_) and markup in shared strings stay text.
        (2, ["Jürgen Müller", "", "2025-04-03T12:00:00", "1:30:00", "1234.5", "line one\nline two & <b>three</b>"]),
        # Row 3 is not stored at all. Rich-text runs are joined without the phonetic guide; a formula gives its
        # stored result; an error value is kept as its text; a text cell starting with "=" stays text.
        (4, ["山田 太郎", "a@example.com", "2025-04-03", "", "#DIV/0!", "=SUM(A1:A2)"]),
        # Cells without references, an inline string, a boolean, an 18-digit integer kept exact.
        (5, ["Inline Ína", "true", "123456789012345678", "", "", ""]),
    ]


def test_xlsx_1904_date_system_and_prefixed_namespace():
    _info, rows = read_all(XLSX / "excel_1904_prefixed.xlsx")

    assert rows[0][1][2] == "2029-04-04T12:00:00"  # serial 45750.5 counted from 1904-01-01
    assert rows[1][1][:3] == ["山田 太郎", "a@example.com", "2029-04-04"]


def test_xlsx_with_an_entity_declaration_is_refused_without_expanding_it():
    with pytest.raises(FileProblem, match="The XLSX workbook could not be read"):
        read_all(BROKEN / "entity_bomb.xlsx")


def test_xlsx_whose_text_table_unpacks_too_big_is_refused(monkeypatch):
    monkeypatch.setattr(readers, "MAX_SHARED_STRINGS_BYTES", 100)

    with pytest.raises(FileProblem, match="The workbook holds too much text to import at once."):
        inspect(XLSX / "excel_style.xlsx")


def test_xlsx_other_sheet_by_name():
    info, rows = read_all(XLSX / "contacts.xlsx", sheet="Companies")

    assert info.sheet == "Companies" and info.headers == ["Company", "Domain"]
    assert rows == [(2, ["Acme", "acme.example"])]
    with pytest.raises(FileProblem, match="The workbook has no sheet named “Deals”."):
        inspect(XLSX / "contacts.xlsx", sheet="Deals")


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("empty.csv", "The file is empty."),
        ("header_only.csv", "The file has a header row but no data rows."),
        ("blank_lines.csv", "The file has no rows."),
        ("header_only.xlsx", "The sheet “Sheet” has a header row but no data rows."),
        ("empty_sheet.xlsx", "The sheet “Sheet” is empty."),
        ("document.pdf", "This is a PDF document, not a spreadsheet. Export the data as CSV or XLSX."),
        ("image.png", "This is an image (PNG), not a spreadsheet."),
        ("archive.zip", "This is a zip archive, not a spreadsheet. Unpack it and upload the CSV or XLSX inside."),
        ("truncated.xlsx", "The file looks like an XLSX workbook or a zip archive but is damaged."),
        ("old_excel.xls", "This is an old Excel 97–2003 (.xls) workbook. Open it in your spreadsheet program and "
                          "save it as .xlsx or CSV."),
        ("binary.bin", "This is not a text or spreadsheet file (it contains binary data)."),
        ("unclosed_quote.csv", "Row 3 opens a quote (\") that is never closed, so the rest of the file would "
                               "become one cell. Fix the quote and upload the file again."),
    ],
    ids=lambda value: value if isinstance(value, str) and "." in value[-5:] else "",
)
def test_files_that_cannot_be_imported_say_why(name, message):
    with pytest.raises(FileProblem) as problem:
        inspect(BROKEN / name)
    assert str(problem.value) == message


def test_an_unclosed_quote_beyond_the_sample_stops_before_the_damaged_row():
    # As an import job sees it: the file was inspected earlier (on a sample that ended before the damage).
    info = SheetInfo(format="csv", encoding="utf-8", delimiter=",", headers=["Name", "Email", "Notes"], sample=[])
    seen: list[int] = []

    with pytest.raises(FileProblem, match="Row 3 opens a quote"):
        for number, _values in iter_rows(BROKEN / "unclosed_quote.csv", info):
            seen.append(number)

    assert seen == [2]  # the swallowed row is never handed to the importer


def test_a_file_over_the_limit_is_refused_before_reading(tmp_path):
    path = tmp_path / "huge.csv"
    with path.open("wb") as handle:
        handle.truncate(readers.MAX_FILE_BYTES + 12 * 1024 * 1024)  # sparse: no disk used

    with pytest.raises(FileProblem) as problem:
        inspect(path)

    assert str(problem.value) == (
        "The file is 212 MB; the limit is 200 MB. Split it into smaller files and import them one by one."
    )


def test_a_cell_over_the_csv_field_limit_is_a_file_problem(tmp_path):
    path = tmp_path / "long.csv"
    path.write_text("Name,Notes\nAda,ok\nGrace," + "x" * (csv.field_size_limit() + 10) + "\n", encoding="utf-8")
    info = SheetInfo(format="csv", encoding="utf-8", delimiter=",", headers=["Name", "Notes"], sample=[])

    with pytest.raises(FileProblem, match="Row 3 could not be read"):
        list(iter_rows(path, info))


def test_iter_rows_streams_without_reading_the_whole_file(tmp_path):
    path = tmp_path / "many.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Name", "Email"])
        for i in range(5000):
            writer.writerow([f"Person {i}", f"p{i}@example.com"])
    info = inspect(path, sample_rows=3)
    rows = iter_rows(path, info)

    assert next(rows) == (2, ["Person 0", "p0@example.com"])
    assert info.sample == [["Person 0", "p0@example.com"], ["Person 1", "p1@example.com"],
                           ["Person 2", "p2@example.com"]]
    assert sum(1 for _row in rows) == 4999


def test_encodings_list_for_the_picker():
    assert [code for code, _label in readers.ENCODINGS] == ["", "utf-8", "utf-16", "gb18030", "latin-1"]
    assert readers.MAX_FILE_BYTES == 200 * 1024 * 1024


# ---------------------------------------------------------------------------------------------------------------
# Property: whatever csv.writer writes, in any supported encoding and delimiter, reads back identically.

_ANY_TEXT = st.text(st.characters(blacklist_categories=("Cc", "Cs")), max_size=12)
_LATIN1_TEXT = st.text(st.characters(min_codepoint=0x20, max_codepoint=0xFF, blacklist_categories=("Cc",)),
                       max_size=12)
_WRITERS = {  # our encoding name → how the file is written
    "utf-8": "utf-8", "utf-8-sig": "utf-8-sig", "utf-16": "utf-16", "gb18030": "gb18030", "latin-1": "latin-1",
}


@st.composite
def _tables(draw: st.DrawFn) -> tuple[str, str, list[list[str]]]:
    encoding = draw(st.sampled_from(sorted(_WRITERS)))
    delimiter = draw(st.sampled_from(readers.DELIMITERS))
    text = _LATIN1_TEXT if encoding == "latin-1" else _ANY_TEXT
    rows = draw(st.lists(st.lists(text, min_size=3, max_size=3), min_size=1, max_size=12))
    return encoding, delimiter, rows


def _write(path: Path, encoding: str, delimiter: str, rows: list[list[str]]) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter)
    writer.writerow(["alpha", "beta", "gamma"])
    writer.writerows(rows)
    path.write_bytes(buffer.getvalue().encode(_WRITERS[encoding]))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(table=_tables())
def test_property_csv_round_trip(tmp_path, table):
    encoding, delimiter, rows = table
    path = tmp_path / "roundtrip.csv"
    _write(path, encoding, delimiter, rows)
    # BOM encodings and plain UTF-8 are detected; for GB18030 and Latin-1 the person picks (any byte string is
    # valid Latin-1, so random text cannot be told apart reliably).
    given_encoding = encoding if encoding in {"gb18030", "latin-1"} else None

    expected = [(n, [clean_cell(c) for c in row]) for n, row in enumerate(rows, start=2)
                if any(clean_cell(c) for c in row)]
    if not expected:
        with pytest.raises(FileProblem, match="The file has a header row but no data rows."):
            inspect(path, encoding=given_encoding, delimiter=delimiter)
        return

    info = inspect(path, encoding=given_encoding, delimiter=delimiter)
    result = list(iter_rows(path, info))

    assert info.headers == ["alpha", "beta", "gamma"]
    assert result == expected
    if encoding in {"utf-8-sig", "utf-16"}:
        assert info.encoding == encoding
    elif encoding == "utf-8":
        assert info.encoding == "utf-8"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.lists(st.sampled_from(["Ada", "Grace Hopper", "王小明", "a@example.com", "+1 212 555",
                                                "12,50", "x;y", "", "Zoë"]), min_size=3, max_size=3),
                     min_size=2, max_size=8),
       delimiter=st.sampled_from(readers.DELIMITERS))
def test_property_delimiter_is_detected_for_typical_tables(tmp_path, rows, delimiter):
    rows = [[*row[:2], f"{i}"] for i, row in enumerate(rows)]  # a never-empty id column, as real exports have
    path = tmp_path / "detect.csv"
    _write(path, "utf-8", delimiter, rows)

    assert inspect(path).delimiter == delimiter
