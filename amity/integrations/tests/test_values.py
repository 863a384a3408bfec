"""Parsing single cells: dates, datetimes, numbers, yes/no, and cleaning text."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from amity.integrations.values import (
    clean_cell,
    parse_bool,
    parse_date,
    parse_datetime,
    parse_decimal,
    workspace_day_first,
)

APRIL_3 = dt.date(2025, 4, 3)
SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.mark.parametrize(
    "text",
    ["2025-04-03", "2025-4-3", "2025/4/3", "2025.04.03", "20250403", "45750", "45750.75", "3 April 2025",
     "3rd April 2025", "03-Apr-2025", "3-Apr-25", "Apr 3, 2025", "April 3 2025", "Thursday, April 3, 2025",
     "2025年4月3日", "2025年04月03日", "2025 年 4 月 3 日", "2025-04-03T10:00:00Z", "2025-04-03 23:59:59",
     " 2025-04-03 "],
)
def test_parse_date_formats_that_do_not_depend_on_day_order(text):
    assert parse_date(text, day_first=True) == APRIL_3
    assert parse_date(text, day_first=False) == APRIL_3


@pytest.mark.parametrize(
    ("text", "day_first", "expected"),
    [
        ("03/04/2025", True, dt.date(2025, 4, 3)),
        ("03/04/2025", False, dt.date(2025, 3, 4)),
        ("3.4.2025", True, dt.date(2025, 4, 3)),
        ("03-04-25", True, dt.date(2025, 4, 3)),
        ("12/31/1999", False, dt.date(1999, 12, 31)),
        ("31/12/99", True, dt.date(1999, 12, 31)),
        ("1/1/68", True, dt.date(2068, 1, 1)),
        ("1/1/69", True, dt.date(1969, 1, 1)),
    ],
)
def test_parse_date_numeric_day_month_order_follows_the_workspace(text, day_first, expected):
    assert parse_date(text, day_first=day_first) == expected


@pytest.mark.parametrize(
    ("serial", "expected"),
    [("1", dt.date(1900, 1, 1)), ("59", dt.date(1900, 2, 28)), ("61", dt.date(1900, 3, 1)),
     ("36526", dt.date(2000, 1, 1)), ("45750", APRIL_3), ("2958465", dt.date(9999, 12, 31))],
)
def test_parse_date_excel_serials_include_the_1900_leap_year_bug(serial, expected):
    assert parse_date(serial, day_first=True) == expected


@pytest.mark.parametrize(
    ("text", "day_first", "message"),
    [
        ("31/02/2025", True, "“31/02/2025” is not a valid date in day/month/year order."),
        ("13/04/2025", False, "“13/04/2025” is not a valid date in month/day/year order."),
        ("2025-02-30", True, "“2025-02-30” is not a valid date."),
        ("60", True, "“60” is 29 February 1900, a date that does not exist."),
        ("2025", True, "“2025” is a year, not a date."),
        ("0", True, "“0” is not a valid date."),
        ("9999999", True, "“9999999” is not a valid date."),
        ("soon", True, "“soon” is not a date Amity recognises; use 2025-04-03."),
        ("3 Smarch 2025", True, "“3 Smarch 2025” is not a date Amity recognises; use 2025-04-03."),
        ("<script>", True, "“<script>” is not a date Amity recognises; use 2025-04-03."),
    ],
)
def test_parse_date_refuses_impossible_or_unknown_dates(text, day_first, message):
    with pytest.raises(ValueError) as error:
        parse_date(text, day_first=day_first)
    assert str(error.value) == message


def test_parse_date_empty_is_none():
    assert parse_date("", day_first=True) is None
    assert parse_date("   ", day_first=False) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2025-04-03T14:30:00Z", dt.datetime(2025, 4, 3, 14, 30, tzinfo=dt.UTC)),
        ("2025-04-03T14:30:00+02:00", dt.datetime(2025, 4, 3, 14, 30, tzinfo=dt.timezone(dt.timedelta(hours=2)))),
        ("2025-04-03 14:30:00-0500", dt.datetime(2025, 4, 3, 14, 30, tzinfo=dt.timezone(dt.timedelta(hours=-5)))),
        ("2025-04-03 14:30", dt.datetime(2025, 4, 3, 14, 30, tzinfo=SHANGHAI)),
        ("2025-04-03T14:30:15.250", dt.datetime(2025, 4, 3, 14, 30, 15, 250000, tzinfo=SHANGHAI)),
        ("03/04/2025 2:30 PM", dt.datetime(2025, 4, 3, 14, 30, tzinfo=SHANGHAI)),
        ("03/04/2025 12:05 am", dt.datetime(2025, 4, 3, 0, 5, tzinfo=SHANGHAI)),
        ("2025年4月3日 14:30", dt.datetime(2025, 4, 3, 14, 30, tzinfo=SHANGHAI)),
        ("Apr 3, 2025 9:00 AM", dt.datetime(2025, 4, 3, 9, 0, tzinfo=SHANGHAI)),
        ("2025-04-03", dt.datetime(2025, 4, 3, 0, 0, tzinfo=SHANGHAI)),
        ("45750.75", dt.datetime(2025, 4, 3, 18, 0, tzinfo=SHANGHAI)),
        ("2025-04-03 14:30 UTC", dt.datetime(2025, 4, 3, 14, 30, tzinfo=dt.UTC)),
    ],
)
def test_parse_datetime_is_aware_and_naive_values_are_in_the_given_zone(text, expected):
    parsed = parse_datetime(text, day_first=True, tz=SHANGHAI)
    assert parsed == expected
    assert parsed is not None and parsed.utcoffset() == expected.utcoffset()


@pytest.mark.parametrize("text", ["2025-04-03 25:00", "2025-04-03 13:00 PM", "2025-04-03 noon", "31/02/2025 10:00"])
def test_parse_datetime_refuses_impossible_times(text):
    with pytest.raises(ValueError):
        parse_datetime(text, day_first=True, tz=SHANGHAI)


def test_parse_datetime_empty_is_none():
    assert parse_datetime(" ", day_first=True, tz=SHANGHAI) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("12", "12"), ("-3", "-3"), ("+4.5", "4.5"), ("0.10", "0.10"), (".5", "0.5"),
        ("1,234.50", "1234.50"), ("1,234,567", "1234567"), ("1 234,50", "1234.50"), ("1.234,50", "1234.50"),
        ("1.234.567", "1234567"), ("12,5", "12.5"), ("1\u00a0234,5", "1234.5"), ("1'234.50", "1234.50"),
        ("$12", "12"), ("$ 1,200.00", "1200.00"), ("¥1,200", "1200"), ("￥88", "88"), ("1200元", "1200"),
        ("€ 9,99", "9.99"), ("12 EUR", "12"), ("USD 12.5", "12.5"), ("-$5", "-5"), ("$-5", "-5"), ("5-", "-5"),
        ("(12)", "-12"), ("($1,234.50)", "-1234.50"), ("1.5E+3", "1.5E+3"), ("1,234", "1234"),
    ],
)
def test_parse_decimal_accepts_how_people_and_spreadsheets_write_numbers(text, expected):
    assert parse_decimal(text) == Decimal(expected)


@pytest.mark.parametrize("text", ["abc", "1,2,3", "12.34.5,6", "1,23,456", "$", "NaN", "Infinity", "1..2", "--1",
                                  "=1+2", "12%", "0x10"])
def test_parse_decimal_refuses_what_is_not_a_number(text):
    with pytest.raises(ValueError) as error:
        parse_decimal(text)
    assert str(error.value) == f"“{text}” is not a number."


def test_parse_decimal_empty_is_none():
    assert parse_decimal("") is None and parse_decimal("  ") is None


@pytest.mark.parametrize("text", ["yes", "Yes", "TRUE", "true", "1", "y", "Y", "on", "x", "是"])
def test_parse_bool_true(text):
    assert parse_bool(text) is True


@pytest.mark.parametrize("text", ["no", "No", "FALSE", "false", "0", "n", "off", "否"])
def test_parse_bool_false(text):
    assert parse_bool(text) is False


def test_parse_bool_empty_and_unknown():
    assert parse_bool("") is None
    with pytest.raises(ValueError) as error:
        parse_bool("maybe")
    assert str(error.value) == "“maybe” is not yes or no."


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("  Ada  ", "Ada"),
        ("\ufeffName", "Name"),
        ("a\x00b\x07c\x1bd", "abcd"),
        ("line1\r\nline2\rline3", "line1\nline2\nline3"),
        ("tab\tinside", "tab\tinside"),
        ("<script>alert(1)</script>", "<script>alert(1)</script>"),
        ("=HYPERLINK(\"x\")", "=HYPERLINK(\"x\")"),
        ("\u3000全角空格\u3000", "全角空格"),
        ("C1\x85control\x9f", "C1control"),
        ("", ""),
    ],
)
def test_clean_cell(raw, clean):
    assert clean_cell(raw) == clean


@given(st.text())
def test_property_clean_cell_is_idempotent_and_has_no_control_characters(text):
    cleaned = clean_cell(text)
    assert clean_cell(cleaned) == cleaned
    assert cleaned == cleaned.strip()
    assert not any(ord(ch) < 32 and ch not in "\t\n" for ch in cleaned)


@given(st.dates(min_value=dt.date(1000, 1, 1)), st.booleans())
def test_property_dates_written_in_any_supported_format_parse_back(day, day_first):
    numeric = day.strftime("%d/%m/%Y") if day_first else day.strftime("%m/%d/%Y")
    for text in (day.isoformat(), numeric, f"{day.year}年{day.month}月{day.day}日", f"{day.day} {day:%B} {day.year}",
                 f"{day:%b} {day.day}, {day.year}"):
        assert parse_date(text, day_first=day_first) == day, text


@given(st.decimals(allow_nan=False, allow_infinity=False, places=2, min_value=-10**12, max_value=10**12))
def test_property_grouped_numbers_parse_back(number):
    english = f"{number:,.2f}"
    european = english.replace(",", " ").replace(".", ",")
    assert parse_decimal(english) == number
    assert parse_decimal(european) == number


def test_workspace_day_first_reads_the_setting(settings):
    settings.AMITY_DATE_ORDER = "MDY"
    assert workspace_day_first() is False
    settings.AMITY_DATE_ORDER = "DMY"
    assert workspace_day_first() is True
    del settings.AMITY_DATE_ORDER
    assert workspace_day_first() is True
