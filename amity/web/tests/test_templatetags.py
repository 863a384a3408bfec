"""Presentation helpers used by the dashboard, palette and notifications."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from amity.web.templatetags.amity_web import event_summary, initials, phone


@pytest.mark.parametrize(("name", "expected"), [
    ("Ada Lovelace", "AL"), ("ada", "A"), ("王小明", "王"), ("", "?"), (None, "?"),
], ids=["two-words", "one-word", "cjk", "empty", "none"])
def test_initials(name, expected):
    assert initials(name) == expected


def test_phone_is_formatted_for_reading():
    assert phone("+14155550101") == "+1 415-555-0101"
    assert phone("") == ""
    assert phone("12345") == "12345"


@pytest.mark.parametrize(("event_type", "payload", "expected"), [
    ("note.created", {}, "added a note"),
    ("call.logged", {"kind": "call"}, "logged a call"),
    ("task.created", {"title": "Send quote"}, "created a task: Send quote"),
    ("contact.updated", {"changes": {"job_title": ["a", "b"]}}, "updated job title"),
    ("something.new", {}, "something.new"),
], ids=["note", "call", "task", "update", "unknown"])
def test_event_summary(event_type, payload, expected):
    assert event_summary(SimpleNamespace(type=event_type, payload=payload)) == expected
