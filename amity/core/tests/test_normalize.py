"""Normalisation of emails, phones, domains and names (property-based where it helps)."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from hypothesis import given
from hypothesis import strategies as st

from amity.core.logging import redact
from amity.core.normalize import (
    clean_text,
    display_name,
    normalize_domain,
    normalize_email,
    normalize_phone,
)


@given(st.text())
def test_clean_text_is_idempotent_and_trimmed(text):
    once = clean_text(text)
    assert clean_text(once) == once
    assert once == once.strip()
    assert "  " not in once


@given(st.emails())
def test_valid_emails_are_case_folded_and_stable(email):
    try:
        normalized = normalize_email(email)
    except ValidationError:
        return  # hypothesis generates some addresses email-validator rightly refuses (e.g. special domains)
    assert normalized == normalized.lower()
    assert normalize_email(normalized) == normalized


@pytest.mark.parametrize("raw", ["not-an-email", "a@", "@b.com", "a b@c.com"])
def test_malformed_emails_are_refused_with_the_value(raw):
    with pytest.raises(ValidationError) as exc:
        normalize_email(raw)
    assert raw.strip() in exc.value.messages[0]


@pytest.mark.parametrize(("raw", "region", "expected"), [
    ("(415) 555-2671", "US", "+14155552671"),
    ("+44 20 7946 0958", "US", "+442079460958"),
    ("138 0013 8000", "CN", "+8613800138000"),
    ("030 1234567", "DE", "+49301234567"),
])
def test_phones_become_e164_using_the_default_region(settings, raw, region, expected):
    settings.AMITY_DEFAULT_REGION = region
    assert normalize_phone(raw) == expected


@pytest.mark.parametrize("raw", ["12", "call me", "+1 000"])
def test_impossible_phones_are_refused(raw):
    with pytest.raises(ValidationError):
        normalize_phone(raw)


@pytest.mark.parametrize(("raw", "expected"), [
    ("https://www.Example.com/about", "example.com"),
    ("shop.example.co.uk", "shop.example.co.uk"),
    ("bücher.example", "xn--bcher-kva.example"),
])
def test_domains_are_cleaned(raw, expected):
    assert normalize_domain(raw) == expected


def test_a_bad_domain_is_refused():
    with pytest.raises(ValidationError):
        normalize_domain("not a domain")


def test_names_keep_their_case_and_order():
    assert display_name("ada", "LOVELACE") == "ada LOVELACE"
    assert display_name("小明", "王") == "王小明"
    assert display_name("", "Cher") == "Cher"


def test_secrets_are_redacted_from_log_lines():
    line = "auth with amy_AbCdEfGh1234567890secret and password=hunter2 to smtp://bob:s3cret@mail.example"
    cleaned = redact(line)
    assert "1234567890secret" not in cleaned and "hunter2" not in cleaned and "s3cret" not in cleaned
    assert "amy_AbCdEfGh" in cleaned
