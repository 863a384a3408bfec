"""``normalize_email``'s shortcut for plain ASCII addresses agrees with the full check by email_validator."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from hypothesis import given, settings
from hypothesis import strategies as st

from amity.core.normalize import _validated_email, clean_text, normalize_email

LOCAL_CHARS = "abcXYZ09._+-!#~'`{}|/=?^%&*$@ \"(),:;<>[]\\é小"
DOMAIN_CHARS = "abcxnXN09.-_ é小@"
labels = st.sampled_from(["com", "org", "de", "co", "xn--p1ai", "test", "local", "onion", "invalid", "arpa",
                          "localhost", "123", "a", "example", "ab--cd", "x" * 63, "x" * 64, ""])


def _full(value: str) -> str | ValidationError:
    value = clean_text(value)
    if not value:
        return ""
    try:
        return _validated_email(value)
    except ValidationError as exc:
        return exc


def _fast(value: str) -> str | ValidationError:
    try:
        return normalize_email(value)
    except ValidationError as exc:
        return exc


def _same(value: str) -> None:
    fast, full = _fast(value), _full(value)
    if isinstance(full, ValidationError):
        assert isinstance(fast, ValidationError), value
        assert fast.messages == full.messages
    else:
        assert fast == full, value


@settings(max_examples=400, deadline=None)
@given(local=st.text(LOCAL_CHARS, min_size=0, max_size=70),
       domain=st.lists(st.one_of(labels, st.text(DOMAIN_CHARS, max_size=12)), min_size=0, max_size=4))
def test_fast_path_agrees_with_normalize_email(local: str, domain: list[str]) -> None:
    _same(f"{local}@{'.'.join(domain)}")


@settings(max_examples=600, deadline=None)
@given(local=st.text("abcXY09._+-'~!", min_size=1, max_size=66),
       domain=st.lists(st.one_of(labels, st.text("abcxnXN09-", min_size=1, max_size=64)), min_size=1, max_size=4))
def test_fast_path_agrees_on_plausible_addresses(local: str, domain: list[str]) -> None:
    # Mostly addresses the shortcut takes (or nearly does): dots, dashes, lengths and top-level labels at the edges.
    _same(f"{local}@{'.'.join(domain)}")


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=40))
def test_fast_path_agrees_on_any_text(value: str) -> None:
    _same(value)


@pytest.mark.parametrize("value", [
    "Ada.Lovelace@Example.COM", " grace+crm@navy.mil ", "o'brien@sub.example.co.uk", "a@b.de",
    "x" * 64 + "@example.com", "x" * 65 + "@example.com", "a..b@example.com", ".a@example.com", "a@-x.com",
    "a@x-.com", "a@example.test", "a@example.local", "a@example", "a@123.456", "a@xn--80ak6aa92e.com",
    "a@ab--cd.com", "a@" + "x" * 64 + ".com", "wang@例子.中国", "小明@example.com", "not-an-email@", "",
    "a@b@example.com", '"quoted"@example.com', "a@[127.0.0.1]",
])
def test_fast_path_agrees_on_edges(value: str) -> None:
    _same(value)


def test_fast_path_takes_plain_addresses() -> None:
    assert normalize_email(" Ada.Lovelace@Example.COM ") == "ada.lovelace@example.com"
