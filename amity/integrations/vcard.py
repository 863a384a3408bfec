"""vCard (2.1, 3.0, 4.0) reading and writing.

Reading: the file is split into cards first, so one broken card never stops the others. Each card's logical lines
are unfolded and decoded by ``vobject`` (folded lines, quoted-printable with soft line breaks and ``CHARSET``);
the values are then mapped here to the plain dict ``contacts.services.create_contact`` takes, plus what the
contact services do not write themselves (photo, note, company name, UID).

Writing: ``build_vcard(contact, version)`` writes 3.0 or 4.0 text (escaped, folded at 75 octets, CRLF).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import io
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import phonenumbers
from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _
from vobject.base import ContentLine, VObjectError, getLogicalLines, textLineToContentLine

from amity.core.normalize import clean_text, is_cjk

MAX_FILE_BYTES = 20 * 1024 * 1024
MAX_PHOTO_CHARS = 256 * 1024  # the stored data: URI
PHOTO_TYPES = {b"\xff\xd8\xff": "image/jpeg", b"\x89PNG\r\n\x1a\n": "image/png", b"GIF87a": "image/gif",
               b"GIF89a": "image/gif"}
# Google adds every contact to "myContacts": a system group, not a tag anyone chose.
IGNORED_CATEGORIES = {"mycontacts"}

COUNTRY_NAMES = {
    "united states": "US", "united states of america": "US", "usa": "US", "u.s.a.": "US", "america": "US",
    "united kingdom": "GB", "uk": "GB", "great britain": "GB", "england": "GB", "germany": "DE",
    "deutschland": "DE", "france": "FR", "china": "CN", "中国": "CN", "people's republic of china": "CN",
    "中华人民共和国": "CN", "japan": "JP", "日本": "JP", "canada": "CA", "australia": "AU", "austria": "AT",
    "österreich": "AT", "switzerland": "CH", "schweiz": "CH", "suisse": "CH", "italy": "IT", "italia": "IT",
    "spain": "ES", "españa": "ES", "netherlands": "NL", "the netherlands": "NL", "nederland": "NL",
    "belgium": "BE", "sweden": "SE", "norway": "NO", "denmark": "DK", "finland": "FI", "ireland": "IE",
    "poland": "PL", "portugal": "PT", "brazil": "BR", "brasil": "BR", "mexico": "MX", "méxico": "MX",
    "india": "IN", "singapore": "SG", "hong kong": "HK", "香港": "HK", "taiwan": "TW", "台湾": "TW",
    "south korea": "KR", "korea": "KR", "republic of korea": "KR", "new zealand": "NZ", "russia": "RU",
    "south africa": "ZA", "israel": "IL", "turkey": "TR", "greece": "GR", "czech republic": "CZ",
    "czechia": "CZ", "hungary": "HU", "argentina": "AR", "chile": "CL", "luxembourg": "LU",
}


class NotAVCard(ValueError):
    """The file holds no vCard at all (or cannot be read as text)."""


@dataclass
class ParsedCard:
    """One card: ``data`` is the contact services' input; the rest is written by the import service."""

    number: int
    line: int
    data: dict[str, Any] = field(default_factory=dict)
    name: str = ""
    photo: str = ""
    note: str = ""
    company: str = ""
    uid: str = ""
    warnings: list[str] = field(default_factory=list)
    error: str = ""

    @property
    def emails(self) -> list[str]:
        return [e["email"] for e in self.data.get("emails", [])]

    @property
    def phones(self) -> list[str]:
        return [p["number"] for p in self.data.get("phones", [])]


# --- reading ------------------------------------------------------------------------------------------------------

def decode_file(raw: bytes) -> str:
    """Text of an uploaded file: UTF-8 (with or without BOM), UTF-16 with BOM, else Windows-1252 (old Outlook)."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return raw.decode("utf-16")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("cp1252", errors="replace")


def _split_cards(text: str) -> Iterator[tuple[int, int, list[tuple[str, int]], str]]:
    """Yield (number, first line, logical lines, problem) for each BEGIN:VCARD … END:VCARD block.

    A BEGIN:VCARD inside a card means the card before it was never closed: it is reported, the new one read."""
    number, start = 0, 0
    current: list[tuple[str, int]] | None = None
    unclosed = _("The card has no END:VCARD line.")
    for line, n in getLogicalLines(io.StringIO(text), True):
        head = line.strip().upper()
        if head == "BEGIN:VCARD":
            if current is not None:
                yield number, start, current, unclosed
            number += 1
            current, start = [], max(n, 1)
        elif head == "END:VCARD" and current is not None:
            yield number, start, current, ""
            current = None
        elif current is not None:
            current.append((line, n))
    if current is not None:
        yield number, start, current, unclosed
    if number == 0:
        raise NotAVCard(_("This file is not a vCard: it has no BEGIN:VCARD line. Export contacts as vCard (.vcf)."))


def parse_vcards(raw: bytes | str, region: str | None = None) -> Iterator[ParsedCard]:
    """Every card of a file, in order. A card that cannot be read has ``error`` set; the others are unaffected.

    Raises ``NotAVCard`` when nothing in the file is a vCard."""
    text = decode_file(raw) if isinstance(raw, bytes) else raw
    for number, start, lines, problem in _split_cards(text):
        card = ParsedCard(number=number, line=start)
        if problem:
            card.error = problem
        else:
            try:
                _read_card(card, lines, region)
            except (VObjectError, ValueError, LookupError, UnicodeError) as exc:
                card.error = _("The card could not be read: %(reason)s") % {"reason": str(exc)[:200]}
        if card.error:
            card.name = _name_of_broken(lines)
        yield card


def _name_of_broken(lines: list[tuple[str, int]]) -> str:
    """The FN of a card that could not be read, so the report says which person it was."""
    for text, _n in lines:
        if re.match(r"(?i)^([\w-]+\.)?FN[;:]", text):
            return clean_text(_unescape(text.split(":", 1)[-1]))[:200]
    return ""


def _unescape(value: str) -> str:
    return re.sub(r"\\(.)", lambda m: "\n" if m.group(1) in "nN" else m.group(1), value)


def _components(value: str, sep: str = ";") -> list[str]:
    """Split on unescaped separators, then unescape each part."""
    parts, buf, i = [], [], 0
    while i < len(value):
        ch = value[i]
        if ch == "\\" and i + 1 < len(value):
            buf.append(value[i:i + 2])
            i += 2
            continue
        if ch == sep:
            parts.append(_unescape("".join(buf)))
            buf = []
        else:
            buf.append(ch)
        i += 1
    parts.append(_unescape("".join(buf)))
    return parts


def _types(line: ContentLine) -> set[str]:
    """TYPE values in every spelling: TYPE=WORK,VOICE · TYPE=work;TYPE=pref · 2.1's bare WORK · TYPE="home,voice"."""
    values: set[str] = set()
    for raw in [*line.params.get("TYPE", []), *line.singletonparams]:
        values.update(v.strip().strip('"').lower() for v in raw.split(","))
    if "PREF" in line.params:
        values.add("pref")
    return values - {""}


def _ab_label(label: str) -> str:
    """Apple's ``_$!<Mobile>!$_`` → "mobile"; a label someone typed stays as typed (lower-cased)."""
    return re.sub(r"^_\$!<(.*)>!\$_$", r"\1", label.strip()).lower()


EMAIL_KINDS = {"work": "work", "home": "home", "other": "other", "internet": None, "pref": None, "x400": None}
PHONE_KINDS = {"cell": "mobile", "mobile": "mobile", "iphone": "mobile", "work": "work", "home": "home",
               "main": "work", "other": "other", "fax": "other", "pager": "other", "voice": None, "pref": None,
               "text": None, "msg": None, "video": None}


def _kind(types: set[str], table: dict[str, str | None], default: str) -> str:
    for value in ("cell", "mobile", "iphone", "work", "home", "main", "other", "fax", "pager"):
        if value in types and table.get(value):
            return table[value] or default
    return default


def _parse_date(value: str, params: dict[str, list[str]]) -> str | None:
    """vCard dates → "YYYY-MM-DD" or "--MM-DD"; None when unreadable.

    Accepts 1985-04-15, 19850415, --0415, --04-15, 1985-04-15T00:00:00Z and Apple's year-less 1604-04-15
    (``X-APPLE-OMIT-YEAR=1604``)."""
    text = value.strip()
    if params.get("VALUE", [""])[0].lower() == "text":
        return None
    text = re.split(r"[T ]", text, maxsplit=1)[0] if not text.startswith("--") else text
    m = re.fullmatch(r"--(\d{2})-?(\d{2})", text)
    if m:
        month, day, year = int(m.group(1)), int(m.group(2)), None
    else:
        m = re.fullmatch(r"(\d{4})-?(\d{2})-?(\d{2})", text)
        if not m:
            return None
        year, month, day = int(m.group(1)), int(m.group(2)), int(m.group(3))
        omit = params.get("X-APPLE-OMIT-YEAR", [""])[0]
        if omit and omit.isdigit() and int(omit) == year:
            year = None
    try:
        dt.date(year or 2000, month, day)
    except ValueError:
        return None
    return f"{year:04d}-{month:02d}-{day:02d}" if year else f"--{month:02d}-{day:02d}"


def _country_code(name: str) -> str:
    text = clean_text(name)
    if len(text) == 2 and text.isascii() and text.upper() in phonenumbers.SUPPORTED_REGIONS:
        return text.upper()
    return COUNTRY_NAMES.get(text.lower(), "")


def _photo(line: ContentLine, version: str) -> tuple[str, str]:
    """(data URI, problem). Only JPEG, PNG and GIF images are kept, recognised by their bytes, not by TYPE."""
    value = line.value.strip()
    encoding = {e.lower() for e in line.params.get("ENCODING", [])} | {
        s.lower() for s in line.singletonparams if s.lower() in {"base64", "b"}}
    if value.lower().startswith("data:"):
        header, _sep, payload = value.partition(",")
        if ";base64" not in header.lower():
            return "", _("The photo is not base64 data; the card was imported without it.")
    elif encoding & {"b", "base64"}:
        payload = value
    else:
        return "", _("The photo is a link, which is not fetched; the card was imported without it.")
    try:
        data = base64.b64decode(re.sub(r"\s+", "", payload), validate=True)
    except (binascii.Error, ValueError):
        return "", _("The photo data is damaged; the card was imported without it.")
    mime = next((m for magic, m in PHOTO_TYPES.items() if data.startswith(magic)), "")
    if not mime:
        return "", _("The photo is not a JPEG, PNG or GIF image; the card was imported without it.")
    uri = f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"
    if len(uri) > MAX_PHOTO_CHARS:
        return "", _("The photo (%(size)s KB) is larger than the %(limit)s KB limit; the card was imported "
                     "without it.") % {"size": len(uri) // 1024, "limit": MAX_PHOTO_CHARS // 1024}
    return uri, ""


def _phone(value: str, region: str) -> str | None:
    text = value.strip()
    if text.lower().startswith("tel:"):
        text = text[4:]
    text = re.split(r";ext=|;", text, maxsplit=1)[0]
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _split_full_name(full: str) -> tuple[str, str]:
    """(first, last) from FN alone: "王小明" → ("小明", "王"); "Ada King Lovelace" → ("Ada King", "Lovelace")."""
    full = clean_text(full)
    if is_cjk(full) and " " not in full:
        return (full[1:], full[:1]) if len(full) > 1 else (full, "")
    first, _sep, last = full.rpartition(" ")
    return (first, last) if first else (last, "")


def _read_card(card: ParsedCard, lines: list[tuple[str, int]], region: str | None) -> None:
    parsed: list[ContentLine] = []
    for text, n in lines:
        if not text.strip():
            continue
        try:
            parsed.append(textLineToContentLine(text, n))
        except VObjectError:
            raise ValueError(_("line %(n)s is not a vCard property") % {"n": n}) from None
    version = next((ln.value.strip() for ln in parsed if ln.name == "VERSION"), "3.0")
    labels = {ln.group.lower(): _ab_label(ln.value) for ln in parsed if ln.name == "X-ABLABEL" and ln.group}

    def label_of(ln: ContentLine) -> str:
        return labels.get((ln.group or "").lower(), "")

    by_name: dict[str, list[ContentLine]] = {}
    for ln in parsed:
        by_name.setdefault(ln.name, []).append(ln)

    def first(name: str) -> ContentLine | None:
        return by_name.get(name, [None])[0]

    data: dict[str, Any] = {}
    # Names: N is family;given;additional;prefix;suffix. Chinese cards put the family name in the first part too.
    n_line, fn_line = first("N"), first("FN")
    given = family = ""
    if n_line is not None:
        parts = [*_components(n_line.value), "", ""]
        family, given = clean_text(parts[0]), clean_text(" ".join(p for p in (parts[1], parts[2]) if p.strip()))
    if not (given or family) and fn_line is not None:
        given, family = _split_full_name(_unescape(fn_line.value))
    data["first_name"], data["last_name"] = given, family
    card.name = clean_text(_unescape(fn_line.value)) if fn_line is not None else ""

    # Addresses first: their country is the region local phone numbers are read in.
    adr_lines = sorted(by_name.get("ADR", []), key=lambda ln: "pref" not in _types(ln))
    country = ""
    if adr_lines:
        pobox, ext, street, city, adr_region, code, country_name, *_rest = [*_components(adr_lines[0].value), *[""] * 7]
        data["street"] = clean_text(", ".join(p for p in (street, ext, pobox) if clean_text(p)))
        data["city"], data["region"], data["postal_code"] = clean_text(city), clean_text(adr_region), clean_text(code)
        if clean_text(country_name):
            country = _country_code(country_name)
            if country:
                data["country"] = country
            else:
                card.warnings.append(_("The country “%(value)s” is not known; the address was imported without "
                                       "it.") % {"value": clean_text(country_name)})
    phone_region = country or region or settings.AMITY_DEFAULT_REGION

    emails: list[tuple[bool, dict[str, str]]] = []
    for ln in by_name.get("EMAIL", []):
        address = clean_text(_unescape(ln.value))
        if address.lower().startswith("mailto:"):
            address = address[7:]
        if not address:
            continue
        types = _types(ln) | ({label_of(ln)} if label_of(ln) else set())
        emails.append(("pref" in types or ln.params.get("PREF") == ["1"],
                       {"email": address, "kind": _kind(types, EMAIL_KINDS, "other")}))
    phones: list[tuple[bool, dict[str, str]]] = []
    for ln in by_name.get("TEL", []):
        raw_number = clean_text(_unescape(ln.value))
        if not raw_number:
            continue
        number = _phone(raw_number, phone_region)
        if number is None:
            card.warnings.append(_("“%(value)s” is not a valid phone number; it was left out.") % {"value": raw_number})
            continue
        types = _types(ln) | ({label_of(ln)} if label_of(ln) else set())
        phones.append(("pref" in types, {"number": number, "kind": _kind(types, PHONE_KINDS, "mobile")}))
    # The preferred address or number first: the contact services make the first one primary.
    data["emails"] = _validated_emails(card, [e for _p, e in sorted(emails, key=lambda x: not x[0])])
    data["phones"] = [p for _p, p in sorted(phones, key=lambda x: not x[0])]

    if (org := first("ORG")) is not None:
        card.company = clean_text(_components(org.value)[0])[:200]
    if (title := first("TITLE")) is not None:
        data["job_title"] = clean_text(_unescape(title.value))

    if (bday := first("BDAY")) is not None:
        parsed_date = _parse_date(bday.value, bday.params)
        if parsed_date is None or (not parsed_date.startswith("--")
                                   and dt.date.fromisoformat(parsed_date) > timezone.localdate()):
            card.warnings.append(_("The birthday “%(value)s” is not a date in the past; it was left out.")
                                 % {"value": bday.value.strip()})
        else:
            data["birthday"] = parsed_date
    specials = []
    for ln in [*by_name.get("ANNIVERSARY", []), *by_name.get("X-ANNIVERSARY", []),
               *by_name.get("X-MS-ANNIVERSARY", []), *by_name.get("X-ABDATE", [])]:
        parsed_date = _parse_date(ln.value, ln.params)
        label = label_of(ln) if ln.name == "X-ABDATE" else "anniversary"
        if parsed_date is None:
            card.warnings.append(_("The date “%(value)s” is not a date; it was left out.") % {"value": ln.value.strip()})
            continue
        if label == "anniversary":
            specials.append({"kind": "anniversary", "date": parsed_date, "label": ""})
        else:
            specials.append({"kind": "other", "date": parsed_date, "label": label[:100]})
    if specials:
        data["special_dates"] = specials

    tags: list[str] = []
    for ln in by_name.get("CATEGORIES", []):
        tags.extend(t for t in (clean_text(c) for c in _components(ln.value, ",")) if t
                    and t.lower() not in IGNORED_CATEGORIES)
    if tags:
        data["tags"] = tags

    notes = [_unescape(ln.value).replace("\r\n", "\n").strip() for ln in by_name.get("NOTE", []) if ln.value.strip()]
    urls = [clean_text(_unescape(ln.value)) for ln in by_name.get("URL", []) if ln.value.strip()]
    note = "\n\n".join(notes)
    if urls:
        note = "\n".join([note, "", *[_("Website: %(url)s") % {"url": u} for u in urls]]).strip()
    card.note = note

    if (uid := first("UID")) is not None:
        card.uid = clean_text(uid.value)[:128]
    if (photo := first("PHOTO")) is not None:
        card.photo, problem = _photo(photo, version)
        if problem:
            card.warnings.append(problem)
    if not card.name:
        from amity.core.normalize import display_name

        card.name = display_name(given, family) or (data["emails"][0]["email"] if data["emails"] else "")
    card.data = data


def _validated_emails(card: ParsedCard, emails: list[dict[str, str]]) -> list[dict[str, str]]:
    """Addresses that are not valid are reported and left out; the card still imports."""
    from django.core.exceptions import ValidationError

    from amity.core.normalize import normalize_email

    kept = []
    for item in emails:
        try:
            item = {**item, "email": normalize_email(item["email"])}
        except ValidationError:
            card.warnings.append(_("“%(value)s” is not a valid email address; it was left out.")
                                 % {"value": item["email"][:100]})
            continue
        kept.append(item)
    return kept


# --- writing ------------------------------------------------------------------------------------------------------

def _escape(value: Any) -> str:
    text = str(value or "")
    return (text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
            .replace("\r\n", "\n").replace("\r", "\n").replace("\n", "\\n"))


def fold(line: str) -> str:
    """RFC 6350 §3.2: lines longer than 75 octets continue on the next line after a space (never inside a
    multi-byte UTF-8 character)."""
    out: list[str] = []
    current: list[str] = []
    size, limit = 0, 75
    for ch in line:
        width = len(ch.encode("utf-8"))
        if size + width > limit:
            out.append("".join(current))
            current, size, limit = [], 0, 74  # continuation lines start with one space
        current.append(ch)
        size += width
    out.append("".join(current))
    return "\r\n ".join(out) + "\r\n"


EMAIL_TYPES = {"work": "WORK", "home": "HOME", "other": "OTHER"}
PHONE_TYPES = {"mobile": "CELL", "work": "WORK", "home": "HOME", "other": "OTHER"}


def _date_text(month: int, day: int, year: int | None, version: str) -> str:
    if year:
        return f"{year:04d}{month:02d}{day:02d}" if version == "4.0" else f"{year:04d}-{month:02d}-{day:02d}"
    return f"--{month:02d}{day:02d}" if version == "4.0" else f"--{month:02d}-{day:02d}"


def build_vcard(contact: Any, version: str = "3.0") -> str:
    """One contact as vCard text. Needs ``emails``, ``phones``, ``special_dates``, ``tags`` prefetched for lists
    (no query per contact) and ``company`` selected."""
    if version not in {"3.0", "4.0"}:
        raise ValueError("version must be 3.0 or 4.0")
    v4 = version == "4.0"
    lines = ["BEGIN:VCARD", f"VERSION:{version}"]
    if not v4:
        lines.append("PRODID:-//Amity CRM//Amity//EN")
    lines.append(f"UID:{_escape(contact.external_id or f'urn:uuid:{contact.uuid}')}")
    lines.append(f"FN:{_escape(contact.display_name or contact.email)}")
    lines.append(f"N:{_escape(contact.last_name)};{_escape(contact.first_name)};;;")
    for i, email in enumerate(contact.emails.all()):
        kind = EMAIL_TYPES.get(email.kind, "OTHER")
        pref = (";PREF=1" if v4 else ",PREF") if i == 0 else ""
        types = kind.lower() if v4 else f"INTERNET,{kind}"
        lines.append(f"EMAIL;TYPE={types}{pref}:{email.email}")
    for i, phone in enumerate(contact.phones.all()):
        kind = PHONE_TYPES.get(phone.kind, "OTHER")
        if v4:
            types = "cell,voice" if kind == "CELL" else f"{kind.lower()},voice"
            pref = ";PREF=1" if i == 0 else ""
            lines.append(f'TEL;VALUE=uri;TYPE="{types}"{pref}:tel:{phone.number}')
        else:
            lines.append(f"TEL;TYPE={kind},VOICE{',PREF' if i == 0 else ''}:{phone.number}")
    if contact.company_id:
        lines.append(f"ORG:{_escape(contact.company.name)}")
    if contact.job_title:
        lines.append(f"TITLE:{_escape(contact.job_title)}")
    if any((contact.street, contact.city, contact.region, contact.postal_code, contact.country)):
        parts = ["", "", contact.street, contact.city, contact.region, contact.postal_code, contact.country]
        lines.append("ADR;TYPE=" + ("work" if v4 else "WORK") + ":" + ";".join(_escape(p) for p in parts))
    item = 0
    for special in contact.special_dates.all():
        text = _date_text(special.month, special.day, special.year, version)
        if special.kind == "birthday":
            lines.append(f"BDAY:{text}" if (v4 or special.year) else f"BDAY;X-APPLE-OMIT-YEAR=1604:1604{text[1:]}")
        elif special.kind == "anniversary":
            lines.append(f"ANNIVERSARY:{text}" if v4 else f"X-ANNIVERSARY:{text}")
        else:  # Apple's labelled dates, read by Apple Contacts, iOS and this importer
            item += 1
            label = special.label or special.get_kind_display()
            lines.append(f"item{item}.X-ABDATE:{_date_text(special.month, special.day, special.year, '3.0')}")
            lines.append(f"item{item}.X-ABLabel:{_escape(label)}")
    tags = sorted(t.name for t in contact.tags.all())
    if tags:
        lines.append("CATEGORIES:" + ",".join(_escape(t) for t in tags))
    if contact.photo:
        if v4:
            lines.append(f"PHOTO:{contact.photo}")
        else:
            header, _sep, payload = contact.photo.partition(",")
            subtype = header.split("/")[-1].split(";")[0].upper()
            lines.append(f"PHOTO;ENCODING=b;TYPE={subtype}:{payload}")
    lines.append(f"REV:{contact.updated_at.astimezone(dt.UTC).strftime('%Y%m%dT%H%M%SZ')}")
    lines.append("END:VCARD")
    return "".join(fold(line) for line in lines)


def build_vcards(contacts: Iterable[Any], version: str = "3.0") -> Iterator[str]:
    for contact in contacts:
        yield build_vcard(contact, version)
