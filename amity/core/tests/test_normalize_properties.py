"""Property-based tests for core/normalize.py: what importers and forms rely on whatever the input."""

from __future__ import annotations

import phonenumbers
import pytest
from django.core.exceptions import ValidationError
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from amity.core.normalize import clean_text, normalize_email, normalize_phone

_LOCAL = st.text(st.sampled_from("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._+-"),
                 min_size=1, max_size=20)
_LABEL = st.text(st.sampled_from("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"), min_size=1,
                 max_size=12)
_TLD = st.sampled_from(["com", "org", "cn", "de", "co.uk", "example", "io"])


@st.composite
def emails(draw: st.DrawFn) -> str:
    local = draw(_LOCAL)
    domain = ".".join(draw(st.lists(_LABEL, min_size=1, max_size=3)))
    padding = draw(st.sampled_from(["", " ", "  ", "\t", "\u00a0"]))
    return f"{padding}{local}@{domain}.{draw(_TLD)}{padding}"


@settings(max_examples=300, deadline=None)
@given(emails())
def test_property_normalize_email_is_idempotent_and_case_folded(raw):
    try:
        once = normalize_email(raw)
    except ValidationError:
        return  # refusing is fine ("a..b@x.com"); what is accepted must be stable
    assert once == once.lower()
    assert once == once.strip() and " " not in once
    assert normalize_email(once) == once
    assert normalize_email(raw.upper()) == once  # the same address typed in capitals is the same contact


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=40))
def test_property_normalize_email_never_crashes_on_any_text(raw):
    try:
        result = normalize_email(raw)
    except ValidationError:
        return
    assert result == "" or ("@" in result and result == result.lower())


_REGIONS = ["US", "GB", "DE", "CN", "FR", "JP", "BR", "IN", "AU"]


@st.composite
def phone_numbers(draw: st.DrawFn) -> tuple[str, str]:
    region = draw(st.sampled_from(_REGIONS))
    example = phonenumbers.example_number_for_type(
        region, draw(st.sampled_from([phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE]))
    )
    assume(example is not None)
    style = draw(st.sampled_from([phonenumbers.PhoneNumberFormat.E164, phonenumbers.PhoneNumberFormat.INTERNATIONAL,
                                  phonenumbers.PhoneNumberFormat.NATIONAL, phonenumbers.PhoneNumberFormat.RFC3966]))
    text = phonenumbers.format_number(example, style)
    return draw(st.sampled_from(["", " ", "\t"])) + text, region


@settings(max_examples=200, deadline=None)
@given(phone_numbers())
def test_property_normalize_phone_is_idempotent_on_its_own_output(case):
    raw, region = case
    once = normalize_phone(raw, region)
    assert once.startswith("+") and once[1:].isdigit()
    assert normalize_phone(once) == once
    assert normalize_phone(once, "CN") == once  # E.164 does not depend on the default region


@settings(max_examples=200, deadline=None)
@given(st.text(st.sampled_from("0123456789 +-().x#*"), max_size=25), st.sampled_from(_REGIONS))
def test_property_normalize_phone_either_refuses_or_is_stable(raw, region):
    try:
        once = normalize_phone(raw, region)
    except ValidationError:
        return
    if once:
        assert normalize_phone(once) == once


@given(st.text())
def test_property_clean_text_has_no_surrounding_or_repeated_whitespace(raw):
    cleaned = clean_text(raw)
    assert cleaned == cleaned.strip()
    assert "  " not in cleaned and "\n" not in cleaned
    assert clean_text(cleaned) == cleaned


@pytest.mark.parametrize("value", [None, "", "   "])
def test_clean_text_of_nothing_is_empty(value):
    assert clean_text(value) == ""
