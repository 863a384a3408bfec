"""Regenerate the sample files the reader tests use: `.venv/bin/python amity/integrations/tests/samples/make_samples.py`.

The files themselves are committed (tests never depend on this script running); it documents exactly how each
encoded or broken file was made. Deterministic: running it again produces the same bytes.
"""

from __future__ import annotations

import csv
import io
import re
import struct
import zipfile
import zlib
from pathlib import Path

HERE = Path(__file__).resolve().parent
CSV_DIR, BROKEN_DIR, XLSX_DIR = HERE / "csv", HERE / "broken", HERE / "xlsx"

PEOPLE = [
    ("Ada", "Lovelace", "ada@example.com", "+44 20 7946 0018", "Analytical Engines Ltd", "London"),
    ("Grace", "Hopper", "grace.hopper@example.org", "+1 212 555 0147", "Navy Computing", "New York"),
    ("Alan", "Turing", "alan@example.co.uk", "+44 161 496 0735", "Bletchley Park", "Manchester"),
    ("Katherine", "Johnson", "kjohnson@example.com", "+1 757 555 0199", "NACA", "Hampton"),
    ("Linus", "Torvalds", "linus@example.fi", "+358 9 4245 1234", "Kernel Oy", "Helsinki"),
    ("Margaret", "Hamilton", "mh@example.com", "+1 617 555 0123", "Apollo Guidance", "Boston"),
    ("Tim", "Berners-Lee", "timbl@example.ch", "+41 22 767 6111", "CERN", "Geneva"),
    ("Barbara", "Liskov", "liskov@example.edu", "+1 617 555 0456", "MIT", "Cambridge"),
    ("Edsger", "Dijkstra", "ewd@example.nl", "+31 40 247 9111", "TU Eindhoven", "Eindhoven"),
    ("Frances", "Allen", "fran@example.com", "+1 914 555 0111", "IBM Research", "Yorktown Heights"),
]

CHINESE = [
    ("小明", "王", "wang.xiaoming@example.cn", "13800138000", "北京科技有限公司", "北京"),
    ("华", "李", "lihua@example.cn", "13912345678", "上海贸易有限公司", "上海"),
    ("伟", "张", "zhangwei@example.cn", "13700001111", "深圳电子厂", "深圳"),
    ("芳", "刘", "liufang@example.cn", "13600002222", "广州餐饮集团", "广州"),
    ("娜", "陈", "chenna@example.cn", "13500003333", "杭州网络公司", "杭州"),
    ("敏", "杨", "yangmin@example.cn", "13400004444", "成都熊猫文化", "成都"),
    ("静", "赵", "zhaojing@example.cn", "13300005555", "南京软件园", "南京"),
    ("强", "黄", "huangqiang@example.cn", "13200006666", "武汉光谷", "武汉"),
    ("磊", "周", "zhoulei@example.cn", "13100007777", "西安古城旅游", "西安"),
    ("洋", "吴", "wuyang@example.cn", "13000008888", "重庆火锅连锁", "重庆"),
]

LATIN = [
    ("Jürgen", "Müller", "juergen@example.de", "Köln", "Straße 5"),
    ("René", "Dupré", "rene@example.fr", "Besançon", "Rue de l’Église"),
    ("Íñigo", "Ibáñez", "inigo@example.es", "Logroño", "Calle Mayor"),
    ("Åsa", "Østergård", "asa@example.dk", "Århus", "Vestergade"),
    ("François", "Lefèvre", "francois@example.fr", "Orléans", "Place €uro"),
    ("Zoë", "Brontë", "zoe@example.co.uk", "Haworth", "Main St – North"),
]


def rows_to_csv(rows: list[list[str]], delimiter: str = ",", lineterminator: str = "\r\n") -> str:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, lineterminator=lineterminator).writerows(rows)
    return buffer.getvalue()


def write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def contacts_header() -> list[str]:
    return ["First Name", "Last Name", "Email", "Phone", "Company", "City"]


def make_csv() -> None:
    english = [contacts_header(), *[list(p) for p in PEOPLE]]
    write(CSV_DIR / "utf8_bom_contacts.csv", rows_to_csv(english).encode("utf-8-sig"))
    write(CSV_DIR / "utf8_contacts.csv", rows_to_csv(english).encode("utf-8"))
    # Excel's "Unicode text": UTF-16 LE with a BOM, tab separated.
    write(CSV_DIR / "utf16le_bom_contacts.txt", rows_to_csv(english, "\t").encode("utf-16"))
    write(CSV_DIR / "utf16be_nobom_contacts.csv", rows_to_csv(english).encode("utf-16-be"))
    chinese = [["名", "姓", "邮箱", "手机", "公司", "城市"], *[list(p) for p in CHINESE]]
    write(CSV_DIR / "gb18030_contacts.csv", rows_to_csv(chinese).encode("gb18030"))
    write(CSV_DIR / "gbk_contacts.csv", rows_to_csv(chinese).encode("gbk"))
    latin = [["Vorname", "Nachname", "E-Mail", "Stadt", "Straße"], *[list(p) for p in LATIN]]
    # European Excel: Windows-1252 (Latin-1 plus €, curly quotes and dashes), semicolons.
    write(CSV_DIR / "latin1_semicolon.csv", rows_to_csv(latin, ";").encode("cp1252"))
    write(CSV_DIR / "semicolon.csv", rows_to_csv(english, ";").encode("utf-8"))
    write(CSV_DIR / "tab.tsv", rows_to_csv(english, "\t", "\n").encode("utf-8"))
    write(CSV_DIR / "pipe.csv", rows_to_csv(english, "|", "\n").encode("utf-8"))
    ragged = (
        "Name,Email,Phone,City\n"
        "Ada Lovelace,ada@example.com,+44 20 7946 0018,London\n"
        "Grace Hopper,grace@example.org\n"
        "Alan Turing,alan@example.co.uk,+44 161 496 0735,Manchester,extra,cells\n"
        "Linus Torvalds,linus@example.fi,,Helsinki,,\n"
        "\n"
        "Frances Allen,fran@example.com,+1 914 555 0111,Yorktown Heights\n"
    )
    write(CSV_DIR / "ragged.csv", ragged.encode())
    quoted = rows_to_csv([
        ["Name", "Email", "Notes"],
        ["Ada Lovelace", "ada@example.com", "Met at the conference.\nWants a demo in May,\nthen a quote."],
        ["Grace Hopper", "grace@example.org", 'Said "call me Amazing Grace"'],
        ["Alan Turing", "alan@example.co.uk", "Line one\r\nLine two"],
    ])
    write(CSV_DIR / "quoted_newlines.csv", quoted.encode())
    dangerous = rows_to_csv([
        ["Name", "Email", "Notes", "Website"],
        ["=HYPERLINK(\"http://evil.example\",\"Click\")", "a@example.com", "=1+2", "+cmd|' /C calc'!A0"],
        ["<script>alert('x')</script>", "b@example.com", "<b>bold</b> & <i>co</i>", "-2+3"],
        ["@SUM(A1:A9)", "c@example.com", "\x00nul\x07bell\x1b[31mred", "javascript:alert(1)"],
    ])
    write(CSV_DIR / "dangerous.csv", dangerous.encode())
    dates = rows_to_csv([
        ["Name", "Birthday", "Format"],
        ["ISO", "2025-04-03", "iso"],
        ["Slashes year first", "2025/4/3", "ymd"],
        ["Excel serial", "45750", "serial"],
        ["Day first", "03/04/2025", "dmy"],
        ["Long", "3 April 2025", "long"],
        ["US long", "Apr 3, 2025", "mdy-long"],
        ["Chinese", "2025年4月3日", "chinese"],
        ["Impossible", "31/02/2025", "bad"],
    ])
    write(CSV_DIR / "dates.csv", dates.encode())
    make_crm_exports()


def make_crm_exports() -> None:
    hubspot = [["Record ID", "First Name", "Last Name", "Email", "Phone Number", "Company Name", "Job Title",
                "Lifecycle Stage", "Contact owner", "Create Date", "City", "Country/Region"]]
    stages = ["lead", "subscriber", "marketingqualifiedlead", "salesqualifiedlead", "opportunity", "customer"]
    for i, (first, last, email, phone, company, city) in enumerate(PEOPLE):
        hubspot.append([str(51234001 + i * 37), first, last, email, phone, company, "Engineer",
                        stages[i % len(stages)], "owner@amity.example", f"2024-0{1 + i % 9}-1{i} 09:3{i}",
                        city, "United Kingdom" if i % 2 else "United States"])
    write(CSV_DIR / "hubspot_contacts.csv", rows_to_csv(hubspot).encode("utf-8"))

    salesforce = [["Contact ID", "Salutation", "First Name", "Last Name", "Title", "Account Name", "Email",
                   "Phone", "Mobile", "Mailing Street", "Mailing City", "Mailing State/Province",
                   "Mailing Zip/Postal Code", "Mailing Country", "Lead Source", "Email Opt Out", "Birthdate",
                   "Contact Owner"]]
    for i, (first, last, email, phone, company, city) in enumerate(PEOPLE):
        salesforce.append([f"0035g00000{i:03d}AbCD", "Dr." if i % 3 == 0 else "Ms.", first, last, "CTO", company,
                           email, phone, "", f"{10 + i} High Street", city, "", f"{10000 + i * 11}",
                           "United States", "Web", "1" if i % 4 == 0 else "0", f"{1 + i}/{10 + i}/19{60 + i}",
                           "Sam Seller"])
    write(CSV_DIR / "salesforce_contacts.csv", rows_to_csv(salesforce).encode("utf-8"))

    pipedrive = [["Deal - ID", "Deal - Title", "Deal - Value", "Deal - Currency", "Deal - Stage",
                  "Deal - Pipeline", "Deal - Expected close date", "Deal - Owner", "Organization - Name",
                  "Person - Name", "Person - Email", "Person - Phone"]]
    deal_stages = ["Qualified", "Contact Made", "Demo Scheduled", "Proposal Made", "Negotiations Started"]
    for i, (first, last, email, phone, company, _city) in enumerate(PEOPLE):
        pipedrive.append([str(100 + i), f"{company} deal", f"{(i + 1) * 1250}", "EUR" if i % 2 else "USD",
                          deal_stages[i % 5], "Sales", f"2025-0{1 + i % 9}-15", "Sam Seller", company,
                          f"{first} {last}", email, phone])
    write(CSV_DIR / "pipedrive_deals.csv", rows_to_csv(pipedrive).encode("utf-8"))

    persons = [["Person - ID", "Person - Name", "Person - Email", "Person - Phone", "Person - Organization",
                "Person - Labels", "Person - Owner"]]
    for i, (first, last, email, phone, company, _city) in enumerate(PEOPLE):
        persons.append([str(300 + i), f"{first} {last}", email, phone, company, "Hot lead" if i % 2 else "",
                        "Sam Seller"])
    write(CSV_DIR / "pipedrive_persons.csv", rows_to_csv(persons).encode("utf-8"))


def _with_cached_values(path: Path, cached: dict[str, str]) -> None:
    """openpyxl writes formulas without the value Excel would have stored; add <v> elements like Excel does."""
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    sheet = members["xl/worksheets/sheet1.xml"].decode()
    for ref, value in cached.items():
        sheet = re.sub(rf'(<c r="{ref}"[^>]*>)(<f>[^<]*</f>)<v\s*/>', rf"\1\2<v>{value}</v>", sheet)
        sheet = re.sub(rf'(<c r="{ref}"[^>]*>)(<f>[^<]*</f>)<v></v>', rf"\1\2<v>{value}</v>", sheet)
        sheet = re.sub(rf'(<c r="{ref}"[^>]*>)(<f>[^<]*</f>)(</c>)', rf"\1\2<v>{value}</v>\3", sheet)
    members["xl/worksheets/sheet1.xml"] = sheet.encode()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            info = zipfile.ZipInfo(name, date_time=(2025, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)


def _stable_zip(path: Path) -> None:
    """Rewrite a zip with fixed timestamps so the bytes do not change between runs."""
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    for name in list(members):
        if name == "docProps/core.xml":
            members[name] = re.sub(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", b"2025-01-01T00:00:00Z", members[name])
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            info = zipfile.ZipInfo(name, date_time=(2025, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)


def make_xlsx() -> None:
    import datetime as dt
    from decimal import Decimal

    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Contacts"
    sheet.append(["Name", "Email", "Signed up", "Last call", "Orders", "Revenue", "Big id", "Total", "Notes",
                  "VIP"])
    sheet.append(["Ada Lovelace", "ada@example.com", dt.date(2025, 4, 3), dt.datetime(2025, 4, 3, 14, 30),
                  3, 1234.5, 12345678901234, None, "<script>alert('x')</script>", True])
    sheet.append(["Grace Hopper", "grace@example.org", dt.datetime(2024, 12, 31), dt.datetime(2024, 1, 2, 8, 0, 5),
                  1.0, 0.1 + 0.2, "00012345678901234567", None, "=1+2", False])
    sheet.append(["王小明", "wang@example.cn", dt.date(1999, 1, 1), None, 0, Decimal("19.99"), 987654321, None,
                  "<b>bold</b>", None])
    sheet["H2"] = "=E2*F2"
    sheet["H3"] = "=E3*F3"
    sheet["H4"] = "=SUM(E4:F4)"
    sheet["I3"].value = "=1+2"
    sheet["I3"].data_type = "s"  # text that starts with "=": must stay text, never a formula
    second = workbook.create_sheet("Companies")
    second.append(["Company", "Domain"])
    second.append(["Acme", "acme.example"])
    XLSX_DIR.mkdir(parents=True, exist_ok=True)
    path = XLSX_DIR / "contacts.xlsx"
    workbook.save(path)
    _with_cached_values(path, {"H2": "3703.5", "H3": "0.30000000000000004", "H4": "19.99"})
    _stable_zip(path)

    header_only = Workbook()
    header_only.active.append(["Name", "Email"])
    header_only.save(BROKEN_DIR / "header_only.xlsx")
    _stable_zip(BROKEN_DIR / "header_only.xlsx")
    empty = Workbook()
    empty.save(BROKEN_DIR / "empty_sheet.xlsx")
    _stable_zip(BROKEN_DIR / "empty_sheet.xlsx")


_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    '<Override PartName="/xl/sharedStrings.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
    '<Override PartName="/xl/styles.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
    "</Types>"
)
_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_RELS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"


def _package(path: Path, sheet_xml: str, shared: list[str], *, date1904: bool = False, prefix: str = "") -> None:
    """A workbook written the way Excel writes it (shared strings, styles, <dimension>), part by part."""
    p = f"{prefix}:" if prefix else ""
    xmlns = f'xmlns{":" + prefix if prefix else ""}="{_MAIN}"'
    system = ' date1904="1"' if date1904 else ""
    workbook = (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><{p}workbook {xmlns} xmlns:r="{_RELS}">'
                f'<{p}workbookPr{system}/><{p}sheets>'
                f'<{p}sheet name="Kunden" sheetId="1" r:id="rId1"/></{p}sheets></{p}workbook>')
    rels = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            f'<Relationship Id="rId1" Type="{_RELS}/worksheet" Target="worksheets/sheet1.xml"/>'
            f'<Relationship Id="rId2" Type="{_RELS}/sharedStrings" Target="sharedStrings.xml"/>'
            f'<Relationship Id="rId3" Type="{_RELS}/styles" Target="/xl/styles.xml"/></Relationships>')
    root_rels = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
                 '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
                 '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
                 'officeDocument" Target="xl/workbook.xml"/></Relationships>')
    # Style 0: general; 1: built-in date (14); 2: custom "dd.mm.yyyy hh:mm"; 3: a duration "[h]:mm"; 4: 0.00
    styles = (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><styleSheet xmlns="{_MAIN}">'
              '<numFmts count="2"><numFmt numFmtId="164" formatCode="dd.mm.yyyy hh:mm"/>'
              '<numFmt numFmtId="165" formatCode="[h]:mm"/></numFmts><cellXfs count="5">'
              '<xf numFmtId="0"/><xf numFmtId="14" applyNumberFormat="1"/><xf numFmtId="164" applyNumberFormat="1"/>'
              '<xf numFmtId="165" applyNumberFormat="1"/><xf numFmtId="2" applyNumberFormat="1"/></cellXfs>'
              "</styleSheet>")
    strings = "".join(shared)
    shared_xml = (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><sst xmlns="{_MAIN}" '
                  f'count="{len(shared)}" uniqueCount="{len(shared)}">{strings}</sst>')
    sheet = (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><{p}worksheet {xmlns}>'
             f'<{p}dimension ref="A1:F5"/><{p}sheetData>{sheet_xml}</{p}sheetData></{p}worksheet>')
    parts = {"[Content_Types].xml": _CONTENT_TYPES, "_rels/.rels": root_rels, "xl/workbook.xml": workbook,
             "xl/_rels/workbook.xml.rels": rels, "xl/styles.xml": styles, "xl/sharedStrings.xml": shared_xml,
             "xl/worksheets/sheet1.xml": sheet}
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in parts.items():
            archive.writestr(zipfile.ZipInfo(name, date_time=(2025, 1, 1, 0, 0, 0)), text.encode())


def make_excel_style() -> None:
    shared = [
        "<si><t>Name</t></si>", "<si><t>Email</t></si>", "<si><t>Met</t></si>", "<si><t>Call length</t></si>",
        "<si><t>Amount</t></si>", "<si><t>Notes</t></si>",
        "<si><t>Jürgen Müller</t></si>",
        # Rich text: runs are joined; a phonetic guide (rPh) is not part of the value.
        '<si><r><t>山田</t></r><r><rPr><b/></rPr><t xml:space="preserve"> 太郎</t></r>'
        "<rPh sb=\"0\" eb=\"2\"><t>ヤマダ</t></rPh></si>",
        "<si><t>line one_x000D_\nline two &amp; &lt;b&gt;three&lt;/b&gt;</t></si>",
        "<si><t>=SUM(A1:A2)</t></si>",
    ]
    rows = (
        '<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c><c r="C1" t="s"><v>2</v></c>'
        '<c r="D1" t="s"><v>3</v></c><c r="E1" t="s"><v>4</v></c><c r="F1" t="s"><v>5</v></c></row>'
        # Row 2: a gap (no B2), a custom date-time format, a duration, 2 decimals, shared text with markup.
        '<row r="2"><c r="A2" t="s"><v>6</v></c><c r="C2" s="2"><v>45750.5</v></c><c r="D2" s="3"><v>0.0625</v></c>'
        '<c r="E2" s="4"><v>1234.5</v></c><c r="F2" t="s"><v>8</v></c></row>'
        # Row 4 (row 3 is missing entirely): rich text, formula with a cached string, a built-in date, an error.
        '<row r="4"><c r="A4" t="s"><v>7</v></c><c r="B4" t="str"><f>LOWER("A@EXAMPLE.COM")</f><v>a@example.com</v>'
        '</c><c r="C4" s="1"><v>45750</v></c><c r="E4" t="e"><f>1/0</f><v>#DIV/0!</v></c>'
        '<c r="F4" t="s"><v>9</v></c></row>'
        # Row 5: cells without r attributes, an inline string, a boolean, a big integer kept exact.
        '<row><c t="inlineStr"><is><t>Inline Ína</t></is></c><c t="b"><v>1</v></c><c><v>123456789012345678</v></c>'
        "</row>"
    )
    _package(XLSX_DIR / "excel_style.xlsx", rows, shared)
    # The same workbook with the 1904 date system and an "x:" namespace prefix, as some Mac and .NET tools write.
    prefixed = rows.replace("<row", "<x:row").replace("</row>", "</x:row>").replace("<c ", "<x:c ")
    prefixed = prefixed.replace("<c>", "<x:c>").replace("</c>", "</x:c>").replace("<v>", "<x:v>")
    prefixed = prefixed.replace("</v>", "</x:v>").replace("<f>", "<x:f>").replace("</f>", "</x:f>")
    prefixed = prefixed.replace("<is>", "<x:is>").replace("</is>", "</x:is>").replace("<t>", "<x:t>")
    prefixed = prefixed.replace("</t>", "</x:t>")
    _package(XLSX_DIR / "excel_1904_prefixed.xlsx", prefixed, shared, date1904=True, prefix="x")
    # An entity expansion attack in the sheet: refused, never expanded.
    bomb = ('<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>'
            '<row r="1"><c r="A1" t="inlineStr"><is><t>&lol2;</t></is></c></row>')
    _package(BROKEN_DIR / "entity_bomb.xlsx", bomb, shared)


def _png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    raw = b"".join(b"\x00" + b"\xff\x00\x00" * 4 for _ in range(4))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 4, 4, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def make_broken() -> None:
    write(BROKEN_DIR / "empty.csv", b"")
    write(BROKEN_DIR / "header_only.csv", b"First Name,Last Name,Email\r\n")
    write(BROKEN_DIR / "blank_lines.csv", b"\r\n\r\n , \r\n")
    write(BROKEN_DIR / "document.pdf", b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
                                       b"2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\ntrailer << /Root 1 0 R >>"
                                       b"\n%%EOF\n")
    write(BROKEN_DIR / "image.png", _png())
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        info = zipfile.ZipInfo("contacts.csv", date_time=(2025, 1, 1, 0, 0, 0))
        archive.writestr(info, "Name,Email\nAda,ada@example.com\n")
    write(BROKEN_DIR / "archive.zip", buffer.getvalue())
    # An .xlsx cut in half (an interrupted download).
    write(BROKEN_DIR / "truncated.xlsx", (XLSX_DIR / "contacts.xlsx").read_bytes()[:1500])
    write(BROKEN_DIR / "old_excel.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504))
    write(BROKEN_DIR / "binary.bin", bytes((i * 37 + 11) % 256 for i in range(4096)))
    # A quote opened in row 3 and never closed: everything after it would become one cell.
    write(BROKEN_DIR / "unclosed_quote.csv",
          b'Name,Email,Notes\nAda,ada@example.com,fine\nGrace,grace@example.org,"never closed\nAlan,alan@x.org,x\n')
    # Chinese text in GB18030, for the test that choosing UTF-8 by hand is refused with the line number.
    write(BROKEN_DIR / "gb18030_as_utf8.csv", rows_to_csv([["Name", "City"], ["Ada", "London"],
                                                           ["王小明", "北京"]]).encode("gb18030"))


if __name__ == "__main__":
    make_csv()
    make_xlsx()
    make_excel_style()
    make_broken()
    print("samples written under", HERE)
