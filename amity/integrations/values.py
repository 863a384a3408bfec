"""Parsing one imported cell for one field type. Each parser returns ``None`` for an empty cell and raises
``ValueError(message)`` with a message for the person (translated) when the text is not a valid value."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.utils.translation import gettext as _

# Control characters except tab and line feed; DEL and the C1 block too (they never belong in CRM data).
_CONTROL_RE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ufeff\ufffe\uffff]")
_NEEDS_CLEANING_RE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ufeff\ufffe\uffff]|^\\s|\\s$")


def clean_cell(value: str) -> str:
    """Trim, turn CR/CRLF into LF, remove NULs and other control characters. Everything else stays literal text:
    "<script>" or "=cmd()" are kept as typed (they are escaped wherever they are shown, never executed)."""
    if not value or (value.isprintable() and not value[0].isspace() and not value[-1].isspace()):
        return value  # the common case, checked in C
    if not _NEEDS_CLEANING_RE.search(value):
        return value
    if "\r" in value:
        value = value.replace("\r\n", "\n").replace("\r", "\n")
    return _CONTROL_RE.sub("", value).strip()


def workspace_day_first() -> bool:
    """Whether "03/04/2025" means 3 April (settings.AMITY_DATE_ORDER = "DMY", the default) or March 4 ("MDY")."""
    return str(getattr(settings, "AMITY_DATE_ORDER", "DMY")).upper() != "MDY"


# ---------------------------------------------------------------------------------------------------------------
# Dates

MONTHS = {
    name: number
    for number, names in enumerate(
        [("january", "jan"), ("february", "feb"), ("march", "mar"), ("april", "apr"), ("may",), ("june", "jun"),
         ("july", "jul"), ("august", "aug"), ("september", "sep", "sept"), ("october", "oct"),
         ("november", "nov"), ("december", "dec")],
        start=1,
    )
    for name in names
}
_WEEKDAY_RE = re.compile(r"^(mon|tue|tues|wed|thu|thur|thurs|fri|sat|sun)[a-z]*\.?,?\s+", re.IGNORECASE)
_ISO_RE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_YMD_RE = re.compile(r"^(\d{4})[/.](\d{1,2})[/.](\d{1,2})$")
_COMPACT_RE = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_NUMERIC_RE = re.compile(r"^(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{2}|\d{4})$")
_CHINESE_RE = re.compile(r"^(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*[日号]?$")
_SERIAL_RE = re.compile(r"^\d{1,7}(\.\d+)?$")
_DAY_MONTH_NAME_RE = re.compile(r"^(\d{1,2})(?:st|nd|rd|th)?[\s\-/.]+([a-z]+)\.?,?[\s\-/.]+(\d{2}|\d{4})$", re.I)
_MONTH_NAME_DAY_RE = re.compile(r"^([a-z]+)\.?[\s\-/.]+(\d{1,2})(?:st|nd|rd|th)?,?[\s\-/.]+(\d{2}|\d{4})$", re.I)
_TIME_RE = re.compile(
    r"^(\d{1,2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,6}))?)?\s*([ap]\.?m\.?)?$", re.IGNORECASE
)
_EXCEL_EPOCH = dt.date(1899, 12, 30)
_MAX_SERIAL = 2958465  # 9999-12-31


def _year(text: str) -> int:
    year = int(text)
    if len(text) == 2:  # the POSIX pivot: 00–68 → 2000s, 69–99 → 1900s
        year += 2000 if year < 69 else 1900
    return year


def _make_date(original: str, year: int, month: int, day: int, order_hint: str = "") -> dt.date:
    try:
        return dt.date(year, month, day)
    except ValueError:
        if order_hint:
            raise ValueError(
                _("“%(value)s” is not a valid date in %(order)s order.") % {"value": original, "order": order_hint}
            ) from None
        raise ValueError(_("“%(value)s” is not a valid date.") % {"value": original}) from None


def _serial_date(original: str, serial: int) -> dt.date:
    """Excel's 1900 date system, including its fictitious 29 February 1900 (serial 60)."""
    if serial == 60:
        raise ValueError(_("“%(value)s” is 29 February 1900, a date that does not exist.") % {"value": original})
    if serial < 1 or serial > _MAX_SERIAL:
        raise ValueError(_("“%(value)s” is not a valid date.") % {"value": original})
    if serial < 60:
        return dt.date(1899, 12, 31) + dt.timedelta(days=serial)
    return _EXCEL_EPOCH + dt.timedelta(days=serial)


def parse_date(value: str, *, day_first: bool) -> dt.date | None:
    """A date from ISO ("2025-04-03"), "2025/4/3", an Excel serial number ("45750"), "03/04/2025" (``day_first``
    decides between 3 April and March 4), "3 April 2025", "Apr 3, 2025" or "2025年4月3日". A time part is
    ignored ("2025-04-03T10:00:00Z" → 3 April 2025). Impossible dates raise ValueError."""
    original = value
    value = value.strip()
    if not value:
        return None
    date_part = _split_time(value)[0]
    return _parse_date_part(original.strip(), date_part, day_first)


def _parse_date_part(original: str, value: str, day_first: bool) -> dt.date:
    if m := _ISO_RE.match(value) or _YMD_RE.match(value) or _CHINESE_RE.match(value) or _COMPACT_RE.match(value):
        return _make_date(original, int(m[1]), int(m[2]), int(m[3]))
    if _SERIAL_RE.match(value):
        whole = int(value.split(".")[0])
        if 1000 <= whole <= 2999 and "." not in value and len(value) == 4:
            raise ValueError(_("“%(value)s” is a year, not a date.") % {"value": original})
        return _serial_date(original, whole)
    if m := _NUMERIC_RE.match(value):
        first, second, year = int(m[1]), int(m[2]), _year(m[3])
        if day_first:
            return _make_date(original, year, second, first, _("day/month/year"))
        return _make_date(original, year, first, second, _("month/day/year"))
    text = _WEEKDAY_RE.sub("", value)
    if m := _DAY_MONTH_NAME_RE.match(text):
        month = MONTHS.get(m[2].lower())
        if month:
            return _make_date(original, _year(m[3]), month, int(m[1]))
    if m := _MONTH_NAME_DAY_RE.match(text):
        month = MONTHS.get(m[1].lower())
        if month:
            return _make_date(original, _year(m[3]), month, int(m[2]))
    raise ValueError(_("“%(value)s” is not a date Amity recognises; use 2025-04-03.") % {"value": original})


def _split_time(value: str) -> tuple[str, str]:
    """"2025-04-03T10:00:00Z" → ("2025-04-03", "10:00:00Z"); "03/04/2025 2:30 PM" → ("03/04/2025", "2:30 PM")."""
    if "T" in value and _ISO_RE.match(value.split("T", 1)[0]):
        date_part, time_part = value.split("T", 1)
        return date_part, time_part
    if m := re.match(r"^(.*?\d)\s+(\d{1,2}:\d{2}.*)$", value):
        return m[1].strip().rstrip(","), m[2].strip()
    if "日" in value and not value.endswith(("日", "号")):
        date_part, _sep, time_part = value.partition("日")
        return date_part + "日", time_part.strip()
    return value, ""


_OFFSET_RE = re.compile(r"(Z|[+\-]\d{2}:?\d{2}|\s*UTC|\s*GMT)$", re.IGNORECASE)


def _parse_time(original: str, text: str) -> tuple[dt.time, dt.tzinfo | None]:
    offset: dt.tzinfo | None = None
    if m := _OFFSET_RE.search(text):
        token = m[1].strip().upper()
        text = text[: m.start()].strip()
        if token in {"Z", "UTC", "GMT"}:
            offset = dt.UTC
        else:
            digits = token.replace(":", "")
            minutes = int(digits[1:3]) * 60 + int(digits[3:5])
            offset = dt.timezone(dt.timedelta(minutes=-minutes if digits[0] == "-" else minutes))
    m = _TIME_RE.match(text)
    if not m:
        raise ValueError(_("“%(value)s” has a time Amity does not recognise; use 14:30.") % {"value": original})
    hour, minute, second = int(m[1]), int(m[2]), int(m[3] or 0)
    micro = int((m[4] or "0").ljust(6, "0"))
    if m[5]:
        if not 1 <= hour <= 12:
            raise ValueError(_("“%(value)s” has an impossible time.") % {"value": original})
        hour = hour % 12 + (12 if m[5].lower().startswith("p") else 0)
    try:
        return dt.time(hour, minute, second, micro), offset
    except ValueError:
        raise ValueError(_("“%(value)s” has an impossible time.") % {"value": original}) from None


def parse_datetime(value: str, *, day_first: bool, tz: dt.tzinfo) -> dt.datetime | None:
    """An aware datetime. Values with an offset ("…Z", "+08:00") keep it; naive values are in ``tz``; a date
    alone is midnight in ``tz``; an Excel serial with a fraction carries the time of day."""
    original = value.strip()
    if not original:
        return None
    if _SERIAL_RE.match(original) and "." in original:
        day = _parse_date_part(original, original, day_first)
        seconds = round(float("0." + original.split(".")[1]) * 86400)
        naive = dt.datetime.combine(day, dt.time()) + dt.timedelta(seconds=seconds)
        return naive.replace(tzinfo=tz)
    date_part, time_part = _split_time(original)
    day = _parse_date_part(original, date_part, day_first)
    if not time_part:
        return dt.datetime.combine(day, dt.time()).replace(tzinfo=tz)
    clock, offset = _parse_time(original, time_part)
    return dt.datetime.combine(day, clock).replace(tzinfo=offset or tz)


# ---------------------------------------------------------------------------------------------------------------
# Numbers and yes/no

_CURRENCY_RE = re.compile(
    r"^(?:[A-Z]{3}|RMB|CN¥|US\$|HK\$|A\$|C\$|[$€£¥￥₩₹₽₺₫₱฿])\s*|\s*(?:[A-Z]{3}|RMB|元|[$€£¥￥₩₹₽₺₫₱฿])$"
)
_GROUP_SPACES = str.maketrans("", "", " \u00a0\u202f\u2009'’_")
_NUMBER_RE = re.compile(r"^\d+(\.\d+)?([eE][+\-]?\d+)?$|^\.\d+$")


def parse_decimal(value: str) -> Decimal | None:
    """A number as people and spreadsheets write it: "1,234.50", "1 234,50" or "1.234,50" (decimal comma),
    "$12", "¥1,200", "EUR 12", "-3", "(12)" (accounting negative) → -12, "1.5E+3". "1,234" with one comma and
    three digits after it is 1234; "12,5" is 12.5."""
    text = value.strip()
    if not text:
        return None
    negative = signed = False
    if text.startswith("(") and text.endswith(")"):
        negative = signed = True
        text = text[1:-1].strip()
    for _round in range(2):  # "-$5" and "$-5": a sign and a currency in either order, once each
        if not signed and text.startswith(("-", "−", "+")):
            negative, signed, text = text[0] != "+", True, text[1:].strip()
        elif not signed and text.endswith("-"):
            negative, signed, text = True, True, text[:-1].strip()
        text = _CURRENCY_RE.sub("", text, count=1).strip()
    text = text.translate(_GROUP_SPACES)
    plain = _decimal_point(text)
    if plain is None or not _NUMBER_RE.match(plain):
        raise ValueError(_("“%(value)s” is not a number.") % {"value": value.strip()})
    try:
        number = Decimal(plain)
    except InvalidOperation:
        raise ValueError(_("“%(value)s” is not a number.") % {"value": value.strip()}) from None
    return -number if negative else number


def _decimal_point(text: str) -> str | None:
    """Rewrite to a plain "1234.5"; None when the separators make no sense ("1,2,3")."""
    commas, dots = text.count(","), text.count(".")
    if commas and dots:
        decimal = "," if text.rfind(",") > text.rfind(".") else "."
        group = "." if decimal == "," else ","
        if text.count(decimal) > 1 or not _groups_ok(text.split(decimal)[0], group):
            return None
        return text.replace(group, "").replace(decimal, ".")
    if commas:
        head, _sep, tail = text.rpartition(",")
        if commas == 1 and len(tail) != 3:
            return f"{head}.{tail}" if head and tail.isdigit() else None
        return text.replace(",", "") if _groups_ok(text, ",") else None
    if dots > 1:
        return text.replace(".", "") if _groups_ok(text, ".") else None
    return text


def _groups_ok(integer_part: str, group: str) -> bool:
    if group not in integer_part:
        return True
    parts = integer_part.split(group)
    return 1 <= len(parts[0]) <= 3 and all(len(p) == 3 for p in parts[1:])


TRUE_WORDS = {"1", "true", "yes", "y", "on", "x", "checked", "是", "对", "真"}
FALSE_WORDS = {"0", "false", "no", "n", "off", "unchecked", "否", "不", "假"}


def parse_bool(value: str) -> bool | None:
    """yes/no, true/false, 1/0, y/n, on/off, 是/否; empty → None."""
    text = value.strip().lower()
    if not text:
        return None
    if text in TRUE_WORDS:
        return True
    if text in FALSE_WORDS:
        return False
    raise ValueError(_("“%(value)s” is not yes or no.") % {"value": value.strip()})
